import Foundation
import Testing
import TraceModel
@testable import TraceFormats

/// Truncation, corruption, hostile lengths and counts, deep nesting and
/// random garbage: every outcome is spans or a typed `WireDecodeError`,
/// never a crash or an allocation sized by a declared length.
@Suite struct WireRobustnessTests {
    enum Decoder: Sendable, CustomStringConvertible {
        case agent, bareBatch(ThriftProtocolKind), otlp

        var description: String {
            switch self {
            case .agent: return "agent"
            case .bareBatch(let kind): return "batch-\(kind)"
            case .otlp: return "otlp"
            }
        }

        /// Spans decoded (counting rejected ones), or the error.
        func run(_ bytes: [UInt8], limits: WireLimits = WireLimits()) -> Result<(spans: Int, rejected: Int), WireDecodeError> {
            do {
                switch self {
                case .agent:
                    let b = try JaegerAgentDecoder.decode(bytes, limits: limits)
                    return .success((b.spans.count, b.rejectedCount))
                case .bareBatch(let kind):
                    let b = try JaegerBatchDecoder.decode(bytes, protocolKind: kind, limits: limits)
                    return .success((b.spans.count, b.rejectedCount))
                case .otlp:
                    let d = try OTLPProtobufDecoder.decode(bytes, limits: limits)
                    return .success((d.spans.count, d.rejectedCount))
                }
            } catch {
                return .failure(error)
            }
        }
    }

