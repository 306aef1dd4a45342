/// Two traces lined up by span path, like Jaeger UI's trace comparison: a
/// span's path is the chain of `service: operation` from its root down to it,
/// and spans with equal paths are one row, counted and summed per trace.
///
/// Paths are interned as ids, `intern(parent path, service, operation)`, in
/// one table for both traces, so that equal paths match without a path
/// string per span (a 10,000-deep chain would make those quadratic). The
/// text of a path is read off the table only when a row's `path` is asked for.
///
/// Unlike Jaeger's diff graph, a leaf and a non-leaf span with the same path
/// are one row (Jaeger keys leaves apart), and no span is collapsed into its
/// child (Jaeger's dense-trace `skipToChild`): every span counts.
public struct TraceComparison: Sendable, Hashable {
    public enum Presence: Sendable, Hashable { case both, onlyA, onlyB }

    /// One path and its spans in A and in B.
    public struct Row: Sendable, Hashable {
        /// Interned id of the path in `table`.
        let pathID: Int32
        let table: PathTable
        /// Levels below the root (0 for a root path).
        public let depth: Int
        public var countA: Int
        public var countB: Int
        /// Summed durations of the spans on this path (saturating).
        public var totalA: UInt64
        public var totalB: UInt64
        /// `totalB - totalA`, clamped to `Int64`.
        public var difference: Int64
        public var presence: Presence

        /// `service: operation` from the root down. Built on each call, in
        /// O(depth): rows share one path table instead of holding arrays that
        /// would total O(depth²) strings for a deep chain.
        public var path: [String] { table.segments(of: pathID) }

        /// The last segment of `path` (`service: operation` of the spans themselves).
        public var segment: String { table.segment(of: pathID) }

        public var service: String { table.service(of: pathID) }
        public var operation: String { table.operation(of: pathID) }

        /// `|countB - countA|`.
        public var countDifference: Int { countB > countA ? countB - countA : countA - countB }

        public static func == (a: Row, b: Row) -> Bool {
            a.countA == b.countA && a.countB == b.countB && a.totalA == b.totalA && a.totalB == b.totalB
                && a.difference == b.difference && a.presence == b.presence && a.depth == b.depth
                && (a.table === b.table ? a.pathID == b.pathID : a.path == b.path)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(countA)
            hasher.combine(countB)
            hasher.combine(totalA)
            hasher.combine(totalB)
            hasher.combine(depth)
            hasher.combine(segment)
        }
    }

    /// Whole-trace figures side by side.
    public struct Summary: Sendable, Hashable {
        public var durationA: UInt64
        public var durationB: UInt64
        public var spansA: Int
        public var spansB: Int
        public var errorsA: Int
        public var errorsB: Int
    }

    /// Biggest difference first: by |totalB - totalA|, then |countB - countA|,
    /// then by path (segment by segment, a prefix before its extensions).
    public let rows: [Row]
    public let summary: Summary

    public init(a: Trace, b: Trace) {
        summary = Summary(
            durationA: a.summary.durationNano, durationB: b.summary.durationNano,
            spansA: a.summary.spanCount, spansB: b.summary.spanCount,
            errorsA: a.summary.errorCount, errorsB: b.summary.errorCount)

        var builder = PathTableBuilder()
        var sums = PathSums()
        builder.add(a, into: &sums, side: 0)
        builder.add(b, into: &sums, side: 1)
        let table = builder.finish()

        let pathCount = table.count
        let rank = table.lexicographicRanks()
        // Sort path ids on precomputed keys, then build the rows in order:
        // moving rows (which hold a reference) while sorting costs more.
        var totalDifference = [UInt64](repeating: 0, count: pathCount)
        var countDifference = [Int](repeating: 0, count: pathCount)
        for p in 0..<pathCount {
            totalDifference[p] = absoluteDifference(sums.totalA[p], sums.totalB[p])
            countDifference[p] = abs(sums.countA[p] - sums.countB[p])
        }
        var order = (0..<pathCount).map { Int32($0) }
        order.sort { x, y in
            let ix = Int(x), iy = Int(y)
            if totalDifference[ix] != totalDifference[iy] { return totalDifference[ix] > totalDifference[iy] }
            if countDifference[ix] != countDifference[iy] { return countDifference[ix] > countDifference[iy] }
            return rank[ix] < rank[iy]
        }
        var rows: [Row] = []
        rows.reserveCapacity(pathCount)
        for id in order {
            let p = Int(id)
            let countA = sums.countA[p], countB = sums.countB[p]
            let totalA = sums.totalA[p], totalB = sums.totalB[p]
            let presence: Presence = countA > 0 && countB > 0 ? .both : (countA > 0 ? .onlyA : .onlyB)
            rows.append(Row(
                pathID: id, table: table, depth: Int(table.depths[p]),
                countA: countA, countB: countB, totalA: totalA, totalB: totalB,
                difference: signedDifference(totalB, totalA), presence: presence))
        }
        self.rows = rows
    }
}

