import Histogram

/// Span latency per service and per (service, operation): count, errors and
/// an HDR histogram of durations (nanoseconds, 3 significant digits), kept
/// up to date span by span so that the latency table never rescans the store.
///
/// Removal is exact although HdrHistogram cannot subtract (0.2.0 has
/// `record`, `add(_:)` and `reset()`, no decrement): each key keeps a second
/// histogram of what was removed, with the same bucket layout, and a
/// bucket's live count is `added - removed`. Only public API is used:
/// `countForValue` reads the removed count of a bucket while walking the
/// added one's `recordedValues()`. When the removed histogram holds as many
/// values as are live (and at least `compactionFloor`), the two are folded
/// into one again, so neither grows without bound and 32-bit bucket counts
/// cannot wrap; when nothing is live both are dropped.
///
/// Bounded: at most `maxKeys` distinct keys (service rows and operation rows
/// together). Past the bound, a new operation of a known service is counted
/// under that service's `otherOperation` row, and a new service under the
/// `otherService` row; the spans so counted are in `overflowSpans`. Keys are
/// never forgotten (a key emptied by eviction keeps its slot, with small
/// histograms): were they, a span counted under "other" at add time could be
/// removed from a key created later, and removal would no longer be exact.
public struct LatencyIndex: Sendable {
    /// A row of the table: `operation` nil is a service's summary row.
    public struct Key: Hashable, Sendable {
        public var service: String
        public var operation: String?

        public init(service: String, operation: String? = nil) {
            self.service = service
            self.operation = operation
        }
    }

    public enum Grouping: Sendable, Hashable {
        /// Service summary rows only.
        case service
        /// For each service its summary row, then its operations.
        case operation
    }

    /// One row: counts are exact, percentiles are HDR values (see `percentile`).
    public struct Row: Sendable, Hashable {
        public var key: Key
        public var count: Int
        public var errors: Int
        /// `errors / count`, 0 for an empty row.
        public var errorRate: Double
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var max: UInt64
    }

    /// One bar of a text histogram: durations in `lower...upper` (nanoseconds).
    public struct Bucket: Sendable, Hashable {
        public var lower: UInt64
        public var upper: UInt64
        public var count: Int
    }

    /// Where spans go once `maxKeys` is reached.
    public static let otherOperation = "(other)"
    public static let otherService = "(other)"
    /// Durations above this are recorded as this (~52 days): it keeps the
    /// auto-resizing histograms clear of the library's 2^63 limit and small.
    public static let maxTrackedNanos: UInt64 = 1 << 52
    /// Fold removed values back once they are at least this many (and as many as the live ones).
    static let compactionFloor: UInt64 = 4096

    /// The bound on distinct keys (service rows plus operation rows).
    public let maxKeys: Int
    /// Spans currently counted under an "other" row because the key bound was reached.
    public private(set) var overflowSpans = 0
    /// Spans currently counted (each is in its service row and its operation row).
    public private(set) var spanCount = 0

    private var slots: [Key: Int32] = [:]
    private var cells: [Cell] = []

    /// A key's figures. `service` is the slot of its service row (its own slot for a service row).
    struct Cell: Sendable {
        var key: Key
        var service: Int32
        var count = 0
        var errors = 0
        var added = LatencyIndex.emptyHistogram()
        var removed: Histogram<UInt32>?

        init(key: Key, service: Int32) {
            self.key = key
            self.service = service
        }

        mutating func record(_ nanos: UInt64, isError: Bool) {
            count += 1
            if isError { errors += 1 }
            LatencyIndex.record(nanos, count: 1, into: &added)
        }

        mutating func unrecord(_ nanos: UInt64, isError: Bool) {
            // Something is removed that was never added: ignore rather than go negative.
            guard count > 0 else { return }
            count -= 1
            if isError, errors > 0 { errors -= 1 }
            if count == 0 {
                // Nothing live: start afresh, small.
                added = LatencyIndex.emptyHistogram()
                removed = nil
                errors = 0
                return
            }
            if removed == nil { removed = LatencyIndex.emptyHistogram() }
            if var histogram = removed {
                removed = nil  // keep the storage unique while it is recorded into
                LatencyIndex.record(nanos, count: 1, into: &histogram)
                removed = histogram
            }
            if let removedCount = removed?.totalCount, removedCount >= LatencyIndex.compactionFloor,
               removedCount >= UInt64(count) {
                compact()
            }
        }

