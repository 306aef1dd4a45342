import Foundation
import Testing
import TraceModel
@testable import TraceFormats

/// SplitMix64: deterministic inputs for the fuzz-style tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The `WireDecodeError` a body threw, or nil; any other error is a test failure.
func wireError(_ body: () throws -> Void) -> WireDecodeError? {
    do {
        try body()
        return nil
    } catch let error as WireDecodeError {
        return error
    } catch {
        Issue.record("not a WireDecodeError: \(error)")
        return nil
    }
}

/// Same spans in (trace, span) order; reports the first difference only.
func expectSameSpans(_ got: [Span], _ expected: [Span], sourceLocation: SourceLocation = #_sourceLocation) {
    let a = sortedSpans(got), b = sortedSpans(expected)
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        Issue.record("span \(i) differs:\n got      \(a[i])\n expected \(b[i])", sourceLocation: sourceLocation)
    }
}

enum WireSamples {
    static let process = Resource(serviceName: "server-1", attributes: [
        Attribute("service.name", .string("server-1")),
        Attribute("hostname", .string("vm")),
        Attribute("ip", .string("127.0.0.1")),
    ])

    /// Spans in the form a Jaeger decode gives back unchanged: microsecond
    /// times, kind not among the tags, status carried by its tags, events
    /// named by their `event` field, references to other traces or follows-from.
    static func jaegerSpans(count: Int, seed: UInt64 = 7, process: Resource = process) -> [Span] {
        var rng = SeededGenerator(seed: seed)
        var spans: [Span] = []
        spans.reserveCapacity(count)
        var trace = TraceID(high: 0, low: rng.next() | 1)
        var root = SpanID(rng.next() | 1)
        for i in 0..<count {
            if i % 3 == 0 {
                trace = TraceID(high: i % 6 == 0 ? 0 : rng.next(), low: rng.next() | 1)
                root = SpanID(rng.next() | 1)
            }
            let isRoot = i % 3 == 0
            let id = isRoot ? root : SpanID(rng.next() | 1)
            var attributes: [Attribute] = [
                Attribute("otel.library.name", .string("go-opentracing")),
                Attribute("http.method", .string("GET")),
                Attribute("http.url", .string("/user/\(SyntheticTraces.seedNamesForTests[i % 10])")),
            ]
            if isRoot {
                attributes.append(Attribute("sampler.type", .string("const")))
                attributes.append(Attribute("sampler.param", .bool(true)))
            }
            if i % 5 == 1 {
                attributes.append(Attribute("http.status_code", .int(500)))
                attributes.append(Attribute("latency.ratio", .double(0.25 + Double(i))))
                attributes.append(Attribute("payload", .bytes([0, 1, 2, 0xFF])))
            }
            var status = SpanStatus.unset
            if i % 7 == 2 {
                attributes.append(Attribute("otel.status_code", .string("ERROR")))
                attributes.append(Attribute("otel.status_description", .string("upstream failed")))
                attributes.append(Attribute("error", .bool(true)))
                status = SpanStatus(code: .error, message: "upstream failed")
            }
            var events: [SpanEvent] = []
            if i % 4 == 1 {
                events.append(SpanEvent(timeUnixNano: 1_795_821_559_007_195_000 + UInt64(i) * 1000, name: "request received",
                                        attributes: [Attribute("event", .string("request received")), Attribute("name", .string("alice"))]))
                events.append(SpanEvent(timeUnixNano: 1_795_821_559_007_196_000, name: "log",
                                        attributes: [Attribute("count", .int(3))]))
            }
            var links: [SpanLink] = []
            if i % 6 == 4 {
                links.append(SpanLink(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), referenceType: "FOLLOWS_FROM"))
                links.append(SpanLink(traceID: TraceID(high: 4, low: 5), spanID: SpanID(6), referenceType: "CHILD_OF"))
            }
            spans.append(Span(
                traceID: trace, spanID: id, parentSpanID: isRoot ? nil : root,
                name: isRoot ? "server-1" : (i % 3 == 1 ? "server-1_to_server-2" : "server-2"),
                kind: [SpanKind.server, .client, .unspecified][i % 3], status: status,
                startTimeUnixNano: 1_795_821_558_756_745_000 + UInt64(i) * 1_000_000,
                durationNano: UInt64(500_000 + i * 37) * 1000,
                attributes: attributes, events: events, links: links, resource: process, flags: 1))
        }
        return spans
    }

    /// Spans for the OTLP round trip: every attribute type, scopes, links, status, trace state.
    static func otlpSpans(count: Int, seed: UInt64 = 11) -> [Span] {
        var generator = SyntheticTraces(seed: seed)
        var spans: [Span] = []
        while spans.count < count { spans += generator.nextTrace() }
        spans = Array(spans.prefix(count))
        for i in spans.indices where i % 4 == 0 {
            spans[i].attributes += [
                Attribute("list", .array([.string("a"), .int(-1), .bool(false), .double(1.5), .array([.bytes([9])])])),
                Attribute("map", .map([Attribute("k", .string("v")), Attribute("n", .int(Int64.min))])),
                Attribute("bytes", .bytes([0xDE, 0xAD])),
                Attribute("empty", .string("")),
            ]
            spans[i].links = [SpanLink(traceID: TraceID(high: 7, low: 8), spanID: SpanID(9), referenceType: "FOLLOWS_FROM",
                                       attributes: [Attribute("why", .string("batch"))]),
                              SpanLink(traceID: TraceID(high: 0, low: 1), spanID: SpanID(2))]
            spans[i].traceState = "vendor=value"
            spans[i].status = SpanStatus(code: .ok, message: "fine")
            spans[i].flags = 0x301
        }
        return spans
    }
}

