import Dispatch
import Synchronization

/// Bounds on what the store keeps. A bound that bites is counted in `TraceStore.Counters`.
public struct TraceStoreLimits: Sendable, Hashable {
    public var maxSpans: Int
    public var maxSpansPerTrace: Int
    /// Bytes the stored traces may take (`TraceStore.bytesHeld`): spans
    /// carry attributes of any size, so a span count alone does not bound
    /// memory. A process limit (`--max-memory`) moves it as the rest of the
    /// process grows and shrinks (`TraceStore.setMaxBytes`).
    public var maxBytes: Int

    public init(maxSpans: Int = 1_000_000, maxSpansPerTrace: Int = 100_000, maxBytes: Int = .max) {
        self.maxSpans = max(1, maxSpans)
        self.maxSpansPerTrace = max(1, maxSpansPerTrace)
        self.maxBytes = max(0, maxBytes)
    }
}

/// Assembles spans into traces, whatever order they arrive in. A value type
/// owned by one task; `SharedTraceStore` wraps it for a producer and the UI.
public struct TraceStore: Sendable {
    public struct Counters: Sendable, Hashable {
        public init() {}
        public var spansAccepted = 0
        /// Spans refused because their trace already held `maxSpansPerTrace`.
        public var spansDroppedTraceFull = 0
        /// Traces (and their spans) evicted, oldest first, to stay under `maxSpans` or `maxBytes`.
        public var tracesEvicted = 0
        public var spansEvicted = 0
        /// Of those, traces evicted for `maxBytes`.
        public var tracesEvictedForMemory = 0
        /// Spans refused because their trace alone would pass `maxBytes`.
        public var spansRefusedMemory = 0
    }

    /// One trace: its spans packed by the arena (see `SpanArena`), in arrival
    /// order, kept in `TraceTable.spanBytes`. 56 bytes per trace (72 with its
    /// id in the table): with millions of spans in small traces, per-trace
    /// costs weigh as much as per-span ones. The fields are in this order so
    /// that the flags and span count fill the summary's tail, with no padding.
    struct Record: Sendable {
        var summary = PackedSummary()
        private var flags: UInt8 = 0
        var spanCount: Int32 = 0
        /// Where the packed spans are.
        var packed = TraceBytes.Ref()
        var lastUpdate: UInt64 = 0

        /// Listed in `dirty` since its last summary.
        var isDirty: Bool {
            get { flag(0) }
            set { setFlag(0, newValue) }
        }
        /// Listed in `changeLog` since the UI last took the changes.
        var isChanged: Bool {
            get { flag(1) }
            set { setFlag(1, newValue) }
        }
        /// The UI has been told of this trace (so its eviction must be told too).
        var isReported: Bool {
            get { flag(2) }
            set { setFlag(2, newValue) }
        }
        var hasSummary: Bool {
            get { flag(3) }
            set { setFlag(3, newValue) }
        }

        private func flag(_ bit: UInt8) -> Bool { flags & (1 << bit) != 0 }
        private mutating func setFlag(_ bit: UInt8, _ on: Bool) {
            flags = on ? flags | (1 << bit) : flags & ~(1 << bit)
        }

        mutating func setSummary(_ packed: PackedSummary) {
            summary = packed
            hasSummary = true
            isDirty = false
        }
    }

    /// A trace summary without its strings: names are read from the root
    /// span's bytes and the services list from `ServiceLists` when asked.
    struct PackedSummary: Sendable {
        var start: UInt64 = 0
        var duration: UInt64 = 0
        /// Byte offset of the root span in the record, -1 for none (or past 2 GiB).
        var rootOffset: Int32 = -1
        var errorCount: Int32 = 0
        var depth: Int32 = 0
        var rootCount: Int32 = 0
        /// Index in `serviceLists`, or `UInt16.max` when that table was full.
        var services: UInt16 = 0
        var isIncomplete = false
    }