/// `b - a` clamped to `Int64`.
func signedDifference(_ b: UInt64, _ a: UInt64) -> Int64 {
    if b >= a { return Int64(clamping: b - a) }
    let magnitude = a - b
    return magnitude > UInt64(Int64.max) ? .min : -Int64(magnitude)
}

func absoluteDifference(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }

/// Per path id, the counts and sums of each side; grown as paths are interned.
struct PathSums {
    var countA: [Int] = []
    var countB: [Int] = []
    var totalA: [UInt64] = []
    var totalB: [UInt64] = []

    mutating func grow(to count: Int) {
        while countA.count < count {
            countA.append(0)
            countB.append(0)
            totalA.append(0)
            totalB.append(0)
        }
    }
}

/// The interned paths of a comparison: each path is its parent's id plus a
/// segment (a distinct service and operation pair). Immutable once built,
/// shared by every row.
final class PathTable: Sendable {
    /// Parent path id, -1 for a root path.
    let parents: [Int32]
    /// Segment id of each path (index into `segmentTexts`).
    let segmentIDs: [Int32]
    let depths: [Int32]
    /// "service: operation" per segment id.
    let segmentTexts: [String]
    let segmentServices: [String]
    let segmentOperations: [String]

    init(parents: [Int32], segmentIDs: [Int32], depths: [Int32], segmentTexts: [String],
         segmentServices: [String], segmentOperations: [String]) {
        self.parents = parents
        self.segmentIDs = segmentIDs
        self.depths = depths
        self.segmentTexts = segmentTexts
        self.segmentServices = segmentServices
        self.segmentOperations = segmentOperations
    }

    var count: Int { parents.count }

    func segment(of path: Int32) -> String { segmentTexts[Int(segmentIDs[Int(path)])] }
    func service(of path: Int32) -> String { segmentServices[Int(segmentIDs[Int(path)])] }
    func operation(of path: Int32) -> String { segmentOperations[Int(segmentIDs[Int(path)])] }

    /// Root first.
    func segments(of path: Int32) -> [String] {
        var result: [String] = []
        result.reserveCapacity(Int(depths[Int(path)]) + 1)
        var p = path
        while p >= 0 {
            result.append(segment(of: p))
            p = parents[Int(p)]
        }
        result.reverse()
        return result
    }

    /// Each path's position when paths are ordered segment by segment (a
    /// prefix before its extensions): a preorder walk of the path tree with
    /// siblings sorted by segment. O(P log P), where comparing paths pairwise
    /// would cost O(depth) per comparison.
    func lexicographicRanks() -> [Int32] {
        let n = count
        var childCounts = [Int32](repeating: 0, count: n + 1)
        for p in 0..<n { childCounts[Int(parents[p]) + 1] += 1 }
        // Children per parent in one flat array; slot 0 holds the roots.
        var start = [Int32](repeating: 0, count: n + 2)
        for i in 0...n { start[i + 1] = start[i] + childCounts[i] }
        var fill = start
        var children = [Int32](repeating: 0, count: n)
        for p in 0..<n {
            let slot = Int(parents[p]) + 1
            children[Int(fill[slot])] = Int32(p)
            fill[slot] += 1
        }
        // Sibling segments differ, so segment text then its parts order them fully.
        let bySegment: (Int32, Int32) -> Bool = { x, y in
            let sx = Int(self.segmentIDs[Int(x)]), sy = Int(self.segmentIDs[Int(y)])
            if self.segmentTexts[sx] != self.segmentTexts[sy] { return self.segmentTexts[sx] < self.segmentTexts[sy] }
            if self.segmentServices[sx] != self.segmentServices[sy] {
                return self.segmentServices[sx] < self.segmentServices[sy]
            }
            return self.segmentOperations[sx] < self.segmentOperations[sy]
        }
        for slot in 0...n where childCounts[slot] > 1 {
            children[Int(start[slot])..<Int(start[slot + 1])].sort(by: bySegment)
        }
        var rank = [Int32](repeating: 0, count: n)
        var next: Int32 = 0
        // Iterative: a 10,000-deep path must not overflow the stack.
        var stack: [Int32] = children[Int(start[0])..<Int(start[1])].reversed()
        while let p = stack.popLast() {
            rank[Int(p)] = next
            next += 1
            let slot = Int(p) + 1
            for c in stride(from: Int(start[slot + 1]) - 1, through: Int(start[slot]), by: -1) {
                stack.append(children[c])
            }
        }
        return rank
    }
}

