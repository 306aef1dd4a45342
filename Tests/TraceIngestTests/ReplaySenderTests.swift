#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// Spans of two services in traces of three, with a link across traces.
private func replaySpans(count: Int) -> [Span] {
    let other = Resource(serviceName: "server-2", attributes: [Attribute("service.name", .string("server-2"))])
    var spans = Samples.spans(count: count)
    for i in spans.indices where i % 3 == 2 { spans[i].resource = other }
    if spans.count > 3 { spans[3].links = [SpanLink(traceID: spans[0].traceID, spanID: spans[0].spanID)] }
    return spans
}

private func shape(_ spans: [Span]) -> Set<String> {
    Set(spans.map { "\($0.traceID.hex)/\($0.spanID.hex)/\($0.parentSpanID?.hex ?? "-")/\($0.serviceName)/\($0.name)" })
}

/// A free TCP or UDP port on 127.0.0.1 with nothing listening (bound, then released).
private func closedPort(udp: Bool) throws -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue), 0)
    #else
    let fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw SocketFailure("socket") }
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw SocketFailure("bind") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A sender driven from a thread of its own for each call, as `replay --to`
/// drives it from its thread: an otlp-grpc send waits for its answer, which
/// must not hold one of the Swift concurrency pool's threads (the gRPC
/// client and the in-process receiver need them).
private final class ThreadedSender: @unchecked Sendable {
    // Unchecked: one thread at a time uses `sender`; each call awaits its thread's end before returning.
    let sender: ReplaySender

    init(_ sender: ReplaySender) { self.sender = sender }

    func send(_ spans: [Span]) async -> ReplaySendError? {
        await onOwnThread { self.sender.send(spans) }
    }

    func close() async {
        await onOwnThread { self.sender.close() }
    }

    private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}

/// This machine's TCP connections to 127.0.0.1:`port` (their client ends, in
/// /proc/net/tcp), all of them or only the established ones; nil off Linux.
private func tcpConnections(toPort port: Int, establishedOnly: Bool) -> Int? {
    // Read to the end: `String(contentsOfFile:)` takes one read of a procfs file, 4 KiB of the table.
    let fd = open("/proc/net/tcp", O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { return nil }
        if n == 0 { break }
        bytes += chunk[..<n]
    }
    let table = String(decoding: bytes, as: UTF8.self)
    let remote = String(format: "0100007F:%04X", port)
    return table.split(separator: "\n").dropFirst().filter { line in
        let fields = line.split(separator: " ")
        return fields.count > 3 && fields[2] == remote && (!establishedOnly || fields[3] == "01")
    }.count
}

@Suite(.serialized) struct ReplaySenderTests {
    static let cases: [(ReplayTarget.Scheme, ListenerKind)] = [
        (.otlpHTTP, .otlpHTTP), (.jaegerUDP, .jaegerCompact), (.zipkin, .zipkinHTTP), (.otlpGRPC, .otlpGRPC),
    ]

    @Test("each target reaches an in-process receiver: every span exactly once, ids, parents, services",
          arguments: [0, 1, 2, 3])
    func reachesReceiver(caseIndex: Int) async throws {
        let (scheme, kind) = Self.cases[caseIndex]
        let running = try await RunningServer.start([kind])
        let spans = replaySpans(count: 3_000)
        let port = running.port(kind)
        let connectionsBefore = tcpConnections(toPort: port, establishedOnly: false)
        let threaded = ThreadedSender(try ReplaySender(url: "\(scheme.rawValue)://127.0.0.1:\(port)"))
        let sender = threaded.sender
        // Three calls, as a replay loop sends what is due: keep-alive reuses the connection.
        for part in [spans[0..<1], spans[1..<1_800], spans[1_800...]] {
            #expect(await threaded.send(Array(part)) == nil)
        }
        #expect(sender.stats.spansSent == spans.count && sender.stats.errors == 0)
        #expect(sender.stats.connections == 1)  // keep-alive, one HTTP/2 connection (and one connected UDP socket)
        if scheme == .jaegerUDP {
            #expect(sender.stats.messages >= 2)  // one resource's 2,000 spans do not fit one datagram
        }
        if scheme == .otlpGRPC {
            // At most 1,000 spans a call, as over HTTP: 1, then 1,000 + 799, then 1,000 + 200.
            #expect(sender.stats.messages == 5)
            #expect(running.counters.snapshot()[.otlpGRPC].received == 5)
            // One connection for all five calls, as the kernel sees it, not only as the sender counts.
            #if os(Linux)
            let before = try #require(connectionsBefore), after = try #require(tcpConnections(toPort: port, establishedOnly: false))
            #expect(after - before <= 1)
            #expect(tcpConnections(toPort: port, establishedOnly: true) == 1)
            #endif
        }
        #expect(await eventually { running.sink.count >= spans.count })
        try await Task.sleep(for: .milliseconds(50))  // nothing more arrives
        let got = running.sink.all
        #expect(got.count == spans.count)
        #expect(shape(got) == shape(spans))
        if scheme != .zipkin {  // Zipkin has no links
            #expect(got.first { $0.spanID == spans[3].spanID }?.links.first?.traceID == spans[0].traceID)
        }
        await threaded.close()
        await running.server.shutdown()
    }

