import Testing
@testable import TraceModel

/// Hostile trees and times (issue 12) through the store and every analysis:
/// a span that is its own parent, parent cycles of two and three spans,
/// 100,000 children under one span, durations and times at the ends of 64
/// bits, NaN attributes. Nothing loops, traps, or shows a span twice.
/// (`TraceAssemblyTests` checks the bare tree; `HostileTimesTests` the
/// summary; the drawing is in `HostileViewTests`.)
@Suite struct HostileTreeTests {
    static let ms: UInt64 = 1_000_000
    static let t0: UInt64 = 1_795_878_245_000_000_000
    static let a = Resource(serviceName: "a", attributes: [Attribute("service.name", .string("a"))])
    static let b = Resource(serviceName: "b", attributes: [Attribute("service.name", .string("b"))])

    static func span(_ trace: UInt64, _ id: UInt64, parent: UInt64?, _ start: UInt64, _ duration: UInt64,
                     _ resource: Resource = a, followsFrom: Bool = false, attributes: [Attribute] = []) -> Span {
        Span(traceID: TraceID(high: 0xc1c, low: trace), spanID: SpanID(id), parentSpanID: parent.map { SpanID($0) },
             parentReference: followsFrom ? .followsFrom : .childOf, name: "op\(id)", kind: .server,
             startTimeUnixNano: t0 + start * ms, durationNano: duration * ms, attributes: attributes, resource: resource)
    }

    /// 1: a span that is its own parent, with a child. 2: a cycle of two
    /// across two resources (so clock skew compares them), with a child. 3: a
    /// cycle of three with a child and a self-parented span beside it.
    /// 4: a FOLLOWS_FROM cycle of two.
    static let cycles: [Span] = [
        span(1, 1, parent: 1, 0, 10), span(1, 2, parent: 1, 2, 3, b),
        span(2, 1, parent: 2, 0, 10), span(2, 2, parent: 1, 1, 30, b), span(2, 3, parent: 2, 30, 5),
        span(3, 1, parent: 3, 5, 10), span(3, 2, parent: 1, 0, 20, b), span(3, 3, parent: 2, 1, 2),
        span(3, 4, parent: 3, 2, 1, b), span(3, 5, parent: 5, 50, 1),
        span(4, 1, parent: 2, 0, 5, followsFrom: true), span(4, 2, parent: 1, 1, 5, b, followsFrom: true),
    ]

    @Test func cyclesAndSelfParentsThroughTheStoreAndEveryAnalysis() throws {
        var store = TraceStore()
        store.add(contentsOf: Self.cycles)
        #expect(store.traceCount == 4)
        for id in store.allTraceIDs {
            let trace = try #require(store.trace(id))
            let count = trace.spans.count
            // Assembly and depth: every span once, a finite depth, a root.
            #expect(trace.tree.rows.count == count)
            #expect(Set(trace.tree.rows.map(\.spanIndex)).count == count)
            #expect(trace.tree.rootCount >= 1 && trace.tree.maxDepth < count)
            #expect(trace.summary.spanCount == count && trace.summary.depth >= 1 && trace.summary.depth <= count)
            #expect(trace.tree.rows.contains { $0.marks.contains(.cycle) })
            for node in trace.tree.rows where node.parentRow >= 0 {
                #expect(node.depth == trace.tree.rows[Int(node.parentRow)].depth + 1)
            }
            // The same tree as from the spans themselves.
            let fresh = Trace(traceID: id, spans: trace.spans)
            #expect(fresh.tree.rows == trace.tree.rows)

            // Critical path: sections of this trace's spans, in time, none longer than its span.
            let path = CriticalPath(trace: trace)
            #expect(path.rootCount == trace.tree.rootCount)
            for section in path.sections {
                #expect(section.startUnixNano <= section.endUnixNano)
                #expect(section.durationNano <= trace.spans[Int(section.spanIndex)].durationNano)
            }
            // Clock skew: the relinked tree is the one a fresh build gives.
            let skew = ClockSkewAdjustment(trace: trace)
            #expect(skew.trace.tree.rows.count == count)
            #expect(Set(skew.trace.tree.rows.map(\.spanIndex)).count == count)
            #expect(CriticalPath(trace: skew.trace).rootCount == path.rootCount)
            // Statistics: every span counted once.
            for grouping in TraceStatistics.Grouping.allCases {
                #expect(TraceStatistics(trace: trace, grouping: grouping).rows.reduce(0) { $0 + $1.count } == count)
            }
            #expect(TraceComparison(a: trace, b: fresh).rows.allSatisfy { $0.difference == 0 })
        }
        // Structural queries (parent and ancestor operators) agree between the store and the trees.
        for text in ["{service=a} > {service=b}", "{service=b} >> {service=a}", "{op=op1} >> {op=op1}", "orphan", "spans>2"] {
            let query = try TraceQuery.parse(text)
            let fromStore = Set(store.traceIDs(matching: query))
            let fromTrees = Set(store.allTraceIDs.filter { store.trace($0).map(query.matches) ?? false })
            #expect(fromStore == fromTrees, "\(text)")
        }
        #expect(!store.serviceGraph().edges.isEmpty)
        #expect(store.latencyRows(matching: try TraceQuery.parse("service=a")).reduce(0) { $0 + $1.count } > 0)
    }

