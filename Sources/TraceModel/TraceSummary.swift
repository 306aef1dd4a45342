/// What the trace list shows of one trace: derived from its spans and tree.
public struct TraceSummary: Sendable, Hashable {
    public var traceID: TraceID
    public var rootService: String
    public var rootOperation: String
    public var startUnixNano: UInt64
    public var durationNano: UInt64
    public var spanCount: Int
    /// Distinct services, in order of first appearance in the tree.
    public var services: [String]
    public var errorCount: Int
    /// Levels in the tree (1 for a lone span).
    public var depth: Int
    public var rootCount: Int
    /// Some span names a parent that is not in the trace.
    public var isIncomplete: Bool
    /// Increases each time a span of this trace arrives; orders "newest".
    public var lastUpdate: UInt64

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
        var services = ServiceLists()
        return summarize(traceID: traceID, source: SpanList(spans: spans), tree: tree, lastUpdate: lastUpdate,
                         services: &services)
    }

    static func summarize<Source: SummarySource>(traceID: TraceID, source spans: Source, tree: TraceTree,
                                                 lastUpdate: UInt64, services lists: inout ServiceLists) -> TraceSummary {
        var start = UInt64.max
        var end: UInt64 = 0
        var errors = 0
        for i in 0..<spans.count {
            start = min(start, spans.start(i))
            end = max(end, spans.start(i) &+ spans.duration(i))
            if spans.isError(i) { errors += 1 }
        }
        // Distinct services in tree order; spans of one process share a key,
        // so compare keys first and only then names.
        var services: [String] = []
        var lastKey: UInt?
        var incomplete = false
        for node in tree.rows {
            let index = Int(node.spanIndex)
            let key = spans.serviceKey(index)
            if key != lastKey {
                lastKey = key
                let name = spans.serviceName(index)
                if !services.contains(name) { services.append(name) }
            }
            if node.marks.contains(.missingParent) { incomplete = true }
        }
        // The root shown for a trace: its first true root (no parent), else its
        // first top-level span.
        var root: Int?
        for node in tree.rows where node.parentRow < 0 {
            let index = Int(node.spanIndex)
            if spans.parentID(index) == nil { root = index; break }
            if root == nil { root = index }
        }
        let rootNames = root.map { spans.nameAndService($0) }
        return TraceSummary(
            traceID: traceID,
            rootService: rootNames?.service ?? "",
            rootOperation: rootNames?.name ?? "",
            startUnixNano: spans.count == 0 ? 0 : start,
            durationNano: spans.count == 0 ? 0 : end - start,
            spanCount: spans.count,
            services: lists.shared(services),
            errorCount: errors,
            depth: spans.count == 0 ? 0 : tree.maxDepth + 1,
            rootCount: tree.rootCount,
            isIncomplete: incomplete,
            lastUpdate: lastUpdate
        )
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

/// One shared array per distinct list of services: a million traces of the
/// same two services hold one array between them, not a million.
struct ServiceLists: Sendable {
    private var lists: Set<[String]> = []
    private let capacity = 4096

    mutating func shared(_ services: [String]) -> [String] {
        if let existing = lists.firstIndex(of: services) { return lists[existing] }
        if lists.count < capacity { lists.insert(services) }
        return services
    }
}
