import Foundation
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// Live HTTP receivers on ephemeral ports, driven by a raw HTTP/1.1 client.
@Suite struct HTTPReceiverTests {
    @Test("jaeger-collector: POST /api/traces with a Thrift binary Batch -> 202")
    func jaegerCollector() async throws {
        let running = try await RunningServer.start([.jaegerCollector])
        let spans = Samples.spans(count: 5, seed: 11)
        let body = JaegerThriftEncoder.batch(process: Samples.process, spans: spans, seqNo: 4,
                                             stats: ClientStats(tooLargeDroppedSpans: 1))
        let port = running.port(.jaegerCollector)
        let first = try post(port: port, "/api/traces", contentType: "application/x-thrift", body: body)
        #expect(first.status == 202)
        #expect(first.body.isEmpty)
        let body2 = JaegerThriftEncoder.batch(process: Samples.process, spans: Samples.spans(count: 1, seed: 12))
        let second = try post(port: port, "/api/traces", contentType: "application/vnd.apache.thrift.binary", body: body2)
        #expect(second.status == 202)
        expectSameSpans(running.sink.spans(from: .jaegerCollector),
                        try JaegerBatchDecoder.decode(body).spans + JaegerBatchDecoder.decode(body2).spans)
        #expect(ids(running.sink.spans()) == ids(spans + Samples.spans(count: 1, seed: 12)))
        let snapshot = running.counters.snapshot()
        #expect(snapshot[.jaegerCollector].received == 2)
        #expect(snapshot[.jaegerCollector].spansAccepted == 6)
        #expect(snapshot.clientDropped == 1)
        await running.server.shutdown()
    }