    /// 100,000 children under one span through the store, the latency index,
    /// the service graph, comparison and queries. Untimed: a step quadratic in
    /// the children (10^10) would not finish in the test's life.
    /// Traces of up to 16 spans are linked by scanning, larger ones by
    /// hashing span ids: the same links and marks either way. Ids from a
    /// pool of 6 make duplicates, self-parents, cycles and missing parents;
    /// 20 unrelated spans appended take the same spans down the hashed path.
    @Test func smallTracesAreLinkedAsLargeOnesAre() {
        var random = SplitMix64(state: 7)
        for round in 0..<400 {
            let count = 1 + round % 16
            let spans = (0..<count).map { _ -> Span in
                let parent = random.next() % 4 == 0 ? nil : random.next() % 6
                return Self.span(1, random.next() % 6, parent: parent, random.next() % 5, 1,
                                 followsFrom: random.next() % 3 == 0)
            }
            let padding = (0..<20).map { Self.span(1, 1_000 + UInt64($0), parent: 2_000, 0, 1) }
            let small = TraceTree(spans: spans)
            let large = TraceTree(spans: spans + padding)
            for i in 0..<count {
                let a = small.rows[Int(small.rowOfSpan[i])], b = large.rows[Int(large.rowOfSpan[i])]
                let parentA = a.parentRow < 0 ? -1 : small.rows[Int(a.parentRow)].spanIndex
                let parentB = b.parentRow < 0 ? -1 : large.rows[Int(b.parentRow)].spanIndex
                #expect(parentA == parentB && a.marks == b.marks, "round \(round), span \(i)")
            }
        }
    }

    @Test func aHundredThousandChildrenThroughTheStore() throws {
        let n = 100_000
        var spans = [Self.span(9, 1, parent: nil, 0, UInt64(n))]
        for i in 0..<n {
            spans.append(Self.span(9, UInt64(i + 2), parent: 1, UInt64(i), 1 + UInt64(i % 3), i % 2 == 0 ? Self.b : Self.a))
        }
        var store = TraceStore(limits: TraceStoreLimits(maxSpansPerTrace: n + 1))
        store.add(contentsOf: spans)
        #expect(store.counters.spansDroppedTraceFull == 0)
        let trace = try #require(store.trace(TraceID(high: 0xc1c, low: 9)))
        #expect(trace.tree.rows[0].childCount == Int32(n))
        #expect(trace.tree.maxDepth == 1)
        // Self time of the root: its children cover all of it.
        #expect(trace.tree.rows[0].selfTimeNano == 0)
        let path = CriticalPath(trace: trace)
        #expect(path.totalNanos == UInt64(n) * Self.ms)
        #expect(ClockSkewAdjustment(trace: trace).trace.tree.rows.count == n + 1)
        let comparison = TraceComparison(a: trace, b: trace)
        #expect(comparison.rows.reduce(0) { $0 + $1.countA } == n + 1)
        #expect(store.latencyRows(matching: nil, by: .service).reduce(0) { $0 + $1.count } == n + 1)
        #expect(store.serviceGraph().edge(from: "a", to: "b")?.calls == n / 2)
        #expect(store.traceIDs(matching: try TraceQuery.parse("{op=op99999} and spans>100000")).count == 1)
        #expect(try SpanQuery.parse("{service=b}").matchingSpans(in: trace).count == n / 2)
        // A second store with the default bound keeps 100,000 spans and counts the one it could not.
        var bounded = TraceStore()
        bounded.add(contentsOf: spans)
        #expect(bounded.counters.spansDroppedTraceFull == 1)
        #expect(bounded.trace(TraceID(high: 0xc1c, low: 9))?.spans.count == n)
    }