extension SyntheticTraces {
    static let seedNamesForTests = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
}

/// Builds `zipkincore.Span`s with a Thrift writer (no encoder ships for them).
struct ZipkinSpanSpec {
    var traceLow: Int64
    var traceHigh: Int64? = nil
    var id: Int64
    var parent: Int64? = nil
    var name: String
    /// (timestamp µs, value, host service name, ipv4, port)
    var annotations: [(Int64, String, String, Int32, Int16)] = []
    /// (key, value bytes, type, host service)
    var binaryAnnotations: [(String, [UInt8], Int32, String?)] = []
    var timestamp: Int64? = nil
    var duration: Int64? = nil
    var debug: Bool? = nil

    func write<W: ThriftWriter>(_ w: inout W) {
        func endpoint(_ service: String, _ ipv4: Int32, _ port: Int16) {
            w.writeStructBegin()
            w.writeFieldBegin(.i32, id: 1); w.writeI32(ipv4)
            w.writeFieldBegin(.i16, id: 2); w.writeI16(port)
            w.writeFieldBegin(.binary, id: 3); w.writeString(service)
            w.writeStructEnd()
        }
        w.writeStructBegin()
        w.writeFieldBegin(.i64, id: 1); w.writeI64(traceLow)
        w.writeFieldBegin(.binary, id: 3); w.writeString(name)
        w.writeFieldBegin(.i64, id: 4); w.writeI64(id)
        if let parent { w.writeFieldBegin(.i64, id: 5); w.writeI64(parent) }
        w.writeFieldBegin(.list, id: 6)
        w.writeListBegin(.struct, count: annotations.count)
        for (ts, value, service, ip, port) in annotations {
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(ts)
            w.writeFieldBegin(.binary, id: 2); w.writeString(value)
            w.writeFieldBegin(.struct, id: 3); endpoint(service, ip, port)
            w.writeStructEnd()
        }
        w.writeFieldBegin(.list, id: 8)
        w.writeListBegin(.struct, count: binaryAnnotations.count)
        for (key, value, type, host) in binaryAnnotations {
            w.writeStructBegin()
            w.writeFieldBegin(.binary, id: 1); w.writeString(key)
            w.writeFieldBegin(.binary, id: 2); w.writeBinary(value)
            w.writeFieldBegin(.i32, id: 3); w.writeI32(type)
            if let host { w.writeFieldBegin(.struct, id: 4); endpoint(host, 0x0A00_0002, 9411) }
            w.writeStructEnd()
        }
        if let debug { w.writeBoolField(id: 9, debug) }
        if let timestamp { w.writeFieldBegin(.i64, id: 10); w.writeI64(timestamp) }
        if let duration { w.writeFieldBegin(.i64, id: 11); w.writeI64(duration) }
        if let traceHigh { w.writeFieldBegin(.i64, id: 12); w.writeI64(traceHigh) }
        w.writeStructEnd()
    }

    static func emitZipkinBatch<W: ThriftWriter>(_ spans: [ZipkinSpanSpec], writer: W, type: ThriftMessageType = .oneway) -> [UInt8] {
        var w = writer
        w.writeMessageBegin(name: "emitZipkinBatch", type: type, seqID: 3)
        w.writeStructBegin()
        w.writeFieldBegin(.list, id: 1)
        w.writeListBegin(.struct, count: spans.count)
        for span in spans { span.write(&w) }
        w.writeStructEnd()
        return w.bytes
    }

    /// A client span and a server span of one RPC, as v1 tracers report them.
    static let rpc: [ZipkinSpanSpec] = [
        ZipkinSpanSpec(
            traceLow: 0x25D8_B7E9_E4DC_427F, traceHigh: 0x1122, id: 0x7, parent: 0x5, name: "get /alice",
            annotations: [(1_000_000, "cs", "frontend", 0x7F00_0001, 8080), (1_000_400, "cr", "frontend", 0x7F00_0001, 8080),
                          (1_000_100, "retry", "frontend", 0x7F00_0001, 8080)],
            binaryAnnotations: [("http.path", Array("/alice".utf8), 6, "frontend"), ("sa", [1], 0, "backend"),
                                ("http.status_code", [0, 0, 0, 200], 3, nil), ("size", [0, 0, 0, 0, 0, 0, 1, 0], 4, nil),
                                ("ratio", Array(withUnsafeBytes(of: (0.5).bitPattern.bigEndian, Array.init)), 5, nil),
                                ("short", [0xFF, 0xFE], 2, nil), ("blob", [1, 2, 3], 1, nil), ("error", Array("boom".utf8), 6, nil)]),
        ZipkinSpanSpec(
            traceLow: 0x25D8_B7E9_E4DC_427F, traceHigh: 0x1122, id: 0x8, parent: 0x7, name: "get",
            annotations: [(1_000_100, "sr", "backend", 0x0A00_0001, 9000), (1_000_300, "ss", "backend", 0x0A00_0001, 9000)],
            binaryAnnotations: [("ca", [1], 0, "frontend")], timestamp: 1_000_090, duration: 250, debug: true),
        ZipkinSpanSpec(traceLow: 0, id: 0x9, name: "no trace id"),
    ]
}