    @Test("otlp-http: protobuf -> 200 with an empty ExportTraceServiceResponse")
    func otlpProtobuf() async throws {
        let running = try await RunningServer.start([.otlpHTTP])
        let spans = Samples.spans(count: 4, seed: 21)
        let body = OTLPProtobufEncoder.encode(spans)
        let reply = try post(port: running.port(.otlpHTTP), "/v1/traces", contentType: "application/x-protobuf", body: body)
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "application/x-protobuf")
        #expect(reply.body.isEmpty)
        expectSameSpans(running.sink.spans(from: .otlpHTTP), try OTLPProtobufDecoder.decode(body).spans)
        #expect(ids(running.sink.spans()) == ids(spans))
        await running.server.shutdown()
    }

    @Test("otlp-http: JSON -> 200 {} ; gzip accepted")
    func otlpJSONAndGzip() async throws {
        let running = try await RunningServer.start([.otlpHTTP])
        let port = running.port(.otlpHTTP)
        let jsonSpans = Samples.spans(count: 3, seed: 22)
        let json = OTLPJSONEncoder.encodeLine(jsonSpans)
        let reply = try post(port: port, "/v1/traces", contentType: "application/json; charset=utf-8", body: json)
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "application/json")
        #expect(reply.text == "{}")

        let gzSpans = Samples.spans(count: 2, seed: 23)
        let gz = Gzip.compress(OTLPProtobufEncoder.encode(gzSpans))
        let gzReply = try post(port: port, "/v1/traces", contentType: "application/x-protobuf", encoding: "gzip", body: gz)
        #expect(gzReply.status == 200)
        #expect(ids(running.sink.spans()) == ids(jsonSpans + gzSpans))
        #expect(running.counters.snapshot()[.otlpHTTP].bytes == json.count + gz.count)
        await running.server.shutdown()
    }

    @Test("otlp-http: spans with invalid ids -> 200 with partial_success")
    func otlpPartialSuccess() async throws {
        let running = try await RunningServer.start([.otlpHTTP])
        var spans = Samples.spans(count: 3, seed: 24)
        spans[1].traceID = TraceID(low: 0)
        let reply = try post(port: running.port(.otlpHTTP), "/v1/traces", contentType: "application/x-protobuf",
                             body: OTLPProtobufEncoder.encode(spans))
        #expect(reply.status == 200)
        // partial_success (field 1) { rejected_spans (field 1) = 1, error_message (field 2) }
        #expect(Array(reply.body.prefix(1)) == [0x0A])
        #expect(reply.body.count > 4 && reply.body[2] == 0x08 && reply.body[3] == 0x01)

        let json = OTLPJSONEncoder.encodeLine(spans)
        let jsonReply = try post(port: running.port(.otlpHTTP), "/v1/traces", contentType: "application/json", body: json)
        #expect(jsonReply.status == 200)
        #expect(jsonReply.text.hasPrefix("{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\""))
        let figures = running.counters.snapshot()[.otlpHTTP]
        #expect(figures.spansAccepted == 4)
        #expect(figures.spansRejected == 2)
        #expect(figures.lastRejection != nil)
        await running.server.shutdown()
    }

    @Test("zipkin-http: POST /api/v2/spans JSON -> 202")
    func zipkinHTTP() async throws {
        let running = try await RunningServer.start([.zipkinHTTP])
        let body = Samples.zipkinJSON(count: 3)
        let reply = try post(port: running.port(.zipkinHTTP), "/api/v2/spans", contentType: "application/json", body: body)
        #expect(reply.status == 202)
        expectSameSpans(running.sink.spans(from: .zipkinHTTP), try ZipkinJSONDecoder.decode(body))
        #expect(running.sink.spans().count == 3)
        #expect(Set(running.sink.spans().map(\.serviceName)) == ["zipkin-http-svc"])
        await running.server.shutdown()
    }

    @Test("bad input: 400, 404, 405, 413, 415, and gzip that is not gzip; each counted by reason")
    func refusals() async throws {
        let running = try await RunningServer.start([.jaegerCollector, .otlpHTTP, .zipkinHTTP], maxBodyBytes: 1_000)
        let otlp = running.port(.otlpHTTP)

        let bad = try post(port: running.port(.jaegerCollector), "/api/traces", contentType: "application/x-thrift", body: [0x0C, 0x00, 0x01, 0x0B])
        #expect(bad.status == 400)
        #expect(bad.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(bad.text.hasPrefix("thrift binary: byte "))
        #expect(bad.text.filter { $0 == "\n" }.count == 1)

        let badJSON = try post(port: running.port(.zipkinHTTP), "/api/v2/spans", contentType: "application/json", body: Array("[{".utf8))
        #expect(badJSON.status == 400)
        #expect(badJSON.text.hasPrefix("json: "))

        #expect(try post(port: otlp, "/v1/metrics", contentType: "application/x-protobuf", body: []).status == 404)
        let wrongMethod = try post(port: otlp, "/v1/traces", contentType: nil, body: [], method: "GET")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST")
        #expect(try post(port: otlp, "/v1/traces", contentType: "text/plain", body: Array("x".utf8)).status == 415)
        #expect(try post(port: otlp, "/v1/traces", contentType: "application/x-protobuf", encoding: "br", body: [1]).status == 415)
        #expect(try post(port: otlp, "/v1/traces", contentType: "application/x-protobuf", encoding: "gzip", body: [1, 2, 3]).status == 400)

        // Over the limit by Content-Length: refused before the body is read, connection closed.
        let big = [UInt8](repeating: 0x41, count: 1_001)
        let tooLarge = try RawHTTPConnection(port: otlp)
        let reply = try tooLarge.roundTrip(RawHTTPConnection.request("/v1/traces", contentType: "application/json", body: big))
        #expect(reply.status == 413)
        #expect(reply.header("Connection") == "close")
        #expect(tooLarge.readsEOF())

        // Inflating past the decompressed bound is also 413.
        let inflating = try await RunningServer.start([.otlpHTTP], maxBodyBytes: 1_000, maxDecompressedBytes: 10_000)
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 100_000))
        #expect(bomb.count < 1_000)
        #expect(try post(port: inflating.port(.otlpHTTP), "/v1/traces", contentType: "application/x-protobuf",
                         encoding: "gzip", body: bomb).status == 413)
        await inflating.server.shutdown()

        let snapshot = running.counters.snapshot()
        let reasons = Set(snapshot.listeners.flatMap(\.malformedReasons).map(\.reason))
        #expect(reasons.isSuperset(of: ["thrift binary: truncated", "json: syntax", "http 404: unknown path",
                                        "http 405: method not allowed", "http 413: body too large",
                                        "http 415: unsupported content type", "http 415: unsupported content encoding",
                                        "gzip: corrupt body"]), "\(reasons)")
        #expect(snapshot.malformed == 8)
        #expect(snapshot.spansAccepted == 0)
        #expect(running.sink.count == 0)
        await running.server.shutdown()
    }

    @Test("413 for a chunked body that grows past the limit")
    func chunkedTooLarge() async throws {
        let running = try await RunningServer.start([.zipkinHTTP], maxBodyBytes: 100)
        let connection = try RawHTTPConnection(port: running.port(.zipkinHTTP))
        var request = Array("POST /api/v2/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let chunk = [UInt8](repeating: 0x20, count: 80)
        for _ in 0..<2 { request += Array("50\r\n".utf8) + chunk + Array("\r\n".utf8) }
        request += Array("0\r\n\r\n".utf8)
        let reply = try connection.roundTrip(request)
        #expect(reply.status == 413)
        #expect(running.counters.snapshot()[.zipkinHTTP].malformedReasons.first?.reason == "http 413: body too large")
        await running.server.shutdown()
    }

    @Test("keep-alive: several requests on one connection, including after a refusal")
    func keepAlive() async throws {
        let running = try await RunningServer.start([.otlpHTTP])
        let connection = try RawHTTPConnection(port: running.port(.otlpHTTP))
        let a = Samples.spans(count: 2, seed: 31), b = Samples.spans(count: 3, seed: 32)
        let first = try connection.roundTrip(RawHTTPConnection.request("/v1/traces", contentType: "application/x-protobuf",
                                                                      body: OTLPProtobufEncoder.encode(a)))
        #expect(first.status == 200)
        let refused = try connection.roundTrip(RawHTTPConnection.request("/nope", contentType: "application/json", body: Array("{}".utf8)))
        #expect(refused.status == 404)
        let second = try connection.roundTrip(RawHTTPConnection.request("/v1/traces", contentType: "application/json",
                                                                       body: OTLPJSONEncoder.encodeLine(b)))
        #expect(second.status == 200)
        // Pipelined: two requests written at once, two answers in order.
        try connection.send(RawHTTPConnection.request("/v1/traces", contentType: "application/x-protobuf", body: [])
            + RawHTTPConnection.request("/v1/traces", contentType: "application/json", body: Array("{}".utf8)))
        #expect(try connection.readResponse().status == 200)
        #expect(try connection.readResponse().text == "{}")
        #expect(ids(running.sink.spans()) == ids(a + b))
        #expect(running.counters.snapshot()[.otlpHTTP].received == 5)
        await running.server.shutdown()
    }

    @Test("Expect: 100-continue gets 100 before the body, then the answer")
    func expectContinue() async throws {
        let running = try await RunningServer.start([.zipkinHTTP])
        let connection = try RawHTTPConnection(port: running.port(.zipkinHTTP))
        let body = Samples.zipkinJSON(count: 2)
        let request = RawHTTPConnection.request("/api/v2/spans", contentType: "application/json", body: body,
                                                headers: [("Expect", "100-continue")])
        try connection.send(Array(request.prefix(request.count - body.count)))
        #expect(try connection.readResponse().status == 100)
        try connection.send(body)
        #expect(try connection.readResponse().status == 202)
        #expect(running.sink.count == 2)
        await running.server.shutdown()
    }

    @Test("shutdown lets a request in flight finish, then refuses new connections")
    func shutdownDrains() async throws {
        // The request waits half sent while this task may wait behind the
        // other tests for tens of seconds (a CI run once took over 30 s
        // between the two halves and got the default timeout's 408): a
        // timeout no scheduling delay reaches, as timeouts are not tested here.
        let running = try await RunningServer.start([.otlpHTTP], limits: ReceiverLimits(requestTimeout: .seconds(600)))
        let port = running.port(.otlpHTTP)
        let connection = try RawHTTPConnection(port: port)
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 2, seed: 41))
        let request = RawHTTPConnection.request("/v1/traces", contentType: "application/x-protobuf", body: body,
                                                headers: [("Expect", "100-continue")])
        // The head, and the server's 100 for it: from here the request is in
        // flight (a shutdown before the server has read a head closes the
        // connection as idle, and the bytes sent after are reset).
        try connection.send(Array(request.prefix(request.count - body.count)))
        #expect(try connection.readResponse().status == 100)
        try connection.send(Array(request.suffix(body.count).prefix(body.count - 5)))  // part of the body
        #expect(running.counters.snapshot()[.otlpHTTP].received == 0)
        let shutdown = Task { await running.server.shutdown() }
        try await Task.sleep(for: .milliseconds(50))
        try connection.send(Array(request.suffix(5)))
        let reply = try connection.readResponse()
        #expect(reply.status == 200)
        // (Whether this reply already says `Connection: close` depends on
        // when the quiesce event reached the connection: not asserted.)
        await shutdown.value
        #expect(running.sink.count == 2)
        #expect(running.server.listeners.isEmpty)
        // Not asserted: that connecting to `port` now fails. Tests run in
        // parallel and another one may already have been given that port.
    }
}