    /// Times and durations at the ends of 64 bits, through statistics,
    /// latency percentiles and histograms, the critical path, skew and
    /// comparison; and NaN attributes through the query evaluators.
    @Test func extremeTimesThroughEveryAnalysis() throws {
        let id = TraceID(low: 0xed9e)
        func at(_ spanID: UInt64, parent: UInt64?, _ start: UInt64, _ duration: UInt64, _ resource: Resource) -> Span {
            Span(traceID: id, spanID: SpanID(spanID), parentSpanID: parent.map { SpanID($0) }, name: "e\(spanID)", kind: .server,
                 startTimeUnixNano: start, durationNano: duration,
                 attributes: [Attribute("x", .double(.nan)), Attribute("y", .double(-.infinity))],
                 events: [SpanEvent(timeUnixNano: .max, name: "late"), SpanEvent(timeUnixNano: 0, name: "early")], resource: resource)
        }
        let spans = [
            at(1, parent: nil, 0, .max, Self.a), at(2, parent: 1, .max, .max, Self.b), at(3, parent: 1, .max - 10, 100, Self.b),
            at(4, parent: 2, 1 << 63, 1 << 63, Self.a), at(5, parent: 4, 0, 0, Self.b), at(6, parent: 1, 5, .max - 5, Self.a),
        ]
        var store = TraceStore()
        store.add(contentsOf: spans)
        let trace = try #require(store.trace(id))
        #expect(trace.summary.startUnixNano == 0 && trace.summary.durationNano == .max)
        for grouping in TraceStatistics.Grouping.allCases {
            let table = TraceStatistics(trace: trace, grouping: grouping)
            #expect(table.rows.reduce(0) { $0 + $1.count } == spans.count)
            #expect(table.rows.allSatisfy { $0.minNanos <= $0.averageNanos && $0.averageNanos <= $0.maxNanos })
        }
        #expect(store.latencyRows(matching: nil, by: .service).reduce(0) { $0 + $1.count } == spans.count)
        let rows = store.latencyRows(matching: nil, by: .operation)
        #expect(rows.allSatisfy { $0.p50 <= $0.p90 && $0.p90 <= $0.p99 })
        let index = store.latencyIndex(matching: nil)
        for row in rows {
            let bars = index.histogram(row.key, buckets: 20)
            #expect(bars.reduce(0) { $0 + $1.count } == row.count)
        }
        let path = CriticalPath(trace: trace)
        #expect(path.totalNanos <= .max)
        let skew = ClockSkewAdjustment(trace: trace)
        #expect(skew.trace.spans.count == spans.count)
        #expect(CriticalPath(trace: skew.trace).rootCount == 1)
        // A comparison whose differences need all 64 bits: saturated, never trapped.
        let empty = Trace(traceID: id, spans: [at(1, parent: nil, 0, 0, Self.a)])
        let comparison = TraceComparison(a: trace, b: empty)
        #expect(comparison.rows.contains { $0.difference == .min })
        #expect(TraceComparison(a: empty, b: trace).rows.contains { $0.difference == .max })
        // Queries on durations past any unit, and on NaN: the store and the trees agree.
        for text in ["dur>100000000m", "{dur>=6000000m}", "tag.x>1", "tag.x<1", "tag.x=nan", "tag.y<0", "{self>1ms}", "not tag.x>=0"] {
            let query = try TraceQuery.parse(text)
            #expect(store.traceIDs(matching: query).contains(id) == query.matches(trace), "\(text)")
        }
    }
}

