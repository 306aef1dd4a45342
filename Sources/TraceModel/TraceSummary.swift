/// What the trace list shows of one trace: derived from its spans and tree.
/// 104 bytes: the counts are kept in 32 bits (a trace in the store holds at
/// most `Int32.max` spans), since lists hold one summary per trace and a
/// dump can have millions of traces.
public struct TraceSummary: Sendable, Hashable {
    public var traceID: TraceID
    public var rootService: String
    public var rootOperation: String
    public var startUnixNano: UInt64
    public var durationNano: UInt64
    /// Distinct services, in order of first appearance in the tree.
    public var services: [String]
    /// Increases each time a span of this trace arrives; orders "newest".
    public var lastUpdate: UInt64
    private var storedSpanCount: Int32
    private var storedErrorCount: Int32
    private var storedDepth: Int32
    private var storedRootCount: Int32
    /// Some span names a parent that is not in the trace.
    public var isIncomplete: Bool

    public var spanCount: Int {
        get { Int(storedSpanCount) }
        set { storedSpanCount = Int32(clamping: newValue) }
    }
    public var errorCount: Int {
        get { Int(storedErrorCount) }
        set { storedErrorCount = Int32(clamping: newValue) }
    }
    /// Levels in the tree (1 for a lone span).
    public var depth: Int {
        get { Int(storedDepth) }
        set { storedDepth = Int32(clamping: newValue) }
    }
    public var rootCount: Int {
        get { Int(storedRootCount) }
        set { storedRootCount = Int32(clamping: newValue) }
    }

    init(traceID: TraceID, rootService: String, rootOperation: String, startUnixNano: UInt64, durationNano: UInt64,
         spanCount: Int, services: [String], errorCount: Int, depth: Int, rootCount: Int, isIncomplete: Bool,
         lastUpdate: UInt64) {
        self.traceID = traceID
        self.rootService = rootService
        self.rootOperation = rootOperation
        self.startUnixNano = startUnixNano
        self.durationNano = durationNano
        self.services = services
        self.lastUpdate = lastUpdate
        storedSpanCount = Int32(clamping: spanCount)
        storedErrorCount = Int32(clamping: errorCount)
        storedDepth = Int32(clamping: depth)
        storedRootCount = Int32(clamping: rootCount)
        self.isIncomplete = isIncomplete
    }

    public var hasError: Bool { errorCount > 0 }
    public var endUnixNano: UInt64 { startUnixNano &+ durationNano }
}

/// One trace: its spans (arrival order), their tree, and its summary.
/// An immutable value: the UI holds it while the store keeps changing.
public struct Trace: Sendable {
    public let traceID: TraceID
    public let spans: [Span]
    public let tree: TraceTree
    public let summary: TraceSummary

    public init(traceID: TraceID, spans: [Span], lastUpdate: UInt64 = 0) {
        self.traceID = traceID
        self.spans = spans
        let tree = TraceTree(spans: spans)
        self.tree = tree
        self.summary = Trace.summarize(traceID: traceID, spans: spans, tree: tree, lastUpdate: lastUpdate)
    }

    public var startUnixNano: UInt64 { summary.startUnixNano }

    /// The span at a waterfall row.
    public func span(atRow row: Int) -> Span { spans[Int(tree.rows[row].spanIndex)] }

    static func summarize(traceID: TraceID, spans: [Span], tree: TraceTree, lastUpdate: UInt64) -> TraceSummary {
        let list = SpanList(spans: spans)
        let facts = SummaryFacts(source: list, tree: tree)
        let root = facts.root.map { list.nameAndService($0) }
        return facts.summary(traceID: traceID, rootService: root?.service ?? "", rootOperation: root?.name ?? "",
                             services: facts.services, lastUpdate: lastUpdate)
    }
}

