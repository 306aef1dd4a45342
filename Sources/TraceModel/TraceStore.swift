import Synchronization

/// Bounds on what the store keeps. A bound that bites is counted in `TraceStore.Counters`.
public struct TraceStoreLimits: Sendable, Hashable {
    public var maxSpans: Int
    public var maxSpansPerTrace: Int

    public init(maxSpans: Int = 1_000_000, maxSpansPerTrace: Int = 100_000) {
        self.maxSpans = max(1, maxSpans)
        self.maxSpansPerTrace = max(1, maxSpansPerTrace)
    }
}

/// Assembles spans into traces, whatever order they arrive in. A value type
/// owned by one task; `SharedTraceStore` wraps it for a producer and the UI.
public struct TraceStore: Sendable {
    public struct Counters: Sendable, Hashable {
        public var spansAccepted = 0
        /// Spans refused because their trace already held `maxSpansPerTrace`.
        public var spansDroppedTraceFull = 0
        /// Traces (and their spans) evicted, oldest first, to stay under `maxSpans`.
        public var tracesEvicted = 0
        public var spansEvicted = 0
    }

    /// One trace: its spans packed by the arena (see `SpanArena`), in arrival order.
    /// 72 bytes and one byte array per trace: with millions of spans in
    /// small traces, per-trace costs weigh as much as per-span ones.
    struct Record: Sendable {
        var bytes: [UInt8] = []
        var lastUpdate: UInt64 = 0
        var spanCount: Int32 = 0
        /// Listed in `dirty` since its last summary.
        var isDirty = false
        var hasSummary = false
        var summary = PackedSummary()

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
        /// Byte offset of the root span in the record, -1 for none.
        var rootOffset = -1
        var errorCount: Int32 = 0
        var depth: Int32 = 0
        var rootCount: Int32 = 0
        /// Index in `serviceLists`, or `UInt32.max` when that table was full.
        var services: UInt32 = 0
        var isIncomplete = false
    }

    public let limits: TraceStoreLimits
    public private(set) var counters = Counters()
    private var records: [TraceID: Record] = [:]
    private var arena = SpanArena()
    private var scratch: [UInt8] = []
    private var spanScratch: [UInt8] = []
    private var serviceLists = ServiceLists()
    /// Trace ids in order of first arrival, for oldest-first eviction.
    private var arrivalOrder: [TraceID] = []
    private var arrivalHead = 0
    /// Traces whose summary is stale, each listed once.
    private var dirty: [TraceID] = []
    public private(set) var spanCount = 0
    /// Bumped on every change; a reader redraws only when it moved.
    public private(set) var version: UInt64 = 0

    public init(limits: TraceStoreLimits = TraceStoreLimits()) {
        self.limits = limits
    }

    /// A store whose string/resource/scope tables hold at most `tableCapacity` entries each.
    init(limits: TraceStoreLimits = TraceStoreLimits(), tableCapacity: Int) {
        self.limits = limits
        self.arena = SpanArena(tableCapacity: tableCapacity)
    }

    /// Strings, resources and scopes written inline because their table was full.
    public var valuesInlinedPastTableBound: Int { arena.inlinedPastBound }

    public var traceCount: Int { records.count }

    public mutating func add(_ span: Span) {
        version &+= 1
        let id = span.traceID
        let version = self.version
        let limit = limits.maxSpansPerTrace
        // Packed before the lookup: the closure below may touch only the record.
        arena.append(span, to: &scratch, scratch: &spanScratch)
        // Moved out and back, not copied: a copy alive at `removeAll` would
        // make it allocate a fresh buffer for every span.
        var packed: [UInt8] = []
        swap(&packed, &scratch)
        // One hash lookup per span: mutate the record in place.
        let (isNew, accepted, becameDirty) = { (record: inout Record) -> (Bool, Bool, Bool) in
            let isNew = record.lastUpdate == 0
            guard Int(record.spanCount) < limit else {
                if isNew { record.lastUpdate = version }
                return (isNew, false, false)
            }
            Self.appendExactly(packed, to: &record.bytes)
            record.spanCount += 1
            record.lastUpdate = version
            let becameDirty = !record.isDirty
            record.isDirty = true
            return (isNew, true, becameDirty)
        }(&records[id, default: Record()])
        packed.removeAll(keepingCapacity: true)
        scratch = packed
        if isNew { arrivalOrder.append(id) }
        if becameDirty { dirty.append(id) }
        guard accepted else {
            counters.spansDroppedTraceFull += 1
            return
        }
        spanCount += 1
        counters.spansAccepted += 1
        if spanCount > limits.maxSpans { evictIfNeeded(keeping: id) }
    }

    /// Small traces grow to exactly their size: most traces are a few spans,
    /// and doubling would leave a third of their bytes unused. Past 4 KiB the
    /// usual doubling keeps appends amortised O(1).
    private static func appendExactly(_ bytes: [UInt8], to storage: inout [UInt8]) {
        let needed = storage.count + bytes.count
        if needed > storage.capacity, needed < 4096 {
            var grown: [UInt8] = []
            grown.reserveCapacity(needed)
            grown.append(contentsOf: storage)
            storage = grown
        }
        storage.append(contentsOf: bytes)
    }

    public mutating func add<S: Sequence>(contentsOf spans: S) where S.Element == Span {
        for span in spans { add(span) }
    }

