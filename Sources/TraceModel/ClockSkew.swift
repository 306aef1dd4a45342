/// Jaeger's clock-skew adjuster (model/adjuster/clockskew.go), with the
/// span's `Resource` as its host: spans of another resource ran on another
/// clock. Walking the tree from each root, a child from another resource
/// than its parent is compared with its already adjusted parent:
///
/// - longer than the parent: if it starts before the parent, its start is
///   aligned with the parent's; otherwise it is left alone (async work, or a
///   parent that timed out);
/// - inside the parent: left alone (delta 0);
/// - otherwise: centred in the parent's window, assuming the network latency
///   splits evenly between request and response.
///
/// A child from the same resource as its parent inherits the parent's delta
/// (same clock), so a shifted span's subtree moves with it. Durations never
/// change; events move with their span.
///
/// One departure from Jaeger: an asynchronous edge (`FOLLOWS_FROM`, or a
/// consumer under a producer) gives no delta of its own. Such a child may
/// rightly run after its parent ended (a queue), so fitting it into the
/// parent's window would invent a shift; Jaeger keeps a TODO on this. The
/// critical path leaves the same edges off for the same reason.
public struct ClockSkewAdjustment: Sendable {
    /// The trace with adjusted times (same span order as the input, so span indices match).
    public let trace: Trace
    /// Per span index: how far its start moved, in nanoseconds (negative: earlier). 0 when not moved.
    public let shiftBySpan: [Int64]
    /// Spans whose times moved.
    public let shiftedCount: Int
    /// Spans that got a delta of their own (the ones that started a shift;
    /// their subtrees follow), in tree row order.
    public let adjustedRoots: [Int32]

    /// Whether any span moved.
    public var isAdjusted: Bool { shiftedCount > 0 }

    public init(trace: Trace) {
        let rows = trace.tree.rows
        let spans = trace.spans
        var shifts = [Int64](repeating: 0, count: spans.count)
        // Adjusted start per row: rows are depth-first, so a parent is
        // adjusted before any child compares itself with it.
        var startOfRow = [UInt64](repeating: 0, count: rows.count)
        var adjustedRoots: [Int32] = []
        var shifted = 0
        for r in 0..<rows.count {
            let node = rows[r]
            let s = Int(node.spanIndex)
            let start = spans[s].startTimeUnixNano
            var delta: Int64 = 0
            let p = Int(node.parentRow)
            if p >= 0 {
                let parentIndex = Int(rows[p].spanIndex)
                let async = node.marks.contains(.followsFrom)
                    || (spans[s].kind == .consumer && spans[parentIndex].kind == .producer)
                if spans[s].resource == spans[parentIndex].resource {
                    delta = shifts[parentIndex]
                } else if async {
                    delta = 0  // another clock, and no reason to fit it in the parent
                } else {
                    delta = Self.skew(childStart: start, childDuration: spans[s].durationNano,
                                      parentStart: startOfRow[p], parentDuration: spans[parentIndex].durationNano)
                    if delta != 0 { adjustedRoots.append(Int32(s)) }
                }
            }
            let adjusted = Self.shift(start, by: delta)
            startOfRow[r] = adjusted
            // The move actually made (differs from delta only when saturated).
            let moved = Self.difference(adjusted, start)
            shifts[s] = moved
            if moved != 0 { shifted += 1 }
        }

        self.shiftBySpan = shifts
        self.shiftedCount = shifted
        self.adjustedRoots = adjustedRoots
        guard shifted > 0 else {
            self.trace = trace
            return
        }
        var adjustedSpans = spans
        for i in 0..<adjustedSpans.count where shifts[i] != 0 {
            let delta = shifts[i]
            adjustedSpans[i].startTimeUnixNano = Self.shift(adjustedSpans[i].startTimeUnixNano, by: delta)
            if adjustedSpans[i].hasExtras, !adjustedSpans[i].events.isEmpty {
                adjustedSpans[i].events = adjustedSpans[i].events.map { event in
                    var event = event
                    event.timeUnixNano = Self.shift(event.timeUnixNano, by: delta)
                    return event
                }
            }
        }
        // Ids and parents are unchanged: relink the tree instead of
        // resolving 100,000 span ids again; only sibling order can change.
        let tree = TraceTree(relinking: trace.tree, source: SpanList(spans: adjustedSpans))
        self.trace = Trace(traceID: trace.traceID, spans: adjustedSpans, tree: tree, lastUpdate: trace.summary.lastUpdate)
    }

    /// Jaeger's calculateSkew: the delta for a child from another host, given
    /// its parent's adjusted start.
    static func skew(childStart: UInt64, childDuration: UInt64, parentStart: UInt64, parentDuration: UInt64) -> Int64 {
        if childDuration > parentDuration {
            // Async, or the parent timed out first: only keep the child from
            // starting before the parent.
            return childStart < parentStart ? difference(parentStart, childStart) : 0
        }
        if childStart >= parentStart, end(childStart, childDuration) <= end(parentStart, parentDuration) {
            return 0
        }
        // Network latency split evenly between request and response.
        let latency = (parentDuration - childDuration) / 2
        return difference(end(parentStart, latency), childStart)
    }

    /// `a - b` as a signed value, saturating at Int64's bounds.
    static func difference(_ a: UInt64, _ b: UInt64) -> Int64 {
        if a >= b { return Int64(clamping: a - b) }
        let magnitude = b - a
        return magnitude > UInt64(Int64.max) ? Int64.min : -Int64(magnitude)
    }

    /// `t + delta`, saturating at 0 and UInt64.max (timestamps are unsigned).
    static func shift(_ t: UInt64, by delta: Int64) -> UInt64 {
        if delta >= 0 { return end(t, UInt64(delta)) }
        let magnitude = delta.magnitude
        return t >= magnitude ? t - magnitude : 0
    }

    private static func end(_ start: UInt64, _ duration: UInt64) -> UInt64 {
        let (sum, overflow) = start.addingReportingOverflow(duration)
        return overflow ? .max : sum
    }
}

extension Trace {
    /// A trace over a tree already built for `spans`.
    init(traceID: TraceID, spans: [Span], tree: TraceTree, lastUpdate: UInt64) {
        self.traceID = traceID
        self.spans = spans
        self.tree = tree
        self.summary = Trace.summarize(traceID: traceID, spans: spans, tree: tree, lastUpdate: lastUpdate)
    }
}
