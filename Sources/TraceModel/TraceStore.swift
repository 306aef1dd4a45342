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

    struct Record: Sendable {
        var spans: [Span] = []
        var summary: TraceSummary?
        var lastUpdate: UInt64 = 0
        /// Listed in `dirty` since its last summary.
        var isDirty = false
    }

    public let limits: TraceStoreLimits
    public private(set) var counters = Counters()
    private var records: [TraceID: Record] = [:]
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

    public var traceCount: Int { records.count }

    public mutating func add(_ span: Span) {
        version &+= 1
        let id = span.traceID
        let version = self.version
        let limit = limits.maxSpansPerTrace
        // One hash lookup per span: mutate the record in place.
        let (isNew, accepted, becameDirty) = { (record: inout Record) -> (Bool, Bool, Bool) in
            let isNew = record.lastUpdate == 0
            guard record.spans.count < limit else {
                if isNew { record.lastUpdate = version }
                return (isNew, false, false)
            }
            record.spans.append(span)
            record.lastUpdate = version
            let becameDirty = !record.isDirty
            record.isDirty = true
            return (isNew, true, becameDirty)
        }(&records[id, default: Record()])
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
            spanCount -= record.spans.count
            counters.tracesEvicted += 1
            counters.spansEvicted += record.spans.count
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
        return Trace(traceID: id, spans: record.spans, lastUpdate: record.lastUpdate)
    }

    /// The version of a trace: changes when one of its spans arrives.
    public func lastUpdate(of id: TraceID) -> UInt64? { records[id]?.lastUpdate }

    /// Re-derives the summaries of traces that changed since the last call.
    public mutating func refreshSummaries() {
        for id in dirty {
            // Evicted since it was listed: nothing to do.
            guard let spans = records[id]?.spans, let lastUpdate = records[id]?.lastUpdate else { continue }
            let tree = TraceTree(spans: spans)
            let summary = Trace.summarize(traceID: id, spans: spans, tree: tree, lastUpdate: lastUpdate)
            records[id]?.summary = summary
            records[id]?.isDirty = false
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// Every trace's summary, in no particular order.
    public mutating func summaries() -> [TraceSummary] {
        refreshSummaries()
        return records.values.compactMap(\.summary)
    }

    /// The summary as of the last `refreshSummaries`.
    public func summary(_ id: TraceID) -> TraceSummary? { records[id]?.summary }

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
    /// The spans of a trace, arrival order (copy-on-write: cheap).
    public func traceSpans(_ id: TraceID) -> [Span]? { records[id]?.spans }
}
