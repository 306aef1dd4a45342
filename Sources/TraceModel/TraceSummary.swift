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
        var start = UInt64.max
        var end: UInt64 = 0
        var errors = 0
        for span in spans {
            start = min(start, span.startTimeUnixNano)
            end = max(end, span.endTimeUnixNano)
            if span.isError { errors += 1 }
        }
        var services: [String] = []
        var seen: Set<String> = []
        var incomplete = false
        for node in tree.rows {
            let span = spans[Int(node.spanIndex)]
            if seen.insert(span.serviceName).inserted { services.append(span.serviceName) }
            if node.marks.contains(.missingParent) { incomplete = true }
        }
        // The root shown for a trace: its first true root (no parent), else its
        // first top-level span.
        var rootSpan: Span?
        for node in tree.rows where node.parentRow < 0 {
            let span = spans[Int(node.spanIndex)]
            if span.parentSpanID == nil { rootSpan = span; break }
            if rootSpan == nil { rootSpan = span }
        }
        return TraceSummary(
            traceID: traceID,
            rootService: rootSpan?.serviceName ?? "",
            rootOperation: rootSpan?.name ?? "",
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