    public private(set) var limits: TraceStoreLimits
    /// What the stored traces take: their packed bytes as stored (shared
    /// pages with their holes, large traces' arrays with their capacity) and
    /// a fixed cost per trace (`bytesPerTrace`). The string and resource
    /// tables are bounded apart (`SpanArena`) and not counted here.
    public var bytesHeld: Int { traces.spanBytes.held + traces.count * Self.bytesPerTrace }
    /// A trace's record (72 bytes with its id), its share of the index and
    /// of the lists of slots, measured with `memoryFootprint`.
    public static let bytesPerTrace = 96
    public private(set) var counters = Counters()
    var traces = TraceTable()
    var arena = SpanArena()
    private var scratch: [UInt8] = []
    private var spanScratch: [UInt8] = []
    /// A run's bytes (`addRun`): a buffer kept at its largest size, its first bytes used.
    private var runBytes: [UInt8] = []
    private var runLengths: [Int] = []
    private var serviceLists = ServiceLists()
    // The lists below hold slot numbers (see `TraceTable`). Only eviction
    // frees a slot, and it takes the trace's `arrivalOrder` entry with it;
    // an entry of `dirty` or `changeLog` may outlive its trace and name a
    // later trace in the same slot, so those lists check the record's flag.
    /// Traces in order of first arrival, for oldest-first eviction.
    private var arrivalOrder: [TraceTable.Slot] = []
    private var arrivalHead = 0
    /// Traces whose summary is stale (`isDirty`).
    private var dirty: [TraceTable.Slot] = []
    /// Traces new or grown since the UI last took the changes (`isChanged`).
    /// See `takeChanges`.
    private var changeLog: [TraceTable.Slot] = []
    private var changeHead = 0
    /// Reported traces evicted since the UI last took the changes.
    private var evictedLog: [TraceID] = []
    public private(set) var spanCount = 0
    /// Span latency per service and operation over the spans held: kept as
    /// spans arrive and traces are evicted, so the latency table costs no scan.
    public private(set) var latency = LatencyIndex()
    /// Bumped on every change; a reader redraws only when it moved.
    public private(set) var version: UInt64 = 0

    public init(limits: TraceStoreLimits = TraceStoreLimits()) {
        self.limits = limits
    }

    /// A store whose string/resource/scope tables hold at most `tableCapacity`
    /// entries each, and whose latency index at most `latencyKeys` rows.
    init(limits: TraceStoreLimits = TraceStoreLimits(), tableCapacity: Int, latencyKeys: Int = 4096) {
        self.limits = limits
        self.arena = SpanArena(tableCapacity: tableCapacity)
        self.latency = LatencyIndex(maxKeys: latencyKeys)
    }

    /// Where the store's memory goes, in bytes, as far as it can tell from
    /// inside (payloads and capacities, not the allocator's own overhead).
    public func memoryFootprint() -> [(part: String, bytes: Int)] {
        let bytes = traces.spanBytes
        let table = traces.footprint
        let slot = MemoryLayout<TraceTable.Slot>.stride
        return [
            ("span bytes (payload)", bytes.payload),
            ("shared pages: \(bytes.pageCount) of \(TraceBytes.pageSize / 1024) KiB, filled part (holes \(bytes.holes) B)",
             bytes.pagedBytes),
            ("large traces' arrays: \(bytes.largeCount) (capacity + 32-byte headers)", bytes.largeBytes),
            ("trace records: \(traces.count) of \(MemoryLayout<TraceTable.Entry>.stride) B in \(traces.slotCount) slots", table.slots),
            ("trace index (4-byte slots)", table.index),
            ("arrival order, dirty list, change log",
             (arrivalOrder.capacity + dirty.capacity + changeLog.capacity) * slot + evictedLog.capacity * MemoryLayout<TraceID>.stride),
        ]
    }

    /// Changes the byte budget; traces are evicted now, oldest first, to meet it.
    public mutating func setMaxBytes(_ bytes: Int) {
        limits.maxBytes = Swift.max(0, bytes)
        if bytesHeld > limits.maxBytes { evictIfNeeded(keeping: nil) }
    }

    /// Strings, resources and scopes written inline because their table was full.
    public var valuesInlinedPastTableBound: Int { arena.inlinedPastBound }

    public var traceCount: Int { traces.count }

    public mutating func add(_ span: Span) {
        // Packed against the trace's first start (see `SpanArena`).
        let stored = traces.slot(of: span.traceID)
        arena.append(span, to: &scratch, scratch: &spanScratch, traceStart: stored.map(firstStart(of:)))
        guard let slot = storePacked(in: span.traceID, stored: stored) else { return }
        latency.add(service: span.resource.serviceName, operation: span.name, durationNanos: span.durationNano,
                    isError: span.isError)
        // Past the byte budget too when a large trace's array grew its capacity.
        if spanCount > limits.maxSpans || bytesHeld > limits.maxBytes { evictIfNeeded(keeping: slot) }
    }

