import GRPCCore
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// `--token`: every HTTP and gRPC receiver wants `Authorization: Bearer
/// <token>` once one is set; refusals are answered, counted, and never
/// carry the token.
@Suite struct TokenTests {
    static let secret = "s3cret-Token_42"
    static let token = BearerToken(secret)

    @Test func theHeaderMustNameTheBearerSchemeAndTheWholeToken() throws {
        let token = try #require(Self.token)
        #expect(token.matches(authorization: "Bearer \(Self.secret)"))
        #expect(token.matches(authorization: "bearer \(Self.secret)"))
        #expect(token.matches(authorization: "BEARER \(Self.secret)"))
        for wrong in [nil, "", "Bearer", "Bearer ", "Bearer s3cret", "Bearer \(Self.secret)x", "Basic \(Self.secret)",
                      Self.secret, "Bearer  \(Self.secret)", "Bearer \(Self.secret.uppercased())"] {
            #expect(!token.matches(authorization: wrong), "\(wrong ?? "nil")")
        }
        #expect(BearerToken("") == nil)
        #expect("\(token)" == "<token>")
        #expect(!"\(token)".contains(Self.secret))
    }

    @Test func httpReceiversAnswer401WithoutIt() async throws {
        let running = try await RunningServer.start([.otlpHTTP, .zipkinHTTP, .jaegerCollector], token: Self.token)
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 2))
        let connection = try RawHTTPConnection(port: running.port(.otlpHTTP))
        var result = try connection.roundTrip(RawHTTPConnection.request("/v1/traces", contentType: "application/x-protobuf", body: body))
        #expect(result.status == 401)
        #expect(result.header("WWW-Authenticate") == "Bearer")
        result = try connection.roundTrip(RawHTTPConnection.request(
            "/v1/traces", contentType: "application/x-protobuf", body: body, headers: [("Authorization", "Bearer wrong")]))
        #expect(result.status == 401)
        // The same keep-alive connection, now with the token.
        result = try connection.roundTrip(RawHTTPConnection.request(
            "/v1/traces", contentType: "application/x-protobuf", body: body, headers: [("Authorization", "Bearer \(Self.secret)")]))
        #expect(result.status == 200)
        #expect(try post(port: running.port(.zipkinHTTP), "/api/v2/spans", contentType: "application/json",
                         body: Samples.zipkinJSON(count: 1)).status == 401)
        #expect(try post(port: running.port(.jaegerCollector), "/api/traces", contentType: "application/x-thrift",
                         body: JaegerThriftEncoder.batch(process: Samples.process, spans: Samples.spans(count: 1))).status == 401)
        #expect(running.sink.count == 2)
        let snapshot = running.counters.snapshot()
        #expect(snapshot[.otlpHTTP].malformed == 2 && snapshot[.zipkinHTTP].malformed == 1 && snapshot[.jaegerCollector].malformed == 1)
        #expect(snapshot[.otlpHTTP].malformedReasons.map(\.reason) == ["http 401: missing or wrong token"])
        #expect(!"\(snapshot)".contains(Self.secret))
        await running.server.shutdown()
    }

    @Test func theGRPCReceiverAnswersUnauthenticatedWithoutIt() async throws {
        let running = try await RunningServer.start([.otlpGRPC], token: Self.token)
        let body = OTLPProtobufEncoder.encode(Samples.spans(count: 3))
        try await OTLPGRPCSender.withConnection(port: running.port(.otlpGRPC)) { sender in
            var error = await #expect(throws: RPCError.self) { try await sender.export(body) }
            #expect(error?.code == .unauthenticated)
            error = await #expect(throws: RPCError.self) { try await sender.export(body, authorization: "Bearer nope") }
            #expect(error?.code == .unauthenticated)
            let reply = try await sender.export(body, authorization: "Bearer \(Self.secret)")
            #expect(reply == [])
        }
        #expect(running.sink.count == 3)
        let figures = running.counters.snapshot()[.otlpGRPC]
        #expect(figures.malformed == 2 && figures.spansAccepted == 3)
        #expect(figures.malformedReasons.map(\.reason) == ["grpc UNAUTHENTICATED: missing or wrong token"])
        await running.server.shutdown()
    }
}
