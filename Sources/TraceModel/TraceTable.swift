/// The store's traces: each trace's record in a numbered slot, slots in
/// pages of fixed size, found by trace id through an open-addressing table
/// of 4-byte slot numbers.
///
/// Why not a `[TraceID: Record]`: a dictionary keeps a quarter of its
/// buckets empty at full size and half after it doubles, each bucket as big
/// as a key and a record (88 bytes), and its lists of ids hold 16-byte keys.
/// Here only the 4-byte index has empty buckets, pages grow by 4,096 slots,
/// and lists of traces hold 4-byte slot numbers. With 3-span traces that is
/// about 30 bytes a span less.
///
/// A slot freed by an eviction is reused by a later trace, so a list that
/// keeps slot numbers must not outlive the trace it names without checking
/// (see `TraceStore`'s lists).
struct TraceTable: Sendable {
    typealias Slot = UInt32

    struct Entry: Sendable {
        var id = TraceID(low: 0)
        var record = TraceStore.Record()
        /// Free slots have a record with `lastUpdate == 0` (a stored record's
        /// is the store version of its last span, at least 1).
        var isLive: Bool { record.lastUpdate != 0 }
    }

    static let pageShift = 12
    static let pageSize = 1 << pageShift
    private static let empty = Slot.max

    private(set) var pages: [[Entry]] = []
    /// Slots handed out so far (live or free); slots at or past it are unused.
    private(set) var slotCount = 0
    private var freeSlots: [Slot] = []
    /// Slot numbers by hash of the trace id, linear probing, `empty` where none.
    private var buckets: [Slot] = []
    private(set) var count = 0
    /// The records' packed spans (`Record.packed` says where).
    private(set) var spanBytes = TraceBytes()
    /// Per table: ids chosen to collide under a known hash cannot be prepared in advance.
    private let seed: UInt64

    init() {
        seed = UInt64.random(in: .min ... .max)
    }

    /// Bytes held by the slots and the index (capacities, not the allocator's overhead).
    var footprint: (slots: Int, index: Int) {
        (pages.count * Self.pageSize * MemoryLayout<Entry>.stride, buckets.capacity * MemoryLayout<Slot>.stride)
    }

    // MARK: Reading

    subscript(slot: Slot) -> Entry {
        _read { yield pages[Int(slot) >> Self.pageShift][Int(slot) & (Self.pageSize - 1)] }
    }

    /// The slot of a stored trace.
    func slot(of id: TraceID) -> Slot? {
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count - 1
        var bucket = home(of: id, mask: mask)
        while true {
            let slot = buckets[bucket]
            if slot == Self.empty { return nil }
            if self[slot].id == id { return slot }
            bucket = (bucket + 1) & mask
        }
    }

    subscript(id: TraceID) -> TraceStore.Record? {
        guard let slot = slot(of: id) else { return nil }
        return self[slot].record
    }

    /// Calls `body` with each live slot, in slot order.
    func forEachLive(_ body: (Slot, Entry) -> Void) {
        for (pageNumber, page) in pages.enumerated() {
            let base = pageNumber << Self.pageShift
            for i in 0..<Swift.min(page.count, slotCount - base) where page[i].isLive {
                body(Slot(base + i), page[i])
            }
        }
    }

    /// A record's packed spans.
    func bytes(of record: TraceStore.Record) -> ArraySlice<UInt8> { spanBytes[record.packed] }

    var ids: [TraceID] {
        var ids: [TraceID] = []
        ids.reserveCapacity(count)
        forEachLive { _, entry in ids.append(entry.id) }
        return ids
    }

    // MARK: Writing

    /// Mutates a stored record in place.
    mutating func update<R>(_ slot: Slot, _ body: (inout TraceStore.Record) -> R) -> R {
        body(&pages[Int(slot) >> Self.pageShift][Int(slot) & (Self.pageSize - 1)].record)
    }

    /// Appends packed spans to a stored record's.
    mutating func append(_ packed: [UInt8], to slot: Slot) { append(packed[...], to: slot) }

    mutating func append(_ packed: ArraySlice<UInt8>, to slot: Slot) {
        let page = Int(slot) >> Self.pageShift, i = Int(slot) & (Self.pageSize - 1)
        var ref = pages[page][i].record.packed
        spanBytes.append(packed, to: &ref)
        pages[page][i].record.packed = ref
    }