    /// The start of a stored trace's first span, which its others' are relative to.
    private func firstStart(of slot: TraceTable.Slot) -> UInt64 {
        let ref = traces[slot].record.packed
        return SpanArena.firstStart { traces.spanBytes.byte($0, of: ref) }
    }

    /// A batch packed where it was decoded (see `PackedSpans`): the same
    /// as adding its spans one by one with `add(contentsOf:)`, for less work
    /// here: each trace's spans of the piece go in at once (one lookup, one
    /// copy into the trace's bytes, one record update) when no bound can
    /// bite on the way; otherwise one by one, as `add(contentsOf:)` does.
    public mutating func add(_ packed: PackedSpans) {
        var resolution = PackedSpans.Resolution(packed)
        // With room for every value of the piece, none is written inline and
        // a span's stored size is bounded by its packed one (`runFits`).
        let tablesHaveRoom = arena.hasRoom(for: packed)
        var k = 0
        for trace in packed.traces {
            let order = k..<trace.orderEnd
            k = trace.orderEnd
            let stored = traces.slot(of: trace.id)
            if tablesHaveRoom, runFits(packed, order: order, stored: stored) {
                addRun(packed, order: order, of: trace.id, stored: stored, resolution: &resolution)
            } else {
                addSpanBySpan(packed, order: order, of: trace.id, stored: stored, resolution: &resolution)
            }
        }
    }

    /// Whether a trace's spans of a piece fit every bound at once: the
    /// trace's span bound, the store's, and the byte budget for the most
    /// their stored form can take (each table reference in at most 5 bytes,
    /// the start in 10, the length in 5).
    private func runFits(_ packed: PackedSpans, order: Range<Int>, stored: TraceTable.Slot?) -> Bool {
        let held = stored.map { Int(traces[$0].record.spanCount) } ?? 0
        guard held + order.count <= limits.maxSpansPerTrace, spanCount + order.count <= limits.maxSpans else { return false }
        var most = Self.bytesPerTrace
        for k in order {
            let span = packed.spans[Int(packed.order[k])]
            most += Int(span.end - span.begin) + 5 * Int(span.patchEnd - span.patchBegin) + 15
        }
        return bytesHeld + most <= limits.maxBytes
    }

    /// One trace's spans of a piece (`order` in `packed.order`), within every
    /// bound (`runFits`): packed one after the other in `scratch` against the
    /// trace's first start (the run's first span when the trace is new), stored in one go.
    private mutating func addRun(_ packed: PackedSpans, order: Range<Int>, of id: TraceID, stored: TraceTable.Slot?,
                                 resolution: inout PackedSpans.Resolution) {
        let traceStart = stored.map(firstStart(of:))
        // Every value has room in the tables here (`add`), so this takes the run at once.
        guard let written = arena.appendRun(packed, order: packed.order[order], resolution: &resolution,
                                            traceStart: traceStart, into: &runBytes, lengths: &runLengths) else {
            addSpanBySpan(packed, order: order, of: id, stored: stored, resolution: &resolution)
            return
        }
        // A version per span, as when they are added one by one.
        version &+= UInt64(order.count)
        let (slot, isNew) = stored.map { ($0, false) } ?? traces.slot(insertingIfMissing: id)
        storeSpans(order.count, bytes: runBytes[..<written], in: slot, isNew: isNew)
        for k in order { addLatency(of: packed, span: Int(packed.order[k]), resolution: &resolution) }
        // A large trace's array may have grown its capacity past the budget.
        if bytesHeld > limits.maxBytes { evictIfNeeded(keeping: slot) }
    }

    /// One trace's spans of a piece, one by one, each under every bound.
    private mutating func addSpanBySpan(_ packed: PackedSpans, order: Range<Int>, of id: TraceID, stored: TraceTable.Slot?,
                                        resolution: inout PackedSpans.Resolution) {
        // Neither making room nor evicting takes the trace being added to, so its slot stays.
        var stored = stored
        var traceStart = stored.map(firstStart(of:))
        for k in order {
            let i = Int(packed.order[k])
            arena.append(packed, span: i, resolution: &resolution, traceStart: traceStart, to: &scratch, scratch: &spanScratch)
            guard let slot = storePacked(in: id, stored: stored) else { continue }
            if stored == nil {
                // The trace's first span: the rest are relative to it.
                stored = slot
                traceStart = packed.spans[i].start
            }
            addLatency(of: packed, span: i, resolution: &resolution)
            if spanCount > limits.maxSpans || bytesHeld > limits.maxBytes { evictIfNeeded(keeping: slot) }
        }
    }