        /// Replaces `added - removed` by one histogram of the live values: each
        /// live bucket recorded once with its count, at a value of that bucket
        /// (same layout, so the same bucket).
        mutating func compact() {
            var live = LatencyIndex.emptyHistogram()
            forEachLiveBucket { value, count in LatencyIndex.record(value, count: UInt32(truncatingIfNeeded: count), into: &live) }
            added = live
            removed = nil
        }

        /// Each bucket with live values, lowest first: a value in the bucket and its live count.
        func forEachLiveBucket(_ body: (UInt64, UInt64) -> Void) {
            let removedMax = removed?.maxRecorded ?? 0
            for bucket in added.recordedValues() {
                var live = UInt64(bucket.count)
                // Buckets above the removed histogram's maximum hold nothing removed
                // (and may lie past its counts array).
                if let removed, bucket.value <= removed.highestEquivalentForValue(removedMax) {
                    live = UInt64(bucket.count &- removed.countForValue(bucket.value))
                }
                if live > 0 { body(bucket.value, live) }
            }
        }

        var row: Row {
            var p50: UInt64 = 0, p90: UInt64 = 0, p99: UInt64 = 0, top: UInt64 = 0
            if count > 0 {
                let total = UInt64(count)
                let ranks = (LatencyIndex.rank(500, of: total), LatencyIndex.rank(900, of: total),
                             LatencyIndex.rank(990, of: total))
                var seen: UInt64 = 0
                let ceiling = added.maxRecorded
                forEachLiveBucket { value, live in
                    let before = seen
                    seen += live
                    let reported = Swift.min(added.highestEquivalentForValue(value), ceiling)
                    if before < ranks.0, seen >= ranks.0 { p50 = reported }
                    if before < ranks.1, seen >= ranks.1 { p90 = reported }
                    if before < ranks.2, seen >= ranks.2 { p99 = reported }
                    top = reported
                }
            }
            return Row(key: key, count: count, errors: errors,
                       errorRate: count > 0 ? Double(errors) / Double(count) : 0, p50: p50, p90: p90, p99: p99, max: top)
        }
    }

    /// Every key's histogram: lowest discernible value 1 ns, auto-resizing
    /// from a small start, so a key of millisecond spans holds ~20 x 1,024
    /// counters rather than the ~40 x 1,024 a fixed range of hours would.
    static func emptyHistogram() -> Histogram<UInt32> {
        Histogram<UInt32>(numberOfSignificantValueDigits: .three)
    }

    /// Records into `histogram`, sizing it for the value first when it is
    /// out of range. HdrHistogram's own auto-resize grows one bucket at a
    /// time through an unspecialised generic append (a sixth of a 1M-span
    /// load went there); an empty histogram is made anew to cover the value
    /// with 16x headroom, so a key grows a few times at most. The bucket
    /// layout depends only on the lowest value and precision, so histograms
    /// of any range still line up bucket for bucket.
    @inline(__always)
    static func record(_ value: UInt64, count: UInt32, into histogram: inout Histogram<UInt32>) {
        if value > histogram.highestTrackableValue {
            grow(&histogram, toCover: value)
        }
        histogram.record(value, count: count)
    }

    static func grow(_ histogram: inout Histogram<UInt32>, toCover value: UInt64) {
        // Values are clamped to maxTrackedNanos (2^52) before recording, so x16 cannot overflow.
        let headroom = Swift.max(Swift.min(value, maxTrackedNanos), 1_024) * 16
        var bigger = Histogram<UInt32>(lowestDiscernibleValue: 1, highestTrackableValue: headroom,
                                       numberOfSignificantValueDigits: .three)
        bigger.autoResize = true
        if histogram.totalCount > 0 { bigger.add(histogram) }
        histogram = bigger
    }

    /// The nearest rank of the `perMille`/1000 percentile among `count` values
    /// (1-based): `ceil(count * perMille / 1000)`, at least 1. HdrHistogram's
    /// `valueAtPercentile` uses the same rule (`ceil(p/100 * count)`, at least
    /// 1), in floating point; integers here, so that p50 of 2 values is the first.
    public static func rank(_ perMille: Int, of count: UInt64) -> UInt64 {
        Swift.max(1, (count * UInt64(perMille) + 999) / 1000)
    }

