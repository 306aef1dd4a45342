import Testing
@testable import TraceModel

/// The store's trace table against a dictionary doing the same inserts and
/// removes: every id found in its own slot, nothing found after removal,
/// slots reused, and the index kept whole by linear probing's deletion.
@Suite struct TraceTableTests {
    @Test(arguments: [1 as UInt64, 2, 3])
    func agreesWithADictionaryUnderRandomInsertsAndRemoves(seed: UInt64) {
        var random = SplitMix64(state: seed)  // a failure repeats
        var table = TraceTable()
        var reference: [TraceID: TraceTable.Slot] = [:]
        // Few distinct ids, so inserts meet present ids and removes meet absent ones;
        // ids that differ only in their high half, as some clients send.
        let pool = (0..<3_000).map { TraceID(high: UInt64($0) << 40, low: $0 % 3 == 0 ? 7 : random.next()) }
        for step in 0..<60_000 {
            let id = pool[Int(random.next() % UInt64(pool.count))]
            if random.next() % 3 == 0 {
                if let slot = reference.removeValue(forKey: id) {
                    #expect(table.slot(of: id) == slot)
                    let removed = table.remove(slot)
                    #expect(removed.id == id)
                    #expect(!table[slot].isLive)
                }
                #expect(table.slot(of: id) == nil)
            } else {
                let (slot, isNew) = table.slot(insertingIfMissing: id)
                #expect(isNew == (reference[id] == nil))
                if isNew {
                    table.update(slot) { $0.lastUpdate = UInt64(step) + 1 }
                    reference[id] = slot
                }
                #expect(reference[id] == slot)
            }
            #expect(table.count == reference.count)
        }
        for (id, slot) in reference {
            #expect(table.slot(of: id) == slot)
            #expect(table[slot].id == id)
        }
        #expect(Set(table.ids) == Set(reference.keys))
        // Freed slots were handed out again: never more slots than the most ever held.
        #expect(table.slotCount <= 3_000)
    }

    @Test func aFreedSlotGoesToTheNextNewTrace() {
        var table = TraceTable()
        let first = table.slot(insertingIfMissing: TraceID(low: 1)).slot
        table.update(first) { $0.lastUpdate = 1 }
        table.remove(first)
        let second = table.slot(insertingIfMissing: TraceID(low: 2))
        #expect(second.slot == first && second.isNew)
        #expect(table.slot(of: TraceID(low: 1)) == nil)
    }
}
