/// The summary facts of a small trace straight from its packed headers, on
/// the stack: what `SummaryFacts` reads off the trace's `TraceTree`, without
/// building the tree. Most traces are small (the seed's have three spans),
/// and for them the tree's dozen arrays cost more than the rest of the
/// store's work on a span; `live` takes a summary of every new or grown
/// trace on the UI's thread, and a dump load one of every trace.
///
/// Only for traces without repeated span ids or reference cycles (the tree
/// marks and breaks those; they take the general way), of at most
/// `maxSpans` spans (the walks below are quadratic).
extension SummaryFacts {
    static let smallTraceMaxSpans = 16

    private init(spanCount: Int, depth: Int, rootCount: Int) {
        self.spanCount = spanCount
        self.depth = depth
        self.rootCount = rootCount
    }

    /// The facts and the root's offset in `bytes`, or nil when the trace
    /// must take the general way (too many spans, a repeated id, a cycle).
    static func small(bytes: ArraySlice<UInt8>, count: Int, arena: SpanArena) -> (facts: SummaryFacts, rootOffset: Int)? {
        guard count > 0, count <= smallTraceMaxSpans else { return nil }
        return withUnsafeTemporaryAllocation(of: SpanArena.Header.self, capacity: count) { headers in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { parents in
                var offset = 0
                var n = 0
                let traceStart = bytes.isEmpty ? 0 : SpanArena.firstStart(in: bytes)
                while n < count, offset < bytes.count {
                    (headers.baseAddress! + n).initialize(to: arena.header(in: bytes, at: &offset, traceStart: traceStart))
                    n += 1
                }
                // The record's count and its bytes agree; a disagreement takes the general way.
                guard n == count, offset == bytes.count else {
                    headers.baseAddress!.deinitialize(count: n)
                    return nil
                }
                defer { headers.baseAddress!.deinitialize(count: n) }
                return small(UnsafeBufferPointer(headers), parents: parents, bytes: bytes, arena: arena)
            }
        }
    }

    private static func small(_ h: UnsafeBufferPointer<SpanArena.Header>, parents parent: UnsafeMutableBufferPointer<Int>,
                              bytes: ArraySlice<UInt8>, arena: SpanArena) -> (facts: SummaryFacts, rootOffset: Int)? {
        let count = h.count
        var isIncomplete = false
        // Parents as the tree links them: the last span with the parent's id.
        for i in 0..<count {
            for j in 0..<i where h[j].spanID == h[i].spanID { return nil }
            parent[i] = -1
            guard let parentID = h[i].parentID else { continue }
            var found = -1
            for j in stride(from: count - 1, through: 0, by: -1) where h[j].spanID == parentID {
                found = j
                break
            }
            if found == i { return nil }
            if found < 0 { isIncomplete = true }
            parent[i] = found
        }
        // Depths; a chain longer than the trace is a cycle.
        var maxDepth = 0
        var rootCount = 0
        for i in 0..<count {
            var depth = 0
            var at = parent[i]
            while at >= 0 {
                depth += 1
                if depth >= count { return nil }
                at = parent[at]
            }
            if depth == 0 { rootCount += 1 }
            maxDepth = max(maxDepth, depth)
        }
        var facts = SummaryFacts(spanCount: count, depth: maxDepth + 1, rootCount: rootCount)
        facts.isIncomplete = isIncomplete
        var start = UInt64.max
        var end: UInt64 = 0
        for i in 0..<count {
            start = min(start, h[i].start)
            let (spanEnd, overflow) = h[i].start.addingReportingOverflow(h[i].duration)
            end = max(end, overflow ? .max : spanEnd)
            if h[i].isError { facts.errorCount += 1 }
        }
        facts.start = start
        facts.duration = end - start

        // The tree's rows, depth first, siblings by (start, index): services
        // in that order, the root the first row without a parent.
        func before(_ a: Int, _ b: Int) -> Bool {
            h[a].start != h[b].start ? h[a].start < h[b].start : a < b
        }
        /// `p`'s first child (-1: the roots) after `after` in sibling order.
        func nextChild(of p: Int, after: Int?) -> Int? {
            var best: Int?
            for j in 0..<count where parent[j] == p {
                if let after, !before(after, j) { continue }
                if let b = best, !before(j, b) { continue }
                best = j
            }
            return best
        }
        var lastKey: UInt?
        var row = nextChild(of: -1, after: nil)
        while let i = row {
            let key = h[i].serviceKey
            if key != lastKey {
                lastKey = key
                let name = arena.serviceName(ofResource: h[i].resource, in: bytes, spanAt: h[i].offset)
                if !facts.services.contains(name) { facts.services.append(name) }
            }
            if parent[i] < 0, facts.root == nil || (h[i].parentID == nil && h[facts.root!].parentID != nil) {
                facts.root = i
            }
            if let child = nextChild(of: i, after: nil) {
                row = child
                continue
            }
            // Up until a node has a next sibling.
            var at = i
            row = nil
            while true {
                let p = parent[at]
                if let sibling = nextChild(of: p, after: at) {
                    row = sibling
                    break
                }
                if p < 0 { break }
                at = p
            }
        }
        return (facts, facts.root.map { h[$0].offset } ?? -1)
    }
}
