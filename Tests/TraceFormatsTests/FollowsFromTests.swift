import Testing
import TraceFormats
@testable import TraceModel

/// Jaeger FOLLOWS_FROM references nest a span under the span it follows, as
/// Jaeger's model does (`Span.ParentSpanID`), and the edge keeps its kind
/// through every decoder, the store and every encoder.
@Suite struct FollowsFromTests {
    static let trace = "00000000000000000000000000005a3f"

    /// producer a1 -> consumer c2 (FOLLOWS_FROM only); 03 has CHILD_OF a1 and
    /// FOLLOWS_FROM c2; l4 follows a span of another trace (a link, so a root);
    /// y5 and z6 follow each other (a cycle).
    static let document = #"""
    {"data": [{
      "traceID": "5a3f",
      "spans": [
        {"traceID": "5a3f", "spanID": "a1", "operationName": "publish", "startTime": 1000, "duration": 100, "processID": "a",
         "tags": [{"key": "span.kind", "type": "string", "value": "producer"}]},
        {"traceID": "5a3f", "spanID": "c2", "operationName": "consume", "startTime": 1200, "duration": 300, "processID": "b",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "5a3f", "spanID": "a1"}]},
        {"traceID": "5a3f", "spanID": "03", "operationName": "both", "startTime": 1010, "duration": 20, "processID": "a",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "5a3f", "spanID": "c2"},
                        {"refType": "CHILD_OF", "traceID": "5a3f", "spanID": "a1"}]},
        {"traceID": "5a3f", "spanID": "04", "operationName": "elsewhere", "startTime": 900, "duration": 5, "processID": "b",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "77", "spanID": "99"}]},
        {"traceID": "5a3f", "spanID": "05", "operationName": "loop-a", "startTime": 2000, "duration": 5, "processID": "b",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "5a3f", "spanID": "06"}]},
        {"traceID": "5a3f", "spanID": "06", "operationName": "loop-b", "startTime": 2001, "duration": 5, "processID": "b",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "5a3f", "spanID": "05"}]}
      ],
      "processes": {"a": {"serviceName": "producer"}, "b": {"serviceName": "consumer"}}
    }]}
    """#

    static func decoded() throws -> [Span] {
        try DumpDecoder.decode(Array(document.utf8), source: "follows.json").spans
    }

    @Test func jaegerJSONMapsReferencesAsJaegerDoes() throws {
        let spans = try Self.decoded()
        try #require(spans.count == 6)
        let byName = Dictionary(uniqueKeysWithValues: spans.map { ($0.name, $0) })
        let consume = try #require(byName["consume"])
        #expect(consume.parentSpanID == SpanID(0xa1))
        #expect(consume.parentReference == .followsFrom)
        #expect(consume.links.isEmpty)
        let both = try #require(byName["both"])
        #expect(both.parentSpanID == SpanID(0xa1))
        #expect(both.parentReference == .childOf)
        #expect(both.links == [SpanLink(traceID: TraceID(low: 0x5a3f), spanID: SpanID(0xc2), referenceType: "FOLLOWS_FROM")])
        let elsewhere = try #require(byName["elsewhere"])
        #expect(elsewhere.parentSpanID == nil)
        #expect(elsewhere.links == [SpanLink(traceID: TraceID(low: 0x77), spanID: SpanID(0x99), referenceType: "FOLLOWS_FROM")])
        #expect(byName["loop-a"]?.parentSpanID == SpanID(6))
        #expect(byName["loop-b"]?.parentSpanID == SpanID(5))
    }

    @Test func assemblesInEveryArrivalOrder() throws {
        let spans = try Self.decoded()
        let expected = [
            "elsewhere", "publish", "  both", "  consume (follows)",
            // The cycle is broken at its earliest span, placed after the real roots.
            "loop-a (cycle)", "  loop-b (follows)",
        ]
        var orders = 0
        for order in permutations(spans) {
            var store = TraceStore()
            for span in order { store.add(span) }
            let trace = try #require(store.trace(TraceID(low: 0x5a3f)))
            #expect(Self.shape(trace) == expected)
            orders += 1
        }
        #expect(orders == 720)
    }

    static func shape(_ trace: Trace) -> [String] {
        trace.tree.rows.map { node in
            var line = String(repeating: "  ", count: Int(node.depth)) + trace.spans[Int(node.spanIndex)].name
            if node.marks.contains(.cycle) { line += " (cycle)" }
            if node.marks.contains(.followsFrom) { line += " (follows)" }
            return line
        }
    }

    /// jaeger-client-go sends a FOLLOWS_FROM-only span with `parentSpanId`
    /// set to the span it follows and the reference in `references`.
    @Test(arguments: [ThriftProtocolKind.compact, .binary])
    func thriftMapping(kind: ThriftProtocolKind) throws {
        let t = TraceID(low: 10)
        func span(_ id: UInt64, parent: UInt64?, _ refs: [SpanLink]) -> Span {
            Span(traceID: t, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: "op\(id)",
                 startTimeUnixNano: 1_000_000, durationNano: 1_000, links: refs)
        }
        // Written with links only, so each reference reaches the wire as given.
        let spans = [
            span(1, parent: 7, [SpanLink(traceID: t, spanID: SpanID(7), referenceType: "FOLLOWS_FROM")]),
            span(2, parent: nil, [SpanLink(traceID: t, spanID: SpanID(7), referenceType: "FOLLOWS_FROM")]),
            span(3, parent: 7, [SpanLink(traceID: t, spanID: SpanID(8), referenceType: "FOLLOWS_FROM")]),
            span(4, parent: nil, [SpanLink(traceID: t, spanID: SpanID(8), referenceType: "FOLLOWS_FROM"),
                                  SpanLink(traceID: t, spanID: SpanID(7), referenceType: "CHILD_OF")]),
            span(5, parent: nil, [SpanLink(traceID: TraceID(low: 11), spanID: SpanID(7), referenceType: "FOLLOWS_FROM")]),
        ]
        let bytes = JaegerThriftEncoder.emitBatch(process: Resource(serviceName: "s"), spans: spans, protocolKind: kind)
        let got = try JaegerAgentDecoder.decode(bytes).spans
        try #require(got.count == 5)
        #expect(got.map { $0.parentSpanID?.raw } == [7, 7, 7, 7, nil])
        #expect(got.map(\.parentReference) == [.followsFrom, .followsFrom, .childOf, .childOf, .childOf])
        #expect(got[0].links.isEmpty)
        #expect(got[1].links.isEmpty)
        // parentSpanId that no reference names counts as CHILD_OF and wins over FOLLOWS_FROM.
        #expect(got[2].links == [SpanLink(traceID: t, spanID: SpanID(8), referenceType: "FOLLOWS_FROM")])
        #expect(got[3].links == [SpanLink(traceID: t, spanID: SpanID(8), referenceType: "FOLLOWS_FROM")])
        #expect(got[4].links == [SpanLink(traceID: TraceID(low: 11), spanID: SpanID(7), referenceType: "FOLLOWS_FROM")])
    }

    @Test func theEdgeSurvivesEveryEncoderAndTheStore() throws {
        let spans = try Self.decoded()
        func edges(_ spans: [Span]) -> [String: ParentReference] {
            Dictionary(uniqueKeysWithValues: spans.filter { $0.parentSpanID != nil }.map { ($0.name, $0.parentReference) })
        }
        let expected = edges(spans)
        #expect(expected["consume"] == .followsFrom)

        let viaOTLPJSON = try DumpDecoder.decode(OTLPJSONEncoder.encodeLine(spans), source: "rt").spans
        #expect(edges(viaOTLPJSON) == expected)
        #expect(viaOTLPJSON.first { $0.name == "consume" }?.links.isEmpty == true)
        let viaProtobuf = try OTLPProtobufDecoder.decode(OTLPProtobufEncoder.encode(spans)).spans
        #expect(edges(viaProtobuf) == expected)
        let viaThrift = try JaegerAgentDecoder.decode(
            JaegerThriftEncoder.emitBatch(process: Resource(serviceName: "s"), spans: spans)).spans
        #expect(edges(viaThrift) == expected)
        #expect(viaThrift.first { $0.name == "consume" }?.links.isEmpty == true)

        var store = TraceStore()
        for span in spans { store.add(span) }
        let stored = try #require(store.trace(TraceID(low: 0x5a3f)))
        #expect(edges(stored.spans) == expected)
    }

    /// OTLP is unchanged: parentSpanId is the parent and links stay links,
    /// even a FOLLOWS_FROM-typed link to another span.
    @Test func otlpLinksStayLinks() throws {
        let t = TraceID(low: 1)
        let link = SpanLink(traceID: t, spanID: SpanID(3), referenceType: "FOLLOWS_FROM")
        let span = Span(traceID: t, spanID: SpanID(2), parentSpanID: SpanID(1), name: "x",
                        startTimeUnixNano: 1, durationNano: 1, links: [link])
        let back = try DumpDecoder.decode(OTLPJSONEncoder.encodeLine([span]), source: "rt").spans
        #expect(back.first?.parentSpanID == SpanID(1))
        #expect(back.first?.parentReference == .childOf)
        #expect(back.first?.links == [link])
    }
}

private func permutations<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    var result: [[T]] = []
    for i in items.indices {
        var rest = items
        let head = rest.remove(at: i)
        for tail in permutations(rest) { result.append([head] + tail) }
    }
    return result
}