    private mutating func evictIfNeeded(keeping current: TraceID) {
        while spanCount > limits.maxSpans, arrivalHead < arrivalOrder.count, records.count > 1 {
            let oldest = arrivalOrder[arrivalHead]
            arrivalHead += 1
            if oldest == current {
                // Never evict the trace being added to: requeue it.
                arrivalOrder.append(oldest)
                continue
            }
            // Entries of traces already evicted are skipped.
            guard let record = records.removeValue(forKey: oldest) else { continue }
            spanCount -= Int(record.spanCount)
            counters.tracesEvicted += 1
            counters.spansEvicted += Int(record.spanCount)
        }
        // Compact the queue now and then so it does not grow without bound.
        if arrivalHead > 4096, arrivalHead * 2 > arrivalOrder.count {
            arrivalOrder.removeFirst(arrivalHead)
            arrivalHead = 0
        }
    }

    /// The assembled trace, or nil if the store does not hold it.
    public func trace(_ id: TraceID) -> Trace? {
        guard let record = records[id] else { return nil }
        return Trace(traceID: id, spans: spans(of: record, id: id), lastUpdate: record.lastUpdate)
    }

    /// The version of a trace: changes when one of its spans arrives.
    public func lastUpdate(of id: TraceID) -> UInt64? { records[id]?.lastUpdate }

    /// Re-derives the summaries of traces that changed since the last call.
    public mutating func refreshSummaries() {
        for id in dirty {
            // Evicted since it was listed: nothing to do.
            guard let record = records[id] else { continue }
            let source = StoredSpans(arena: arena, bytes: record.bytes, count: Int(record.spanCount))
            let facts = SummaryFacts(source: source, tree: TraceTree(source: source))
            let packed = PackedSummary(
                start: facts.start, duration: facts.duration, rootOffset: facts.root.map { source.headers[$0].offset } ?? -1,
                errorCount: Int32(clamping: facts.errorCount), depth: Int32(clamping: facts.depth),
                rootCount: Int32(clamping: facts.rootCount), services: serviceLists.index(of: facts.services) ?? .max,
                isIncomplete: facts.isIncomplete)
            records[id]?.setSummary(packed)
        }
        dirty.removeAll(keepingCapacity: true)
    }

    private func unpack(_ record: Record, id: TraceID) -> TraceSummary? {
        guard record.hasSummary else { return nil }
        let packed = record.summary
        let names = packed.rootOffset >= 0 ? arena.nameAndService(in: record.bytes, at: packed.rootOffset) : (name: "", service: "")
        let services: [String]
        if packed.services != .max {
            services = serviceLists[packed.services]
        } else {
            let source = StoredSpans(arena: arena, bytes: record.bytes, count: Int(record.spanCount))
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
        var offset = 0
        while offset < record.bytes.count {
            spans.append(arena.span(in: record.bytes, at: &offset, traceID: id))
        }
        return spans
    }

    /// Every trace's summary, in no particular order.
    public mutating func summaries() -> [TraceSummary] {
        refreshSummaries()
        var all: [TraceSummary] = []
        all.reserveCapacity(records.count)
        for (id, record) in records {
            if let summary = unpack(record, id: id) { all.append(summary) }
        }
        return all
    }

    /// The summary as of the last `refreshSummaries`.
    public func summary(_ id: TraceID) -> TraceSummary? {
        records[id].flatMap { unpack($0, id: id) }
    }

    public var allTraceIDs: [TraceID] { Array(records.keys) }
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

    public var version: UInt64 { store.withLock { $0.version } }
    public var counters: TraceStore.Counters { store.withLock { $0.counters } }
    public var spanCount: Int { store.withLock { $0.spanCount } }
    public var traceCount: Int { store.withLock { $0.traceCount } }
    public var limits: TraceStoreLimits { store.withLock { $0.limits } }

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
    public func withStore<R>(_ body: (inout TraceStore) -> R) -> R { store.withLock { body(&$0) } }
}

extension TraceStore {
    /// The spans of a trace, arrival order, made from the stored form.
    public func traceSpans(_ id: TraceID) -> [Span]? {
        guard let record = records[id] else { return nil }
        return spans(of: record, id: id)
    }
}

/// A trace's stored spans as the tree and the summary read them: headers
/// only, attributes skipped.
struct StoredSpans: SummarySource {
    let arena: SpanArena
    let bytes: [UInt8]
    let headers: [SpanArena.Header]

    init(arena: SpanArena, bytes: [UInt8], count: Int) {
        self.arena = arena
        self.bytes = bytes
        var headers: [SpanArena.Header] = []
        headers.reserveCapacity(count)
        var offset = 0
        while offset < bytes.count { headers.append(arena.header(in: bytes, at: &offset)) }
        self.headers = headers
    }

    var count: Int { headers.count }
    func spanID(_ i: Int) -> SpanID { headers[i].spanID }
    func parentID(_ i: Int) -> SpanID? { headers[i].parentID }
    func start(_ i: Int) -> UInt64 { headers[i].start }
    func duration(_ i: Int) -> UInt64 { headers[i].duration }
    func isError(_ i: Int) -> Bool { headers[i].isError }
    func serviceKey(_ i: Int) -> UInt {
        // Inline resources (past the table's bound) get a key of their own.
        headers[i].resource >= 0 ? UInt(headers[i].resource) : UInt.max - UInt(headers[i].offset)
    }
    func serviceName(_ i: Int) -> String {
        arena.serviceName(ofResource: headers[i].resource, in: bytes, spanAt: headers[i].offset)
    }
    func nameAndService(_ i: Int) -> (name: String, service: String) {
        arena.nameAndService(in: bytes, at: headers[i].offset)
    }
}
