import Testing
import TraceModel
@testable import TraceExplorer

/// Small batches of changes are merged into the sorted rows in place
/// (`TraceListScreen.apply`): after every batch the rows must be exactly
/// the listed traces sorted, whatever the sort, with ties, removals, traces
/// that grow (and move) and traces that are new.
@Suite struct TraceListMergeTests {
    @Test func mergedRowsAreTheTracesSortedAfterEveryBatch() {
        var random = UInt64(0x9E37_79B9_7F4A_7C15)
        func next(_ bound: UInt64) -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (random >> 33) % bound
        }
        for (sort, descending) in [(TraceSort.start, true), (.duration, false), (.spans, true), (.errors, false)] {
            var list = TraceListScreen()
            list.setSort(sort, descending: descending)
            var known: [TraceID: TraceSummary] = [:]
            var first = TraceStoreChanges()
            for id in 1...400 as ClosedRange<UInt64> {
                // Few distinct starts and durations: ties are common.
                let summary = PlotFixtures.summary(id, start: PlotFixtures.t0 + next(20), duration: next(8), error: next(4) == 0)
                first.updated.append(summary)
                known[summary.traceID] = summary
            }
            list.apply(first)
            var merged = 0
            for round in 0..<60 {
                var changes = TraceStoreChanges()
                for _ in 0..<(1 + next(6)) {
                    let id = 1 + next(460)  // an existing trace grown, or a new one
                    // The store reports a trace once per batch.
                    if changes.updated.contains(where: { $0.traceID == TraceID(low: id) }) { continue }
                    let summary = PlotFixtures.summary(id, start: PlotFixtures.t0 + next(20), duration: next(8), error: next(4) == 0)
                    changes.updated.append(summary)
                    known[summary.traceID] = summary
                }
                if round % 3 == 0, let gone = known.keys.sorted(by: <).dropFirst(Int(next(20))).first {
                    changes.removed.append(gone)
                    known[gone] = nil
                    changes.updated.removeAll { $0.traceID == gone }
                }
                let rowsBefore = list.rows.count
                list.apply(changes)
                if (changes.updated.count + changes.removed.count) * 8 <= rowsBefore { merged += 1 }
                let expected = known.values.sorted(by: list.ordering)
                #expect(list.rows.map(\.traceID) == expected.map(\.traceID), "\(sort) round \(round)")
                #expect(list.rows == expected, "\(sort) round \(round)")
            }
            #expect(merged > 40, "most batches take the merge, not a rebuild (\(merged))")
        }
    }
}