/// What a trace's summary is derived from, read off its spans and tree.
struct SummaryFacts {
    var start: UInt64 = 0
    var duration: UInt64 = 0
    var spanCount: Int
    var errorCount = 0
    /// Distinct services, in tree order.
    var services: [String] = []
    var isIncomplete = false
    /// The span shown as the trace's root: its first true root (no parent),
    /// else its first top-level span.
    var root: Int?
    var depth: Int
    var rootCount: Int

    init<Source: SummarySource>(source spans: Source, tree: TraceTree) {
        spanCount = spans.count
        depth = spans.count == 0 ? 0 : tree.maxDepth + 1
        rootCount = tree.rootCount
        var start = UInt64.max
        var end: UInt64 = 0
        for i in 0..<spans.count {
            start = min(start, spans.start(i))
            // Saturating: a hostile duration must not wrap the end below a
            // start (the trace's duration would underflow and trap).
            let (spanEnd, overflow) = spans.start(i).addingReportingOverflow(spans.duration(i))
            end = max(end, overflow ? .max : spanEnd)
            if spans.isError(i) { errorCount += 1 }
        }
        if spans.count > 0 {
            self.start = start
            duration = end - start
        }
        // Spans of one process share a key: compare keys first, names after.
        var lastKey: UInt?
        for node in tree.rows {
            let index = Int(node.spanIndex)
            let key = spans.serviceKey(index)
            if key != lastKey {
                lastKey = key
                let name = spans.serviceName(index)
                if !services.contains(name) { services.append(name) }
            }
            if node.marks.contains(.missingParent) { isIncomplete = true }
        }
        for node in tree.rows where node.parentRow < 0 {
            let index = Int(node.spanIndex)
            if spans.parentID(index) == nil { root = index; break }
            if root == nil { root = index }
        }
    }

    func summary(traceID: TraceID, rootService: String, rootOperation: String, services: [String],
                 lastUpdate: UInt64) -> TraceSummary {
        TraceSummary(traceID: traceID, rootService: rootService, rootOperation: rootOperation, startUnixNano: start,
                     durationNano: duration, spanCount: spanCount, services: services, errorCount: errorCount,
                     depth: depth, rootCount: rootCount, isIncomplete: isIncomplete, lastUpdate: lastUpdate)
    }
}

/// What a summary reads of each span beyond the tree's fields.
protocol SummarySource: TreeSource {
    func isError(_ i: Int) -> Bool
    /// Spans with the same key have the same service (a cheap check before names).
    func serviceKey(_ i: Int) -> UInt
    func serviceName(_ i: Int) -> String
    func nameAndService(_ i: Int) -> (name: String, service: String)
}

extension SpanList: SummarySource {
    func isError(_ i: Int) -> Bool { spans[i].isError }
    func serviceKey(_ i: Int) -> UInt { UInt(bitPattern: ObjectIdentifier(spans[i].resource)) }
    func serviceName(_ i: Int) -> String { spans[i].serviceName }
    func nameAndService(_ i: Int) -> (name: String, service: String) { (spans[i].name, spans[i].serviceName) }
}

/// Each distinct list of services once, by index: a million traces of the
/// same two services share one array. Bounded; past the bound a trace's list
/// is not kept and is derived again when asked for.
struct ServiceLists: Sendable {
    private(set) var lists: [[String]] = []
    private var index: [[String]: UInt16] = [:]
    /// Below `UInt16.max`, which a record keeps for "not listed".
    private let capacity = 4096

    /// The last list asked for: traces in a row mostly have the same
    /// services, and comparing a list of one or two names is cheaper than hashing it.
    private var last: (services: [String], index: UInt16)?

    mutating func index(of services: [String]) -> UInt16? {
        if let last, last.services == services { return last.index }
        if let existing = index[services] {
            last = (services, existing)
            return existing
        }
        guard lists.count < capacity else { return nil }
        let i = UInt16(lists.count)
        index[services] = i
        lists.append(services)
        last = (services, i)
        return i
    }

    subscript(i: UInt16) -> [String] { lists[Int(i)] }
}
