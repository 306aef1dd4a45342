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
        // Fields are read in place (no whole-span copies: see TraceTree).
        var start = UInt64.max
        var end: UInt64 = 0
        var errors = 0
        for i in spans.indices {
            start = min(start, spans[i].startTimeUnixNano)
            end = max(end, spans[i].startTimeUnixNano &+ spans[i].durationNano)
            if spans[i].isError { errors += 1 }
        }
        // Distinct services in tree order; resources are shared, so compare
        // by identity first and only then by name.
        var services: [String] = []
        var lastResource: Resource?
        var incomplete = false
        for node in tree.rows {
            let resource = spans[Int(node.spanIndex)].resource
            if resource !== lastResource {
                lastResource = resource
                if !services.contains(resource.serviceName) { services.append(resource.serviceName) }
            }
            if node.marks.contains(.missingParent) { incomplete = true }
        }
        // The root shown for a trace: its first true root (no parent), else its
        // first top-level span.
        var root: Int?
        for node in tree.rows where node.parentRow < 0 {
            let index = Int(node.spanIndex)
            if spans[index].parentSpanID == nil { root = index; break }
            if root == nil { root = index }
        }
        return TraceSummary(
            traceID: traceID,
            rootService: root.map { spans[$0].serviceName } ?? "",
            rootOperation: root.map { spans[$0].name } ?? "",
            startUnixNano: spans.isEmpty ? 0 : start,
            durationNano: spans.isEmpty ? 0 : end - start,
            spanCount: spans.count,
            services: services,
            errorCount: errors,
            depth: spans.isEmpty ? 0 : tree.maxDepth + 1,
            rootCount: tree.rootCount,
            isIncomplete: incomplete,
            lastUpdate: lastUpdate
        )
    }
}
