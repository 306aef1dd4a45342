import Testing
import TraceModel
import TraceFormats
import TerminalUI
@testable import TraceExplorer

/// Keys in the trace list over a large store (issue 15): moving the selection
/// must not go over every trace, with or without a filter or another sort.
/// Counted, not timed: `TraceListScreen.passes` counts every pass over the
/// rows or entries, `rowSetVersion` keys the plot (a change rebins every row),
/// and the runtime takes no store snapshot for a key.
@Suite struct ListKeysAtScaleTests {
    static let traces = 10_000

    /// `traces` seed-shaped traces (3 spans each), a few with errors.
    static func store() -> SharedTraceStore {
        let store = SharedTraceStore(limits: TraceStoreLimits(maxSpans: traces * 3 + 1))
        var generator = SyntheticTraces(seed: 11, startUnixNano: ExplorerFixtures.t0, traceIntervalNano: 10_000_000)
        var batch: [Span] = []
        var made = 0
        while made < traces {
            let trace = generator.nextTrace()
            guard trace.count == 3 else { continue }
            batch += trace
            made += 1
        }
        store.add(batch)
        return store
    }

    static func press(_ model: inout ExplorerModel, _ keys: [Key]) {
        for key in keys {
            _ = model.update(.key(key))
            _ = ExplorerView.frame(model)
        }
    }

    /// Moves that only change the selection, and keys that open and close
    /// something over the list without changing its rows.
    static let moves: [Key] = Array(repeating: .char("j"), count: 60) + [.pageDown, .pageDown, .ctrl("f"), .pageUp, .ctrl("b")]
        + Array(repeating: .char("k"), count: 30) + [.char("G"), .up, .up, .char("g"), .down, .end, .home]
        + [.char("d"), .char("d"), .char("?"), .escape, .char("/"), .escape, .char("m"), .char("m")]

    struct Work: Equatable {
        var passes: TraceListScreen.Passes
        var rowsVersion: Int
        var rowSetVersion: Int
        var rows: Int

        init(_ list: TraceListScreen) {
            passes = list.passes
            rowsVersion = list.rowsVersion
            rowSetVersion = list.rowSetVersion
            rows = list.rows.count
        }
    }

    @Test(arguments: ["", "error", "service=\"server-2\""])
    func movingTheSelectionMakesNoPassOverTheTraces(filter: String) throws {
        let store = Self.store()
        var model = ExplorerModel(width: 120, height: 40)
        _ = model.update(.snapshot(store.snapshot()))
        #expect(model.list.totalCount == Self.traces)
        if !filter.isEmpty {
            let query = try TraceQuery.parse(filter)
            var generation = 0
            for key in [Key.char("/")] + filter.map(Key.char) + [.enter] {
                for effect in model.update(.key(key)) {
                    if case .filterStore(_, let g) = effect { generation = g }
                }
            }
            let (ids, version) = store.withStore { s in (Set(s.traceIDs(matching: query)), s.version) }
            _ = model.update(.computed(.filtered(query: query, ids: ids, version: version, generation: generation)))
            #expect(model.list.filter == query)
            #expect(model.list.rows.count == ids.count)
            Self.press(&model, [.char("s")])  // by duration: not the default order
            #expect(model.list.sort == .duration)
        }
        #expect(model.list.rows.count > 200)
        let before = Work(model.list)
        var visited: Set<Int> = []
        for key in Self.moves {
            Self.press(&model, [key])
            visited.insert(model.list.selection.selected)
        }
        #expect(Work(model.list) == before)
        #expect(visited.contains(model.list.rows.count - 1) && visited.count > 60)
    }

    @Test func reversingAndSortingKeepThePlotAndReverseWithoutSorting() {
        let store = Self.store()
        var model = ExplorerModel(width: 120, height: 40)
        _ = model.update(.snapshot(store.snapshot()))
        Self.press(&model, [.char("j"), .char("j"), .char("j")])
        let selected = model.list.selectedSummary?.traceID
        let before = Work(model.list)

        Self.press(&model, [.char("r")])
        var after = Work(model.list)
        #expect(after.passes.reversals == before.passes.reversals + 1)
        #expect(after.passes.sorts == before.passes.sorts && after.passes.rebuilds == before.passes.rebuilds)
        #expect(after.rowSetVersion == before.rowSetVersion)  // the plot is not drawn again
        #expect(after.rowsVersion != before.rowsVersion)
        #expect(model.list.selectedSummary?.traceID == selected)
        let ordering = model.list.ordering
        #expect(model.list.rows.map(\.traceID) == model.list.rows.sorted(by: ordering).map(\.traceID))
        #expect(!model.list.descending)

        // Another key sorts the rows in place; the same key the other way is a reversal again.
        Self.press(&model, [.char("s")])
        after = Work(model.list)
        #expect(after.passes.sorts == before.passes.sorts + 1)
        #expect(after.passes.rebuilds == before.passes.rebuilds)
        #expect(after.rowSetVersion == before.rowSetVersion)
        #expect(model.list.selectedSummary?.traceID == selected)
        let durations = model.list.rows.map(\.durationNano)
        #expect(durations == durations.sorted(by: >))
        Self.press(&model, [.char("r")])
        #expect(model.list.passes.reversals == before.passes.reversals + 2)
        #expect(model.list.rows.map(\.durationNano) == durations.reversed())
    }

    /// The runtime: a filter and a sort set, then keys; the keys take no
    /// snapshot of the store (its changes are not asked for) and make no pass.
    @Test func theRuntimeTakesNothingFromTheStoreForAKey() {
        let store = Self.store()
        let terminal = BufferTerminal(width: 120, height: 40,
                                      script: ("/error".map { .event(.key(.char($0))) }) + [.event(.key(.enter)), .idle(2), .event(.key(.char("s"))), .idle(1)])
        let clock = ManualClock(unixNanos: ExplorerFixtures.t0)
        terminal.onIdle = { clock.advance(milliseconds: $0) }
        var runtime = ExplorerRuntime(model: ExplorerModel(width: 120, height: 40), store: store, feed: ScriptedFeed(),
                                      backend: terminal, clock: clock, worker: .inline())
        #expect(runtime.run() == 0)
        #expect(runtime.model.list.filter?.text == "error")
        #expect(runtime.model.list.sort == .duration)
        #expect(runtime.model.list.rows.count > 100)
        let before = Work(runtime.model.list)
        let snapshots = runtime.snapshotsTaken
        let frames = terminal.framesDrawn

        terminal.append(Self.moves.map { .event(.key($0)) })
        #expect(runtime.run() == 0)
        #expect(Work(runtime.model.list) == before)
        // The second run starts with one snapshot of its own (nothing changed since); keys add none.
        #expect(runtime.snapshotsTaken == snapshots + 1)
        #expect(terminal.framesDrawn - frames >= Self.moves.count)
    }
}
