import Testing
@testable import TraceModel

/// `--max-memory`'s parts in the model: the store's byte budget, the
/// governor's decisions and the queue's byte bound, on hand-built spans.
@Suite struct StoreByteBudgetTests {
    static let resource = Resource(serviceName: "svc")

    /// A span with one attribute of `size` bytes (not interned: longer than 64).
    static func span(_ trace: UInt64, _ id: UInt64, size: Int, parent: UInt64? = nil) -> Span {
        Span(traceID: TraceID(low: trace), spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: "op",
             startTimeUnixNano: 1_000 + trace, durationNano: 10,
             attributes: [Attribute("payload", .string(String(repeating: "x", count: size)))], resource: resource)
    }

    @Test func bytesHeldFollowsWhatIsAddedAndEvicted() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 10))
        store.add(Self.span(1, 1, size: 1_000))
        let one = store.bytesHeld
        #expect(one > 1_000 && one < 1_000 + TraceStore.bytesPerTrace + 100)
        store.add(Self.span(1, 2, size: 1_000, parent: 1))
        #expect(store.bytesHeld > one + 1_000 && store.bytesHeld < 2 * one)
        for t in 2...20 { store.add(Self.span(UInt64(t), 1, size: 1_000)) }
        // 10 spans kept: bytes held went down with each eviction, but for
        // the holes evicted traces left in the shared page (see `TraceBytes`),
        // counted and closed before they pass a quarter of the pages.
        #expect(store.spanCount == 10)
        let holes = store.traces.spanBytes.holes
        #expect(store.bytesHeld == 10 * one + holes)
        #expect(holes * 4 < store.traces.spanBytes.pagedBytes)
    }

    @Test func overTheBudgetTheOldestTracesGoFirstAndTheNewestStays() {
        var store = TraceStore(limits: TraceStoreLimits(maxBytes: 50_000))
        for t in 1...100 {
            store.add(Self.span(UInt64(t), 1, size: 10_000))
            #expect(store.bytesHeld <= 50_000)
            #expect(store.trace(TraceID(low: UInt64(t))) != nil)
        }
        #expect(store.traceCount == 4)
        #expect(Set(store.allTraceIDs) == Set((97...100).map { TraceID(low: $0) }))
        #expect(store.counters.tracesEvicted == 96)
        #expect(store.counters.tracesEvictedForMemory == 96)
        #expect(store.counters.spansRefusedMemory == 0)
    }

    @Test func aTraceThatAloneWouldPassTheBudgetHasItsSpansRefused() {
        var store = TraceStore(limits: TraceStoreLimits(maxBytes: 30_000))
        store.add(Self.span(1, 1, size: 1_000))
        store.add(Self.span(2, 1, size: 12_000))
        store.add(Self.span(2, 2, size: 12_000, parent: 1))
        // A third 12 kB span would take trace 2 past 30 kB: refused, trace 1 kept.
        store.add(Self.span(2, 3, size: 12_000, parent: 1))
        #expect(store.counters.spansRefusedMemory == 1)
        #expect(store.trace(TraceID(low: 2))?.spans.count == 2)
        // A span bigger than the whole budget is refused too, and nothing is evicted for it.
        store.add(Self.span(3, 1, size: 40_000))
        #expect(store.counters.spansRefusedMemory == 2)
        #expect(store.trace(TraceID(low: 3)) == nil)
        #expect(store.counters.tracesEvicted == 0)
    }

    @Test func loweringTheBudgetEvictsAtOnce() {
        var store = TraceStore()
        for t in 1...10 { store.add(Self.span(UInt64(t), 1, size: 10_000)) }
        _ = store.takeChanges()
        store.setMaxBytes(35_000)
        #expect(store.bytesHeld <= 35_000)
        #expect(store.traceCount == 3)
        let changes = store.takeChanges()
        #expect(Set(changes.removed) == Set((1...7).map { TraceID(low: $0) }))
        store.setMaxBytes(0)
        #expect(store.traceCount == 0 && store.bytesHeld == 0 && store.spanCount == 0)
    }
}

@Suite struct MemoryGovernorTests {
    static let mib = 1 << 20

