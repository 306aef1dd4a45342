import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// What the keys of the understanding views do, and that heavy analysis of
/// a big trace happens off the UI's path.
@Suite struct UnderstandingBehaviourTests {
    static func press(_ state: inout ExplorerModel, _ keys: String) -> [ExplorerEffect] {
        var effects: [ExplorerEffect] = []
        for c in keys { effects += state.update(.key(c == "\n" ? .enter : .char(c))) }
        return effects
    }

    @Test func enterOnAStatisticsRowFindsItsSpans() throws {
        var state = UnderstandingSnapshotTests.seed(width: 100, height: 30)
        _ = Self.press(&state, "Sb")  // by operation, sorted by total
        guard case .statistics(let stats) = state.trace?.panel else { Issue.record("no statistics panel"); return }
        #expect(stats.grouping == .operation)
        #expect(stats.statistics?.rows.map(\.name) == ["server-1", "server-1_to_server-2", "server-2"])
        _ = Self.press(&state, "rg")  // ascending; the selection follows its row, so back to the top
        guard case .statistics(let reversed) = state.trace?.panel else { return }
        #expect(reversed.statistics?.rows.map(\.name) == ["server-2", "server-1_to_server-2", "server-1"])
        _ = Self.press(&state, "\n")
        #expect(state.focus == .waterfall)
        #expect(state.trace?.find?.text == #"{op="server-2"}"#)
        #expect(state.trace?.find?.spans.count == 1)
        #expect(state.trace?.selectedSpanValue?.name == "server-2")
    }

    @Test func statisticsSortByEveryColumn() {
        var state = UnderstandingSnapshotTests.seed(width: 100, height: 30)
        _ = Self.press(&state, "S")
        var seen: [TraceStatistics.Column] = []
        for _ in TraceStatistics.Column.allCases {
            _ = Self.press(&state, "s")
            guard case .statistics(let stats) = state.trace?.panel else { return }
            seen.append(stats.column)
            #expect(stats.statistics?.sortColumn == stats.column)
        }
        #expect(Set(seen) == Set(TraceStatistics.Column.allCases))
    }

