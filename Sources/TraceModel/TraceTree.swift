/// The parent/child tree of one trace, flattened in depth-first order (the
/// waterfall's row order). Built from spans in any arrival order: a child
/// whose parent came later is attached; a parent that never came leaves its
/// children as roots marked `missingParent`. Duplicate span ids and reference
/// cycles never loop: every span appears exactly once.
public struct TraceTree: Sendable {
    public struct Marks: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The span names a parent that is not in the trace (yet).
        public static let missingParent = Marks(rawValue: 1 << 0)
        /// Another span of the trace has the same span id (Zipkin shared spans).
        public static let duplicateID = Marks(rawValue: 1 << 1)
        /// The span's ancestry loops back on itself; it was made a root.
        public static let cycle = Marks(rawValue: 1 << 2)
    }

    public struct Node: Sendable, Hashable {
        /// Index into the trace's `spans`.
        public var spanIndex: Int32
        /// Row index of the parent node, -1 for a root.
        public var parentRow: Int32
        public var depth: Int32
        /// Row index just past this node's subtree (collapse skips to it).
        public var subtreeEnd: Int32
        public var childCount: Int32
        public var selfTimeNano: UInt64
        public var marks: Marks
    }

    /// Depth-first, children ordered by start time.
    public private(set) var rows: [Node]
    /// Row index of each span (by span index).
    public private(set) var rowOfSpan: [Int32]
    public private(set) var rootCount: Int
    public private(set) var maxDepth: Int

    public init(spans: [Span]) {
        let count = spans.count
        rows = []
        rows.reserveCapacity(count)
        rowOfSpan = Array(repeating: -1, count: count)
        rootCount = 0
        maxDepth = 0
        guard count > 0 else { return }

        // Which span a child attaches to: the last span with that id (for a
        // Zipkin shared span, the server side, whose children point at it).
        var lastIndexOfID: [SpanID: Int32] = [:]
        var firstIndexOfID: [SpanID: Int32] = [:]
        lastIndexOfID.reserveCapacity(count)
        firstIndexOfID.reserveCapacity(count)
        for (i, span) in spans.enumerated() {
            lastIndexOfID[span.spanID] = Int32(i)
            if firstIndexOfID[span.spanID] == nil { firstIndexOfID[span.spanID] = Int32(i) }
        }

        var parentOf = [Int32](repeating: -1, count: count)
        var marks = [Marks](repeating: [], count: count)
        var childCounts = [Int32](repeating: 0, count: count)
        for (i, span) in spans.enumerated() {
            let first = firstIndexOfID[span.spanID] ?? Int32(i)
            if first != Int32(i) {
                // A repeated id nests under its first occurrence.
                marks[i].insert(.duplicateID)
                marks[Int(first)].insert(.duplicateID)
                parentOf[i] = first
            } else if let parentID = span.parentSpanID {
                if let p = lastIndexOfID[parentID], p != Int32(i) {
                    parentOf[i] = p
                } else if lastIndexOfID[parentID] == nil {
                    marks[i].insert(.missingParent)
                } else {
                    marks[i].insert(.cycle)
                }
            }
            if parentOf[i] >= 0 { childCounts[Int(parentOf[i])] += 1 }
        }

        // Children lists in one flat array (CSR layout), ordered by start.
        var childStart = [Int32](repeating: 0, count: count + 1)
        for i in 0..<count { childStart[i + 1] = childStart[i] + childCounts[i] }
        var fill = childStart
        var childList = [Int32](repeating: 0, count: count)
        for i in 0..<count where parentOf[i] >= 0 {
            let p = Int(parentOf[i])
            childList[Int(fill[p])] = Int32(i)
            fill[p] += 1
        }
        let byStart: (Int32, Int32) -> Bool = { a, b in
            let sa = spans[Int(a)].startTimeUnixNano, sb = spans[Int(b)].startTimeUnixNano
            return sa != sb ? sa < sb : a < b
        }
        for i in 0..<count where childCounts[i] > 1 {
            childList[Int(childStart[i])..<Int(childStart[i + 1])].sort(by: byStart)
        }

        var roots = (0..<count).filter { parentOf[$0] < 0 }.map(Int32.init)
        roots.sort(by: byStart)
        var visited = [Bool](repeating: false, count: count)
        var placed = 0

        func walk(from root: Int32) {
            // Iterative DFS: a 100k-deep chain must not overflow the stack.
            var stack: [(span: Int32, parentRow: Int32, depth: Int32)] = [(root, -1, 0)]
            while let (spanIndex, parentRow, depth) = stack.popLast() {
                let s = Int(spanIndex)
                if visited[s] { continue }
                visited[s] = true
                placed += 1
                let row = Int32(rows.count)
                rowOfSpan[s] = row
                rows.append(Node(
                    spanIndex: spanIndex, parentRow: parentRow, depth: depth,
                    subtreeEnd: row + 1, childCount: 0, selfTimeNano: 0, marks: marks[s]))
                if parentRow >= 0 { rows[Int(parentRow)].childCount += 1 }
                maxDepth = max(maxDepth, Int(depth))
                let range = Int(childStart[s])..<Int(childStart[s + 1])
                for c in range.reversed() where !visited[Int(childList[c])] {
                    stack.append((childList[c], row, depth + 1))
                }
            }
        }

        for root in roots {
            rootCount += 1
            walk(from: root)
        }
        // Spans not reached from any root sit on a reference cycle: break it
        // at the earliest-starting unplaced span and mark it.
        if placed < count {
            var rest = (0..<count).filter { !visited[$0] }.map(Int32.init)
            rest.sort(by: byStart)
            for candidate in rest where !visited[Int(candidate)] {
                marks[Int(candidate)].insert(.cycle)
                rootCount += 1
                walk(from: candidate)
            }
        }

        // Subtree ends: walk rows backwards, each node extends its parent.
        for r in stride(from: rows.count - 1, through: 0, by: -1) {
            let p = Int(rows[r].parentRow)
            if p >= 0 { rows[p].subtreeEnd = max(rows[p].subtreeEnd, rows[r].subtreeEnd) }
        }
        computeSelfTimes(spans: spans)
    }

    /// Self time: the span's duration minus the union of its children's
    /// intervals, clipped to the span (async children may outlive it).
    private mutating func computeSelfTimes(spans: [Span]) {
        var childIntervals: [[(UInt64, UInt64)]] = Array(repeating: [], count: rows.count)
        for node in rows where node.parentRow >= 0 {
            let span = spans[Int(node.spanIndex)]
            childIntervals[Int(node.parentRow)].append((span.startTimeUnixNano, span.endTimeUnixNano))
        }
        for r in rows.indices {
            let span = spans[Int(rows[r].spanIndex)]
            let lo = span.startTimeUnixNano, hi = span.endTimeUnixNano
            var covered: UInt64 = 0
            var cursor = lo
            for (s, e) in childIntervals[r].sorted(by: { $0.0 < $1.0 }) {
                let start = max(s, cursor), end = min(e, hi)
                if end > start {
                    covered += end - start
                    cursor = end
                }
            }
            rows[r].selfTimeNano = span.durationNano - min(covered, span.durationNano)
        }
    }
}
