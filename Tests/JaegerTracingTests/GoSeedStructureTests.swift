import Foundation
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing
import TestSupport

/// Our datagrams against the seed's captures (jaeger-client-go shaped, from
/// the Go services): the same envelope, process and span field order.
@Suite(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
struct GoSeedStructureTests {
    func seedMessages() throws -> [(type: UInt8, name: String, args: CompactShape)] {
        try (0..<4).map { index in
            var reader = CompactShapeReader(try Shared.bytes("fixtures/jaeger-udp/go-seed-servers/000\(index).bin"))
            return try reader.message()
        }
    }

    /// server-1 of the seed, in Swift: a root server span and the hop.
    func ourMessage() throws -> (type: UInt8, name: String, args: CompactShape) {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink, service: "server-1")
        let root = tracer.startSpan("server-1", context: .topLevel, ofKind: .server)
        let hop = tracer.startSpan("server-1_to_server-2", context: root.context, ofKind: .client)
        hop.end()
        root.end()
        tracer.flush()
        var reader = CompactShapeReader(try #require(sink.receive()))
        return try reader.message()
    }

    @Test func envelopeAndProcessMatchTheSeed() throws {
        let seed = try seedMessages()[0]
        let ours = try ourMessage()
        #expect(ours.type == seed.type, "CALL, as jaeger-client-go >= 2.29")
        #expect(ours.name == seed.name)
        #expect(ours.args.fieldIDs == seed.args.fieldIDs)
        let seedBatch = try #require(seed.args.field(1))
        let ourBatch = try #require(ours.args.field(1))
        // The seed's exporter writes process and spans; jaeger-client-go adds seqNo and stats.
        #expect(Array(ourBatch.fieldIDs.prefix(2)) == seedBatch.fieldIDs)
        #expect(ourBatch.fieldIDs == [1, 2, 3, 4])
        #expect(ourBatch.field(4)?.fieldIDs == [1, 2, 3])
        let seedProcess = try #require(seedBatch.field(1))
        let ourProcess = try #require(ourBatch.field(1))
        #expect(ourProcess.fieldIDs == seedProcess.fieldIDs)
        #expect(ourProcess.field(1)?.text == seedProcess.field(1)?.text)
        let seedKeys = seedProcess.field(2)?.elements.compactMap { $0.field(1)?.text } ?? []
        let ourKeys = ourProcess.field(2)?.elements.compactMap { $0.field(1)?.text } ?? []
        #expect(seedKeys == ["hostname", "ip"])
        #expect(Array(ourKeys.prefix(2)) == seedKeys)
        // Tags have the same fields: key, vType, vStr.
        #expect(ourProcess.field(2)?.elements.map(\.fieldIDs) == Array(repeating: [1, 2, 3], count: ourKeys.count))
    }

    @Test func spanFieldsFollowTheSeedsOrder() throws {
        let seedSpans = try #require(try seedMessages()[0].args.field(1)?.field(2)?.elements)
        let ourSpans = try #require(try ourMessage().args.field(1)?.field(2)?.elements)
        try #require(seedSpans.count == 2 && ourSpans.count == 2)
        // Roots: identical field sets, in order.
        #expect(ourSpans[1].fieldIDs == seedSpans[1].fieldIDs)
        #expect(seedSpans[1].fieldIDs == [1, 2, 3, 4, 5, 7, 8, 9, 10])
        // Children: the seed's fields plus references (6), where
        // jaeger-client-go writes the CHILD_OF reference next to parentSpanId.
        #expect(ourSpans[0].fieldIDs.filter { $0 != 6 } == seedSpans[0].fieldIDs)
        #expect(ourSpans[0].fieldIDs == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        // Root spans start with the const sampler's tags, as in the seed.
        let seedRootKeys = seedSpans[1].field(10)?.elements.compactMap { $0.field(1)?.text } ?? []
        let ourRootKeys = ourSpans[1].field(10)?.elements.compactMap { $0.field(1)?.text } ?? []
        #expect(Array(seedRootKeys.prefix(2)) == ["sampler.type", "sampler.param"])
        #expect(Array(ourRootKeys.prefix(2)) == ["sampler.type", "sampler.param"])
        // And the typed values match: sampler.param is a bool tag (key, vType, vBool).
        #expect(ourSpans[1].field(10)?.elements[1].fieldIDs == seedSpans[1].field(10)?.elements[1].fieldIDs)
    }

    @Test func ourDatagramsDecodeLikeTheSeeds() throws {
        let seed = try JaegerAgentDecoder.decode(try Shared.bytes("fixtures/jaeger-udp/go-seed-servers/0000.bin"))
        let sink = try UDPSink()
        let tracer = try makeTracer(sink, service: "server-1") { $0.traceIDBits = .bits64 }
        let root = tracer.startSpan("server-1", context: .topLevel, ofKind: .server)
        let hop = tracer.startSpan("server-1_to_server-2", context: root.context, ofKind: .client)
        hop.end()
        root.end()
        tracer.flush()
        let ours = try sink.decode(try #require(sink.receive()))
        #expect(ours.messageType == seed.messageType)
        #expect(ours.spans.map(\.name) == seed.spans.map(\.name))
        #expect(ours.spans.map { $0.parentSpanID == nil } == seed.spans.map { $0.parentSpanID == nil })
        #expect(ours.spans[0].parentSpanID == ours.spans[1].spanID)
        #expect(seed.spans[0].parentSpanID == seed.spans[1].spanID)
        #expect(ours.spans.map(\.flags) == seed.spans.map(\.flags))
        #expect(ours.spans.allSatisfy { $0.traceID.high == 0 } && seed.spans.allSatisfy { $0.traceID.high == 0 })
        #expect(ours.spans[1].spanID.raw == ours.spans[1].traceID.low && seed.spans[1].spanID.raw == seed.spans[1].traceID.low)
    }
}
