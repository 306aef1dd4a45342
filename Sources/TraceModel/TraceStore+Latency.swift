extension TraceStore {
    /// Latency over the traces that pass `query` only (the filter in force).
    /// nil or an empty query: the store's own `latency`, kept as spans come,
    /// at no cost. Otherwise built on demand from the matching traces'
    /// packed spans (the query's cost, then a header read per span).
    public func latencyIndex(matching query: TraceQuery?) -> LatencyIndex {
        guard let query, !query.isEmpty else { return latency }
        var index = LatencyIndex(maxKeys: latency.maxKeys)
        var layouts: [SpanArena.SpanLayout] = []
        for id in traceIDs(matching: query) {
            guard let record = traces[id] else { continue }
            traces.bytes(of: record).withUnsafeBufferPointer { bytes in
                layouts.removeAll(keepingCapacity: true)
                SpanArena.layouts(of: bytes, into: &layouts)
                for layout in layouts {
                    index.add(service: serviceName(of: layout, in: bytes), operation: arena.string(layout.name, in: bytes),
                              durationNanos: layout.duration, isError: layout.isError)
                }
            }
        }
        return index
    }

    /// The latency table's rows for the traces that pass `query` (all when nil).
    public func latencyRows(matching query: TraceQuery?, by grouping: LatencyIndex.Grouping = .operation)
        -> [LatencyIndex.Row] {
        latencyIndex(matching: query).rows(by: grouping)
    }

    /// Who calls whom among the traces that pass `query` (all when nil or
    /// empty). Not incremental: a walk of the traces' span headers, for a
    /// view that asks now and then, off the UI thread.
    public func serviceGraph(matching query: TraceQuery? = nil) -> ServiceGraph {
        var builder = ServiceGraph.Builder()
        var walk = GraphWalk(resourceServices: [Int32](repeating: -1, count: arena.resources.count))
        if let query, !query.isEmpty {
            for id in traceIDs(matching: query) {
                guard let record = traces[id] else { continue }
                walk.add(traces.bytes(of: record), arena: arena, to: &builder)
            }
        } else {
            traces.forEachLive { _, entry in walk.add(traces.bytes(of: entry.record), arena: arena, to: &builder) }
        }
        return builder.graph
    }

    private func serviceName(of layout: SpanArena.SpanLayout, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        if layout.resource >= 0 { return arena.resources[Int(layout.resource)].serviceName }
        return arena.string(SpanArena.inlineServiceName(of: layout, in: bytes), in: bytes)
    }
}

/// Reused from trace to trace: arrays keep their capacity, and each
/// resource's service id is looked up once.
private struct GraphWalk {
    var resourceServices: [Int32]
    var layouts: [SpanArena.SpanLayout] = []
    var parentOf: [Int32] = []
    var orphans: [Bool] = []
    var services: [Int32] = []

    mutating func add(_ record: ArraySlice<UInt8>, arena: SpanArena, to builder: inout ServiceGraph.Builder) {
        record.withUnsafeBufferPointer { bytes in
            layouts.removeAll(keepingCapacity: true)
            SpanArena.layouts(of: bytes, into: &layouts)
            SpanArena.parents(of: layouts, into: &parentOf, orphans: &orphans)
            services.removeAll(keepingCapacity: true)
            for layout in layouts {
                if layout.resource >= 0 {
                    let r = Int(layout.resource)
                    if resourceServices[r] < 0 { resourceServices[r] = builder.service(arena.resources[r].serviceName) }
                    services.append(resourceServices[r])
                } else {
                    let name = arena.string(SpanArena.inlineServiceName(of: layout, in: bytes), in: bytes)
                    services.append(builder.service(name))
                }
            }
            for i in layouts.indices {
                let parent = parentOf[i]
                builder.add(service: services[i], parent: parent >= 0 ? services[Int(parent)] : nil,
                            durationNanos: layouts[i].duration, isError: layouts[i].isError)
            }
        }
    }
}
