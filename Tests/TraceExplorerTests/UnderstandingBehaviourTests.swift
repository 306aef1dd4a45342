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

    /// Review findings: a reopened table is asked for again; a live big
    /// trace's table is recomputed and its adjusted times stay on screen
    /// until the newer analysis arrives; clicks pick table rows.
    @Test func bigTraceStatisticsFollowTheTrace() throws {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        let big = Self.bigTrace(spans: TraceAnalysis.inlineSpanLimit + 1_000)
        _ = state.update(.traceLoaded(big))
        _ = state.update(.computed(.analysis(TraceAnalysis(trace: big))))
        #expect(Self.press(&state, "S") == [.computeStatistics])
        let shown = try #require(state.trace?.trace)
        _ = state.update(.computed(.statistics(TraceStatistics(trace: shown, grouping: .service),
                                               version: TraceVersion(big), rawTimes: false)))
        _ = state.update(.key(.escape))
        #expect(Self.press(&state, "S") == [.computeStatistics])
        _ = state.update(.computed(.statistics(TraceStatistics(trace: shown, grouping: .service),
                                               version: TraceVersion(big), rawTimes: false)))
        // The trace grows: one more span from a new service.
        var spans = big.spans
        spans.append(Span(traceID: big.traceID, spanID: SpanID(999_999), parentSpanID: SpanID(1), name: "late",
                          startTimeUnixNano: big.summary.startUnixNano + 10_000_000, durationNano: 1_000,
                          resource: Resource(serviceName: "newcomer")))
        let grown = Trace(traceID: big.traceID, spans: spans, lastUpdate: 7)
        let effects = state.update(.snapshot(StoreSnapshot(changes: TraceStoreChanges(), openTrace: grown, spanCount: spans.count)))
        #expect(effects == [.analyzeOpenTrace])
        // Still the adjusted times of the version before, not raw ones.
        #expect(state.trace?.shiftedSpanCount == 2_499)
        #expect(state.trace?.trace.spans.count == big.spans.count)
        #expect(state.update(.computed(.analysis(TraceAnalysis(trace: grown)))) == [.computeStatistics])
        #expect(state.trace?.trace.spans.count == grown.spans.count)
        let newer = try #require(state.trace?.trace)
        _ = state.update(.computed(.statistics(TraceStatistics(trace: newer, grouping: .service),
                                               version: TraceVersion(grown), rawTimes: false)))
        guard case .statistics(let stats) = state.trace?.panel else { Issue.record("no statistics panel"); return }
        #expect(stats.statistics?.rows.contains { $0.name == "newcomer" } == true)
        // A click on the table's third line selects that row.
        let body = state.layout.waterfallBody
        _ = state.update(.mouse(MouseEvent(.press(.left), x: 5, y: body.y + 2)))
        guard case .statistics(let clicked) = state.trace?.panel else { return }
        #expect(clicked.scroll.selected == 2)
    }

    @Test func anEmptyFilterClearsTheLogFilter() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        state.openTrace(ExplorerFixtures.producerConsumerTrace())
        _ = Self.press(&state, "L/card\n")
        guard case .log(let filtered) = state.trace?.panel else { Issue.record("no log panel"); return }
        #expect(filtered.entries.count == 1)
        _ = Self.press(&state, "/")
        _ = state.update(.key(.ctrl("u")))
        _ = state.update(.key(.enter))
        guard case .log(let all) = state.trace?.panel else { return }
        #expect(all.filter.isEmpty)
        #expect(all.entries.count == 3)
    }

    /// A hostile trace lasting almost 2^64 ns: the critical path still draws.
    @Test func aTraceAsLongAsTimeItselfDraws() {
        let id = TraceID(low: 0xf00)
        let trace = Trace(traceID: id, spans: [
            Span(traceID: id, spanID: SpanID(1), name: "first", startTimeUnixNano: 0, durationNano: 10),
            Span(traceID: id, spanID: SpanID(2), name: "last", startTimeUnixNano: 18_446_744_073_709_551_000, durationNano: 10),
        ])
        let lines = WaterfallView.plainText(trace, width: 80, criticalPath: CriticalPath(trace: trace))
        #expect(lines.count == 4)
        var state = ExplorerFixtures.state(width: 80, height: 24)
        state.openTrace(trace)
        _ = Self.press(&state, "c")
        #expect(ExplorerView.render(state).lines()[1].contains("critical path"))
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