    /// Moves every record's paged bytes, in address order, when holes take
    /// at least `1 / share` of the pages: each page is released as its last
    /// trace leaves it, so the move needs at most a page more than before.
    /// Costs a pass over the records and a copy of the paged bytes, once per
    /// that many bytes freed or moved since the last: amortised O(1) a byte.
    mutating func compactBytes(ifHolesReach share: Int) {
        guard spanBytes.holes > 0, spanBytes.holes * share >= spanBytes.pagedBytes else { return }
        var located: [(ref: TraceBytes.Ref, slot: Slot)] = []
        located.reserveCapacity(count)
        forEachLive { slot, entry in
            if entry.record.packed.isPaged { located.append((entry.record.packed, slot)) }
        }
        located.sort { $0.ref.raw < $1.ref.raw }
        spanBytes.startFreshPage()
        for (ref, slot) in located {
            var moved = ref
            spanBytes.move(&moved)
            pages[Int(slot) >> Self.pageShift][Int(slot) & (Self.pageSize - 1)].record.packed = moved
        }
    }

    /// The slot of `id`, made (with an empty record) when it is not stored.
    mutating func slot(insertingIfMissing id: TraceID) -> (slot: Slot, isNew: Bool) {
        if let slot = slot(of: id) { return (slot, false) }
        if (count + 1) * 4 > buckets.count * 3 { growIndex() }
        let slot = takeFreeSlot()
        pages[Int(slot) >> Self.pageShift][Int(slot) & (Self.pageSize - 1)].id = id
        insertIntoIndex(slot, id: id)
        count += 1
        return (slot, true)
    }

    /// Forgets a stored trace and its bytes; its slot may be handed to a
    /// later trace. The entry returned has no bytes.
    @discardableResult
    mutating func remove(_ slot: Slot) -> Entry {
        var entry = self[slot]
        spanBytes.free(entry.record.packed)
        entry.record.packed = TraceBytes.Ref()
        removeFromIndex(slot, id: entry.id)
        pages[Int(slot) >> Self.pageShift][Int(slot) & (Self.pageSize - 1)] = Entry()
        freeSlots.append(slot)
        count -= 1
        return entry
    }

    // MARK: Private

    private mutating func takeFreeSlot() -> Slot {
        if let slot = freeSlots.popLast() { return slot }
        if slotCount == pages.count << Self.pageShift {
            pages.append([Entry](repeating: Entry(), count: Self.pageSize))
        }
        slotCount += 1
        return Slot(slotCount - 1)
    }

    private func home(of id: TraceID, mask: Int) -> Int {
        // A 64-bit finaliser (splitmix64's) over both halves, keyed by the seed.
        var h = (id.high ^ seed) &* 0x9E37_79B9_7F4A_7C15 ^ id.low
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 31)) & mask
    }

    private mutating func insertIntoIndex(_ slot: Slot, id: TraceID) {
        let mask = buckets.count - 1
        var bucket = home(of: id, mask: mask)
        while buckets[bucket] != Self.empty { bucket = (bucket + 1) & mask }
        buckets[bucket] = slot
    }

    /// Linear probing's deletion: later entries of the same run move back,
    /// so no tombstones build up under eviction.
    private mutating func removeFromIndex(_ slot: Slot, id: TraceID) {
        let mask = buckets.count - 1
        var hole = home(of: id, mask: mask)
        while buckets[hole] != slot { hole = (hole + 1) & mask }
        var next = hole
        while true {
            next = (next + 1) & mask
            let moving = buckets[next]
            if moving == Self.empty { break }
            let wanted = home(of: self[moving].id, mask: mask)
            // Move back unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if !stays {
                buckets[hole] = moving
                hole = next
            }
        }
        buckets[hole] = Self.empty
    }

    private mutating func growIndex() {
        let size = Swift.max(1024, buckets.count * 2)
        buckets = [Slot](repeating: Self.empty, count: size)
        for slot in 0..<Slot(slotCount) where self[slot].isLive { insertIntoIndex(slot, id: self[slot].id) }
    }
}