    private mutating func addLatency(of packed: PackedSpans, span i: Int, resolution: inout PackedSpans.Resolution) {
        let span = packed.spans[i]
        let key = Int(span.latencyKey)
        let handle: LatencyIndex.Handle
        if let known = resolution.latency[key] {
            handle = known
        } else {
            let names = packed.latencyKeys[key]
            handle = latency.handle(service: names.service, operation: names.operation)
            resolution.latency[key] = handle
        }
        latency.add(handle, durationNanos: span.duration, isError: span.isError)
    }

    /// Stores the span packed in `scratch` in trace `id`, found at `stored`
    /// when it is (packed against it), unless a bound refuses it (counted);
    /// the trace's slot when it was stored.
    private mutating func storePacked(in id: TraceID, stored: TraceTable.Slot?) -> TraceTable.Slot? {
        version &+= 1
        defer { scratch.removeAll(keepingCapacity: true) }
        if bytesHeld + scratch.count + Self.bytesPerTrace > limits.maxBytes, !makeRoom(for: scratch.count, in: id) {
            counters.spansRefusedMemory += 1
            return nil
        }
        // Making room evicts other traces only: the slot found above stays.
        let (slot, isNew) = stored.map { ($0, false) } ?? traces.slot(insertingIfMissing: id)
        // A new record always has room (limits are at least 1).
        guard Int(traces[slot].record.spanCount) < limits.maxSpansPerTrace else {
            counters.spansDroppedTraceFull += 1
            return nil
        }
        storeSpans(1, bytes: scratch[...], in: slot, isNew: isNew)
        return slot
    }

    /// Stores `spans` packed spans (`bytes`, within every bound) in the
    /// trace at `slot`, as of the current version.
    private mutating func storeSpans(_ spans: Int, bytes: ArraySlice<UInt8>, in slot: TraceTable.Slot, isNew: Bool) {
        let version = self.version
        let (becameDirty, becameChanged) = traces.update(slot) { record -> (Bool, Bool) in
            record.spanCount += Int32(spans)
            record.lastUpdate = version
            let becameDirty = !record.isDirty
            record.isDirty = true
            let becameChanged = !record.isChanged
            record.isChanged = true
            return (becameDirty, becameChanged)
        }
        traces.append(bytes, to: slot)
        // Holes from traces that grew apart from their page's end.
        traces.compactBytes(ifHolesReach: 4)
        if isNew { arrivalOrder.append(slot) }
        if becameDirty { dirty.append(slot) }
        if becameChanged { changeLog.append(slot) }
        spanCount += spans
        counters.spansAccepted += spans
    }

    /// A batch's spans go in trace by trace, each trace's in their order,
    /// traces in the order of their first span: then a trace's spans from
    /// one batch are packed side by side. (OTLP groups spans by resource,
    /// not trace, so a three-span trace's third span comes after other
    /// traces' spans; appended in that order, each such trace moved to grow
    /// and left a hole: 11 MB of holes in 69 for a million seed-shaped spans.)
    public mutating func add<S: Sequence>(contentsOf spans: S) where S.Element == Span {
        let batch = Array(spans)
        guard batch.count > 2 else {
            for span in batch { add(span) }
            return
        }
        var group: [TraceID: Int] = [:]
        group.reserveCapacity(batch.count)
        var keys: [(group: Int, index: Int)] = []
        keys.reserveCapacity(batch.count)
        for (i, span) in batch.enumerated() {
            let g = group[span.traceID] ?? group.count
            if g == group.count { group[span.traceID] = g }
            keys.append((g, i))
        }
        if group.count == 1 || group.count == batch.count {
            for span in batch { add(span) }
            return
        }
        keys.sort { ($0.group, $0.index) < ($1.group, $1.index) }
        for key in keys { add(batch[key.index]) }
    }

    /// Evicts the oldest traces (not `trace`) until `bytes` more fit under
    /// `maxBytes`; false when they cannot, even with every other trace gone.
    private mutating func makeRoom(for bytes: Int, in trace: TraceID) -> Bool {
        let slot = traces.slot(of: trace)
        let own = slot.map { traces.spanBytes.count(of: traces[$0].record.packed) + Self.bytesPerTrace } ?? Self.bytesPerTrace
        guard own + bytes <= limits.maxBytes else { return false }
        evictIfNeeded(keeping: slot, reserving: bytes + (slot == nil ? Self.bytesPerTrace : 0))
        return true
    }