    struct Payload: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var decoder: Decoder
        var description: String { name }
    }

    static let payloads: [Payload] = {
        let spans = WireSamples.jaegerSpans(count: 8)
        let stats = ClientStats(fullQueueDroppedSpans: 300, tooLargeDroppedSpans: 2, failedToEmitSpans: 1)
        return [
            Payload(name: "compact emitBatch", bytes: JaegerThriftEncoder.emitBatch(
                process: WireSamples.process, spans: spans, seqNo: 9, stats: stats), decoder: .agent),
            Payload(name: "binary emitBatch", bytes: JaegerThriftEncoder.emitBatch(
                process: WireSamples.process, spans: spans, seqNo: 9, stats: stats, messageType: .oneway, protocolKind: .binary),
                    decoder: .agent),
            Payload(name: "compact emitZipkinBatch", bytes: ZipkinSpanSpec.emitZipkinBatch(ZipkinSpanSpec.rpc, writer: ThriftCompactWriter()),
                    decoder: .agent),
            Payload(name: "binary emitZipkinBatch", bytes: ZipkinSpanSpec.emitZipkinBatch(ZipkinSpanSpec.rpc, writer: ThriftBinaryWriter()),
                    decoder: .agent),
            Payload(name: "binary Batch", bytes: JaegerThriftEncoder.batch(process: WireSamples.process, spans: spans, seqNo: 1),
                    decoder: .bareBatch(.binary)),
            Payload(name: "compact Batch", bytes: JaegerThriftEncoder.batch(process: WireSamples.process, spans: spans, protocolKind: .compact),
                    decoder: .bareBatch(.compact)),
            Payload(name: "OTLP protobuf", bytes: OTLPProtobufEncoder.encode(WireSamples.otlpSpans(count: 6)), decoder: .otlp),
        ]
    }()

    @Test(arguments: payloads)
    func everyPrefixIsATypedErrorOrFewerSpans(payload: Payload) throws {
        let full = try payload.decoder.run(payload.bytes).get()
        #expect(full.spans > 0)
        for length in 0..<payload.bytes.count {
            switch payload.decoder.run(Array(payload.bytes[..<length])) {
            case .failure(let error):
                #expect(error.offset >= 0 && error.offset <= length)
            case .success(let got):
                // Only protobuf has no terminator: a prefix ending between
                // top-level fields is a shorter, valid request.
                guard case .otlp = payload.decoder else {
                    Issue.record("\(payload.name): a \(length)-byte prefix decoded"); continue
                }
                #expect(got.spans < full.spans)
            }
        }
    }

    @Test(arguments: payloads)
    func byteCorruptionNeverCrashes(payload: Payload) {
        var outcomes = [0, 0]
        for index in payload.bytes.indices {
            for mask: UInt8 in [0xFF, 0x80, 0x01, 0x7F, 0x10] {
                var corrupt = payload.bytes
                corrupt[index] ^= mask
                switch payload.decoder.run(corrupt) {
                case .success(let got):
                    outcomes[0] += 1
                    #expect(got.spans + got.rejected <= corrupt.count)
                case .failure(let error):
                    outcomes[1] += 1
                    #expect(error.offset >= 0 && error.offset <= corrupt.count)
                }
            }
        }
        #expect(outcomes[0] + outcomes[1] == payload.bytes.count * 5)
    }

    @Test func randomGarbage() {
        var rng = SeededGenerator(seed: 0x5EED)
        let decoders: [Decoder] = [.agent, .bareBatch(.binary), .bareBatch(.compact), .otlp]
        var decodedSomething = 0
        for round in 0..<4000 {
            let length = Int(rng.next() % 300)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if round % 2 == 1 {
                // Behind a valid start, to get past the envelope.
                let payload = Self.payloads[round % Self.payloads.count]
                bytes = Array(payload.bytes.prefix(Int(rng.next() % 60))) + bytes
            }
            for decoder in decoders {
                if case .success(let got) = decoder.run(bytes) {
                    decodedSomething += 1
                    #expect(got.spans + got.rejected <= bytes.count)
                }
            }
        }
        #expect(decodedSomething > 0)  // some garbage is a valid (empty) protobuf
    }

    // MARK: hostile lengths and counts

    /// `emitBatch` envelope, args struct and Batch field header, then `rest`.
    static func compactBatchPrefix(_ rest: [UInt8]) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "emitBatch", type: .oneway, seqID: 1)
        return w.bytes + [0x1C] + rest
    }

    @Test func hugeDeclaredLengthsAndCounts() {
        // Message name of 2^32-1 bytes.
        let name: [UInt8] = [0x82, 0x81, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(wireError { _ = try JaegerAgentDecoder.decode(name) } ==
                WireDecodeError(format: .thriftCompact, offset: 3, reason: .lengthBeyondInput(length: 4_294_967_295, remaining: 0)))
        // Batch.spans declaring 2^31 structs, then 2,000,000 (over the collection bound).
        let spans = Self.compactBatchPrefix([0x29, 0xFC, 0x80, 0x80, 0x80, 0x80, 0x08, 0x00])
        #expect(wireError { _ = try JaegerAgentDecoder.decode(spans) }?.reason == .collectionTooLarge(count: 1 << 31, limit: 1_048_576))
        let fits = Self.compactBatchPrefix([0x29, 0xFC, 0x80, 0x80, 0x01] + [UInt8](repeating: 0, count: 10))
        #expect(wireError { _ = try JaegerAgentDecoder.decode(fits) }?.reason == .collectionTooLarge(count: 16_384, limit: 10))
        // A varint longer than 32 bits where an i32 belongs.
        let varint = Self.compactBatchPrefix([0x29, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(wireError { _ = try JaegerAgentDecoder.decode(varint) }?.reason == .malformedVarint)
        // A compact map of 2^20 entries in 4 bytes.
        let map = Self.compactBatchPrefix([0x0B, 0x00, 0x80, 0x80, 0x40, 0x55, 0, 0])
        #expect(wireError { _ = try JaegerAgentDecoder.decode(map) }?.reason == .collectionTooLarge(count: 1_048_576, limit: 1))

        // Binary: negative and oversized lengths and counts.
        var w = ThriftBinaryWriter()
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.binary, id: 1)
        let header = w.bytes
        #expect(wireError { _ = try JaegerBatchDecoder.decode(header + [0xFF, 0xFF, 0xFF, 0xFF]) } ==
                WireDecodeError(format: .thriftBinary, offset: 6, reason: .negativeLength(-1)))
        #expect(wireError { _ = try JaegerBatchDecoder.decode(header + [0x7F, 0xFF, 0xFF, 0xFF, 0x41]) }?.reason ==
                .lengthBeyondInput(length: Int(Int32.max), remaining: 1))
        let list: [UInt8] = [0x0F, 0x00, 0x02, 0x0C]
        #expect(wireError { _ = try JaegerBatchDecoder.decode(list + [0xFF, 0xFF, 0xFF, 0xFB]) }?.reason == .negativeLength(-5))
        #expect(wireError { _ = try JaegerBatchDecoder.decode(list + [0x00, 0x10, 0x00, 0x00, 0x00]) }?.reason ==
                .collectionTooLarge(count: 1_048_576, limit: 1))
        // i64 elements need 8 bytes each: 3 declared, 16 bytes left.
        let longs: [UInt8] = [0x0F, 0x00, 0x09, 0x0A, 0x00, 0x00, 0x00, 0x03] + [UInt8](repeating: 0, count: 16)
        #expect(wireError { _ = try JaegerBatchDecoder.decode(longs) }?.reason == .collectionTooLarge(count: 3, limit: 2))
        let binaryMap: [UInt8] = [0x0D, 0x00, 0x09, 0x0B, 0x0B, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 0, count: 7)
        #expect(wireError { _ = try JaegerBatchDecoder.decode(binaryMap) }?.reason == .collectionTooLarge(count: 16_777_216, limit: 1_048_576))
        #expect(wireError { _ = try JaegerBatchDecoder.decode([0x01, 0x00, 0x01]) }?.reason == .invalidType(1))
        #expect(wireError { _ = try JaegerBatchDecoder.decode([0x11, 0x00, 0x01]) }?.reason == .invalidType(17))

        // Protobuf: a 2^62-byte sub-message.
        let proto: [UInt8] = [0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]
        #expect(wireError { _ = try OTLPProtobufDecoder.decode(proto) } ==
                WireDecodeError(format: .protobuf, offset: 1, reason: .lengthBeyondInput(length: 1 << 62, remaining: 0)))
    }

    @Test func deepNesting() {
        // 100 nested structs in an unknown field of emitBatch_args (compact).
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "emitBatch", type: .call, seqID: 1)
        w.writeStructBegin()
        for _ in 0..<100 { w.writeFieldBegin(.struct, id: 2); w.writeStructBegin() }
        for _ in 0..<101 { w.writeStructEnd() }
        #expect(wireError { _ = try JaegerAgentDecoder.decode(w.bytes) }?.reason == .depthExceeded(limit: 32))

        // 100 nested lists (compact), then in binary.
        let lists = Self.compactBatchPrefix([]).dropLast() + [0x59] + [UInt8](repeating: 0x19, count: 100) + [0x00]
        #expect(wireError { _ = try JaegerAgentDecoder.decode(Array(lists)) }?.reason == .depthExceeded(limit: 32))
        var b = ThriftBinaryWriter()
        b.writeStructBegin()
        b.writeFieldBegin(.list, id: 7)
        for _ in 0..<100 { b.writeListBegin(.list, count: 1) }
        b.writeListBegin(.i32, count: 0)
        #expect(wireError { _ = try JaegerBatchDecoder.decode(b.bytes) }?.reason == .depthExceeded(limit: 32))

        // Protobuf: an attribute whose value is an array nested 100 deep.
        var p = ProtobufWriter()
        func nest(_ level: Int, _ w: inout ProtobufWriter) {
            if level == 0 { w.string(1, "leaf"); return }
            w.message(5) { w in w.message(1) { w in nest(level - 1, &w) } }
        }
        p.message(1) { w in w.message(2) { w in w.message(2) { w in
            w.idField(1, 0, 1); w.idField(2, 1)
            w.message(9) { w in w.string(1, "deep"); w.message(2) { w in nest(100, &w) } }
        } } }
        #expect(wireError { _ = try OTLPProtobufDecoder.decode(p.bytes) }?.reason == .depthExceeded(limit: 32))
        #expect(wireError { _ = try OTLPProtobufDecoder.decode(p.bytes, limits: WireLimits(maxDepth: 500)) } == nil)

        // A tight bound fails an ordinary batch; the default does not.
        let ordinary = Self.payloads[0].bytes
        #expect(wireError { _ = try JaegerAgentDecoder.decode(ordinary, limits: WireLimits(maxDepth: 4)) }?.reason == .depthExceeded(limit: 4))
        #expect(wireError { _ = try JaegerAgentDecoder.decode(ordinary) } == nil)
    }

    @Test func wrongWireTypesAreSkippedNotTrusted() throws {
        // OTLP: span_id sent as a varint is an unknown field: the span has no span id.
        var w = ProtobufWriter()
        w.message(1) { w in w.message(2) { w in w.message(2) { w in w.idField(1, 0, 1); w.varintField(2, 5) } } }
        let decoded = try OTLPProtobufDecoder.decode(w.bytes)
        #expect(decoded.spans.isEmpty && decoded.rejectedCount == 1)
        // Thrift: Batch.spans sent as a struct is skipped: then spans are missing.
        var t = ThriftBinaryWriter()
        t.writeStructBegin()
        t.writeFieldBegin(.struct, id: 1); JaegerThriftEncoder.writeProcess(WireSamples.process, into: &t)
        t.writeFieldBegin(.struct, id: 2); t.writeStructBegin(); t.writeStructEnd()
        t.writeStructEnd()
        #expect(wireError { _ = try JaegerBatchDecoder.decode(t.bytes) }?.reason == .missingField("Batch.spans"))
        // A list of i64 where spans (structs) belong is skipped element by element.
        var u = ThriftBinaryWriter()
        u.writeStructBegin()
        u.writeFieldBegin(.struct, id: 1); JaegerThriftEncoder.writeProcess(WireSamples.process, into: &u)
        u.writeFieldBegin(.list, id: 2); u.writeListBegin(.i64, count: 2); u.writeI64(1); u.writeI64(2)
        u.writeStructEnd()
        #expect(try JaegerBatchDecoder.decode(u.bytes).spans.isEmpty)
    }
}
