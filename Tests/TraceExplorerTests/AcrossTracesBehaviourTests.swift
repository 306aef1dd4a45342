import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// The latency view and the service graph in the explorer: asked of the
/// worker, refreshed once a second while spans arrive, and Enter filters
/// the list.
@Suite struct AcrossTracesBehaviourTests {
    static func deliverLatency(_ state: inout ExplorerModel, from store: TraceStore) -> [ExplorerEffect] {
        let rows = store.latency.rows(by: .operation)
        return state.update(.computed(.latency(rows: rows, histogram: store.latency.histogram(rows[0].key, buckets: 6),
                                               key: rows[0].key, filter: state.list.filter)))
    }

    @Test func latencyViewAsksRefreshesAndListsTheSlowestTraces() throws {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        var store = ExplorerFixtures.store()
        let effects = state.update(.key(.char("P")))
        #expect(effects.count == 1)
        guard case .computeLatency(nil, nil, _)? = effects.first else { Issue.record("asked \(effects)"); return }
        #expect(state.focus == .latency)
        #expect(ExplorerView.render(state).lines().joined().contains("computing"))
        #expect(Self.deliverLatency(&state, from: store).isEmpty)
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("server-2") && $0.contains("500ms") })
        #expect(lines.contains { $0.contains("Histogram") })
        // Moving asks for that row's histogram.
        let moved = state.update(.key(.char("j")))
        guard case .computeLatencyHistogram(nil, let key, _)? = moved.first else { Issue.record("asked \(moved)"); return }
        #expect(key == state.latency?.selectedKey)
        // Spans arrive: the next tick asks again (once).
        store.add(contentsOf: ExplorerFixtures.seedTrace(id: TraceID(low: 0x777), start: ExplorerFixtures.t0 + 9_000_000_000))
        let changes = store.takeChanges(matching: nil)
        _ = state.update(.snapshot(StoreSnapshot(changes: changes, spanCount: store.spanCount)))
        let tick = state.update(.tick(unixNano: ExplorerFixtures.t0))
        guard case .computeLatency(nil, let again, _)? = tick.first else { Issue.record("tick asked \(tick)"); return }
        #expect(again == state.latency?.selectedKey)
        #expect(state.update(.tick(unixNano: ExplorerFixtures.t0 + 1)).isEmpty)
        _ = Self.deliverLatency(&state, from: store)
        #expect(state.latency?.rows.first { $0.key == LatencyIndex.Key(service: "server-2", operation: "server-2") }?.count == 4)
        // Enter on server-2's operation row: the list filtered to it, slowest first.
        while state.latency?.selectedKey != LatencyIndex.Key(service: "server-2", operation: "server-2") {
            _ = state.update(.key(.char("j")))
        }
        let filter = state.update(.key(.enter))
        #expect(state.latency == nil)
        #expect(state.list.filter?.text == #"{service="server-2" op="server-2"}"#)
        #expect(state.list.sort == .duration && state.list.descending)
        guard case .filterStore? = filter.first else { Issue.record("no filter asked: \(filter)"); return }
    }

    @Test func serviceGraphAsksAndFiltersToACall() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        var store = ExplorerFixtures.store()
        #expect(state.update(.key(.char("D"))) == [.computeServiceGraph(filter: nil)])
        _ = state.update(.computed(.serviceGraph(store.serviceGraph(matching: nil), filter: nil)))
        _ = store.summaries()
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("│server-1├") && $0.contains("▶│server-2│") })
        let effects = state.update(.key(.enter))
        #expect(state.serviceGraph == nil)
        #expect(state.list.filter?.text == #"{service="server-1"} > {service="server-2"}"#)
        guard case .filterStore? = effects.first else { Issue.record("no filter asked: \(effects)"); return }
    }

    /// The runtime computes the table from the store's running index; a
    /// trace evicted from a full store leaves the figures.
    @Test func theRuntimeShowsLiveFiguresAndEviction() {
        // Room for three seed traces: the fourth evicts the first.
        let store = SharedTraceStore(limits: TraceStoreLimits(maxSpans: 9, maxSpansPerTrace: 100))
        let traces = (0..<4).map { ExplorerRuntimeTests.newTrace(0x500 + UInt64($0), at: UInt64($0)) }
        var script: [BufferTerminal.Step] = [.idle(1), .event(.key(.char("P")))]
        for _ in 0..<12 { script.append(.idle(20)) }
        let terminal = BufferTerminal(width: 100, height: 30, script: script)
        terminal.whenScriptEnds = .quit(.controlC)
        let clock = ManualClock()
        var runtime = ExplorerRuntimeTests.runtime(terminal, store: store, feed: ScriptedFeed(batches: traces), clock: clock)
        runtime.pollMilliseconds = 100
        #expect(runtime.run() == 0)
        // Three traces stored: each operation counted 3 times, not 4.
        let row = runtime.model.latency?.rows.first { $0.key == LatencyIndex.Key(service: "server-2", operation: "server-2") }
        #expect(row?.count == 3)
        #expect(store.withStore { $0.latency.row(LatencyIndex.Key(service: "server-2", operation: "server-2"))?.count } == 3)
        #expect(terminal.lines.contains { $0.contains("server-2") && $0.contains(" 3 ") })
    }
}
