/// Per-group figures for one trace, like Jaeger UI's Trace Statistics table:
/// spans grouped by service, by operation, or by both, each group with its
/// count, total / average / min / max duration, self time and share of the
/// trace. Rows know their spans so that the UI can find them in the waterfall.
///
/// Definitions follow Jaeger (TracePage/TraceStatistics/tableValues):
/// - self time is a span's duration minus the union of its children's
///   intervals, clipped to the span (`TraceTree.Node.selfTimeNano`);
/// - "% of trace" is the group's self-time total / the trace's duration * 100,
///   so the column sums to 100 over all groups of a one-root trace;
/// - min and max are of durations; Jaeger also keeps self min / self max,
///   carried here as `selfMinNanos` / `selfMaxNanos`.
/// Unlike Jaeger, service-and-operation is one flat table of pairs rather
/// than a service table with operation detail rows, and averages are whole
/// nanoseconds (rounded to nearest) rather than rounded microseconds.
public struct TraceStatistics: Sendable, Hashable {
    public enum Grouping: String, Sendable, CaseIterable {
        case service, operation, serviceAndOperation
    }

    /// The table's columns, each sortable.
    public enum Column: String, Sendable, CaseIterable {
        case name, count, total, average, min, max, selfTotal, selfAverage, percent
    }

    /// One group of spans.
    public struct Row: Sendable, Hashable {
        /// nil when grouped by operation only.
        public var service: String?
        /// nil when grouped by service only.
        public var operation: String?
        /// "service", "operation" or "service: operation".
        public var name: String
        public var count: Int
        /// Sum of the group's span durations (saturating).
        public var totalNanos: UInt64
        public var minNanos: UInt64
        public var maxNanos: UInt64
        /// `totalNanos / count`, rounded to the nearest nanosecond.
        public var averageNanos: UInt64
        /// Sum of the group's self times (saturating).
        public var selfTotalNanos: UInt64
        /// `selfTotalNanos / count`, rounded to the nearest nanosecond.
        public var selfAverageNanos: UInt64
        public var selfMinNanos: UInt64
        public var selfMaxNanos: UInt64
        /// `selfTotalNanos / trace duration * 100` (Jaeger's "% of trace"); 0 for a zero-length trace.
        public var percentOfTrace: Double
        /// Spans of the group that are errors (`Span.isError`).
        public var errorCount: Int
        /// The group's spans (indices into `Trace.spans`), in waterfall row order.
        public var spanIndices: [Int32]
    }

    public let grouping: Grouping
    /// The trace's duration the percentages are of.
    public let traceDurationNanos: UInt64
    public private(set) var rows: [Row]
    /// The column the rows are sorted by.
    public private(set) var sortColumn: Column
    public private(set) var descending: Bool

    /// Groups the spans of `trace` and sorts the groups.
    public init(trace: Trace, grouping: Grouping, sortBy: Column = .total, descending: Bool = true) {
        self.grouping = grouping
        self.traceDurationNanos = trace.summary.durationNano
        self.rows = TraceStatistics.group(trace: trace, grouping: grouping)
        self.sortColumn = sortBy
        self.descending = descending
        sort(by: sortBy, descending: descending)
    }

    /// Sorts the rows by a column. Equal values are ordered by name
    /// (ascending, whichever direction), so that the order is deterministic.
    public mutating func sort(by column: Column, descending: Bool) {
        sortColumn = column
        self.descending = descending
        rows.sort { a, b in
            let order = TraceStatistics.compare(a, b, by: column)
            if order != 0 { return descending ? order > 0 : order < 0 }
            if column == .name { return false }
            return TraceStatistics.compareNames(a, b) < 0
        }
    }

