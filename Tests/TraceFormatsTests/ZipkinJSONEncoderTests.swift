import Testing
import TraceFormats
import TraceModel

@Suite struct ZipkinJSONEncoderTests {
    static let resource = Resource(serviceName: "checkout", attributes: [
        Attribute("service.name", .string("checkout")),
        Attribute("net.host.ip", .string("10.0.0.7")),
        Attribute("net.host.port", .int(8080)),
    ])

    static let spans: [Span] = [
        Span(traceID: TraceID(high: 0x1234, low: 0xabcd), spanID: SpanID(0x11), name: "GET /cart", kind: .server,
             startTimeUnixNano: 1_700_000_000_000_000_000, durationNano: 25_000_000,
             attributes: [Attribute("http.method", .string("GET")), Attribute("http.status_code", .int(200)),
                          Attribute("cache.hit", .bool(false)), Attribute("quote\"d", .string("line\nbreak"))],
             events: [SpanEvent(timeUnixNano: 1_700_000_000_001_000_000, name: "cache miss")],
             resource: resource),
        Span(traceID: TraceID(high: 0x1234, low: 0xabcd), spanID: SpanID(0x22), parentSpanID: SpanID(0x11),
             name: "SELECT", kind: .client, status: SpanStatus(code: .error, message: "timeout"),
             startTimeUnixNano: 1_700_000_000_002_000_000, durationNano: 3_000, resource: resource),
        Span(traceID: TraceID(low: 0x77), spanID: SpanID(0x33), name: "publish", kind: .producer,
             startTimeUnixNano: 1_700_000_000_000_000_000, durationNano: 1_000,
             resource: Resource(serviceName: "queue")),
        Span(traceID: TraceID(low: 0x77), spanID: SpanID(0x44), parentSpanID: SpanID(0x33), name: "consume",
             kind: .consumer, status: SpanStatus(code: .ok), startTimeUnixNano: 1_700_000_000_000_500_000,
             durationNano: 400, resource: Resource(serviceName: "worker")),
        Span(traceID: TraceID(low: 0x77), spanID: SpanID(0x55), parentSpanID: SpanID(0x44), name: "work",
             kind: .internal, startTimeUnixNano: 1_700_000_000_000_600_000, durationNano: 7_000,
             resource: Resource(serviceName: "worker")),
    ]

    @Test("round trip through tracetty's Zipkin decoder keeps what Zipkin carries")
    func roundTrip() throws {
        let json = ZipkinJSONEncoder.encode(Self.spans)
        let decoded = try ZipkinJSONDecoder.decode(json)
        #expect(decoded.count == Self.spans.count)
        for (original, back) in zip(Self.spans, decoded) {
            #expect(back.traceID == original.traceID)
            #expect(back.spanID == original.spanID)
            #expect(back.parentSpanID == original.parentSpanID)
            #expect(back.name == original.name)
            #expect(back.kind == (original.kind == .internal ? .unspecified : original.kind))
            #expect(back.startTimeUnixNano == original.startTimeUnixNano)
            // Sub-microsecond durations round up to 1 µs (Zipkin's 0 means unknown).
            #expect(back.durationNano == max(1_000, original.durationNano / 1_000 * 1_000))
            #expect(back.serviceName == original.serviceName)
            #expect(back.status.code == original.status.code)
            #expect(back.status.message == original.status.message)
            #expect(back.events.map(\.name) == original.events.map(\.name))
            #expect(back.events.map(\.timeUnixNano) == original.events.map(\.timeUnixNano))
            // Tags come back as strings; status tags are added after the attributes.
            let expectedTags = original.attributes.map { a -> Attribute in
                switch a.value {
                case .string: return a
                case .int(let v): return Attribute(a.key, .string(String(v)))
                case .bool(let b): return Attribute(a.key, .string(b ? "true" : "false"))
                default: return a
                }
            }
            #expect(Array(back.attributes.prefix(expectedTags.count)) == expectedTags)
        }
        #expect(decoded[0].resource.attributes.contains(Attribute("net.host.ip", .string("10.0.0.7"))))
        #expect(decoded[0].resource.attributes.contains(Attribute("net.host.port", .int(8080))))
    }

    @Test("the JSON itself: 16-digit ids for 64-bit traces, no kind for internal, µs times")
    func shape() {
        let text = String(decoding: ZipkinJSONEncoder.encode([Self.spans[4], Self.spans[1]]), as: UTF8.self)
        #expect(text.hasPrefix(#"[{"traceId":"0000000000000077","id":"0000000000000055","parentId":"0000000000000044","name":"work","timestamp":1700000000000600,"duration":7,"localEndpoint":{"serviceName":"worker"}}"#))
        #expect(text.contains(#""traceId":"0000000000001234000000000000abcd""#))
        #expect(text.contains(#""kind":"CLIENT""#))
        #expect(text.contains(#""tags":{"error":"timeout"}"#))
        #expect(text.hasSuffix("}]"))
        #expect(ZipkinJSONEncoder.encode([]) == Array("[]".utf8))
    }

    @Test("zipkin.shared travels as the shared flag")
    func shared() throws {
        var span = Self.spans[0]
        span.attributes = [Attribute("zipkin.shared", .bool(true))]
        let json = ZipkinJSONEncoder.encode([span])
        #expect(String(decoding: json, as: UTF8.self).contains(#""shared":true"#))
        let back = try ZipkinJSONDecoder.decode(json)
        #expect(back.first?.attribute("zipkin.shared") == .bool(true))
    }

    @Test("TraceIDRewriter: one new id per trace, the same for every span and link of it; a new key, new ids")
    func rewriter() {
        let r = TraceIDRewriter(key: (1, 2, 3, 4))
        let a = TraceID(high: 0, low: 0xabc), b = TraceID(high: 0, low: 0xabd)
        #expect(r.map(a) == r.map(a))
        #expect(r.map(a) != a && r.map(a) != r.map(b) && r.map(a).high != 0)
        #expect(TraceIDRewriter(key: (5, 6, 7, 8)).map(a) != r.map(a))
        var span = Self.spans[1]
        span.links = [SpanLink(traceID: a, spanID: SpanID(9))]
        let rewritten = r.rewrite(span)
        #expect(rewritten.traceID == r.map(span.traceID))
        #expect(rewritten.parentSpanID == span.parentSpanID && rewritten.spanID == span.spanID)
        #expect(rewritten.links.first?.traceID == r.map(a))
        // A permutation: 100,000 ids map to 100,000 distinct ids.
        let mapped = Set((1...100_000).map { r.map(TraceID(high: 7, low: UInt64($0))) })
        #expect(mapped.count == 100_000)
    }
}
