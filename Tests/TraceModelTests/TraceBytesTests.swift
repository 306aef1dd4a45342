import Testing
@testable import TraceModel

/// The traces' packed bytes in shared pages (`TraceBytes`, through the
/// table that owns them) against a dictionary of arrays doing the same
/// appends and removes: every trace's bytes as appended, whatever moved,
/// the counts (payload, holes, pages) true, and compaction closing holes.
@Suite struct TraceBytesTests {
    /// Appends `count` bytes that say where they came from, so a mix-up shows.
    static func chunk(_ random: inout SplitMix64, count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    static func check(_ table: TraceTable, _ reference: [TraceID: [UInt8]]) {
        var payload = 0
        for (id, bytes) in reference {
            guard let record = table[id] else {
                Issue.record("trace \(id) missing")
                continue
            }
            #expect(Array(table.bytes(of: record)) == bytes)
            payload += bytes.count
        }
        let stored = table.spanBytes
        #expect(stored.payload == payload)
        #expect(stored.holes >= 0 && stored.pagedBytes >= stored.holes)
        #expect(stored.held >= payload)
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func agreesWithArraysUnderRandomAppendsRemovesAndCompactions(seed: UInt64) {
        var random = SplitMix64(state: seed)  // a failure repeats
        var table = TraceTable()
        var reference: [TraceID: [UInt8]] = [:]
        let pool = (0..<400).map { TraceID(low: UInt64($0) + 1) }
        for step in 0..<20_000 {
            let id = pool[Int(random.next() % UInt64(pool.count))]
            switch random.next() % 10 {
            case 0..<2:
                if reference.removeValue(forKey: id) != nil, let slot = table.slot(of: id) { table.remove(slot) }
            case 2:
                // Forced: any hole at all.
                table.compactBytes(ifHolesReach: .max / (1 << 40))
                #expect(table.spanBytes.holes == 0)
            default:
                // Mostly small spans; now and then one that takes the trace past the paged limit.
                let count = random.next() % 50 == 0 ? 3_000 : Int(1 + random.next() % 200)
                let bytes = Self.chunk(&random, count: count)
                let (slot, isNew) = table.slot(insertingIfMissing: id)
                if isNew { table.update(slot) { $0.lastUpdate = UInt64(step) + 1 } }
                table.append(bytes, to: slot)
                reference[id, default: []] += bytes
            }
            if step % 97 == 0 { Self.check(table, reference) }
        }
        Self.check(table, reference)
        for id in Array(reference.keys) {
            table.remove(table.slot(of: id)!)
            reference[id] = nil
        }
        // Nothing held once every trace is gone: pages released, large arrays freed.
        #expect(table.spanBytes.payload == 0 && table.spanBytes.held == 0)
        #expect(table.spanBytes.pageCount <= 1 && table.spanBytes.largeCount == 0)
    }

    @Test func spansOfATraceArrivingTogetherGrowInPlace() {
        var random = SplitMix64(state: 9)
        var table = TraceTable()
        for t in 1...2_000 {
            let slot = table.slot(insertingIfMissing: TraceID(low: UInt64(t))).slot
            table.update(slot) { $0.lastUpdate = 1 }
            for _ in 0..<3 { table.append(Self.chunk(&random, count: 60), to: slot) }
        }
        let stored = table.spanBytes
        // No hole but behind the one trace a page's end cut short (it moved to the next page).
        #expect(stored.holes < 180)
        #expect(stored.payload == 2_000 * 180)
        #expect(stored.pagedBytes == stored.payload + stored.holes)
        // 360,000 bytes in 256 KiB pages: two.
        #expect(stored.pageCount == 2)
    }

    @Test func interleavedGrowthLeavesHolesThatCompactionCloses() {
        var random = SplitMix64(state: 4)
        var table = TraceTable()
        var reference: [TraceID: [UInt8]] = [:]
        let ids = (1...3_000).map { TraceID(low: UInt64($0)) }
        for round in 0..<3 {
            for id in ids {
                let slot = table.slot(insertingIfMissing: id).slot
                table.update(slot) { $0.lastUpdate = 1 }
                let bytes = Self.chunk(&random, count: 60)
                table.append(bytes, to: slot)
                reference[id, default: []] += bytes
                if round == 0 { #expect(table.spanBytes.holes == 0) }
            }
        }
        // Each trace moved twice to grow, leaving 60 then 120 bytes behind,
        // less what went with the pages released once all their traces had moved.
        let holes = table.spanBytes.holes
        #expect(holes > 0 && holes <= 3_000 * 180)
        #expect(table.spanBytes.pagedBytes == 3_000 * 180 + holes)
        // Not yet a tenth of the pages: left alone.
        table.compactBytes(ifHolesReach: 2)
        #expect(table.spanBytes.holes == holes)
        table.compactBytes(ifHolesReach: .max / (1 << 40))
        #expect(table.spanBytes.holes == 0)
        #expect(table.spanBytes.pagedBytes == 3_000 * 180)
        // 540,000 bytes of 180-byte traces fill three pages, the old ones all released.
        #expect(table.spanBytes.pageCount == 3)
        Self.check(table, reference)
    }

    @Test func aTraceGrowingPastThePagedLimitGetsAnArrayOfItsOwn() {
        var random = SplitMix64(state: 5)
        var table = TraceTable()
        let slot = table.slot(insertingIfMissing: TraceID(low: 1)).slot
        table.update(slot) { $0.lastUpdate = 1 }
        var expected: [UInt8] = []
        while expected.count <= TraceBytes.pagedLimit + 1_000 {
            let bytes = Self.chunk(&random, count: 100)
            table.append(bytes, to: slot)
            expected += bytes
        }
        #expect(table[slot].record.packed.isLarge)
        #expect(Array(table.bytes(of: table[slot].record)) == expected)
        // The page it left is released: only the large array is held.
        #expect(table.spanBytes.pagedBytes == 0 && table.spanBytes.largeCount == 1)
        #expect(table.spanBytes.held >= expected.count + 32)
        table.remove(slot)
        #expect(table.spanBytes.held == 0)
    }

    /// Per-trace bytes are what a store of small traces pays besides its
    /// spans: the flags and span count must fit the summary's tail.
    @Test func aTraceRecordTakes72BytesWithItsID() {
        #expect(MemoryLayout<TraceStore.Record>.size <= 56)
        #expect(MemoryLayout<TraceTable.Entry>.stride == 72)
    }

    /// Lists hold one summary per trace (the explorer's list screen, `list`).
    @Test func aSummaryTakes104Bytes() {
        #expect(MemoryLayout<TraceSummary>.stride == 104)
    }

    @Test func theStoreCountsItsPagesAndHolesInBytesHeld() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 10_000))
        // Spans of 50 traces arriving interleaved, as from live senders.
        for round in 0..<4 {
            for t in 1...50 {
                store.add(Span(traceID: TraceID(low: UInt64(t)), spanID: SpanID(UInt64(round + 1)),
                               parentSpanID: round == 0 ? nil : SpanID(1), name: "op \(round)",
                               startTimeUnixNano: 1_000, durationNano: 10, resource: Resource(serviceName: "svc")))
            }
        }
        let stored = store.traces.spanBytes
        #expect(store.bytesHeld == stored.pagedBytes + stored.largeBytes + 50 * TraceStore.bytesPerTrace)
        // Holes were closed as they passed a quarter of the pages.
        #expect(stored.holes * 4 < stored.pagedBytes)
        for t in 1...50 {
            #expect(store.trace(TraceID(low: UInt64(t)))?.spans.map(\.name) == ["op 0", "op 1", "op 2", "op 3"])
        }
    }
}
