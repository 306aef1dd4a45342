import Foundation
import GRPCCore
import NIOCore
import NIOEmbedded
import Testing
import TestSupport
import TraceFormats
@testable import TraceIngest
import TraceModel

/// `ReceiverLimits` in the HTTP receivers' pipeline on an `EmbeddedChannel`:
/// its clock is advanced by hand, so the timeouts are tested with no waiting.
@Suite struct HTTPLimitGuardEmbeddedTests {
    static let limits = ReceiverLimits(maxHeaderBytes: 1_024, requestTimeout: .seconds(30), idleTimeout: .seconds(60))

    struct Connection {
        let channel = EmbeddedChannel()
        let sink = CollectingSink()
        let counters = IngestCounters()

        init(limits: ReceiverLimits = HTTPLimitGuardEmbeddedTests.limits) throws {
            try HTTPReceiverPipeline.configure(channel, settings: HTTPReceiverSettings(
                kind: .otlpHTTP, maxBodyBytes: 1 << 20, maxDecompressedBytes: 4 << 20, limits: limits, sink: sink,
                counters: counters))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4318)).wait()
        }

        func send(_ bytes: [UInt8]) throws {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        func sent() throws -> String {
            var text = ""
            while let out = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: out) }
            return text
        }

        func advance(_ amount: TimeAmount) {
            channel.embeddedEventLoop.advanceTime(by: amount)
        }

        var figures: ListenerFigures { counters.snapshot()[.otlpHTTP] }
    }

    /// A JSON request whose head (through the blank line) is exactly `headBytes` long.
    static func request(headBytes: Int, body: [UInt8] = Array("{}".utf8)) -> [UInt8] {
        let start = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nX-Pad: "
        let pad = headBytes - start.utf8.count - 4
        precondition(pad >= 0)
        return Array((start + String(repeating: "p", count: pad) + "\r\n\r\n").utf8) + body
    }

    @Test func aHeadExactlyAtTheLimitPassesOneByteMoreGets431() throws {
        let fits = try Connection()
        try fits.send(Self.request(headBytes: 1_024))
        #expect(try fits.sent().hasPrefix("HTTP/1.1 200 OK"))

        let over = try Connection()
        try over.send(Self.request(headBytes: 1_025))
        let reply = try over.sent()
        #expect(reply.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        #expect(reply.contains("\r\nConnection: close\r\n"))
        #expect(reply.hasSuffix("\r\n\r\nrequest head exceeds the limit of 1024 bytes\n"))
        #expect(over.sink.count == 0)
        #expect(over.figures.malformed == 1)
        #expect(over.figures.malformedReasons.map(\.reason) == ["http 431: request head too large"])
        // The rest is dropped, never decoded; the connection closes within its linger.
        try? over.send(Array(repeating: 0x41, count: 5_000))
        over.advance(HTTPLimitGuard.linger)
        #expect(!over.channel.isActive)
        #expect(over.figures.malformed == 1)
    }

    @Test func aHeadTricklingInPastTheLimitGets431Too() throws {
        let connection = try Connection()
        let head = Self.request(headBytes: 4_000)
        for chunk in stride(from: 0, to: 2_000, by: 100) {
            try connection.send(Array(head[chunk..<(chunk + 100)]))
        }
        #expect(try connection.sent().hasPrefix("HTTP/1.1 431 "))
        #expect(connection.figures.malformed == 1)
    }

    @Test func aHeadNotCompleteInTimeGets408() throws {
        let connection = try Connection()
        try connection.send(Array("POST /v1/traces HTTP/1.1\r\nHost: x\r\n".utf8))
        connection.advance(.seconds(29))
        #expect(try connection.sent().isEmpty)
        connection.advance(.seconds(1))
        let reply = try connection.sent()
        #expect(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(reply.hasSuffix("request not complete within 30 s\n"))
        let reason = try #require(connection.figures.malformedReasons.first)
        #expect(reason.reason == "http 408: request timeout")
        #expect(reason.lastExample == "request head not complete within 30 s (35 bytes came)")
    }

    @Test func aBodyNotCompleteInTimeGets408() throws {
        let connection = try Connection()
        let request = Self.request(headBytes: 200, body: Array("{\"resourceSpans\":[]}".utf8))
        try connection.send(Array(request.dropLast(5)))
        connection.advance(.seconds(30))
        #expect(try connection.sent().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(connection.figures.malformedReasons.first?.lastExample == "POST /v1/traces: body not complete within 30 s")
        // Late bytes are dropped (or find the connection closed): no second reply, nothing decoded.
        try? connection.send(Array(request.suffix(5)))
        #expect(try connection.sent().isEmpty)
        #expect(connection.figures.malformed == 1 && connection.figures.received == 1)
    }

    @Test func timeBetweenRequestsIsIdleTimeNotRequestTime() throws {
        let connection = try Connection()
        try connection.send(Self.request(headBytes: 200))
        #expect(try connection.sent().hasPrefix("HTTP/1.1 200 OK"))
        connection.advance(.seconds(50))  // past the request timeout, within the idle one
        try connection.send(Self.request(headBytes: 200))
        #expect(try connection.sent().hasPrefix("HTTP/1.1 200 OK"))
        #expect(connection.channel.isActive)
        #expect(connection.figures.received == 2 && connection.figures.malformed == 0)
    }

    @Test func anIdleConnectionIsClosedAndCountedAsIdleNotMalformed() throws {
        let connection = try Connection()
        try connection.send(Self.request(headBytes: 200))
        #expect(try connection.sent().hasPrefix("HTTP/1.1 200 OK"))
        connection.advance(.seconds(59))
        #expect(connection.channel.isActive)
        connection.advance(.seconds(1))
        #expect(!connection.channel.isActive)
        #expect(try connection.sent().isEmpty)  // closed without a word
        #expect(connection.figures.connectionsClosedIdle == 1)
        #expect(connection.figures.malformed == 0)
        #expect(connection.figures.summaryLine.hasSuffix(", 1 idle connection closed"))

        // One that never sends anything is idle from the start.
        let silent = try Connection()
        silent.advance(.seconds(60))
        #expect(!silent.channel.isActive)
        #expect(silent.figures.connectionsClosedIdle == 1)
    }

    @Test func anEarly413IsNotFollowedByA408() throws {
        let connection = try Connection()
        let body = [UInt8](repeating: 0x20, count: 2 << 20)
        try connection.send(Array(Self.request(headBytes: 200, body: body).prefix(1_000)))
        #expect(try connection.sent().hasPrefix("HTTP/1.1 413 "))
        connection.advance(.seconds(30))
        #expect(try connection.sent().isEmpty)
        #expect(!connection.channel.isActive)
        #expect(connection.figures.malformedReasons.map(\.reason) == ["http 413: body too large"])
    }

    @Test func emptyLinesBeforeARequestDoNotStartIt() throws {
        let connection = try Connection()
        try connection.send(Self.request(headBytes: 200))
        _ = try connection.sent()
        try connection.send(Array("\r\n".utf8))
        connection.advance(.seconds(59))
        #expect(connection.figures.malformed == 0)
        connection.advance(.seconds(1))
        #expect(connection.figures.connectionsClosedIdle == 1)
    }

    @Test func durationsReadAsSpoken() {
        #expect(spoken(.seconds(30)) == "30 s")
        #expect(spoken(.milliseconds(1_500)) == "1.5 s")
        #expect(spoken(.milliseconds(250)) == "250 ms")
    }
}