    /// - Parameter maxKeys: the bound on distinct rows. Each key holds one or
    ///   two histograms of 8 KiB to ~90 KiB (durations up to seconds), so the
    ///   default bounds the index at a few hundred MiB in the worst case and a
    ///   few MiB for the usual tens of operations.
    public init(maxKeys: Int = 4096) {
        self.maxKeys = Swift.max(2, maxKeys)
    }

    public var isEmpty: Bool { spanCount == 0 }
    /// Distinct keys held (including emptied ones).
    public var keyCount: Int { cells.count }

    // MARK: Recording

    public mutating func add(service: String, operation: String, durationNanos: UInt64, isError: Bool) {
        let (op, svc, overflowed) = slot(service: service, operation: operation)
        let nanos = Swift.min(durationNanos, Self.maxTrackedNanos)
        cells[Int(op)].record(nanos, isError: isError)
        cells[Int(svc)].record(nanos, isError: isError)
        spanCount += 1
        if overflowed { overflowSpans += 1 }
    }

    /// Where `add` counts a (service, operation): for a caller that adds
    /// many spans of one key (a packed batch) with one hash lookup. Stays
    /// valid, as keys are never forgotten.
    struct Handle {
        fileprivate var op: Int32
        fileprivate var service: Int32
        fileprivate var overflowed: Bool
    }

    /// The handle of a key, made as `add` would make it.
    mutating func handle(service: String, operation: String) -> Handle {
        let (op, svc, overflowed) = slot(service: service, operation: operation)
        return Handle(op: op, service: svc, overflowed: overflowed)
    }

    /// `add`, for a key given by its handle.
    mutating func add(_ handle: Handle, durationNanos: UInt64, isError: Bool) {
        let nanos = Swift.min(durationNanos, Self.maxTrackedNanos)
        cells[Int(handle.op)].record(nanos, isError: isError)
        cells[Int(handle.service)].record(nanos, isError: isError)
        spanCount += 1
        if handle.overflowed { overflowSpans += 1 }
    }

    /// Takes back one span given to `add` with the same arguments (an evicted trace's).
    public mutating func remove(service: String, operation: String, durationNanos: UInt64, isError: Bool) {
        guard let (op, svc, overflowed) = existingSlot(service: service, operation: operation),
              cells[Int(op)].count > 0, cells[Int(svc)].count > 0 else { return }
        let nanos = Swift.min(durationNanos, Self.maxTrackedNanos)
        cells[Int(op)].unrecord(nanos, isError: isError)
        cells[Int(svc)].unrecord(nanos, isError: isError)
        spanCount -= 1
        if overflowed { overflowSpans -= 1 }
    }

    /// The slots of a span's operation row and service row, made when new.
    /// One hash lookup for a known key: the operation's cell knows its service's slot.
    private mutating func slot(service: String, operation: String) -> (op: Int32, service: Int32, overflowed: Bool) {
        let key = Key(service: service, operation: operation)
        if let op = slots[key] { return (op, cells[Int(op)].service, false) }
        // A new operation: its service row first.
        let serviceKey = Key(service: service)
        var serviceSlot = slots[serviceKey]
        var overflowed = false
        if serviceSlot == nil {
            if cells.count < maxKeys - 1 {
                serviceSlot = make(serviceKey, service: nil)
            } else {
                overflowed = true
                serviceSlot = slots[Key(service: Self.otherService)] ?? make(Key(service: Self.otherService), service: nil)
            }
        }
        let svc = serviceSlot ?? 0
        let serviceName = cells[Int(svc)].key.service
        if overflowed || cells.count >= maxKeys {
            let other = Key(service: serviceName, operation: Self.otherOperation)
            return (slots[other] ?? make(other, service: svc), svc, true)
        }
        return (make(key, service: svc), svc, false)
    }

    /// Where `slot` put (or would put) this span, without making anything.
    private func existingSlot(service: String, operation: String) -> (op: Int32, service: Int32, overflowed: Bool)? {
        if let op = slots[Key(service: service, operation: operation)] { return (op, cells[Int(op)].service, false) }
        let serviceName = slots[Key(service: service)] != nil ? service : Self.otherService
        guard let op = slots[Key(service: serviceName, operation: Self.otherOperation)] else { return nil }
        return (op, cells[Int(op)].service, true)
    }