    private mutating func evictIfNeeded(keeping current: TraceTable.Slot?, reserving: Int = 0) {
        let keptTraces = current == nil ? 0 : 1
        while (spanCount > limits.maxSpans || bytesHeld + reserving > limits.maxBytes),
              arrivalHead < arrivalOrder.count, traces.count > keptTraces {
            let overSpans = spanCount > limits.maxSpans
            let oldest = arrivalOrder[arrivalHead]
            arrivalHead += 1
            if oldest == current {
                // Never evict the trace being added to: requeue it.
                arrivalOrder.append(oldest)
                continue
            }
            guard traces[oldest].isLive else { continue }
            forgetLatency(of: traces[oldest].record)
            let evicted = traces.remove(oldest)
            let record = evicted.record
            if record.isReported { evictedLog.append(evicted.id) }
            spanCount -= Int(record.spanCount)
            // Evicting from the middle of a page leaves a hole, still held:
            // close the holes before they cost more traces (at most an
            // eighth of the pages' bytes is evicted for holes).
            if !overSpans { traces.compactBytes(ifHolesReach: 8) }
            if !overSpans { counters.tracesEvictedForMemory += 1 }
            counters.tracesEvicted += 1
            counters.spansEvicted += Int(record.spanCount)
        }
        traces.compactBytes(ifHolesReach: 4)
        // Compact the queue now and then so it does not grow without bound.
        if arrivalHead > 4096, arrivalHead * 2 > arrivalOrder.count {
            arrivalOrder.removeFirst(arrivalHead)
            arrivalHead = 0
        }
        // With no reader taking changes the log keeps ids of evicted traces:
        // drop those now and then, so it stays within the traces held.
        if changeLog.count - changeHead > 2 * traces.count + 4096 {
            changeLog = changeLog[changeHead...].filter { traces[$0].isLive && traces[$0].record.isChanged }
            changeHead = 0
        }
    }

    /// Takes an evicted trace's spans out of `latency`, read from its packed
    /// bytes as `add` recorded them (service, name, duration, error bit).
    private mutating func forgetLatency(of record: Record) {
        let bytes = traces.bytes(of: record)
        var offset = 0
        while offset < bytes.count {
            let header = arena.header(in: bytes, at: &offset)
            let names = arena.nameAndService(in: bytes, at: header.offset)
            latency.remove(service: names.service, operation: names.name, durationNanos: header.duration,
                           isError: header.isError)
        }
    }

    /// The assembled trace, or nil if the store does not hold it.
    public func trace(_ id: TraceID) -> Trace? {
        guard let record = traces[id] else { return nil }
        return Trace(traceID: id, spans: spans(of: record, id: id), lastUpdate: record.lastUpdate)
    }

    /// The version of a trace: changes when one of its spans arrives.
    public func lastUpdate(of id: TraceID) -> UInt64? { traces[id]?.lastUpdate }

    /// Re-derives the summaries of traces that changed since the last call.
    public mutating func refreshSummaries() {
        if dirty.count >= Self.parallelSummaryMinimum {
            refreshSummariesInParallel()
        } else {
            for slot in dirty { refreshSummary(slot) }
        }
        // A whole dump's list is not kept for the few stale traces of later calls.
        dirty.removeAll(keepingCapacity: dirty.count < 65_536)
    }

    /// Below this many stale traces, summaries are made on the caller's thread.
    static let parallelSummaryMinimum = 2_048

    /// A whole dump's summaries: trees and facts are made on every core
    /// (they only read the arena), then stored in order on this thread.
    private mutating func refreshSummariesInParallel() {
        let arena = self.arena
        // In batches, so the facts waiting to be stored stay a few MiB.
        let batch = 16_384
        var made = [(facts: SummaryFacts, rootOffset: Int)?](repeating: nil, count: Swift.min(batch, dirty.count))
        for first in stride(from: 0, to: dirty.count, by: batch) {
            let slots = dirty[first..<Swift.min(first + batch, dirty.count)]
            let pieces = 16
            // The table's copy lives only while the facts are made, so storing
            // them below does not copy its pages.
            made.withUnsafeMutableBufferPointer { [traces = self.traces] buffer in
                // Each piece writes only its own slots.
                let out = DisjointSlots(buffer: buffer)
                DispatchQueue.concurrentPerform(iterations: pieces) { piece in
                    let range = (slots.count * piece / pieces)..<(slots.count * (piece + 1) / pieces)
                    for i in range {
                        let record = traces[slots[slots.startIndex + i]].record
                        guard Self.isStale(record) else { continue }
                        out.buffer[i] = Self.facts(of: record, bytes: traces.bytes(of: record), arena: arena)
                    }
                }
            }
            for i in 0..<slots.count {
                if let facts = made[i] { store(facts.facts, rootOffset: facts.rootOffset, for: slots[slots.startIndex + i]) }
                made[i] = nil
            }
        }
    }