/// The captured client bodies, each to its listener.
@Suite(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
struct HTTPFixtureTests {
    @Test("jaeger-http, otlp-http and zipkin-http fixtures reach the sink exactly as decoded")
    func fixtures() async throws {
        let running = try await RunningServer.start([.jaegerCollector, .otlpHTTP, .zipkinHTTP])
        let routes: [(String, ListenerKind, String)] = [
            ("jaeger-http/python-otel-collector-endpoint", .jaegerCollector, "/api/traces"),
            ("otlp-http/python-json", .otlpHTTP, "/v1/traces"),
            ("otlp-http/python-protobuf", .otlpHTTP, "/v1/traces"),
            ("otlp-http/python-protobuf-gzip", .otlpHTTP, "/v1/traces"),
            ("zipkin-http/python-json-v2", .zipkinHTTP, "/api/v2/spans"),
        ]
        var expected: [ListenerKind: [Span]] = [:]
        var requests = 0
        for (folder, kind, path) in routes {
            for file in Shared.files(folder, suffix: ".body") {
                let body = try Shared.bytes(file)
                let meta = try Shared.meta(forBody: file)
                let reply = try post(port: running.port(kind), path, contentType: meta.contentType, encoding: meta.encoding, body: body)
                #expect(reply.status == (kind == .otlpHTTP ? 200 : 202), "\(file): \(reply.status) \(reply.text)")
                let plain = meta.encoding == "gzip" ? try Gzip.decompress(body) : body
                switch kind {
                case .jaegerCollector: expected[kind, default: []] += try JaegerBatchDecoder.decode(plain).spans
                case .zipkinHTTP: expected[kind, default: []] += try ZipkinJSONDecoder.decode(plain)
                default:
                    expected[kind, default: []] += meta.contentType == "application/json"
                        ? try OTLPJSONDecoder.decode(plain) : try OTLPProtobufDecoder.decode(plain).spans
                }
                requests += 1
            }
        }
        #expect(requests == 10)
        for kind in [ListenerKind.jaegerCollector, .otlpHTTP, .zipkinHTTP] {
            let want = expected[kind] ?? []
            #expect(!want.isEmpty)
            expectSameSpans(running.sink.spans(from: kind), want)
        }
        #expect(running.counters.snapshot().malformed == 0)
        await running.server.shutdown()
    }
}