/// Interns the paths of both traces into one table.
struct PathTableBuilder {
    private var names = SpanNameIDs()
    /// (service id, operation id) packed -> segment id.
    private var segmentOfPair: [UInt64: Int32] = [:]
    private var segmentPairs: [(service: Int32, operation: Int32)] = []
    /// (parent path id + 1, segment id) packed -> path id.
    private var pathOfKey: [UInt64: Int32] = [:]
    private var parents: [Int32] = []
    private var segmentIDs: [Int32] = []
    private var depths: [Int32] = []

    private mutating func segment(service: Int32, operation: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: service)) << 32 | UInt64(UInt32(bitPattern: operation))
        if let known = segmentOfPair[key] { return known }
        let id = Int32(segmentPairs.count)
        segmentPairs.append((service, operation))
        segmentOfPair[key] = id
        return id
    }

    private mutating func path(parent: Int32, segment: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: parent &+ 1)) << 32 | UInt64(UInt32(bitPattern: segment))
        if let known = pathOfKey[key] { return known }
        let id = Int32(parents.count)
        parents.append(parent)
        segmentIDs.append(segment)
        depths.append(parent >= 0 ? depths[Int(parent)] + 1 : 0)
        pathOfKey[key] = id
        return id
    }

    /// Adds one trace's spans to side 0 (A) or 1 (B) of `sums`.
    mutating func add(_ trace: Trace, into sums: inout PathSums, side: Int) {
        let spans = trace.spans
        let rows = trace.tree.rows
        // Spans in array order first (sequential reads of 96-byte spans),
        // keeping a segment id and duration per span for the tree-order pass.
        var segmentOfSpan = [Int32](repeating: 0, count: spans.count)
        var durationOfSpan = [UInt64](repeating: 0, count: spans.count)
        for i in spans.indices {
            let service = names.serviceID(of: spans[i].resource)
            let operation = names.operationID(spans[i].name)
            segmentOfSpan[i] = segment(service: service, operation: operation)
            durationOfSpan[i] = spans[i].durationNano
        }
        // Rows are depth-first, so a parent's path is known before its children's.
        var pathOfRow = [Int32](repeating: -1, count: rows.count)
        for (r, node) in rows.enumerated() {
            let i = Int(node.spanIndex)
            let parent = node.parentRow >= 0 ? pathOfRow[Int(node.parentRow)] : -1
            let p = path(parent: parent, segment: segmentOfSpan[i])
            pathOfRow[r] = p
            sums.grow(to: Int(p) + 1)
            let duration = durationOfSpan[i]
            if side == 0 {
                sums.countA[Int(p)] += 1
                sums.totalA[Int(p)] = saturatingAdd(sums.totalA[Int(p)], duration)
            } else {
                sums.countB[Int(p)] += 1
                sums.totalB[Int(p)] = saturatingAdd(sums.totalB[Int(p)], duration)
            }
        }
    }

    func finish() -> PathTable {
        let services = segmentPairs.map { names.services[Int($0.service)] }
        let operations = segmentPairs.map { names.operations[Int($0.operation)] }
        // Display text once per distinct pair, not per span or per row.
        let texts = zip(services, operations).map { $0 + ": " + $1 }
        return PathTable(parents: parents, segmentIDs: segmentIDs, depths: depths, segmentTexts: texts,
                         segmentServices: services, segmentOperations: operations)
    }
}