    @Test func theStoreGetsWhatTheRestOfTheProcessLeavesUnderTheSoftLimit() {
        var governor = MemoryGovernor(limitBytes: 100 * Self.mib)
        #expect(governor.softBytes == 85 * Self.mib)
        // 60 MiB resident, 20 of it the store: the rest is 40, so the store may have 45.
        var decision = governor.decide(residentBytes: 60 * Self.mib, storeBytes: 20 * Self.mib)
        #expect(decision == .init(storeBudget: 45 * Self.mib, refuse: false, trim: false))
        // The rest alone near the limit: the store keeps its minimum, an eighth.
        decision = governor.decide(residentBytes: 95 * Self.mib, storeBytes: 5 * Self.mib)
        #expect(decision.storeBudget == 100 * Self.mib / 8)
        #expect(!decision.refuse && decision.trim)
        // Never more than the soft limit, even when the store is all there is.
        #expect(governor.decide(residentBytes: 10 * Self.mib, storeBytes: 10 * Self.mib).storeBudget == 85 * Self.mib)
    }

    @Test func pastTheLimitItRefusesUntilBackJustUnderIt() {
        var governor = MemoryGovernor(limitBytes: 100 * Self.mib)
        #expect(!governor.decide(residentBytes: 100 * Self.mib, storeBytes: 0).refuse)
        #expect(governor.decide(residentBytes: 101 * Self.mib, storeBytes: 0).refuse)
        #expect(governor.decide(residentBytes: 99 * Self.mib, storeBytes: 0).refuse)
        #expect(!governor.decide(residentBytes: 97 * Self.mib, storeBytes: 0).refuse)
        #expect(!governor.decide(residentBytes: 99 * Self.mib, storeBytes: 0).refuse)
    }

    @Test func refusalNeedsOnlyTheResidentSizeAndSharesTheHysteresis() {
        var governor = MemoryGovernor(limitBytes: 100 * Self.mib)
        let atLimit = governor.refusal(residentBytes: 100 * Self.mib)
        let past = governor.refusal(residentBytes: 101 * Self.mib)
        // decide() sees the same state: still refusing just under the limit.
        let justUnder = governor.decide(residentBytes: 99 * Self.mib, storeBytes: 0).refuse
        let backUnder = governor.refusal(residentBytes: 97 * Self.mib)
        let after = governor.decide(residentBytes: 99 * Self.mib, storeBytes: 0).refuse
        #expect([atLimit, past, justUnder, backUnder, after] == [false, true, true, false, false])
    }

    @Test func theDefaultIsAGibibyteOrHalfTheMachine() {
        #expect(MemoryGovernor.defaultLimit(physicalBytes: 16 << 30) == 1 << 30)
        #expect(MemoryGovernor.defaultLimit(physicalBytes: 1 << 30) == 512 << 20)
    }

    @Test func sizesParseWithTheirUnits() {
        #expect(MemoryGovernor.parseSize("256MiB") == 256 << 20)
        #expect(MemoryGovernor.parseSize("256m") == 256 << 20)
        #expect(MemoryGovernor.parseSize("2G") == 2 << 30)
        #expect(MemoryGovernor.parseSize("1.5GiB") == 3 << 29)
        #expect(MemoryGovernor.parseSize("500MB") == 500_000_000)
        #expect(MemoryGovernor.parseSize("1000000") == 1_000_000)
        #expect(MemoryGovernor.parseSize(" 64 KiB ") == 64 << 10)
        for bad in ["", "MiB", "12 apples", "-5M", "1e30G", "1..2M"] { #expect(MemoryGovernor.parseSize(bad) == nil, "\(bad)") }
    }
}

@Suite struct SpanQueueByteBoundTests {
    @Test func batchesPastTheByteCapacityAreRefusedAndCountedForMemory() {
        let big = StoreByteBudgetTests.span(1, 1, size: 10_000)
        let queue = SpanQueue(capacity: 1_000, byteCapacity: 25_000)
        #expect(queue.push([big]))
        #expect(queue.push([big]))
        #expect(!queue.push([big]))
        #expect(queue.totals == (pushed: 2, dropped: 1))
        #expect(queue.droppedForMemory == 1)
        // Drained: room again.
        #expect(queue.drain().count == 2)
        #expect(queue.push([big]))
    }

    @Test func whileRefusingEveryBatchIsDroppedAndCounted() {
        let queue = SpanQueue()
        queue.setRefusing(true)
        #expect(!queue.push([StoreByteBudgetTests.span(1, 1, size: 10)]))
        queue.setRefusing(false)
        #expect(queue.push([StoreByteBudgetTests.span(1, 1, size: 10)]))
        #expect(queue.totals == (pushed: 1, dropped: 1))
        #expect(queue.droppedForMemory == 1)
    }
}
