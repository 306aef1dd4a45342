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
        /// The span hangs from its parent by a Jaeger `FOLLOWS_FROM` reference:
        /// the parent does not wait for it.
        public static let followsFrom = Marks(rawValue: 1 << 3)
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
        self.init(source: SpanList(spans: spans))
    }

    init<Source: TreeSource>(source spans: Source) {
        let (parentOf, marks) = Self.links(spans)
        self.init(source: spans, parentOf: parentOf, marks: marks, roots: nil)
    }

    /// The tree again over spans whose ids and parents are those `tree` was
    /// built from but whose times changed (clock-skew adjustment): parent
    /// links and marks are taken from `tree` (no id lookups), children are
    /// ordered by the new times. Roots keep `tree`'s order: their times must
    /// not have changed. Equal to building the tree afresh, except that a
    /// reference cycle stays broken where `tree` broke it.
    init<Source: TreeSource>(relinking tree: TraceTree, source spans: Source) {
        var parentOf = [Int32](repeating: -1, count: spans.count)
        var marks = [Marks](repeating: [], count: spans.count)
        var roots: [Int32] = []
        for node in tree.rows {
            let s = Int(node.spanIndex)
            marks[s] = node.marks
            if node.parentRow >= 0 {
                parentOf[s] = tree.rows[Int(node.parentRow)].spanIndex
            } else {
                roots.append(node.spanIndex)
            }
        }
        self.init(source: spans, parentOf: parentOf, marks: marks, roots: roots)
    }

    /// Each span's parent (-1 for none) and marks, resolved by span id.
    private static func links<Source: TreeSource>(_ spans: Source) -> (parentOf: [Int32], marks: [Marks]) {
        let count = spans.count
        guard count > 0 else { return ([], []) }

        var parentOf = [Int32](repeating: -1, count: count)
        var marks = [Marks](repeating: [], count: count)
        // Few spans (most traces): scanning beats hashing, and allocates nothing.
        if count <= 16 {
            for i in 0..<count {
                let index = Int32(i)
                let spanID = spans.spanID(i)
                var first = index
                for j in 0..<i where spans.spanID(j) == spanID {
                    first = Int32(j)
                    break
                }
                if first != index {
                    marks[i].insert(.duplicateID)
                    marks[Int(first)].insert(.duplicateID)
                    parentOf[i] = first
                } else if let parentID = spans.parentID(i) {
                    var last: Int32 = -1
                    for j in stride(from: count - 1, through: 0, by: -1) where spans.spanID(j) == parentID {
                        last = Int32(j)
                        break
                    }
                    if last < 0 {
                        marks[i].insert(.missingParent)
                    } else if last != index {
                        parentOf[i] = last
                        if spans.followsFrom(i) { marks[i].insert(.followsFrom) }
                    } else {
                        marks[i].insert(.cycle)
                    }
                }
            }
            return (parentOf, marks)
        }

        // Per span id: its first occurrence (a repeat nests under it) and its
        // last, which children attach to (for a Zipkin shared span, the server
        // side, whose children point at it). Fields are read in place: copying
        // whole spans would retain and release every reference they hold.
        // Open addressing on the ids, keyed per process so colliding ids
        // cannot be prepared (as `RawStringTable`): a `[SpanID: ...]`
        // dictionary's SipHash was most of linking a large trace.
        var size = 16
        while size < 2 * count { size <<= 1 }
        let mask = size - 1
        var firstAt = [Int32](repeating: -1, count: size)
        var lastOf = [Int32](repeating: -1, count: count)
        let seed = RawStringTable.seed  // read once: a `static let` is a check on every read
        func bucket(of id: SpanID) -> Int {
            var b = RawStringTable.mix(id.raw ^ seed, 0x5350_414E) & mask
            while firstAt[b] >= 0 && spans.spanID(Int(firstAt[b])) != id { b = (b + 1) & mask }
            return b
        }
        for i in 0..<count {
            let b = bucket(of: spans.spanID(i))
            if firstAt[b] < 0 { firstAt[b] = Int32(i) }
            lastOf[Int(firstAt[b])] = Int32(i)
        }

        for i in 0..<count {
            let index = Int32(i)
            let first = firstAt[bucket(of: spans.spanID(i))]
            if first != index {
                marks[i].insert(.duplicateID)
                marks[Int(first)].insert(.duplicateID)
                parentOf[i] = first
            } else if let parentID = spans.parentID(i) {
                let known = firstAt[bucket(of: parentID)]
                if known >= 0 {
                    let p = lastOf[Int(known)]
                    if p != index {
                        parentOf[i] = p
                        if spans.followsFrom(i) { marks[i].insert(.followsFrom) }
                    } else {
                        marks[i].insert(.cycle)
                    }
                } else {
                    marks[i].insert(.missingParent)
                }
            }
        }
        return (parentOf, marks)
    }

    /// Builds the rows from resolved parent links. `givenRoots`, when set,
    /// lists every root in row order and the links hold no cycle.
    private init<Source: TreeSource>(source spans: Source, parentOf: [Int32], marks givenMarks: [Marks],
                                     roots givenRoots: [Int32]?) {
        let count = spans.count
        rows = []
        rows.reserveCapacity(count)
        rowOfSpan = Array(repeating: -1, count: count)
        rootCount = 0
        maxDepth = 0
        guard count > 0 else { return }
        var marks = givenMarks
        var childCounts = [Int32](repeating: 0, count: count)
        for i in 0..<count where parentOf[i] >= 0 { childCounts[Int(parentOf[i])] += 1 }

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
            let sa = spans.start(Int(a)), sb = spans.start(Int(b))
            return sa != sb ? sa < sb : a < b
        }
        for i in 0..<count where childCounts[i] > 1 {
            childList[Int(childStart[i])..<Int(childStart[i + 1])].sort(by: byStart)
        }

        // Self time: duration minus the union of the children's intervals,
        // clipped to the span (async children may outlive it). Children are
        // sorted by start, so one sweep per span does it.
        var selfTimes = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let lo = spans.start(i)
            let duration = spans.duration(i)
            let hi = lo &+ duration
            var covered: UInt64 = 0
            var cursor = lo
            for c in Int(childStart[i])..<Int(childStart[i + 1]) {
                let child = Int(childList[c])
                let start = max(spans.start(child), cursor)
                let end = min(spans.start(child) &+ spans.duration(child), hi)
                if end > start {
                    covered += end - start
                    cursor = end
                }
            }
            selfTimes[i] = duration - min(covered, duration)
        }

        let roots: [Int32]
        if let givenRoots {
            roots = givenRoots
        } else {
            roots = (0..<count).filter { parentOf[$0] < 0 }.map(Int32.init).sorted(by: byStart)
        }
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
                    subtreeEnd: row + 1, childCount: 0, selfTimeNano: selfTimes[s], marks: marks[s]))
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
                marks[Int(candidate)].remove(.followsFrom)  // a root now: no edge above it
                rootCount += 1
                walk(from: candidate)
            }
        }

        // Subtree ends: walk rows backwards, each node extends its parent.
        for r in stride(from: rows.count - 1, through: 0, by: -1) {
            let p = Int(rows[r].parentRow)
            if p >= 0 { rows[p].subtreeEnd = max(rows[p].subtreeEnd, rows[r].subtreeEnd) }
        }
    }
}

/// What the tree reads of each span: `Span` values, or the store's packed headers.
protocol TreeSource {
    var count: Int { get }
    func spanID(_ i: Int) -> SpanID
    func parentID(_ i: Int) -> SpanID?
    /// The span names its parent by a `FOLLOWS_FROM` reference.
    func followsFrom(_ i: Int) -> Bool
    func start(_ i: Int) -> UInt64
    func duration(_ i: Int) -> UInt64
}

struct SpanList: TreeSource {
    let spans: [Span]
    var count: Int { spans.count }
    func spanID(_ i: Int) -> SpanID { spans[i].spanID }
    func parentID(_ i: Int) -> SpanID? { spans[i].parentSpanID }
    func followsFrom(_ i: Int) -> Bool { spans[i].parentReference == .followsFrom }
    func start(_ i: Int) -> UInt64 { spans[i].startTimeUnixNano }
    func duration(_ i: Int) -> UInt64 { spans[i].durationNano }
}