    /// -1, 0 or 1 as `a`'s value in `column` is below, equal to or above `b`'s.
    static func compare(_ a: Row, _ b: Row, by column: Column) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch column {
        case .name: return compareNames(a, b)
        case .count: return cmp(a.count, b.count)
        case .total: return cmp(a.totalNanos, b.totalNanos)
        case .average: return cmp(a.averageNanos, b.averageNanos)
        case .min: return cmp(a.minNanos, b.minNanos)
        case .max: return cmp(a.maxNanos, b.maxNanos)
        case .selfTotal: return cmp(a.selfTotalNanos, b.selfTotalNanos)
        case .selfAverage: return cmp(a.selfAverageNanos, b.selfAverageNanos)
        case .percent: return cmp(a.percentOfTrace, b.percentOfTrace)
        }
    }

    /// By display name, then by the parts: "a: b" + "c" and "a" + "b: c"
    /// have the same display name but are different groups.
    static func compareNames(_ a: Row, _ b: Row) -> Int {
        if a.name != b.name { return a.name < b.name ? -1 : 1 }
        let sa = a.service ?? "", sb = b.service ?? ""
        if sa != sb { return sa < sb ? -1 : 1 }
        let oa = a.operation ?? "", ob = b.operation ?? ""
        if oa != ob { return oa < ob ? -1 : 1 }
        return 0
    }

    /// What one group sums up while the spans are read.
    private struct Accumulator {
        var service: Int32
        var operation: Int32
        var count = 0
        var total = WideSum()
        var min = UInt64.max
        var max: UInt64 = 0
        var selfTotal = WideSum()
        var selfMin = UInt64.max
        var selfMax: UInt64 = 0
        var errors = 0
        var spans: [Int32] = []
    }

    private static func group(trace: Trace, grouping: Grouping) -> [Row] {
        let spans = trace.spans
        let rows = trace.tree.rows
        guard !rows.isEmpty else { return [] }
        var names = SpanNameIDs()
        // Groups are keyed by interned ids packed into one integer: no string
        // is built or hashed per span beyond the operation-name lookup.
        var groupOfKey: [UInt64: Int32] = [:]
        var groups: [Accumulator] = []
        // Two passes: spans in array order (sequential reads of 96-byte spans),
        // then rows in tree order (self times, and span lists in row order),
        // which only look up a 4-byte group id per span. Reading spans in row
        // order instead jumps around memory: 2-3x slower on 100,000 spans.
        var groupOfSpan = [Int32](repeating: 0, count: spans.count)
        for i in spans.indices {
            let service: Int32 = grouping == .operation ? -1 : names.serviceID(of: spans[i].resource)
            let operation: Int32 = grouping == .service ? -1 : names.operationID(spans[i].name)
            let key = UInt64(UInt32(bitPattern: service)) << 32 | UInt64(UInt32(bitPattern: operation))
            let g: Int
            if let existing = groupOfKey[key] {
                g = Int(existing)
            } else {
                g = groups.count
                groupOfKey[key] = Int32(g)
                groups.append(Accumulator(service: service, operation: operation))
            }
            groupOfSpan[i] = Int32(g)
            let duration = spans[i].durationNano
            groups[g].count += 1
            groups[g].total.add(duration)
            groups[g].min = Swift.min(groups[g].min, duration)
            groups[g].max = Swift.max(groups[g].max, duration)
            if spans[i].isError { groups[g].errors += 1 }
        }
        for g in groups.indices { groups[g].spans.reserveCapacity(groups[g].count) }
        for node in rows {
            let g = Int(groupOfSpan[Int(node.spanIndex)])
            let selfTime = node.selfTimeNano
            groups[g].selfTotal.add(selfTime)
            groups[g].selfMin = Swift.min(groups[g].selfMin, selfTime)
            groups[g].selfMax = Swift.max(groups[g].selfMax, selfTime)
            groups[g].spans.append(node.spanIndex)
        }

        let traceDuration = trace.summary.durationNano
        return groups.map { acc in
            let service = acc.service >= 0 ? names.services[Int(acc.service)] : nil
            let operation = acc.operation >= 0 ? names.operations[Int(acc.operation)] : nil
            let name: String
            switch (service, operation) {
            case let (s?, o?): name = s + ": " + o
            case let (s?, nil): name = s
            case let (nil, o?): name = o
            case (nil, nil): name = ""
            }
            let percent = traceDuration > 0 ? Double(acc.selfTotal.saturated) / Double(traceDuration) * 100 : 0
            return Row(
                service: service, operation: operation, name: name, count: acc.count,
                totalNanos: acc.total.saturated, minNanos: acc.min, maxNanos: acc.max,
                averageNanos: acc.total.roundedAverage(acc.count),
                selfTotalNanos: acc.selfTotal.saturated,
                selfAverageNanos: acc.selfTotal.roundedAverage(acc.count),
                selfMinNanos: acc.selfMin, selfMaxNanos: acc.selfMax,
                percentOfTrace: percent, errorCount: acc.errors, spanIndices: acc.spans)
        }
    }
}

/// `total / count` rounded to nearest, without overflowing near `UInt64.max`.
func roundedAverage(_ total: UInt64, _ count: Int) -> UInt64 {
    guard count > 0 else { return 0 }
    let n = UInt64(count)
    let (q, r) = total.quotientAndRemainder(dividingBy: n)
    return r >= n - r ? q + 1 : q
}

/// A sum of durations in 128 bits. Shown saturated, but averaged whole: the
/// average of hostile durations near `UInt64.max` taken from a saturated
/// sum fell below the group's minimum.
struct WideSum {
    private var high: UInt64 = 0
    private var low: UInt64 = 0

    mutating func add(_ value: UInt64) {
        let (sum, carry) = low.addingReportingOverflow(value)
        low = sum
        if carry { high += 1 }  // at most once per value added: never overflows
    }

    var saturated: UInt64 { high > 0 ? .max : low }

    /// `sum / count` rounded to nearest; fits, as an average of 64-bit values does.
    func roundedAverage(_ count: Int) -> UInt64 {
        guard count > 0 else { return 0 }
        let n = UInt64(count)
        let (q, r) = n.dividingFullWidth((high, low))
        return r >= n - r && q < .max ? q + 1 : q
    }
}

/// Sums of hostile durations (near `UInt64.max`) stop at the maximum instead of trapping.
func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}

/// Small integer ids for service and operation names, so that analyses key
/// their tables by integers. Spans of one process share a `Resource`: its
/// identity is looked up first and its name hashed once per resource.
struct SpanNameIDs {
    private(set) var services: [String] = []
    private(set) var operations: [String] = []
    private var serviceByName: [String: Int32] = [:]
    private var operationByName: [String: Int32] = [:]
    private var serviceByResource: [ObjectIdentifier: Int32] = [:]
    private var lastResource: ObjectIdentifier?
    private var lastService: Int32 = 0

    /// Valid while the resource is alive: callers hold the trace whose spans retain it.
    mutating func serviceID(of resource: Resource) -> Int32 {
        let identity = ObjectIdentifier(resource)
        if identity == lastResource { return lastService }
        let id: Int32
        if let known = serviceByResource[identity] {
            id = known
        } else {
            id = serviceID(named: resource.serviceName)
            serviceByResource[identity] = id
        }
        lastResource = identity
        lastService = id
        return id
    }

    mutating func serviceID(named name: String) -> Int32 {
        if let known = serviceByName[name] { return known }
        let id = Int32(services.count)
        services.append(name)
        serviceByName[name] = id
        return id
    }

    mutating func operationID(_ name: String) -> Int32 {
        if let known = operationByName[name] { return known }
        let id = Int32(operations.count)
        operations.append(name)
        operationByName[name] = id
        return id
    }
}