    /// Re-derives one trace's summary if it is stale.
    private mutating func refreshSummary(_ slot: TraceTable.Slot) {
        let record = traces[slot].record
        guard Self.isStale(record) else { return }
        let made = Self.facts(of: record, bytes: traces.bytes(of: record), arena: arena)
        store(made.facts, rootOffset: made.rootOffset, for: slot)
    }

    /// A stored record whose summary is missing or older than its spans
    /// (false for a free slot: its trace was evicted since it was listed).
    private static func isStale(_ record: Record) -> Bool {
        record.lastUpdate != 0 && (record.isDirty || !record.hasSummary)
    }

    private static func facts(of record: Record, bytes: ArraySlice<UInt8>, arena: SpanArena)
        -> (facts: SummaryFacts, rootOffset: Int) {
        if let small = SummaryFacts.small(bytes: bytes, count: Int(record.spanCount), arena: arena) { return small }
        let source = StoredSpans(arena: arena, bytes: bytes, count: Int(record.spanCount))
        let facts = SummaryFacts(source: source, tree: TraceTree(source: source))
        return (facts, facts.root.map { source.headers[$0].offset } ?? -1)
    }

    private mutating func store(_ facts: SummaryFacts, rootOffset: Int, for slot: TraceTable.Slot) {
        let packed = PackedSummary(
            start: facts.start, duration: facts.duration, rootOffset: Int32(exactly: rootOffset) ?? -1,
            errorCount: Int32(clamping: facts.errorCount), depth: Int32(clamping: facts.depth),
            rootCount: Int32(clamping: facts.rootCount), services: serviceLists.index(of: facts.services) ?? .max,
            isIncomplete: facts.isIncomplete)
        traces.update(slot) { $0.setSummary(packed) }
    }

    /// Everything changed since the last call, at once (tests, small stores).
    public mutating func takeChanges(matching: ((TraceStore, TraceID) -> Bool)? = nil) -> TraceStoreChanges {
        var changes = TraceStoreChanges()
        takeChanges(limit: .max, into: &changes, matching: matching)
        return changes
    }

    /// Traces changed (new or grown) since the last call that are still waiting.
    public var pendingChanges: Int { changeLog.count - changeHead }

    /// What changed since the last call, for a reader that keeps its own list:
    /// the summaries of up to `limit` new or grown traces (oldest change
    /// first) and the reported traces evicted since. Costs what changed, not
    /// what is stored, so a caller can hold the lock for one chunk at a time.
    /// `matching` is asked of each updated trace (a live filter).
    public mutating func takeChanges(
        limit: Int, into changes: inout TraceStoreChanges, matching: ((TraceStore, TraceID) -> Bool)? = nil
    ) {
        var taken = 0
        while changeHead < changeLog.count, taken < limit {
            let slot = changeLog[changeHead]
            changeHead += 1
            // Evicted since it was listed (its removal is in `evictedLog` if it
            // was reported), or a later trace in its slot already taken.
            guard traces[slot].isLive, traces[slot].record.isChanged else { continue }
            refreshSummary(slot)
            taken += 1
            traces.update(slot) {
                $0.isChanged = false
                $0.isReported = true
            }
            let id = traces[slot].id
            guard let summary = unpack(traces[slot].record, id: id) else { continue }
            changes.updated.append(summary)
            if let matching { changes.matches.append(matching(self, id)) }
        }
        if changeHead == changeLog.count {
            changeLog.removeAll(keepingCapacity: true)
            changeHead = 0
        }
        changes.removed.append(contentsOf: evictedLog)
        evictedLog.removeAll(keepingCapacity: true)
        changes.version = version
    }

