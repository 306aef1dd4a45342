import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import TestSupport
import TraceFormats
@testable import TraceIngest
import TraceModel

/// The HTTP receivers' body decoding with no socket (`HTTPBodyIngest`), and
/// the handler on an `EmbeddedChannel` with NIO's own HTTP pipeline: the
/// same replies and counts the live tests see, without the network.
@Suite struct HTTPBodyIngestTests {
    static func decode(_ body: [UInt8], _ format: HTTPBodyFormat, gzip: Bool = false, limit: Int = 1 << 20) -> HTTPBodyIngest.Outcome {
        HTTPBodyIngest.decode(body, format: format, gzip: gzip, maxDecompressedBytes: limit, decoder: WireDecoder())
    }

    static func spans(_ outcome: HTTPBodyIngest.Outcome) -> [Span] {
        if case .accepted(let spans, _) = outcome.result { return spans }
        return []
    }

    @Test func eachFormatDecodesWithItsReply() throws {
        let sample = Samples.spans(count: 3, seed: 7)
        var outcome = Self.decode(OTLPProtobufEncoder.encode(sample), .otlpProtobuf)
        #expect(outcome.reply.status == .ok && outcome.reply.contentType == "application/x-protobuf")
        #expect(outcome.reply.body.isEmpty)  // an empty ExportTraceServiceResponse
        #expect(Self.spans(outcome).map(\.spanID) == sample.map(\.spanID))
        outcome = Self.decode(OTLPJSONEncoder.encodeLine(sample), .otlpJSON)
        #expect(outcome.reply.status == .ok && String(decoding: outcome.reply.body, as: UTF8.self) == "{}")
        #expect(Self.spans(outcome).count == 3)
        outcome = Self.decode(JaegerThriftEncoder.batch(process: Samples.process, spans: sample), .jaegerThrift(.binary))
        #expect(outcome.reply.status == .accepted && Self.spans(outcome).count == 3)
        outcome = Self.decode(Samples.zipkinJSON(count: 2), .zipkinJSON)
        #expect(outcome.reply.status == .accepted && Self.spans(outcome).count == 2)
        if case .accepted(_, let delta) = outcome.result {
            #expect(delta.received == 1 && delta.accepted == 2 && delta.rejected == 0)
        } else {
            Issue.record("refused: \(outcome.reply)")
        }
    }

    @Test func gzipIsInflatedWithinItsBound() throws {
        let body = OTLPJSONEncoder.encodeLine(Samples.spans(count: 2))
        let zipped = Gzip.compress(body)
        #expect(Self.spans(Self.decode(zipped, .otlpJSON, gzip: true)).count == 2)
        // Detected by its magic bytes even without Content-Encoding.
        #expect(Self.spans(Self.decode(zipped, .otlpJSON)).count == 2)
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 4 << 20))
        let outcome = Self.decode(bomb, .otlpJSON, gzip: true, limit: 1 << 20)
        #expect(outcome.reply.status == .payloadTooLarge)
        guard case .refused(let reason, let example) = outcome.result else { Issue.record("accepted a bomb"); return }
        #expect(reason == IngestReason.tooLarge)
        #expect(example == "gzip body inflates past the limit of 1048576 bytes")
        let corrupt = Array(zipped.prefix(12)) + [UInt8](repeating: 0xFF, count: 20)
        #expect(Self.decode(corrupt, .otlpJSON, gzip: true).reply.status == .badRequest)
    }

    /// A gzip body that fits its own bound but not what the bodies inflating
    /// at the same time leave of the shared budget: 503 with Retry-After
    /// (the client may send it again), counted under its own reason.
    @Test func aGzipBodyOverTheSharedBudgetIsBusyNotTooLarge() throws {
        let zipped = Gzip.compress(OTLPJSONEncoder.encodeLine(Samples.spans(count: 50)))
        let budget = InflationBudget(bytes: 1 << 20)
        #expect(budget.take((1 << 20) - 100))  // another body inflating
        var outcome = HTTPBodyIngest.decode(zipped, format: .otlpJSON, gzip: true, maxDecompressedBytes: 1 << 20,
                                            inflationBudget: budget, decoder: WireDecoder())
        #expect(outcome.reply.status == .serviceUnavailable)
        #expect(outcome.reply.extraHeaders.contains { $0.0 == "Retry-After" && $0.1 == "1" })
        guard case .refused(let reason, let example) = outcome.result else { Issue.record("accepted over the budget"); return }
        #expect(reason == IngestReason.inflationBusy)
        #expect(example.contains("1048576 bytes that bodies inflating at once may hold; retry"))
        budget.give((1 << 20) - 100)
        outcome = HTTPBodyIngest.decode(zipped, format: .otlpJSON, gzip: true, maxDecompressedBytes: 1 << 20,
                                        inflationBudget: budget, decoder: WireDecoder())
        #expect(Self.spans(outcome).count == 50)
        #expect(budget.inUse == 0)
    }

    @Test func malformedBodiesAreRefusedWithOneLineAndAReason() {
        let cases: [([UInt8], HTTPBodyFormat)] = [
            (Array("{\"resourceSpans\": [".utf8), .otlpJSON),
            ([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .otlpProtobuf),
            ([0x19, 0x1C, 0x02], .jaegerThrift(.binary)),
            (Array("not json\nat all".utf8), .zipkinJSON),
        ]
        for (body, format) in cases {
            let outcome = Self.decode(body, format)
            #expect(outcome.reply.status == .badRequest, "\(format)")
            guard case .refused(let reason, let example) = outcome.result else {
                Issue.record("accepted \(format)")
                continue
            }
            #expect(!reason.isEmpty)
            #expect(!example.contains("\n"))
            #expect(outcome.reply.body.last == 0x0A && outcome.reply.body.filter { $0 == 0x0A }.count == 1)
        }
    }

    @Test func spansWithoutIdsAreRejectedAndThePartialSuccessSaysSo() {
        var sample = Samples.spans(count: 2)
        sample[1].traceID = TraceID(low: 0)
        let outcome = Self.decode(OTLPJSONEncoder.encodeLine(sample), .otlpJSON)
        #expect(Self.spans(outcome).count == 1)
        #expect(String(decoding: outcome.reply.body, as: UTF8.self).contains("\"rejectedSpans\":\"1\""))
    }
}

