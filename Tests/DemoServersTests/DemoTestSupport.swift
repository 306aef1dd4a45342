#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import DemoServers
import Foundation
import JaegerTracing
import NIOCore
import Synchronization
import Testing
import TraceIngest
import TraceModel
import TestSupport

/// A tracetty jaeger-compact listener on an ephemeral port of 127.0.0.1.
struct AgentListener {
    let server: IngestServer
    let sink: CollectingSink
    let port: Int

    static func start() async throws -> AgentListener {
        let sink = CollectingSink()
        let server = IngestServer(configuration: IngestConfiguration(host: "127.0.0.1", ports: [.jaegerCompact: 0]), sink: sink)
        let bound = try await server.start()
        let port = try #require(bound.first?.port)
        return AgentListener(server: server, sink: sink, port: port)
    }

    /// A tracer configuration for `service` reporting here.
    func tracer(_ service: DemoService) -> JaegerTracerConfiguration {
        var configuration = JaegerTracerConfiguration(serviceName: service.rawValue, agentHost: "127.0.0.1", agentPort: port)
        configuration.flushInterval = .milliseconds(100)
        return configuration
    }

    /// A server on an ephemeral port reporting here.
    func server(_ service: DemoService, server2URL: String? = nil) -> DemoServerConfiguration {
        DemoServerConfiguration(service: service, port: 0, tracer: tracer(service), server2URL: server2URL)
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// An HTTP client for the tests (no tracing: it is not under test).
func withClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    var configuration = HTTPClient.Configuration()
    configuration.tracing.tracer = nil
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Status and body text of one request.
func fetch(_ client: HTTPClient, _ url: String, method: String = "GET", body: String? = nil) async throws -> (Int, String) {
    var request = HTTPClientRequest(url: url)
    request.method = .init(rawValue: method)
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await client.execute(request, timeout: .seconds(15))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), String(buffer: bytes))
}

/// A TCP port of 127.0.0.1 nobody listens on (bound, then closed).
func closedPort() throws -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    try #require(ok)
    return Int(UInt16(bigEndian: address.sin_port))
}

extension Span {
    func attribute(_ key: String) -> AttributeValue? {
        attributes.first { $0.key == key }?.value
    }
}