    private func unpack(_ record: Record, id: TraceID) -> TraceSummary? {
        guard record.hasSummary else { return nil }
        let packed = record.summary
        let bytes = traces.bytes(of: record)
        let names = packed.rootOffset >= 0 ? arena.nameAndService(in: bytes, at: Int(packed.rootOffset)) : (name: "", service: "")
        let services: [String]
        if packed.services != .max {
            services = serviceLists[packed.services]
        } else {
            let source = StoredSpans(arena: arena, bytes: bytes, count: Int(record.spanCount))
            services = SummaryFacts(source: source, tree: TraceTree(source: source)).services
        }
        return TraceSummary(
            traceID: id, rootService: names.service, rootOperation: names.name, startUnixNano: packed.start,
            durationNano: packed.duration, spanCount: Int(record.spanCount), services: services,
            errorCount: Int(packed.errorCount), depth: Int(packed.depth), rootCount: Int(packed.rootCount),
            isIncomplete: packed.isIncomplete, lastUpdate: record.lastUpdate)
    }

    private func spans(of record: Record, id: TraceID) -> [Span] {
        var spans: [Span] = []
        spans.reserveCapacity(Int(record.spanCount))
        let bytes = traces.bytes(of: record)
        var offset = 0
        while offset < bytes.count {
            spans.append(arena.span(in: bytes, at: &offset, traceID: id))
        }
        return spans
    }

    /// Every trace's summary, in no particular order.
    public mutating func summaries() -> [TraceSummary] {
        refreshSummaries()
        var all: [TraceSummary] = []
        all.reserveCapacity(traces.count)
        traces.forEachLive { _, entry in
            if let summary = unpack(entry.record, id: entry.id) { all.append(summary) }
        }
        return all
    }

    /// The summary as of the last `refreshSummaries`.
    public func summary(_ id: TraceID) -> TraceSummary? {
        traces[id].flatMap { unpack($0, id: id) }
    }

    public var allTraceIDs: [TraceID] { traces.ids }
}

/// What changed in a store since a reader last asked (see `TraceStore.takeChanges`).
public struct TraceStoreChanges: Sendable {
    /// The store's version when the changes were taken.
    public var version: UInt64 = 0
    /// New or grown traces.
    public var updated: [TraceSummary] = []
    /// For each of `updated`, whether it passes the filter, when one was given.
    public var matches: [Bool] = []
    /// Traces evicted since, that this reader had been told of.
    public var removed: [TraceID] = []

    public init() {}

    public var isEmpty: Bool { updated.isEmpty && removed.isEmpty }
}

/// One consistent view for the UI: the list's changes and the open trace,
/// read at the same store version.
public struct StoreSnapshot: Sendable {
    public var changes: TraceStoreChanges
    /// The open trace when it changed since the version the reader had (nil: unchanged or gone).
    public var openTrace: Trace?
    public var spanCount: Int
    public var counters: TraceStore.Counters
    public var version: UInt64 { changes.version }

    public init(changes: TraceStoreChanges, openTrace: Trace? = nil, spanCount: Int, counters: TraceStore.Counters = .init()) {
        self.changes = changes
        self.openTrace = openTrace
        self.spanCount = spanCount
        self.counters = counters
    }
}

/// The store shared by a producer (dump loader, network listeners) and the UI.
/// Every access is under one lock and short; the UI copies what it draws.
public final class SharedTraceStore: Sendable {
    private let store: Mutex<TraceStore>

    public init(limits: TraceStoreLimits = TraceStoreLimits()) {
        store = Mutex(TraceStore(limits: limits))
    }

    public func add(_ spans: [Span]) {
        store.withLock { $0.add(contentsOf: spans) }
    }

    public func add(_ packed: PackedSpans) {
        store.withLock { $0.add(packed) }
    }

    public func add(_ batch: SpanBatch) {
        store.withLock { $0.add(batch) }
    }

    public var version: UInt64 { store.withLock { $0.version } }
    public var counters: TraceStore.Counters { store.withLock { $0.counters } }
    public var spanCount: Int { store.withLock { $0.spanCount } }
    public var traceCount: Int { store.withLock { $0.traceCount } }
    public var limits: TraceStoreLimits { store.withLock { $0.limits } }
    public var bytesHeld: Int { store.withLock { $0.bytesHeld } }

    /// Changes the byte budget; traces are evicted now, oldest first, to meet it.
    public func setMaxBytes(_ bytes: Int) { store.withLock { $0.setMaxBytes(bytes) } }

