import Testing
@testable import TraceModel

/// A small trace's summary read straight off its packed headers
/// (`SummaryFacts.small`) must be the one its tree gives, for every shape a
/// small trace can take: roots and orphans in any order, ties in start
/// times, services that repeat and interleave, resources written inline,
/// errors, and (where the fast way must step aside) repeated ids and cycles.
@Suite struct SmallTraceSummaryTests {
    /// Random small traces: parents in the trace (cycles happen), outside
    /// it (missing) or none, now and then a repeated span id.
    static func randomTraces(_ count: Int, seed: UInt64) -> [[Span]] {
        var random = SplitMix64(state: seed)
        // Two resources share a service name; one has too many attributes for the table (written inline).
        let inline = Resource(serviceName: "wide", attributes: (0..<70).map { Attribute("k\($0)", .int(Int64($0))) })
        let resources = [server1, server2, Resource(serviceName: "server-1", attributes: [Attribute("host", .string("b"))]),
                         Resource(serviceName: "db"), inline]
        return (0..<count).map { t in
            let trace = TraceID(high: 7, low: UInt64(t + 1))
            let spans = Int.random(in: 1...20, using: &random)
            return (0..<spans).map { n in
                // Now and then an id repeated, a parent missing, or none.
                let id = n > 0 && Int.random(in: 0..<40, using: &random) == 0 ? UInt64.random(in: 1...UInt64(n), using: &random)
                    : UInt64(n + 1)
                let parent: SpanID? = switch Int.random(in: 0..<10, using: &random) {
                case 0, 1: nil
                case 2: SpanID(1_000 + UInt64(n))  // not in the trace
                case 3: SpanID(UInt64.random(in: 1...UInt64(spans), using: &random))  // maybe a cycle
                default: n == 0 ? nil : SpanID(UInt64.random(in: 1...UInt64(n), using: &random))  // an earlier span
                }
                return Span(traceID: trace, spanID: SpanID(id), parentSpanID: parent, name: "op-\(n % 4)",
                            status: SpanStatus(code: Int.random(in: 0..<5, using: &random) == 0 ? .error : .ok),
                            startTimeUnixNano: 1_000 + UInt64.random(in: 0...6, using: &random) * 10,
                            durationNano: UInt64.random(in: 0...50, using: &random),
                            resource: resources[Int.random(in: 0..<resources.count, using: &random)])
            }
        }
    }

    @Test func theFastWayGivesTheTreesSummaryForEveryShape() {
        var store = TraceStore()
        let traces = Self.randomTraces(3_000, seed: 11)
        for spans in traces { store.add(contentsOf: spans) }
        var fast = 0
        for id in store.allTraceIDs {
            let record = store.traces[id]!
            let bytes = store.traces.bytes(of: record)
            let source = StoredSpans(arena: store.arena, bytes: bytes, count: Int(record.spanCount))
            let tree = SummaryFacts(source: source, tree: TraceTree(source: source))
            guard let small = SummaryFacts.small(bytes: bytes, count: Int(record.spanCount), arena: store.arena) else {
                // Stepping aside is only for what the tree marks, or for size.
                let marked = TraceTree(source: source).rows.contains { !$0.marks.isDisjoint(with: [.duplicateID, .cycle]) }
                #expect(marked || record.spanCount > SummaryFacts.smallTraceMaxSpans)
                continue
            }
            fast += 1
            let expectedOffset = tree.root.map { source.headers[$0].offset } ?? -1
            #expect(small.rootOffset == expectedOffset)
            let f = small.facts
            #expect(f.start == tree.start && f.duration == tree.duration && f.spanCount == tree.spanCount)
            #expect(f.errorCount == tree.errorCount && f.depth == tree.depth && f.rootCount == tree.rootCount)
            #expect(f.services == tree.services && f.isIncomplete == tree.isIncomplete && f.root == tree.root,
                    "trace \(id): \(f.services) / \(tree.services), root \(String(describing: f.root)) / \(String(describing: tree.root))")
        }
        // Most random traces take the fast way; the rest check stepping aside.
        #expect(fast > 1_000 && fast < traces.count - 200, "fast way taken by \(fast) of \(traces.count)")
    }

    @Test func theStoresSummariesAreTheTracesOwn() {
        var store = TraceStore()
        let traces = Self.randomTraces(500, seed: 12)
        for spans in traces { store.add(PackedSpans(packing: spans)) }
        let summaries = Dictionary(uniqueKeysWithValues: store.summaries().map { ($0.traceID, $0) })
        for spans in traces {
            var expected = Trace(traceID: spans[0].traceID, spans: spans).summary
            let got = summaries[spans[0].traceID]
            expected.lastUpdate = got?.lastUpdate ?? 0
            #expect(got == expected)
        }
    }

    @Test func seedTracesTakeTheFastWay() {
        var store = TraceStore()
        store.add(contentsOf: seedSpans())
        let record = store.traces[seedTraceID]!
        let small = SummaryFacts.small(bytes: store.traces.bytes(of: record), count: 3, arena: store.arena)
        #expect(small?.facts.services == ["server-1", "server-2"])
        #expect(small?.facts.depth == 3)
        #expect(small?.facts.rootCount == 1)
    }
}