/// The limits on live receivers over real sockets. Deadlines are generous
/// (the CI machine is slow): each test asserts that the bound bit and was
/// counted, never how soon.
@Suite struct ReceiverLimitsLiveTests {
    static let patience = 30.0

    @Test("http: a head past --max-header-bytes gets 431 and the connection closes; counted")
    func headTooLarge() async throws {
        let running = try await RunningServer.start([.otlpHTTP], limits: ReceiverLimits(maxHeaderBytes: 4_096))
        let connection = try RawHTTPConnection(port: running.port(.otlpHTTP), timeoutSeconds: 30)
        let reply = try connection.roundTrip(RawHTTPConnection.request(
            "/v1/traces", contentType: "application/json", body: Array("{}".utf8),
            headers: [("X-Big", String(repeating: "b", count: 8_000))]))
        #expect(reply.status == 431)
        #expect(reply.header("Connection") == "close")
        #expect(connection.readsEOF())
        let figures = running.counters.snapshot()[.otlpHTTP]
        #expect(figures.malformedReasons.map(\.reason) == ["http 431: request head too large"])
        #expect(running.sink.count == 0)
        // A head under the limit on a new connection is served.
        #expect(try post(port: running.port(.otlpHTTP), "/v1/traces", contentType: "application/json",
                         body: OTLPJSONEncoder.encodeLine(Samples.spans(count: 2))).status == 200)
        await running.server.shutdown()
    }

    @Test("http: a slow body past --request-timeout gets 408 and the connection closes; counted")
    func slowBody() async throws {
        let running = try await RunningServer.start([.zipkinHTTP, .otlpHTTP],
                                                    limits: ReceiverLimits(requestTimeout: .seconds(1)))
        let body = Samples.zipkinJSON(count: 2)
        let request = RawHTTPConnection.request("/api/v2/spans", contentType: "application/json", body: body)
        let connection = try RawHTTPConnection(port: running.port(.zipkinHTTP), timeoutSeconds: 30)
        // The head and one byte of the body, then nothing (1 byte every 3 s would be the same to it).
        try connection.send(Array(request.prefix(request.count - body.count + 1)))
        let reply = try connection.readResponse()
        #expect(reply.status == 408)
        #expect(reply.header("Connection") == "close")
        #expect(reply.text == "request not complete within 1 s\n")
        #expect(connection.readsEOF())
        let reason = try #require(running.counters.snapshot()[.zipkinHTTP].malformedReasons.first)
        #expect(reason.reason == "http 408: request timeout")
        #expect(reason.lastExample == "POST /api/v2/spans: body not complete within 1 s")

        // Slowloris: a head that never ends.
        let loris = try RawHTTPConnection(port: running.port(.otlpHTTP), timeoutSeconds: 30)
        try loris.send(Array("POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-A: ".utf8))
        #expect(try loris.readResponse().status == 408)
        #expect(running.counters.snapshot()[.otlpHTTP].malformedReasons.first?.lastExample.hasPrefix("request head not complete") == true)
        #expect(running.sink.count == 0)
        await running.server.shutdown()
    }

    @Test("http: an idle keep-alive connection, or one that never sends, is closed after --idle-timeout; counted as idle")
    func idleClosed() async throws {
        let running = try await RunningServer.start([.otlpHTTP], limits: ReceiverLimits(idleTimeout: .seconds(1)))
        let port = running.port(.otlpHTTP)
        let used = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        let reply = try used.roundTrip(RawHTTPConnection.request(
            "/v1/traces", contentType: "application/json", body: OTLPJSONEncoder.encodeLine(Samples.spans(count: 1))))
        #expect(reply.status == 200)
        #expect(used.readsEOF())
        let silent = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        #expect(silent.readsEOF())
        #expect(await eventually(seconds: Self.patience) { running.counters.snapshot()[.otlpHTTP].connectionsClosedIdle == 2 })
        let figures = running.counters.snapshot()[.otlpHTTP]
        #expect(figures.malformed == 0 && figures.received == 1)
        await running.server.shutdown()
    }

    @Test("http: with --max-connections 2 a third connection gets 503 and closes; counted; a slot frees when one closes")
    func connectionLimit() async throws {
        let running = try await RunningServer.start([.otlpHTTP], limits: ReceiverLimits(maxConnections: 2))
        let port = running.port(.otlpHTTP)
        let body = OTLPJSONEncoder.encodeLine(Samples.spans(count: 1))
        let request = RawHTTPConnection.request("/v1/traces", contentType: "application/json", body: body)
        var first: RawHTTPConnection? = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        let second = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        #expect(try first?.roundTrip(request).status == 200)
        #expect(try second.roundTrip(request).status == 200)

        let third = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        let refused = try third.roundTrip(request)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.header("Connection") == "close")
        #expect(third.readsEOF())
        #expect(running.counters.snapshot()[.otlpHTTP].malformedReasons.map(\.reason) == ["http 503: too many connections"])

        first = nil  // closes it
        var refusals = 1, status = 503
        // Until the receiver has seen the close, a new connection is still one too many.
        _ = try await retrying(seconds: Self.patience) {
            status = try RawHTTPConnection(port: port, timeoutSeconds: 30).roundTrip(request).status
            if status == 503 { refusals += 1 }
            return status != 503
        }
        let served = status == 200
        #expect(served, "still refused after \(refusals) tries; the server holds \(running.server.openHTTPConnections) connections")
        #expect(try second.roundTrip(request).status == 200)  // the held connection still works
        let figures = running.counters.snapshot()[.otlpHTTP]
        #expect(figures.malformed == refusals)
        #expect(running.sink.count == 4)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: an Export stream the client never ends -> DEADLINE_EXCEEDED after --request-timeout; counted")
    func grpcDeadline() async throws {
        let running = try await RunningServer.start([.otlpGRPC], limits: ReceiverLimits(requestTimeout: .seconds(1)))
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 2))
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            let error = await #expect(throws: RPCError.self) {
                _ = try await sender.client.clientStreaming(
                    request: StreamingClientRequest(of: [UInt8].self) { writer in
                        try await writer.write(body)
                        try await Task.sleep(for: .seconds(600))  // never ends the stream; cancelled once answered
                    },
                    descriptor: OTLPTraceService.export, serializer: PassThroughSerializer(),
                    deserializer: PassThroughDeserializer(), options: .defaults
                ) { response in try response.message }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(error?.message == "request not complete within 1 s: the Export stream must end by then")
            // The connection is still good for a whole call.
            #expect(await Self.exportRetrying(sender, body) == [])
        }
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.malformedReasons.map(\.reason) == ["grpc DEADLINE_EXCEEDED: request not complete"])
        #expect(figures.spansAccepted == 2)
        await running.server.shutdown()
    }

    /// As an OTel exporter does: a call that fails (a GOAWAY raced it, the
    /// client is reconnecting) is tried again, here until `patience` runs out.
    static func exportRetrying(_ sender: OTLPGRPCSender, _ body: [UInt8]) async -> [UInt8]? {
        var reply: [UInt8]?
        _ = await retrying(seconds: patience, pause: .milliseconds(50)) {
            reply = try? await sender.export(body)
            return reply != nil
        }
        return reply
    }

    @Test("otlp-grpc: an idle connection is closed after --idle-timeout (GOAWAY); counted as idle; the client reconnects")
    func grpcIdle() async throws {
        let running = try await RunningServer.start([.otlpGRPC], limits: ReceiverLimits(idleTimeout: .seconds(1)))
        let port = running.port(.otlpGRPC)
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 1))
        try await OTLPGRPCSender.withConnection(port: port) { sender in
            #expect(await Self.exportRetrying(sender, body) == [])
            #expect(await eventually(seconds: Self.patience) { running.counters.snapshot()[.otlpGRPC].connectionsClosedIdle >= 1 })
            #expect(await Self.exportRetrying(sender, body) == [])
        }
        // A connection that never speaks HTTP/2 is closed too (it cannot answer the GOAWAY's ping).
        let before = running.counters.snapshot()[.otlpGRPC].connectionsClosedIdle
        let silent = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        #expect(await offPool { silent.readsToClose() })
        #expect(await eventually(seconds: Self.patience) { running.counters.snapshot()[.otlpGRPC].connectionsClosedIdle > before })
        #expect(running.counters.snapshot()[.otlpGRPC].malformed == 0)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: headers past --max-header-bytes -> RESOURCE_EXHAUSTED; past the transport's 16 KiB the connection closes; both counted")
    func grpcHeaders() async throws {
        let running = try await RunningServer.start([.otlpGRPC], limits: ReceiverLimits(maxHeaderBytes: 4_096))
        let port = running.port(.otlpGRPC)
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 1))
        try await OTLPGRPCSender.withConnection(port: port) { sender in
            // No token is configured, so `authorization` is just a large header here.
            let error = await #expect(throws: RPCError.self) {
                try await sender.export(body, authorization: String(repeating: "h", count: 5_000))
            }
            #expect(error?.code == .resourceExhausted)
            #expect(error?.message.hasSuffix("exceeds the limit of 4096 bytes") == true)
            let reply = try await sender.export(body)
            #expect(reply == [])
        }
        // Past the transport's bound once decompressed (grpc-swift's client
        // will not send a block past it on the wire): the connection closes.
        _ = try await OTLPGRPCSender.withConnection(port: port) { sender in
            await #expect(throws: (any Error).self) {
                try await sender.export(body, authorization: String(repeating: "h", count: 20_000))
            }
        }
        #expect(await eventually(seconds: Self.patience) {
            running.counters.snapshot()[.otlpGRPC].malformedReasons
                .first { $0.reason == "grpc: HTTP/2 frame refused (headers past 16 KiB, or undecodable)" }?.count == 1
        })
        let reasons = running.counters.snapshot()[.otlpGRPC].malformedReasons.map(\.reason)
        #expect(reasons.contains("grpc RESOURCE_EXHAUSTED: headers too large"))
        #expect(running.sink.count == 1)
        await running.server.shutdown()
    }

    @Test("otlp-grpc: with --max-connections 2 a third connection is closed at accept; counted; a slot frees when one closes")
    func grpcConnectionLimit() async throws {
        let running = try await RunningServer.start([.otlpGRPC], limits: ReceiverLimits(maxConnections: 2))
        let port = running.port(.otlpGRPC)
        var first: RawHTTPConnection? = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        let second = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        let third = try RawHTTPConnection(port: port, timeoutSeconds: 30)
        // grpc-swift admits connections in tasks on the concurrency pool: on a
        // busy 2-core machine that can take longer than one 30 s read.
        var closed = false
        for _ in 0..<4 where !closed { closed = await offPool { third.readsToClose() } }
        #expect(closed)
        #expect(await eventually(seconds: 30) {
            running.counters.snapshot()[.otlpGRPC].malformedReasons.map(\.reason) == ["grpc: too many connections"]
        })
        _ = first
        first = nil
        // Until the receiver has seen the close, the client's connection is one too many and its call fails.
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 3))
        let served = await retrying(seconds: Self.patience, pause: .milliseconds(50)) {
            (try? await OTLPGRPCSender.withConnection(port: port) { try await $0.export(body) }) == []
        }
        #expect(served)
        #expect(running.sink.count == 3)
        _ = second
        await running.server.shutdown()
    }
}