/// `HTTPIngestHandler` in the receiver's pipeline (`HTTPReceiverPipeline`) on an `EmbeddedChannel`.
@Suite struct HTTPIngestHandlerEmbeddedTests {
    /// Writes one raw request, returns the raw response text.
    static func exchange(_ request: [UInt8], sink: CollectingSink, counters: IngestCounters,
                         kind: ListenerKind = .otlpHTTP, maxBodyBytes: Int = 1 << 20) throws -> String {
        let channel = EmbeddedChannel()
        try HTTPReceiverPipeline.configure(channel, settings: HTTPReceiverSettings(
            kind: kind, maxBodyBytes: maxBodyBytes, maxDecompressedBytes: 4 << 20, sink: sink, counters: counters))
        try channel.writeInbound(ByteBuffer(bytes: request))
        var response = ""
        while let out = try channel.readOutbound(as: ByteBuffer.self) { response += String(buffer: out) }
        _ = try? channel.finish()
        return response
    }

    static func post(_ path: String, contentType: String, body: [UInt8], extra: String = "") -> [UInt8] {
        Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)\r\n".utf8) + body
    }

    @Test func aBodyIsDecodedHandedToTheSinkAndCounted() throws {
        let sink = CollectingSink(), counters = IngestCounters()
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 4))
        let response = try Self.exchange(Self.post("/v1/traces", contentType: "application/x-protobuf", body: body),
                                         sink: sink, counters: counters)
        #expect(response.hasPrefix("HTTP/1.1 200 OK"))
        #expect(sink.count == 4)
        let figures = try #require(counters.snapshot().listeners.first { $0.kind == .otlpHTTP })
        #expect(figures.received == 1 && figures.spansAccepted == 4 && figures.malformed == 0)
    }

    @Test func refusalsAreAnsweredAndCountedWithTheirReasons() throws {
        let sink = CollectingSink(), counters = IngestCounters()
        var response = try Self.exchange(Self.post("/v1/traces", contentType: "application/json", body: Array("{\"x\":".utf8)),
                                         sink: sink, counters: counters)
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request"))
        response = try Self.exchange(Self.post("/v1/traces", contentType: "text/plain", body: Array("hello".utf8)),
                                     sink: sink, counters: counters)
        #expect(response.hasPrefix("HTTP/1.1 415"))
        response = try Self.exchange(Self.post("/v1/traces", contentType: "application/json", body: [UInt8](repeating: 0x20, count: 2_000)),
                                     sink: sink, counters: counters, maxBodyBytes: 1_000)
        #expect(response.hasPrefix("HTTP/1.1 413"))
        response = try Self.exchange(Self.post("/nowhere", contentType: "application/json", body: Array("{}".utf8)),
                                     sink: sink, counters: counters)
        #expect(response.hasPrefix("HTTP/1.1 404"))
        #expect(sink.count == 0)
        let figures = try #require(counters.snapshot().listeners.first { $0.kind == .otlpHTTP })
        #expect(figures.malformed == 4)
        #expect(figures.malformedReasons.count >= 3)
    }
}
