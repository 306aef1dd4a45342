import Testing
@testable import TraceModel

/// The UI's view of the store: changes since it last asked, and the open
/// trace from the same version.
@Suite struct StoreSnapshotTests {
    static let resource = Resource(serviceName: "svc")

    static func span(_ trace: UInt64, _ id: UInt64, parent: UInt64? = nil, start: UInt64 = 1_000) -> Span {
        Span(traceID: TraceID(low: trace), spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: "op\(id)",
             startTimeUnixNano: start, durationNano: 10, resource: resource)
    }

    @Test func changesHoldNewAndGrownTracesOnceAndThenNothing() {
        var store = TraceStore()
        store.add(Self.span(1, 1))
        store.add(Self.span(2, 1))
        store.add(Self.span(1, 2, parent: 1))
        var changes = store.takeChanges()
        #expect(Set(changes.updated.map(\.traceID)) == [TraceID(low: 1), TraceID(low: 2)])
        #expect(changes.updated.first { $0.traceID == TraceID(low: 1) }?.spanCount == 2)
        #expect(changes.version == store.version)
        #expect(store.takeChanges().isEmpty)
        store.add(Self.span(2, 2, parent: 1))
        changes = store.takeChanges()
        #expect(changes.updated.map(\.traceID) == [TraceID(low: 2)])
        #expect(changes.updated[0].spanCount == 2)
    }

    @Test func evictionsAreReportedOnlyForTracesTheReaderWasTold() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 2))
        store.add(Self.span(1, 1))
        _ = store.takeChanges()  // the reader knows trace 1
        store.add(Self.span(2, 1))
        store.add(Self.span(3, 1))  // evicts 1 (told)
        store.add(Self.span(4, 1))  // evicts 2 (never told)
        let changes = store.takeChanges()
        #expect(changes.removed == [TraceID(low: 1)])
        #expect(Set(changes.updated.map(\.traceID)) == [TraceID(low: 3), TraceID(low: 4)])
    }

    @Test func aFilterIsAskedOfEachChangedTrace() {
        var store = TraceStore()
        for t in 1...10 { store.add(Self.span(UInt64(t), 1)) }
        let changes = store.takeChanges { _, id in id.low % 2 == 0 }
        #expect(changes.matches.count == 10)
        for (summary, matches) in zip(changes.updated, changes.matches) {
            #expect(matches == (summary.traceID.low % 2 == 0))
        }
    }

    @Test func chunkedSnapshotsLoseNothingAndCarryTheOpenTrace() {
        let shared = SharedTraceStore()
        for t in 1...10_000 { shared.add([Self.span(UInt64(t), 1)]) }
        let first = shared.snapshot(open: (TraceID(low: 7), 0), chunk: 100)
        #expect(first.changes.updated.count == 10_000)
        #expect(Set(first.changes.updated.map(\.traceID)).count == 10_000)
        #expect(first.openTrace?.spans.count == 1)
        // Unchanged since: no trace, no changes.
        let update = first.openTrace!.summary.lastUpdate
        let second = shared.snapshot(open: (TraceID(low: 7), update), chunk: 100)
        #expect(second.changes.isEmpty && second.openTrace == nil)
        shared.add([Self.span(7, 2, parent: 1)])
        let third = shared.snapshot(open: (TraceID(low: 7), update), chunk: 100)
        #expect(third.changes.updated.map(\.traceID) == [TraceID(low: 7)])
        #expect(third.openTrace?.spans.count == 2)
        #expect(third.openTrace?.summary.lastUpdate == third.changes.updated[0].lastUpdate)
    }

    @Test func withNoReaderTheChangeLogStaysWithinTheTracesHeld() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 1_000))
        for t in 1...200_000 { store.add(Self.span(UInt64(t), 1)) }
        #expect(store.pendingChanges <= 2 * store.traceCount + 4096)
        let changes = store.takeChanges()
        #expect(changes.updated.count == store.traceCount)
        #expect(changes.removed.isEmpty)
    }
}

/// Evicted traces' slots are reused by later traces (see `TraceTable`):
/// the store's lists of slots must not mistake one trace for the other.
@Suite struct StoreSlotReuseTests {
    static func span(_ trace: UInt64, _ id: UInt64, parent: UInt64? = nil) -> Span {
        StoreSnapshotTests.span(trace, id, parent: parent)
    }

    @Test func aLaterTraceInAnEvictedTracesSlotIsReportedOnceAndTheEvictionToo() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 2))
        store.add(Self.span(1, 1))
        store.add(Self.span(2, 1))
        _ = store.takeChanges()  // the reader knows 1 and 2
        store.add(Self.span(2, 2, parent: 1))  // 2 grows: evicts 1, whose slot is free
        store.add(Self.span(3, 1))  // 3 takes 1's slot, evicts 2
        let changes = store.takeChanges()
        #expect(changes.updated.map(\.traceID) == [TraceID(low: 3)])
        #expect(Set(changes.removed) == [TraceID(low: 1), TraceID(low: 2)])
        #expect(store.takeChanges().isEmpty)
        #expect(store.trace(TraceID(low: 1)) == nil && store.trace(TraceID(low: 2)) == nil)
        #expect(store.trace(TraceID(low: 3))?.spans.count == 1)
    }

    @Test func churnThroughABoundedStoreKeepsEveryListConsistent() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 500))
        var told = Set<TraceID>()
        for t in 1...20_000 {
            store.add(Self.span(UInt64(t), 1))
            if t % 7 == 0 { store.add(Self.span(UInt64(t - 3), 2, parent: 1)) }
            if t % 1_000 == 0 {
                let changes = store.takeChanges()
                #expect(Set(changes.updated.map(\.traceID)).count == changes.updated.count)
                for id in changes.removed { #expect(told.remove(id) != nil) }
                for summary in changes.updated {
                    told.insert(summary.traceID)
                    #expect(store.trace(summary.traceID)?.spans.count == summary.spanCount)
                }
            }
        }
        #expect(store.spanCount <= 500)
        #expect(store.traceCount == Set(store.allTraceIDs).count)
        #expect(told == Set(store.allTraceIDs))
        #expect(store.summaries().count == store.traceCount)
    }
}
