import GRPCCore
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// The OTLP/gRPC receiver on an ephemeral port, driven by grpc-swift's own
/// client (HTTP/2 over a real socket) with bytes from `OTLPProtobufEncoder`.
@Suite struct GRPCReceiverTests {
    @Test("otlp-grpc: Export -> OK with an empty ExportTraceServiceResponse; every span once; counted")
    func export() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        let first = Samples.spans(count: 5, seed: 31), second = Samples.spans(count: 4, seed: 32)
        let bodies = [OTLPProtobufEncoder.encode(first), OTLPProtobufEncoder.encode(second)]
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            for body in bodies {
                let reply = try await sender.export(body)
                #expect(reply == [])
            }
        }
        expectSameSpans(running.sink.spans(from: .otlpGRPC),
                        try OTLPProtobufDecoder.decode(bodies[0]).spans + OTLPProtobufDecoder.decode(bodies[1]).spans)
        #expect(ids(running.sink.spans()) == ids(first + second))
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.received == 2)
        #expect(figures.spansAccepted == 9)
        #expect(figures.bytes == bodies[0].count + bodies[1].count)
        #expect(figures.malformed == 0)
        #expect(figures.summaryLine.hasPrefix("otlp-grpc: 9 spans in "))
        await running.server.shutdown()
    }

    @Test("otlp-grpc: grpc-encoding gzip is accepted; bytes counted as sent")
    func gzipRequest() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        let spans = Samples.spans(count: 30, seed: 33)
        let body = OTLPProtobufEncoder.encode(spans)
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let reply = try await sender.export(body, gzip: true)
            #expect(reply == [])
        }
        #expect(ids(running.sink.spans(from: .otlpGRPC)) == ids(spans))
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.received == 1 && figures.spansAccepted == 30)
        // What crossed the wire is the compressed message, smaller than the encoded one.
        #expect(figures.bytes > 0 && figures.bytes < body.count)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a malformed message -> INVALID_ARGUMENT with one line; counted like HTTP's 400")
    func malformed() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        let good = OTLPProtobufEncoder.encode(Samples.spans(count: 3, seed: 34))
        let truncated = Array(good.prefix(good.count - 7))
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) { try await sender.export(truncated) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix("protobuf: byte ") == true)
            #expect(error?.message.contains("\n") == false)
            // The connection stays usable.
            let reply = try await sender.export(good)
            #expect(reply == [])
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.received == 2)
        #expect(figures.malformed == 1)
        #expect(figures.spansAccepted == 3)
        let reason = try #require(figures.malformedReasons.first)
        #expect(reason.reason.hasPrefix("protobuf: "))
        #expect(reason.lastExample.hasPrefix("protobuf: byte "))
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a message past --max-body-bytes -> RESOURCE_EXHAUSTED, counted; the next call is fine")
    func oversized() async throws {
        let running = try await RunningServer.start([.otlpGRPC], maxBodyBytes: 2_000)
        let big = OTLPProtobufEncoder.encode(Samples.spans(count: 60, seed: 35))
        #expect(big.count > 2_000)
        let small = OTLPProtobufEncoder.encode(Samples.spans(count: 2, seed: 36))
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) { try await sender.export(big) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message == "message of \(big.count) bytes exceeds the limit of 2000 bytes")
            let reply = try await sender.export(small)
            #expect(reply == [])
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.received == 2)
        #expect(figures.malformed == 1)
        #expect(figures.malformedReasons.first?.reason == "grpc RESOURCE_EXHAUSTED: message too large")
        #expect(figures.spansAccepted == 2)
        #expect(ids(running.sink.spans()) == ids(Samples.spans(count: 2, seed: 36)))
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a gzip message that inflates past maxDecompressedBytes -> RESOURCE_EXHAUSTED, counted")
    func inflatesTooFar() async throws {
        let running = try await RunningServer.start([.otlpGRPC], maxBodyBytes: 4_000, maxDecompressedBytes: 8_000)
        // Repetitive spans: small on the wire, larger than the bound inflated.
        let body = OTLPProtobufEncoder.encode((0..<200).map { i in
            var span = Samples.spans(count: 1, seed: 37)[0]
            span.spanID = SpanID(UInt64(i + 1))
            return span
        })
        #expect(body.count > 8_000 && Gzip.compress(body).count < 4_000)
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) { try await sender.export(body, gzip: true) }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message == "gzip message inflates past the limit of 8000 bytes")
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.malformed == 1 && figures.spansAccepted == 0)
        #expect(figures.malformedReasons.first?.reason == "grpc RESOURCE_EXHAUSTED: message too large")
        #expect(running.sink.count == 0)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a gzip message over what messages inflating at once leave -> UNAVAILABLE, counted; fine once they end")
    func inflationBudgetShared() async throws {
        let running = try await RunningServer.start([.otlpGRPC], maxDecompressedBytes: 1 << 20)
        let budget = running.server.inflationBudget
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 20, seed: 41))
        #expect(budget.take((1 << 20) - 64))  // as if a bomb were inflating on another connection
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) { try await sender.export(body, gzip: true) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.hasSuffix("bytes that messages inflating at once may hold; retry") == true)
        }
        budget.give((1 << 20) - 64)
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            _ = try await sender.export(body, gzip: true)
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.malformed == 1 && figures.spansAccepted == 20)
        #expect(figures.malformedReasons.first?.reason == "grpc UNAVAILABLE: gzip messages inflating at once past their shared bound")
        #expect(budget.inUse == 0)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: spans with invalid ids -> OK with partial_success { rejected_spans, error_message }")
    func partialSuccess() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        var spans = Samples.spans(count: 4, seed: 38)
        spans[1].traceID = TraceID(low: 0)
        spans[2].spanID = SpanID(0)
        let reply = try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            try await sender.export(OTLPProtobufEncoder.encode(spans))
        }
        let partial = try #require(PartialSuccess(reply))
        #expect(partial.rejectedSpans == 2)
        #expect(partial.errorMessage.contains("span 2"))
        #expect(ids(running.sink.spans()) == ids([spans[0], spans[3]]))
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.spansAccepted == 2 && figures.spansRejected == 2 && figures.malformed == 0)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: an unknown method -> UNIMPLEMENTED, counted")
    func unknownMethod() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) {
                try await sender.call(MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.metrics.v1.MetricsService",
                                                       method: "Export"), [])
            }
            #expect(error?.code == .unimplemented)
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.malformed == 1)
        #expect(figures.malformedReasons.first?.reason == "grpc UNIMPLEMENTED: unknown method")
        await running.server.shutdown()
    }

    @Test("otlp-grpc: 64 concurrent calls on each of 4 connections: every span recorded exactly once")
    func concurrentStreams() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        let port = running.port(.otlpGRPC)
        let connections = 4, callsPerConnection = 64, spansPerCall = 6
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in 0..<connections {
                group.addTask {
                    try await OTLPGRPCSender.withConnection(port: port) { sender in
                        try await withThrowingTaskGroup(of: [UInt8].self) { calls in
                            for call in 0..<callsPerConnection {
                                let seed = UInt64(1_000 + connection * callsPerConnection + call)
                                let body = OTLPProtobufEncoder.encode(Samples.spans(count: spansPerCall, seed: seed))
                                calls.addTask { try await sender.export(body, gzip: call % 2 == 1) }
                            }
                            for try await reply in calls { #expect(reply == []) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = connections * callsPerConnection * spansPerCall
        let got = running.sink.spans(from: .otlpGRPC)
        #expect(got.count == total)
        var expected: [Span] = []
        for seed in 0..<(connections * callsPerConnection) {
            expected += Samples.spans(count: spansPerCall, seed: UInt64(1_000 + seed))
        }
        #expect(ids(got) == ids(expected))
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.received == connections * callsPerConnection)
        #expect(figures.spansAccepted == total)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a taken port is portInUse; nothing left bound")
    func portInUse() async throws {
        let holder = try PortHolder(udp: false)
        let server = IngestServer(configuration: IngestConfiguration(ports: [.jaegerCompact: 0, .otlpGRPC: holder.port]),
                                  sink: CollectingSink())
        do {
            _ = try await server.start()
            Issue.record("start() succeeded on a port in use")
        } catch {
            #expect(error == .portInUse(.otlpGRPC, host: "127.0.0.1", port: holder.port))
            #expect(error.description.contains("--otlp-grpc-port"))
        }
        #expect(server.listeners.isEmpty)
        await server.shutdown()
    }

    @Test("shutdown with a client connection still open returns promptly; the client's next call fails")
    func shutdownWithOpenConnection() async throws {
        let running = try await RunningServer.start([.otlpGRPC])
        let spans = Samples.spans(count: 3, seed: 39)
        let elapsed = try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let reply = try await sender.export(OTLPProtobufEncoder.encode(spans))
            #expect(reply == [])
            let clock = ContinuousClock()
            let start = clock.now
            await running.server.shutdown()
            let elapsed = clock.now - start
            await #expect(throws: (any Error).self) { try await sender.export(OTLPProtobufEncoder.encode(spans)) }
            return elapsed
        }
        // GOAWAY closes an idle connection at once (the 5 s grace is for calls
        // in flight) instead of waiting for the client or the 120 s idle
        // timeout. Not a speed check: a loaded CI machine took 16 s once.
        #expect(elapsed < .seconds(60), "shutdown took \(elapsed)")
        #expect(ids(running.sink.spans()) == ids(spans))
    }

    @Test("shutdown stops the gRPC listener: a new connection fails")
    func shutdownStops() async throws {
        let running = try await RunningServer.start([.otlpGRPC, .otlpHTTP])
        #expect(running.server.listeners.map(\.description).contains("listening otlp-grpc grpc 127.0.0.1:\(running.port(.otlpGRPC))"))
        await running.server.shutdown()
        #expect(running.server.listeners.isEmpty)
        #expect(throws: SocketFailure.self) { _ = try RawHTTPConnection(port: running.port(.otlpGRPC)) }
    }
}

/// `ExportTraceServiceResponse.partial_success`, read back from the reply bytes.
struct PartialSuccess {
    var rejectedSpans: Int64 = 0
    var errorMessage = ""

    /// nil unless the bytes are exactly field 1 (a message) holding fields 1 (varint) and 2 (string).
    init?(_ bytes: [UInt8]) {
        var i = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]; i += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        guard varint() == 0x0A, let length = varint(), i + Int(length) == bytes.count else { return nil }
        while i < bytes.count {
            switch varint() {
            case 0x08?:
                guard let n = varint() else { return nil }
                rejectedSpans = Int64(bitPattern: n)
            case 0x12?:
                guard let n = varint(), i + Int(n) <= bytes.count else { return nil }
                errorMessage = String(decoding: bytes[i..<(i + Int(n))], as: UTF8.self)
                i += Int(n)
            default:
                return nil
            }
        }
    }
}