    public func summaries() -> [TraceSummary] { store.withLock { $0.summaries() } }
    public func trace(_ id: TraceID) -> Trace? {
        // Copy the spans under the lock; build the tree outside it.
        let copied: (spans: [Span], update: UInt64)? = store.withLock { s in
            guard let update = s.lastUpdate(of: id), let t = s.traceSpans(id) else { return nil }
            return (t, update)
        }
        guard let copied else { return nil }
        return Trace(traceID: id, spans: copied.spans, lastUpdate: copied.update)
    }
    public func lastUpdate(of id: TraceID) -> UInt64? { store.withLock { $0.lastUpdate(of: id) } }

    /// The changes since the last snapshot and the open trace, from one
    /// version. Summaries are built a chunk at a time, each chunk under the
    /// lock once, so a producer never waits for a whole list; the last chunk
    /// and the open trace share one acquisition.
    /// - Parameters:
    ///   - open: the trace on screen and the `lastUpdate` the reader has of it.
    ///   - matching: a live filter asked of each changed trace.
    public func snapshot(open: (id: TraceID, lastUpdate: UInt64)? = nil, chunk: Int = 4096,
                         matching: (@Sendable (TraceStore, TraceID) -> Bool)? = nil) -> StoreSnapshot {
        var changes = TraceStoreChanges()
        var rounds = 0
        while true {
            rounds += 1
            // After many rounds under a flood, finish in one go rather than chase it.
            let limit = rounds < 64 ? chunk : Int.max
            let done: (spans: [Span]?, update: UInt64, count: Int, counters: TraceStore.Counters)? = store.withLock { s in
                s.takeChanges(limit: limit, into: &changes, matching: matching)
                guard s.pendingChanges == 0 else { return nil }
                var spans: [Span]?
                var update: UInt64 = 0
                if let open, let current = s.lastUpdate(of: open.id), current != open.lastUpdate {
                    spans = s.traceSpans(open.id)
                    update = current
                }
                return (spans, update, s.spanCount, s.counters)
            }
            guard let done else { continue }
            // The tree is built outside the lock.
            let trace = open.flatMap { o in done.spans.map { Trace(traceID: o.id, spans: $0, lastUpdate: done.update) } }
            return StoreSnapshot(changes: changes, openTrace: trace, spanCount: done.count, counters: done.counters)
        }
    }

    public func withStore<R>(_ body: (inout TraceStore) -> R) -> R { store.withLock { body(&$0) } }
}

extension TraceStore {
    /// The spans of a trace, arrival order, made from the stored form.
    public func traceSpans(_ id: TraceID) -> [Span]? {
        guard let record = traces[id] else { return nil }
        return spans(of: record, id: id)
    }
}

/// A buffer whose slots are written by several threads, each its own.
/// Unchecked because a pointer is not Sendable: safe as used, since each
/// thread writes a disjoint range of slots and the owner reads them only
/// after `concurrentPerform` has returned (which orders those writes first).
struct DisjointSlots<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
}

/// A trace's stored spans as the tree and the summary read them: headers
/// only, attributes skipped.
struct StoredSpans: SummarySource {
    let arena: SpanArena
    let bytes: ArraySlice<UInt8>
    let headers: [SpanArena.Header]

    init(arena: SpanArena, bytes: ArraySlice<UInt8>, count: Int) {
        self.arena = arena
        self.bytes = bytes
        var headers: [SpanArena.Header] = []
        headers.reserveCapacity(count)
        var offset = 0
        let traceStart = bytes.isEmpty ? 0 : SpanArena.firstStart(in: bytes)
        while offset < bytes.count { headers.append(arena.header(in: bytes, at: &offset, traceStart: traceStart)) }
        self.headers = headers
    }

    var count: Int { headers.count }
    func spanID(_ i: Int) -> SpanID { headers[i].spanID }
    func parentID(_ i: Int) -> SpanID? { headers[i].parentID }
    func followsFrom(_ i: Int) -> Bool { headers[i].followsFrom }
    func start(_ i: Int) -> UInt64 { headers[i].start }
    func duration(_ i: Int) -> UInt64 { headers[i].duration }
    func isError(_ i: Int) -> Bool { headers[i].isError }
    func serviceKey(_ i: Int) -> UInt { headers[i].serviceKey }
    func serviceName(_ i: Int) -> String {
        arena.serviceName(ofResource: headers[i].resource, in: bytes, spanAt: headers[i].offset)
    }
    func nameAndService(_ i: Int) -> (name: String, service: String) {
        arena.nameAndService(in: bytes, at: headers[i].offset)
    }
}
