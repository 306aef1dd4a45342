import Histogram

/// Who calls whom: an edge `parent -> child` for every span whose parent is
/// in the same trace and belongs to another service, with the number of such
/// calls, how many of the child spans are errors, and the median of the
/// child spans' durations (HDR, 3 significant digits). Nodes are the
/// services with their span counts. A value, built on demand from the store
/// (`TraceStore.serviceGraph(matching:)`), off the UI thread.
///
/// A parent is found as the trace tree and the query's `{A} > {B}` find it,
/// from span ids alone: a repeated span id nests under its first occurrence
/// (Zipkin's shared client/server ids make an edge there, as they should),
/// otherwise a span's parent is the last span with its parent id. (The tree
/// also breaks id cycles at a start time; the graph keeps the id links of
/// the rare spans on a cycle.)
public struct ServiceGraph: Sendable, Hashable {
    public struct Node: Sendable, Hashable {
        public var service: String
        public var spanCount: Int
    }

    public struct Edge: Sendable, Hashable {
        public var parent: String
        public var child: String
        public var calls: Int
        /// Calls whose child span is an error.
        public var errors: Int
        /// Median duration of the child spans, nanoseconds (HDR value, nearest rank).
        public var p50: UInt64

        /// The trace filter for traces that hold this call: a span of `child`
        /// whose parent is a span of `parent`.
        public var query: String { ServiceGraph.query(from: parent, to: child) }
    }

    /// By service name.
    public var nodes: [Node] = []
    /// By parent, then child.
    public var edges: [Edge] = []
    /// Calls not counted because `maxEdges` distinct edges were already held.
    public var droppedCalls = 0
    /// Distinct edges kept at most: services come from a bounded table, but
    /// inline (past the bound) services could otherwise make edges without end.
    public static let maxEdges = 10_000

    public init(nodes: [Node] = [], edges: [Edge] = [], droppedCalls: Int = 0) {
        self.nodes = nodes
        self.edges = edges
        self.droppedCalls = droppedCalls
    }

    public func edge(from parent: String, to child: String) -> Edge? {
        edges.first { $0.parent == parent && $0.child == child }
    }

    /// `{service="A"} > {service="B"}`: the query language's child link, the
    /// names quoted (with `\"` and `\\` escaped) so that any name parses.
    public static func query(from parent: String, to child: String) -> String {
        "{service=\(TraceQuery.quoted(parent))} > {service=\(TraceQuery.quoted(child))}"
    }

    /// Accumulates spans trace by trace; services by a small integer id.
    struct Builder {
        private var serviceIDs: [String: Int32] = [:]
        private var names: [String] = []
        private var spanCounts: [Int] = []
        private var edgeSlots: [UInt64: Int32] = [:]
        private var edgeEnds: [(parent: Int32, child: Int32)] = []
        private var calls: [Int] = []
        private var errors: [Int] = []
        private var durations: [Histogram<UInt32>] = []
        private var droppedCalls = 0

        mutating func service(_ name: String) -> Int32 {
            if let id = serviceIDs[name] { return id }
            let id = Int32(names.count)
            serviceIDs[name] = id
            names.append(name)
            spanCounts.append(0)
            return id
        }

        /// One span: `service` from `service(_:)`, `parent` the service of its parent span, if any.
        mutating func add(service: Int32, parent: Int32?, durationNanos: UInt64, isError: Bool) {
            spanCounts[Int(service)] += 1
            guard let parent, parent != service else { return }
            let key = UInt64(UInt32(bitPattern: parent)) << 32 | UInt64(UInt32(bitPattern: service))
            var slot = edgeSlots[key]
            if slot == nil {
                guard edgeEnds.count < ServiceGraph.maxEdges else {
                    droppedCalls += 1
                    return
                }
                slot = Int32(edgeEnds.count)
                edgeSlots[key] = slot
                edgeEnds.append((parent, service))
                calls.append(0)
                errors.append(0)
                durations.append(LatencyIndex.emptyHistogram())
            }
            let i = Int(slot ?? 0)
            calls[i] += 1
            if isError { errors[i] += 1 }
            LatencyIndex.record(min(durationNanos, LatencyIndex.maxTrackedNanos), count: 1, into: &durations[i])
        }

        var graph: ServiceGraph {
            var nodes: [Node] = []
            for (i, name) in names.enumerated() where spanCounts[i] > 0 {
                nodes.append(Node(service: name, spanCount: spanCounts[i]))
            }
            nodes.sort { $0.service < $1.service }
            var edges: [Edge] = []
            for (i, ends) in edgeEnds.enumerated() {
                let h = durations[i]
                let rank = LatencyIndex.rank(500, of: h.totalCount)
                var seen: UInt64 = 0
                var p50: UInt64 = 0
                for bucket in h.recordedValues() {
                    seen += UInt64(bucket.count)
                    if seen >= rank {
                        p50 = min(h.highestEquivalentForValue(bucket.value), h.maxRecorded)
                        break
                    }
                }
                edges.append(Edge(parent: names[Int(ends.parent)], child: names[Int(ends.child)], calls: calls[i],
                                  errors: errors[i], p50: p50))
            }
            edges.sort { ($0.parent, $0.child) < ($1.parent, $1.child) }
            return ServiceGraph(nodes: nodes, edges: edges, droppedCalls: droppedCalls)
        }
    }

}