    @Test("newIDs: one new id per trace, shared by its spans and the links to it, over the wire", arguments: [0, 1, 2, 3])
    func newIDs(caseIndex: Int) async throws {
        let (scheme, kind) = Self.cases[caseIndex]
        let running = try await RunningServer.start([kind])
        let spans = replaySpans(count: 300)
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: scheme, host: "127.0.0.1", port: running.port(kind)),
                                                   newIDs: true))
        let sender = threaded.sender
        #expect(await threaded.send(spans) == nil)
        #expect(await eventually { running.sink.count >= spans.count })
        let got = running.sink.all
        #expect(got.count == spans.count)
        let bySpan = Dictionary(got.map { ($0.spanID, $0) }, uniquingKeysWith: { a, _ in a })
        var mapping: [TraceID: TraceID] = [:]
        for original in spans {
            guard let received = bySpan[original.spanID] else {
                Issue.record("span \(original.spanID) not received")
                continue
            }
            #expect(received.traceID != original.traceID)
            #expect(received.parentSpanID == original.parentSpanID)
            if let earlier = mapping[original.traceID] {
                #expect(earlier == received.traceID)  // consistent within the trace
            }
            mapping[original.traceID] = received.traceID
        }
        #expect(Set(mapping.values).count == Set(spans.map(\.traceID)).count)  // distinct traces stay distinct
        if scheme != .zipkin {
            #expect(bySpan[spans[3].spanID]?.links.first?.traceID == mapping[spans[0].traceID])
        }
        // Sent again after rekey(): a second, different copy.
        sender.rekey()
        #expect(await threaded.send(spans) == nil)
        #expect(await eventually { running.sink.count >= 2 * spans.count })
        #expect(Set(running.sink.all.map(\.traceID)).count == 2 * mapping.count)
        await threaded.close()
        await running.server.shutdown()
    }

    @Test("bad URLs: clear errors; a missing port takes the protocol's default")
    func urls() throws {
        #expect(throws: ReplayTargetError.unknownScheme("http")) { try ReplayTarget(parsing: "http://localhost:4318") }
        #expect(throws: ReplayTargetError.notAURL("localhost:4318")) { try ReplayTarget(parsing: "localhost:4318") }
        #expect(throws: ReplayTargetError.missingHost("zipkin://:9411")) { try ReplayTarget(parsing: "zipkin://:9411") }
        #expect(throws: ReplayTargetError.badPort("99999")) { try ReplayTarget(parsing: "jaeger-udp://h:99999") }
        #expect(throws: ReplayTargetError.badPort("x")) { try ReplayTarget(parsing: "jaeger-udp://h:x") }
        #expect(throws: ReplayTargetError.unexpectedPath("otlp-http://h:4318/v1/traces")) {
            try ReplayTarget(parsing: "otlp-http://h:4318/v1/traces")
        }
        #expect(ReplayTargetError.unknownScheme("http").description
            == "unknown scheme \"http\": use one of otlp-http://HOST[:PORT], otlp-grpc://HOST[:PORT], jaeger-udp://HOST[:PORT], zipkin://HOST[:PORT]")
        #expect(try ReplayTarget(parsing: "otlp-http://collector") == ReplayTarget(scheme: .otlpHTTP, host: "collector", port: 4318))
        #expect(try ReplayTarget(parsing: "otlp-grpc://collector") == ReplayTarget(scheme: .otlpGRPC, host: "collector", port: 4317))
        #expect(try ReplayTarget(parsing: "OTLP-GRPC://[::1]:14317").description == "otlp-grpc://[::1]:14317")
        #expect(try ReplayTarget(parsing: "jaeger-udp://agent/").port == 6831)
        #expect(try ReplayTarget(parsing: "ZIPKIN://z").port == 9411)
        let v6 = try ReplayTarget(parsing: "otlp-http://[::1]:4000")
        #expect(v6.host == "::1" && v6.port == 4000 && v6.description == "otlp-http://[::1]:4000")
        #expect(try ReplayTarget(parsing: "jaeger-udp://[::1]").port == 6831)
    }

    @Test("a closed TCP port is an error with the reason, counted", arguments: [0, 2, 3])
    func closedTCPPort(caseIndex: Int) async throws {
        let (scheme, kind) = Self.cases[caseIndex]
        let port = try closedPort(udp: false)
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: scheme, host: "127.0.0.1", port: port)))
        let sender = threaded.sender
        let spans = replaySpans(count: 6)
        let error = await threaded.send(spans)
        #expect(error == .cannotConnect(address: "127.0.0.1:\(port) (tcp)", reason: "Connection refused"))
        #expect(sender.stats.errors == 1 && sender.stats.spansFailed == 6 && sender.stats.spansSent == 0)
        #expect(sender.stats.lastError?.description == "cannot connect to 127.0.0.1:\(port) (tcp): Connection refused")
        // Still nothing there: the next send says so again (gRPC: the same connection, retrying by itself).
        #expect(await threaded.send(spans) == error)
        #expect(sender.stats.errors == 2 && sender.stats.spansFailed == 12)
        if scheme == .otlpGRPC {
            #expect(sender.stats.connections == 1)
        }
        await threaded.close()
        _ = kind
    }

    @Test("otlp-grpc: a host that does not resolve is said as for the other schemes")
    func unresolvableGRPCHost() async throws {
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: .otlpGRPC, host: "no-such-host.invalid", port: 4317)))
        guard case .cannotResolve(let host, let reason)? = await threaded.send(replaySpans(count: 2)) else {
            Issue.record("expected cannotResolve, got \(String(describing: threaded.sender.stats.lastError))")
            return
        }
        #expect(host == "no-such-host.invalid" && !reason.isEmpty)
        #expect(threaded.sender.stats.spansFailed == 2 && threaded.sender.stats.connections == 0)
    }

    @Test("otlp-grpc: a status other than OK is an error with the status and the receiver's message; the connection goes on")
    func grpcStatusError() async throws {
        let running = try await RunningServer.start([.otlpGRPC], maxBodyBytes: 1_000)
        let port = running.port(.otlpGRPC)
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: .otlpGRPC, host: "127.0.0.1", port: port)))
        let error = await threaded.send(replaySpans(count: 300))
        guard case .grpcStatus(let address, let code, let name, let message)? = error else {
            Issue.record("expected grpcStatus, got \(String(describing: error))")
            return
        }
        #expect(address == "127.0.0.1:\(port) (tcp)")
        #expect(code == 8 && name == "RESOURCE_EXHAUSTED" && !message.isEmpty)
        #expect(error?.description.hasPrefix("gRPC call to 127.0.0.1:\(port) (tcp) ended with RESOURCE_EXHAUSTED (8): ") == true)
        #expect(threaded.sender.stats.spansFailed == 300 && threaded.sender.stats.errors == 1)
        // The next small call goes through on the same connection.
        #expect(await threaded.send(replaySpans(count: 1)) == nil)
        #expect(threaded.sender.stats.connections == 1 && threaded.sender.stats.spansSent == 1)
        #expect(await eventually { running.sink.count == 1 })
        await threaded.close()
        await running.server.shutdown()
    }

    @Test("otlp-grpc: a receiver that takes the connection and never speaks HTTP/2: DEADLINE_EXCEEDED, and close ends the connection")
    func silentGRPCReceiver() async throws {
        // A listening socket nobody accepts on: the kernel completes the handshake, nothing answers.
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SocketFailure("socket") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw SocketFailure("bind") }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: .otlpGRPC, host: "127.0.0.1", port: port),
                                                   ioTimeoutSeconds: 1))
        let error = await threaded.send(replaySpans(count: 4))
        guard case .grpcStatus(_, let code, let name, _)? = error else {
            Issue.record("expected DEADLINE_EXCEEDED, got \(String(describing: error))")
            return
        }
        #expect(code == 4 && name == "DEADLINE_EXCEEDED")
        #expect(threaded.sender.stats.spansFailed == 4 && threaded.sender.stats.errors == 1)
        // The graceful close cannot finish on a connection without its preface: it is cut short.
        await threaded.close()
        #if os(Linux)
        #expect(await eventually { tcpConnections(toPort: port, establishedOnly: true) == 0 })
        #endif
    }

    @Test("a closed UDP port shows up as refused on a later datagram")
    func closedUDPPort() async throws {
        let port = try closedPort(udp: true)
        let sender = ReplaySender(target: ReplayTarget(scheme: .jaegerUDP, host: "127.0.0.1", port: port))
        let spans = replaySpans(count: 3)
        var refused: ReplaySendError? = nil
        for _ in 0..<20 where refused == nil {
            refused = sender.send(spans)
            try await Task.sleep(for: .milliseconds(10))  // the ICMP port-unreachable comes back
        }
        #expect(refused?.description.contains("Connection refused") == true)
        #expect(sender.stats.errors >= 1)
    }

    @Test("a non-2xx reply is an error with the status and the receiver's message")
    func httpStatusError() async throws {
        let running = try await RunningServer.start([.otlpHTTP], maxBodyBytes: 1_000)
        let sender = ReplaySender(target: ReplayTarget(scheme: .otlpHTTP, host: "127.0.0.1", port: running.port(.otlpHTTP)))
        let error = sender.send(replaySpans(count: 300))
        guard case .httpStatus(_, let status, let body)? = error else {
            Issue.record("expected httpStatus, got \(String(describing: error))")
            return
        }
        #expect(status == 413 && !body.isEmpty)
        // The next small request still goes through (reconnecting if the receiver closed).
        #expect(sender.send(replaySpans(count: 1)) == nil)
        #expect(await eventually { running.sink.count == 1 })
        await running.server.shutdown()
    }

    @Test("a receiver with a token: refused (401, UNAUTHENTICATED) without it, taken with it", arguments: [0, 2, 3])
    func bearerToken(caseIndex: Int) async throws {
        let (scheme, kind) = Self.cases[caseIndex]
        let running = try await RunningServer.start([kind], token: BearerToken("t0ken"))
        let threaded = ThreadedSender(ReplaySender(target: ReplayTarget(scheme: scheme, host: "127.0.0.1", port: running.port(kind))))
        let refused = await threaded.send(replaySpans(count: 2))
        switch refused {
        case .httpStatus(_, let status, _)? where scheme != .otlpGRPC:
            #expect(status == 401)
        case .grpcStatus(_, let code, let name, let message)? where scheme == .otlpGRPC:
            #expect(code == 16 && name == "UNAUTHENTICATED" && message.contains("bearer token"))
        default:
            Issue.record("expected a refusal for the missing token, got \(String(describing: refused))")
            return
        }
        threaded.sender.authorization = "Bearer t0ken"
        #expect(await threaded.send(replaySpans(count: 2)) == nil)
        #expect(await eventually { running.sink.count == 2 })
        #expect(running.counters.snapshot()[kind].spansAccepted == 2)
        await threaded.close()
        await running.server.shutdown()
    }

    @Test("an oversized span is dropped and counted, the rest are sent")
    func oversizedSpan() async throws {
        let running = try await RunningServer.start([.jaegerCompact])
        var spans = replaySpans(count: 3)
        spans[1].attributes = [Attribute("blob", .string(String(repeating: "x", count: 70_000)))]
        let sender = ReplaySender(target: ReplayTarget(scheme: .jaegerUDP, host: "127.0.0.1", port: running.port(.jaegerCompact)))
        guard case .spanTooLarge? = sender.send(spans) else {
            Issue.record("expected spanTooLarge")
            return
        }
        #expect(sender.stats.spansSent == 2 && sender.stats.spansFailed == 1)
        #expect(await eventually { running.sink.count == 2 })
        await running.server.shutdown()
    }
}