    private mutating func make(_ key: Key, service: Int32?) -> Int32 {
        let slot = Int32(cells.count)
        cells.append(Cell(key: key, service: service ?? slot))
        slots[key] = slot
        return slot
    }

    // MARK: Reading

    /// The table: rows with at least one live span. By `.operation`, each
    /// service's summary row comes first, then its operations; services and
    /// operations by name, the "other" rows last. Costs a walk of each
    /// row's histogram (no store access).
    public func rows(by grouping: Grouping = .operation) -> [Row] {
        var services: [Int32] = []
        var operations: [Int32: [Int32]] = [:]
        for (slot, cell) in cells.enumerated() where cell.count > 0 {
            if cell.key.operation == nil {
                services.append(Int32(slot))
            } else if grouping == .operation {
                operations[cell.service, default: []].append(Int32(slot))
            }
        }
        let ordered = { (a: String, b: String, other: String) -> Bool in
            if (a == other) != (b == other) { return b == other }
            return a < b
        }
        services.sort { ordered(cells[Int($0)].key.service, cells[Int($1)].key.service, Self.otherService) }
        var rows: [Row] = []
        for service in services {
            rows.append(cells[Int(service)].row)
            guard var ops = operations[service] else { continue }
            ops.sort {
                ordered(cells[Int($0)].key.operation ?? "", cells[Int($1)].key.operation ?? "", Self.otherOperation)
            }
            for op in ops { rows.append(cells[Int(op)].row) }
        }
        return rows
    }

    /// One row, or nil when the key has no live span.
    public func row(_ key: Key) -> Row? {
        guard let slot = slots[key], cells[Int(slot)].count > 0 else { return nil }
        return cells[Int(slot)].row
    }

    /// The key's durations in up to `buckets` log-scale bars from its lowest
    /// to its highest value, for a text histogram. Bars are contiguous
    /// (each `lower` is the previous `upper + 1`) and their counts add up to
    /// the row's count; bounds are the HDR buckets' (3 significant digits).
    public func histogram(_ key: Key, buckets: Int) -> [Bucket] {
        guard buckets > 0, let slot = slots[key], cells[Int(slot)].count > 0 else { return [] }
        let cell = cells[Int(slot)]
        var values: [(value: UInt64, count: UInt64)] = []
        cell.forEachLiveBucket { values.append(($0, $1)) }
        guard let first = values.first, let last = values.last else { return [] }
        let lo = cell.added.lowestEquivalentForValue(first.value)
        let hi = cell.added.highestEquivalentForValue(last.value)
        // Bounds at equal steps of log(value + 1): zero durations fit too.
        let logLo = (Double(lo) + 1).logNatural
        let logHi = (Double(hi) + 1).logNatural
        var bars: [Bucket] = []
        var lower = lo
        for i in 1...buckets {
            var upper: UInt64
            if i == buckets {
                upper = hi
            } else {
                let edge = (logLo + (logHi - logLo) * Double(i) / Double(buckets)).exponential - 1
                upper = edge >= Double(hi) ? hi : UInt64(Swift.max(0, edge.rounded(.down)))
                // Snap to an HDR bucket's top, so that no HDR bucket is split between bars.
                upper = Swift.min(cell.added.highestEquivalentForValue(upper), hi)
            }
            if upper < lower { continue }
            bars.append(Bucket(lower: lower, upper: upper, count: 0))
            if upper == hi { break }
            lower = upper + 1
        }
        var bar = 0
        for (value, count) in values {
            while bar < bars.count - 1, value > bars[bar].upper { bar += 1 }
            bars[bar].count += Int(count)
        }
        return bars
    }
}

private extension Double {
    var logNatural: Double { naturalLog(self) }
    var exponential: Double { naturalExp(self) }
}

#if canImport(Glibc)
import Glibc
private func naturalLog(_ x: Double) -> Double { Glibc.log(x) }
private func naturalExp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Musl)
import Musl
private func naturalLog(_ x: Double) -> Double { Musl.log(x) }
private func naturalExp(_ x: Double) -> Double { Musl.exp(x) }
#else
import Darwin
private func naturalLog(_ x: Double) -> Double { Darwin.log(x) }
private func naturalExp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