    @Test func traceLogFiltersAndJumpsToTheSpan() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        state.openTrace(ExplorerFixtures.producerConsumerTrace())
        _ = Self.press(&state, "L/nothing\n")
        guard case .log(let empty) = state.trace?.panel else { Issue.record("no log panel"); return }
        #expect(empty.entries.isEmpty)
        #expect(ExplorerView.render(state).lines().joined().contains("no event matches \"nothing\""))
        _ = Self.press(&state, "x")  // clear the filter
        _ = Self.press(&state, "/card\n")
        guard case .log(let log) = state.trace?.panel else { return }
        #expect(log.entries.count == 1)
        _ = Self.press(&state, "\n")
        #expect(state.focus == .waterfall)
        #expect(state.trace?.selectedSpanValue?.name == "consume order")
    }

    @Test func referencesAreFollowed() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        state.openTrace(ExplorerFixtures.linksTrace())
        _ = Self.press(&state, "jj\n")  // aggregate, detail focused
        // 1: a span of this trace: selected at once.
        #expect(Self.press(&state, "\n").isEmpty)
        #expect(state.trace?.selectedSpanValue?.name == "load")
        // 2: a span of a stored trace: that trace opens at the span.
        _ = Self.press(&state, "j\n")
        #expect(state.trace?.selectedSpanValue?.name == "aggregate")
        _ = Self.press(&state, "n")
        #expect(state.trace?.selectedLink == 1)
        #expect(Self.press(&state, "\n") == [.loadTrace(ExplorerFixtures.seedID)])
        ExplorerFixtures.openSeed(&state)
        #expect(state.trace?.trace.traceID == ExplorerFixtures.seedID)
        #expect(state.trace?.selectedSpanValue?.name == "server-2")
        // 3: a trace that is not in the store: said so.
        state.openTrace(ExplorerFixtures.linksTrace())
        _ = Self.press(&state, "jj\nN")
        #expect(state.trace?.selectedLink == 2)
        #expect(Self.press(&state, "\n").isEmpty)
        #expect(state.notice == "trace 0000000000000000000000000000dead is not in the store")
        #expect(ExplorerView.render(state).lines()[28].contains("is not in the store"))
    }

    @Test func markInTheListAndCompare() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        let first = state.list.selectedID
        _ = Self.press(&state, "m")
        #expect(state.marked?.traceID == first)
        #expect(ExplorerView.render(state).lines()[state.layout.listBody.y].hasPrefix("A"))
        _ = Self.press(&state, "j")
        let second = state.list.selectedID
        let effects = Self.press(&state, "=")
        #expect(effects == [.compareTraces(a: first!, b: second!)])
        #expect(state.focus == .compare)
        _ = Self.press(&state, "x")  // swap
        #expect(state.compare?.a.traceID == second)
        _ = state.update(.key(.escape))
        #expect(state.focus == .traceList)
        _ = Self.press(&state, "km")  // unmark
        #expect(state.marked == nil)
    }

    /// A wide trace over two hosts whose clocks disagree: the children of
    /// `far` start before their parent.
    static func bigTrace(spans: Int) -> Trace {
        let id = TraceID(low: 0xb16)
        let ms: UInt64 = 1_000_000
        let near = Resource(serviceName: "near"), far = Resource(serviceName: "far")
        var result = [Span(traceID: id, spanID: SpanID(1), name: "root", startTimeUnixNano: 1_000 * ms,
                           durationNano: 1_000 * ms, resource: near)]
        for i in 2...UInt64(spans) {
            result.append(Span(traceID: id, spanID: SpanID(i), parentSpanID: SpanID(1), name: "call \(i % 7)",
                               startTimeUnixNano: 1_000 * ms - 5 * ms + i * 1_000, durationNano: 100_000,
                               resource: i % 2 == 0 ? far : near))
        }
        return Trace(traceID: id, spans: result)
    }

    @Test func aBigTraceIsAnalysedOffTheUIPath() throws {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        let big = Self.bigTrace(spans: TraceAnalysis.inlineSpanLimit + 1_000)
        let effects = state.update(.traceLoaded(big))
        #expect(effects == [.analyzeOpenTrace])
        #expect(state.trace?.needsAnalysis == true)
        _ = Self.press(&state, "c")
        #expect(ExplorerView.render(state).lines()[1].contains("critical path…"))
        // Statistics on adjusted times wait for the analysis, then are asked for once.
        #expect(Self.press(&state, "S").isEmpty)
        #expect(ExplorerView.render(state).lines().joined().contains("computing statistics…"))
        let analysis = TraceAnalysis(trace: big)
        #expect(analysis.skew.shiftedCount > 0)
        #expect(state.update(.computed(.analysis(analysis))) == [.computeStatistics])
        #expect(state.trace?.shiftedSpanCount == analysis.skew.shiftedCount)
        let shown = try #require(state.trace?.trace)
        _ = state.update(.computed(.statistics(TraceStatistics(trace: shown, grouping: .service),
                                               version: TraceVersion(big), rawTimes: false)))
        guard case .statistics(let stats) = state.trace?.panel else { Issue.record("no statistics panel"); return }
        #expect(stats.statistics?.rows.map(\.count).reduce(0, +) == big.spans.count)
        _ = Self.press(&state, "S")
        // Same-host children that start before the root are not moved (Jaeger's rule): the trace is 5ms longer.
        #expect(ExplorerView.render(state).lines()[1].contains("critical path 1s (99.5%)"))
    }

    /// The runtime hands the analysis to its worker and draws the answer.
    @Test func theRuntimeAnalysesABigTrace() {
        let store = SharedTraceStore()
        store.add(Self.bigTrace(spans: TraceAnalysis.inlineSpanLimit + 10).spans)
        let terminal = BufferTerminal(width: 100, height: 30, script: [
            .idle(1), .event(.key(.enter)), .idle(1), .event(.key(.char("c"))), .idle(1), .idle(1),
        ])
        terminal.whenScriptEnds = .quit(.controlC)
        var model = ExplorerModel(width: 100, height: 30, title: "big")
        model.list.showsPlot = false
        var runtime = ExplorerRuntime(model: model, store: store, feed: ScriptedFeed(), backend: terminal, clock: ManualClock(),
                                      worker: .inline())
        #expect(runtime.run() == 0)
        #expect(runtime.model.trace?.needsAnalysis == false)
        #expect(terminal.lines[1].contains("critical path 1s (99.5%)"))
        // The `far` children that start before the root: even ids below 5,000.
        #expect(terminal.lines[28].contains("clock skew: 2499 spans shifted"))
    }
}
