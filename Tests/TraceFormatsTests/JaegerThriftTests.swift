import Foundation
import Testing
import TraceModel
@testable import TraceFormats

/// Encoder-made Jaeger agent datagrams and collector bodies: these run
/// without ../shared.
@Suite struct JaegerThriftTests {
    let spans = WireSamples.jaegerSpans(count: 40)

    @Test(arguments: [ThriftProtocolKind.compact, .binary], [ThriftMessageType.call, .oneway])
    func emitBatchRoundTrip(kind: ThriftProtocolKind, type: ThriftMessageType) throws {
        let stats = ClientStats(fullQueueDroppedSpans: 1, tooLargeDroppedSpans: 2, failedToEmitSpans: -3)
        let bytes = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: spans, seqNo: 42, stats: stats,
                                                  seqID: 77, messageType: type, protocolKind: kind)
        #expect(ThriftProtocolKind.detect(bytes) == kind)
        let batch = try JaegerAgentDecoder.decode(bytes)
        #expect(batch.protocolKind == kind)
        #expect(batch.method == .emitBatch)
        #expect(batch.messageType == type)
        #expect(batch.seqID == 77)
        #expect(batch.batchSeqNo == 42)
        #expect(batch.clientStats == stats)
        #expect(batch.serviceName == "server-1")
        #expect(batch.process == WireSamples.process)
        #expect(batch.rejectedCount == 0 && batch.rejected.isEmpty)
        #expect(batch.spans == spans)
        // One Resource object shared by the batch.
        #expect(batch.spans.allSatisfy { $0.resource === batch.spans[0].resource })
        // The protocol given explicitly decodes the same.
        #expect(try JaegerAgentDecoder.decode(bytes, protocolKind: kind).spans == spans)
    }

    @Test(arguments: [ThriftProtocolKind.compact, .binary])
    func bareBatchRoundTrip(kind: ThriftProtocolKind) throws {
        let bytes = JaegerThriftEncoder.batch(process: WireSamples.process, spans: spans, protocolKind: kind)
        let batch = try JaegerBatchDecoder.decode(bytes, protocolKind: kind)
        #expect(batch.spans == spans)
        #expect(batch.process == WireSamples.process)
        #expect(batch.seqNo == nil && batch.stats == nil)
    }

    @Test func encodedSpansAssembleTheSameDatagram() throws {
        for kind in ThriftProtocolKind.allCases {
            let whole = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: spans, seqNo: 5, protocolKind: kind)
            let parts = spans.map { JaegerThriftEncoder.encodeSpan($0, protocolKind: kind) }
            let assembled = JaegerThriftEncoder.emitBatch(process: WireSamples.process, encodedSpans: parts, seqNo: 5, protocolKind: kind)
            #expect(whole == assembled)
            let overhead = JaegerThriftEncoder.emitBatchOverhead(process: WireSamples.process, seqNo: 5, protocolKind: kind)
            let listHeaderExtra = kind == .compact ? 1 : 0  // 40 spans: the long list header form
            #expect(whole.count <= overhead + parts.reduce(0) { $0 + $1.count } + listHeaderExtra + 4)
        }
    }

    @Test func compactBytesAreThoseJaegerClientGoWrites() {
        // One span, one tag, written field by field as jaeger-client-go (Apache Thrift Go) does.
        let span = Span(traceID: TraceID(low: 0x25D8_B7E9_E4DC_427F), spanID: SpanID(0x25D8_B7E9_E4DC_427F), name: "op",
                        startTimeUnixNano: 1_000_000, durationNano: 2000,
                        attributes: [Attribute("b", .bool(true))], resource: Resource(serviceName: "s"), flags: 1)
        let bytes = JaegerThriftEncoder.emitBatch(process: Resource(serviceName: "s"), spans: [span], seqID: 1)
        let expected: [UInt8] = [
            0x82, 0x21, 0x01, 0x09] + Array("emitBatch".utf8) + [
            0x1C,  // args field 1: struct Batch
            0x1C, 0x18, 0x01, UInt8(ascii: "s"), 0x00,  // Process{serviceName}
            0x19, 0x1C,  // spans: list of 1 struct
            0x16, 0xFE, 0x89, 0xE2, 0xCD, 0xBC, 0xFA, 0xDB, 0xD8, 0x4B,  // traceIdLow (zigzag varint)
            0x16, 0x00,  // traceIdHigh 0
            0x16, 0xFE, 0x89, 0xE2, 0xCD, 0xBC, 0xFA, 0xDB, 0xD8, 0x4B,  // spanId
            0x16, 0x00,  // parentSpanId 0
            0x18, 0x02, UInt8(ascii: "o"), UInt8(ascii: "p"),
            0x25, 0x02,  // flags: delta 2 (references skipped), zigzag 1
            0x16, 0xD0, 0x0F,  // startTime 1000 µs
            0x16, 0x04,  // duration 2 µs
            0x19, 0x1C, 0x18, 0x01, UInt8(ascii: "b"), 0x15, 0x04, 0x31, 0x00,  // tags [b: BOOL true in the field header]
            0x00, 0x00, 0x00]  // span, batch, args stops
        #expect(bytes == expected)
    }

    @Test func nonStrictBinaryMessage() throws {
        var w = ThriftBinaryWriter()
        w.writeI32(Int32("emitBatch".utf8.count))
        w.writeRaw(Array("emitBatch".utf8))
        w.writeByte(4)
        w.writeI32(9)
        let strict = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: spans, messageType: .oneway, protocolKind: .binary)
        // The strict header is 4 + 4 + 9 + 4 bytes; the rest is the args struct.
        w.writeRaw(Array(strict[21...]))
        let batch = try JaegerAgentDecoder.decode(w.bytes, protocolKind: .binary)
        #expect(batch.messageType == .oneway)
        #expect(batch.seqID == 9)
        #expect(batch.spans == spans)
    }

    @Test func replyAndExceptionAreRejected() {
        for (kind, type) in [(ThriftProtocolKind.compact, ThriftMessageType.reply), (.compact, .exception),
                             (.binary, .reply), (.binary, .exception)] {
            let bytes = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: [], messageType: type, protocolKind: kind)
            let error = wireError { _ = try JaegerAgentDecoder.decode(bytes) }
            #expect(error?.reason == .unsupportedMessageType(type.rawValue))
            #expect(error?.description.contains("is not CALL (1) or ONEWAY (4)") == true)
        }
        // Compact type 5..7 is no message type at all.
        var bytes = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: [])
        bytes[1] = 0xA1
        #expect(wireError { _ = try JaegerAgentDecoder.decode(bytes) }?.reason == .unsupportedMessageType(5))
    }

    @Test func unknownMethodAndBadEnvelope() {
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "getSamplingStrategy", type: .call, seqID: 1)
        w.writeStructBegin(); w.writeStructEnd()
        let error = wireError { _ = try JaegerAgentDecoder.decode(w.bytes) }
        #expect(error == WireDecodeError(format: .thriftCompact, offset: 0, reason: .unknownMethod("getSamplingStrategy")))

        var bad = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: [])
        bad[1] = 0x22  // version 2
        #expect(wireError { _ = try JaegerAgentDecoder.decode(bad) }?.reason == .badVersion(2))
        #expect(wireError { _ = try JaegerAgentDecoder.decode([0x42, 0x00]) } != nil)
        #expect(wireError { _ = try JaegerAgentDecoder.decode([0x42], protocolKind: .compact) }?.reason == .badProtocolID(0x42))
        let empty = wireError { _ = try JaegerAgentDecoder.decode([UInt8]()) }
        #expect(empty == WireDecodeError(format: .thriftBinary, offset: 0, reason: .truncated(needed: 1, remaining: 0)))

        var strictBad = JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: [], protocolKind: .binary)
        strictBad[1] = 0x02
        #expect(wireError { _ = try JaegerAgentDecoder.decode(strictBad) }?.reason == .badVersion(0x8002_0000))

        // emitBatch without its argument.
        var noArgs = ThriftCompactWriter()
        noArgs.writeMessageBegin(name: "emitBatch", type: .oneway, seqID: 1)
        noArgs.writeStructBegin(); noArgs.writeStructEnd()
        #expect(wireError { _ = try JaegerAgentDecoder.decode(noArgs.bytes) }?.reason == .missingField("emitBatch.batch"))
    }

    @Test func batchWithoutProcessOrSpansFails() {
        var w = ThriftBinaryWriter()
        w.writeStructBegin()
        w.writeFieldBegin(.list, id: 2); w.writeListBegin(.struct, count: 0)
        w.writeStructEnd()
        #expect(wireError { _ = try JaegerBatchDecoder.decode(w.bytes) } ==
                WireDecodeError(format: .thriftBinary, offset: 0, reason: .missingField("Batch.process")))
        var v = ThriftBinaryWriter()
        v.writeStructBegin()
        v.writeFieldBegin(.struct, id: 1); JaegerThriftEncoder.writeProcess(WireSamples.process, into: &v)
        v.writeStructEnd()
        #expect(wireError { _ = try JaegerBatchDecoder.decode(v.bytes) }?.reason == .missingField("Batch.spans"))
    }

    /// Hand-written spans exercise every mapping rule of the Jaeger JSON reader.
    @Test func mappingRules() throws {
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "emitBatch", type: .call, seqID: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        w.writeStructBegin()  // Batch, spans BEFORE process
        w.writeFieldBegin(.list, id: 2)
        w.writeListBegin(.struct, count: 5)
        func span(low: Int64, high: Int64 = 0, id: Int64, parent: Int64 = 0, refs: [(Int32, Int64, Int64, Int64)] = [],
                  tags: [(String, Int32, (inout ThriftCompactWriter) -> Void)] = [],
                  logs: [[(String, String)]] = [], extra: ((inout ThriftCompactWriter) -> Void)? = nil) {
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(low)
            w.writeFieldBegin(.i64, id: 2); w.writeI64(high)
            w.writeFieldBegin(.i64, id: 3); w.writeI64(id)
            w.writeFieldBegin(.i64, id: 4); w.writeI64(parent)
            w.writeFieldBegin(.binary, id: 5); w.writeString("op\(id)")
            w.writeFieldBegin(.list, id: 6); w.writeListBegin(.struct, count: refs.count)
            for (type, rl, rh, rs) in refs {
                w.writeStructBegin()
                w.writeFieldBegin(.i32, id: 1); w.writeI32(type)
                w.writeFieldBegin(.i64, id: 2); w.writeI64(rl)
                w.writeFieldBegin(.i64, id: 3); w.writeI64(rh)
                w.writeFieldBegin(.i64, id: 4); w.writeI64(rs)
                w.writeStructEnd()
            }
            w.writeFieldBegin(.i32, id: 7); w.writeI32(3)
            w.writeFieldBegin(.i64, id: 8); w.writeI64(1_700_000_000_000_000)
            w.writeFieldBegin(.i64, id: 9); w.writeI64(1500)
            w.writeFieldBegin(.list, id: 10); w.writeListBegin(.struct, count: tags.count)
            for (key, type, value) in tags {
                w.writeStructBegin()
                w.writeFieldBegin(.binary, id: 1); w.writeString(key)
                w.writeFieldBegin(.i32, id: 2); w.writeI32(type)
                value(&w)
                w.writeStructEnd()
            }
            w.writeFieldBegin(.list, id: 11); w.writeListBegin(.struct, count: logs.count)
            for fields in logs {
                w.writeStructBegin()
                w.writeFieldBegin(.i64, id: 1); w.writeI64(1_700_000_000_000_100)
                w.writeFieldBegin(.list, id: 2); w.writeListBegin(.struct, count: fields.count)
                for (k, v) in fields {
                    w.writeStructBegin()
                    w.writeFieldBegin(.binary, id: 1); w.writeString(k)
                    w.writeFieldBegin(.i32, id: 2); w.writeI32(0)
                    w.writeFieldBegin(.binary, id: 3); w.writeString(v)
                    w.writeStructEnd()
                }
                w.writeStructEnd()
            }
            extra?(&w)
            w.writeStructEnd()
        }
        // 1: parent only from a CHILD_OF reference; a FOLLOWS_FROM reference becomes a link.
        span(low: 10, id: 1, refs: [(1, 10, 0, 99), (0, 10, 0, 5)],
             tags: [("span.kind", 0, { $0.writeFieldBegin(.binary, id: 3); $0.writeString("client") }),
                    ("d", 1, { $0.writeFieldBegin(.double, id: 4); $0.writeDouble(2.5) }),
                    ("b", 2, { $0.writeBoolField(id: 5, false) }),
                    ("l", 3, { $0.writeFieldBegin(.i64, id: 6); $0.writeI64(-7) }),
                    ("x", 4, { $0.writeFieldBegin(.binary, id: 7); $0.writeBinary([1, 2]) }),
                    ("otel.status_code", 0, { $0.writeFieldBegin(.binary, id: 3); $0.writeString("ERROR") }),
                    ("otel.status_description", 0, { $0.writeFieldBegin(.binary, id: 3); $0.writeString("bad") }),
                    ("missing", 3, { _ in }),
                    ("odd", 9, { $0.writeFieldBegin(.i64, id: 6); $0.writeI64(1) })],
             logs: [[("message", "hello"), ("k", "v")], [("event", "e1"), ("message", "m")], [("k", "v")]])
        // 2: parentSpanId and a matching CHILD_OF reference: no link; a CHILD_OF to another trace: a link.
        span(low: 10, high: 3, id: 2, parent: 1, refs: [(0, 10, 3, 1), (0, 11, 0, 1)],
             extra: { w in  // unknown fields of every kind are skipped
                 w.writeFieldBegin(.map, id: 40); w.writeMapBegin(key: .binary, value: .list, count: 1)
                 w.writeString("k"); w.writeListBegin(.bool, count: 2); w.writeBool(true); w.writeBool(false)
                 w.writeFieldBegin(.set, id: 41); w.writeSetBegin(.double, count: 1); w.writeDouble(1)
                 w.writeFieldBegin(.uuid, id: 300); w.writeRaw([UInt8](repeating: 7, count: 16))
                 w.writeFieldBegin(.byte, id: -5); w.writeByte(-1)
                 w.writeFieldBegin(.i16, id: 6000); w.writeI16(-300)
                 w.writeBoolField(id: 6001, true)
                 w.writeFieldBegin(.struct, id: 12); w.writeStructBegin(); w.writeBoolField(id: 1, false); w.writeStructEnd()
             })
        // 3: invalid: zero trace id. 4: invalid: zero span id.
        span(low: 0, id: 3)
        span(low: 10, id: 0)
        // 5: a field with the wrong type is skipped (traceIdLow as a string): invalid trace id.
        w.writeStructBegin()
        w.writeFieldBegin(.binary, id: 1); w.writeString("10")
        w.writeFieldBegin(.i64, id: 3); w.writeI64(5)
        w.writeStructEnd()
        w.writeFieldBegin(.struct, id: 1)
        JaegerThriftEncoder.writeProcess(Resource(serviceName: "", attributes: []), into: &w)
        w.writeStructEnd()
        w.writeStructEnd()
        let batch = try JaegerAgentDecoder.decode(w.bytes)
        #expect(batch.rejectedCount == 3)
        #expect(batch.rejected.map(\.reason) == ["span 3: traceId is zero", "span 4: spanId is zero", "span 5: traceId is zero"])
        try #require(batch.spans.count == 2)
        let a = batch.spans[0], b = batch.spans[1]
        #expect(a.serviceName == "unknown_service")
        #expect(a.resource.attributes == [Attribute("service.name", .string("unknown_service"))])
        #expect(a.resource === b.resource)
        #expect(a.parentSpanID == SpanID(5))
        #expect(a.links == [SpanLink(traceID: TraceID(low: 10), spanID: SpanID(99), referenceType: "FOLLOWS_FROM")])
        #expect(a.kind == .client)
        #expect(a.status == SpanStatus(code: .error, message: "bad"))
        #expect(a.isError)
        #expect(a.flags == 3)
        #expect(a.startTimeUnixNano == 1_700_000_000_000_000_000)
        #expect(a.durationNano == 1_500_000)
        #expect(a.attributes == [
            Attribute("d", .double(2.5)), Attribute("b", .bool(false)), Attribute("l", .int(-7)), Attribute("x", .bytes([1, 2])),
            Attribute("otel.status_code", .string("ERROR")), Attribute("otel.status_description", .string("bad")),
            Attribute("missing", .int(0)), Attribute("odd", .int(1)),
        ])
        #expect(a.events.map(\.name) == ["hello", "e1", "log"])
        #expect(a.events[0].attributes == [Attribute("message", .string("hello")), Attribute("k", .string("v"))])
        #expect(a.events[0].timeUnixNano == 1_700_000_000_000_100_000)
        #expect(b.traceID == TraceID(high: 3, low: 10))
        #expect(b.parentSpanID == SpanID(1))
        #expect(b.links == [SpanLink(traceID: TraceID(low: 11), spanID: SpanID(1), referenceType: "CHILD_OF")])
        #expect(b.name == "op2")
    }

    @Test(arguments: [ThriftProtocolKind.compact, .binary])
    func emitZipkinBatch(kind: ThriftProtocolKind) throws {
        let bytes = kind == .compact
            ? ZipkinSpanSpec.emitZipkinBatch(ZipkinSpanSpec.rpc, writer: ThriftCompactWriter())
            : ZipkinSpanSpec.emitZipkinBatch(ZipkinSpanSpec.rpc, writer: ThriftBinaryWriter())
        let batch = try JaegerAgentDecoder.decode(bytes)
        #expect(batch.method == .emitZipkinBatch)
        #expect(batch.messageType == .oneway)
        #expect(batch.seqID == 3)
        #expect(batch.process == nil && batch.serviceName == nil)
        #expect(batch.rejectedCount == 1)
        #expect(batch.rejected.first?.reason == "span 3: trace_id is zero")
        try #require(batch.spans.count == 2)
        let client = batch.spans[0], server = batch.spans[1]
        #expect(client.traceID == TraceID(high: 0x1122, low: 0x25D8_B7E9_E4DC_427F))
        #expect(client.spanID == SpanID(7))
        #expect(client.parentSpanID == SpanID(5))
        #expect(client.name == "get /alice")
        #expect(client.kind == .client)
        #expect(client.startTimeUnixNano == 1_000_000_000)
        #expect(client.durationNano == 400_000)
        #expect(client.serviceName == "frontend")
        #expect(client.resource.attributes == [Attribute("service.name", .string("frontend")),
                                               Attribute("net.host.ip", .string("127.0.0.1")),
                                               Attribute("net.host.port", .int(8080))])
        #expect(client.events == [SpanEvent(timeUnixNano: 1_000_100_000, name: "retry")])
        #expect(client.attributes == [
            Attribute("http.path", .string("/alice")), Attribute("http.status_code", .int(200)), Attribute("size", .int(256)),
            Attribute("ratio", .double(0.5)), Attribute("short", .int(-2)), Attribute("blob", .bytes([1, 2, 3])),
            Attribute("error", .string("boom")),
            Attribute("peer.service", .string("backend")), Attribute("net.peer.ip", .string("10.0.0.2")),
            Attribute("net.peer.port", .int(9411)),
        ])
        #expect(client.status == SpanStatus(code: .error, message: "boom"))
        #expect(server.kind == .server)
        #expect(server.serviceName == "backend")
        #expect(server.startTimeUnixNano == 1_000_090_000)  // the span's own timestamp wins
        #expect(server.durationNano == 250_000)
        #expect(server.flags == 2)  // debug
        #expect(server.events.isEmpty)
        #expect(server.attribute("peer.service") == .string("frontend"))
    }

    @Test func largeDatagramOfSeedLikeSpans() throws {
        // ~440 seed-like spans fill a 65,000-byte datagram, as jaeger-client-go packs them.
        var spans: [Span] = []
        var parts: [[UInt8]] = []
        let overhead = JaegerThriftEncoder.emitBatchOverhead(process: WireSamples.process, seqNo: 1) + 5
        var size = overhead
        for span in WireSamples.jaegerSpans(count: 2000, seed: 3) {
            let part = JaegerThriftEncoder.encodeSpan(span)
            if size + part.count > 65_000 { break }
            size += part.count
            parts.append(part)
            spans.append(span)
        }
        let datagram = JaegerThriftEncoder.emitBatch(process: WireSamples.process, encodedSpans: parts, seqNo: 1)
        #expect(datagram.count <= 65_000)
        #expect(spans.count > 250)
        let batch = try JaegerAgentDecoder.decode(datagram)
        #expect(batch.spans == spans)
    }

    @Test func compositeAndOTLPShapedSpansEncodeAsTags() throws {
        let span = Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "n", kind: .producer,
                        status: SpanStatus(code: .error, message: "m"), startTimeUnixNano: 5_000, durationNano: 1_000,
                        attributes: [Attribute("arr", .array([.string("a\"b"), .int(1), .bool(true), .double(0.5), .bytes([255])])),
                                     Attribute("kv", .map([Attribute("k", .array([]))]))],
                        events: [SpanEvent(timeUnixNano: 7_000, name: "otel event", attributes: [Attribute("x", .int(1))])],
                        links: [SpanLink(traceID: TraceID(low: 9), spanID: SpanID(8))],
                        scope: InstrumentationScope(name: "lib", version: "1.2"))
        let batch = try JaegerAgentDecoder.decode(JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: [span]))
        let got = try #require(batch.spans.first)
        #expect(got.kind == .producer)
        #expect(got.status == SpanStatus(code: .error, message: "m"))
        #expect(got.attributes == [
            Attribute("arr", .string(#"["a\"b",1,true,0.5,"/w=="]"#)), Attribute("kv", .string(#"{"k":[]}"#)),
            Attribute("otel.status_code", .string("ERROR")), Attribute("otel.status_description", .string("m")),
            Attribute("error", .bool(true)), Attribute("otel.scope.name", .string("lib")), Attribute("otel.scope.version", .string("1.2")),
        ])
        #expect(got.events == [SpanEvent(timeUnixNano: 7_000, name: "otel event",
                                         attributes: [Attribute("event", .string("otel event")), Attribute("x", .int(1))])])
        #expect(got.links == [SpanLink(traceID: TraceID(low: 9), spanID: SpanID(8), referenceType: "FOLLOWS_FROM")])
    }

    @Test func writerLongForms() throws {
        // Field id jumps over 15 and backwards, lists of 15+ elements, negative ids: the reader follows.
        var w = ThriftCompactWriter()
        w.writeStructBegin()
        w.writeFieldBegin(.i32, id: 20); w.writeI32(Int32.min)
        w.writeFieldBegin(.i64, id: 2); w.writeI64(Int64.max)
        w.writeFieldBegin(.list, id: -1); w.writeListBegin(.i16, count: 300)
        for i in 0..<300 { w.writeI16(Int16(i - 150)) }
        w.writeFieldBegin(.map, id: 3); w.writeMapBegin(key: .i32, value: .i32, count: 0)
        w.writeStructEnd()
        var seen: [Int16] = []
        try w.bytes.withUnsafeBufferPointer { p in
            var r = ThriftCompactReader(base: try #require(p.baseAddress), count: p.count, limits: WireLimits())
            let saved = try r.beginStruct()
            while let field = try r.readFieldHeader() {
                seen.append(field.id)
                switch field.id {
                case 20: #expect(try r.readI32() == Int32.min)
                case 2: #expect(try r.readI64() == Int64.max)
                case -1:
                    let (element, count) = try r.readListHeader()
                    #expect(element == .i16 && count == 300)
                    var values: [Int16] = []
                    for _ in 0..<count { values.append(try r.readI16()) }
                    #expect(values == (0..<300).map { Int16($0 - 150) })
                default: try r.skip(field.type)
                }
            }
            r.endStruct(saved)
            #expect(r.position == p.count)
        }
        #expect(seen == [20, 2, -1, 3])
    }

    @Test(arguments: [16 << 20, 0])
    func reusableDecoder(recycleAfterBytes: Int) throws {
        let decoder = WireDecoder(recycleAfterBytes: recycleAfterBytes)
        let datagrams = stride(from: 0, to: 40, by: 4).map {
            JaegerThriftEncoder.emitBatch(process: WireSamples.process, spans: Array(spans[$0..<$0 + 4]), seqID: Int32($0))
        }
        var resources: [Resource] = []
        for (i, datagram) in datagrams.enumerated() {
            // A broken datagram in between leaves nothing behind.
            #expect(wireError { _ = try decoder.decodeAgent(Array(datagram.dropLast())) } != nil)
            let batch = try decoder.decodeAgent(datagram)
            #expect(batch == (try JaegerAgentDecoder.decode(datagram)))
            #expect(batch.spans == Array(spans[(i * 4)..<(i * 4 + 4)]))
            resources.append(try #require(batch.process))
        }
        // One process, one Resource object across datagrams (unless the caches were recycled).
        #expect(resources.allSatisfy { $0 === resources[0] } == (recycleAfterBytes > 0))
        let otlp = WireSamples.otlpSpans(count: 30)
        expectSameSpans(try decoder.decodeOTLP(OTLPProtobufEncoder.encode(otlp)).spans, otlp)
        expectSameSpans(try decoder.decodeOTLPDetectingGzip(Gzip.compress(OTLPProtobufEncoder.encode(otlp))).spans, otlp)
        #expect(try decoder.decodeJaegerBatch(JaegerThriftEncoder.batch(process: WireSamples.process, spans: spans)).spans == spans)
    }

    /// The decoder reuses the last Process it decoded when the next
    /// datagram's Process bytes are the same; any difference is decoded.
    @Test func processesThatDifferByOneByteAreDecodedApart() throws {
        let decoder = WireDecoder()
        func process(_ host: String) -> Resource {
            Resource(serviceName: "server-1", attributes: [Attribute("service.name", .string("server-1")),
                                                           Attribute("hostname", .string(host))])
        }
        let hosts = ["vm-a", "vm-b", "vm-b", "vm-a", "vm-a2", "vm-a"]
        for (i, host) in hosts.enumerated() {
            for kind in [ThriftProtocolKind.compact, .binary] {
                let datagram = JaegerThriftEncoder.emitBatch(process: process(host), spans: [spans[i]], protocolKind: kind)
                let batch = try decoder.decodeAgent(datagram)
                #expect(batch.process?.attributes == process(host).attributes, "datagram \(i) (\(kind))")
                var expected = spans[i]
                expected.resource = process(host)
                #expect(batch.spans == [expected])
            }
        }
    }
}
