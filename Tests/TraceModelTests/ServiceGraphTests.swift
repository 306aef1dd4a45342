import Testing
@testable import TraceModel

private typealias F = LatencyFixtures

private func store(_ spans: [Span]) -> TraceStore {
    var store = TraceStore()
    store.add(contentsOf: spans)
    return store
}

private func edgeList(_ graph: ServiceGraph) -> [String] {
    graph.edges.map { "\($0.parent)->\($0.child) \($0.calls)/\($0.errors) p50=\($0.p50)" }
}

@Suite struct ServiceGraphTests {
    @Test func seed() throws {
        var s = TraceStore()
        for n in 0..<100 { s.add(contentsOf: F.seedTrace(n)) }
        let graph = s.serviceGraph()
        // server-1's root -> its client hop stays inside server-1: no edge.
        #expect(graph.nodes == [.init(service: "server-1", spanCount: 200), .init(service: "server-2", spanCount: 100)])
        #expect(graph.edges.count == 1)
        let edge = try #require(graph.edge(from: "server-1", to: "server-2"))
        #expect(edge.calls == 100 && edge.errors == 5)
        // server-2's durations: 7 ms + (n % 83) * 10 µs; the 50th smallest of n = 0..<100.
        let work = (0..<100).map { UInt64(7_000_000 + ($0 % 83) * 10_000) }.sorted()
        #expect(edge.p50 >= work[49] && edge.p50 - work[49] <= work[49] / 1000)
        #expect(edge.query == #"{service="server-1"} > {service="server-2"}"#)
        #expect(s.traceIDs(matching: try TraceQuery.parse(edge.query)).count == 100)
    }

    @Test func fanOut() throws {
        let spans = [F.span(1, 1, "A"), F.span(1, 2, parent: 1, "B"), F.span(1, 3, parent: 1, "C"),
                     F.span(1, 4, parent: 1, "D"), F.span(2, 1, "A"), F.span(2, 2, parent: 1, "B")]
        let graph = store(spans).serviceGraph()
        #expect(edgeList(graph) == ["A->B 2/0 p50=100", "A->C 1/0 p50=100", "A->D 1/0 p50=100"])
        #expect(graph.nodes.map(\.spanCount) == [2, 2, 1, 1])
    }

    @Test func diamond() throws {
        // A calls B and C; both call D (two D spans).
        let spans = [F.span(1, 1, "A"), F.span(1, 2, parent: 1, "B"), F.span(1, 3, parent: 1, "C"),
                     F.span(1, 4, parent: 2, "D", duration: 10), F.span(1, 5, parent: 3, "D", duration: 30, error: true)]
        let s = store(spans)
        let graph = s.serviceGraph()
        #expect(edgeList(graph) == ["A->B 1/0 p50=100", "A->C 1/0 p50=100", "B->D 1/0 p50=10", "C->D 1/1 p50=30"])
        #expect(graph.nodes == [.init(service: "A", spanCount: 1), .init(service: "B", spanCount: 1),
                                .init(service: "C", spanCount: 1), .init(service: "D", spanCount: 2)])
        // Each edge's query finds the trace; a call that is not there finds none.
        for edge in graph.edges { #expect(s.traceIDs(matching: try TraceQuery.parse(edge.query)).count == 1) }
        #expect(s.traceIDs(matching: try TraceQuery.parse(ServiceGraph.query(from: "A", to: "D"))).isEmpty)
    }

    @Test func errorsAndExactMedian() {
        // Child durations 10, 20, 30, 40 (one error): p50 is the 2nd (nearest rank).
        var spans: [Span] = []
        for (t, (d, e)) in [(10, false), (40, true), (30, false), (20, false)].enumerated() {
            spans += [F.span(UInt64(t), 1, "web"), F.span(UInt64(t), 2, parent: 1, "db", duration: UInt64(d), error: e)]
        }
        spans.append(F.span(9, 1, "web", error: true))  // an error with no parent: no call
        let graph = store(spans).serviceGraph()
        #expect(edgeList(graph) == ["web->db 4/1 p50=20"])
        #expect(graph.nodes == [.init(service: "db", spanCount: 4), .init(service: "web", spanCount: 5)])
    }

    @Test func parentsOnlyWithinTheTraceAndSharedIDs() {
        let spans = [
            F.span(1, 1, "A"),
            F.span(2, 2, parent: 1, "B"),  // its parent id is in another trace: no edge
            F.span(3, 7, "client-svc"),
            F.span(3, 7, "server-svc"),  // Zipkin-style shared id: nests under the first
            F.span(3, 8, parent: 9, "C"),  // parent missing
        ]
        let graph = store(spans).serviceGraph()
        #expect(edgeList(graph) == ["client-svc->server-svc 1/0 p50=100"])
        #expect(graph.nodes.count == 5)
    }

    @Test func largeTraceUsesTheSameRules() {
        // Over 32 spans the parent lookup hashes: same answers.
        var spans = [F.span(1, 1, "root")]
        for i in 2...60 { spans.append(F.span(1, UInt64(i), parent: UInt64(i - 1), i % 2 == 0 ? "even" : "odd")) }
        let graph = store(spans).serviceGraph()
        #expect(edgeList(graph).map { $0.components(separatedBy: " ").prefix(2).joined(separator: " ") }
                    == ["even->odd 29/0", "odd->even 29/0", "root->even 1/0"])
    }

    @Test func filteredGraphAndQuoting() throws {
        var s = TraceStore()
        s.add(contentsOf: [F.span(1, 1, #"we"b"#), F.span(1, 2, parent: 1, #"d\b"#, error: true)])
        s.add(contentsOf: [F.span(2, 1, "x"), F.span(2, 2, parent: 1, "y")])
        let all = s.serviceGraph()
        #expect(all.edges.count == 2)
        let errors = s.serviceGraph(matching: try TraceQuery.parse("error"))
        #expect(edgeList(errors) == [#"we"b->d\b 1/1 p50=100"#])
        let edge = try #require(errors.edges.first)
        #expect(edge.query == #"{service="we\"b"} > {service="d\\b"}"#)
        #expect(s.traceIDs(matching: try TraceQuery.parse(edge.query)) == [TraceID(low: 1)])
        #expect(s.serviceGraph(matching: try TraceQuery.parse("service=none")) == ServiceGraph())
    }
}
