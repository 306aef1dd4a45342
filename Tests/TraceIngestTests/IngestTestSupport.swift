#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// Polls `condition` every few milliseconds until it holds or `seconds` pass.
func eventually(seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    await retrying(seconds: seconds, pause: .milliseconds(5)) { condition() }
}

/// Tries `attempt` until it succeeds or `seconds` pass, pausing between
/// tries. The clock is read only right after a try, so a pause that overran
/// (other suites' blocking waits holding both pool threads of a 2-core
/// machine) is followed by one more try, not by giving up untried.
func retrying(seconds: Double, pause: Duration = .milliseconds(20),
              _ attempt: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while true {
        if try await attempt() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: pause)
    }
}

/// Runs a blocking call (a socket read with a long timeout) on a thread of
/// its own. Blocking a thread of the concurrency pool (two on a 2-core
/// machine) can starve what the test waits for: grpc-swift serves its
/// connections in tasks on that same pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        Thread { done.resume(returning: body()) }.start()
    }
}

/// A server with only `kinds` enabled, each on an ephemeral port of 127.0.0.1.
struct RunningServer {
    let server: IngestServer
    let sink: CollectingSink
    let counters: IngestCounters
    let ports: [ListenerKind: Int]

    static func start(_ kinds: [ListenerKind], maxBodyBytes: Int = 16 << 20, maxDecompressedBytes: Int? = nil,
                      token: BearerToken? = nil, limits: ReceiverLimits = ReceiverLimits(),
                      sink extra: (any SpanSink)? = nil) async throws -> RunningServer {
        let sink = CollectingSink()
        let counters = IngestCounters()
        let configuration = IngestConfiguration(
            host: "127.0.0.1", ports: Dictionary(uniqueKeysWithValues: kinds.map { ($0, 0) }),
            maxBodyBytes: maxBodyBytes, maxDecompressedBytes: maxDecompressedBytes, token: token, limits: limits)
        let server = IngestServer(configuration: configuration,
                                  sink: extra.map { FanOutSink([sink, $0]) } ?? sink, counters: counters)
        let bound = try await server.start()
        #expect(bound.map(\.kind) == kinds.sorted())
        for listener in bound { #expect(listener.port > 0) }
        return RunningServer(server: server, sink: sink, counters: counters,
                             ports: Dictionary(uniqueKeysWithValues: bound.map { ($0.kind, $0.port) }))
    }

    func port(_ kind: ListenerKind) -> Int { ports[kind] ?? 0 }
}

// MARK: - Sample spans and payloads

enum Samples {
    static let process = Resource(serviceName: "server-1", attributes: [
        Attribute("service.name", .string("server-1")),
        Attribute("hostname", .string("vm")),
        Attribute("ip", .string("127.0.0.1")),
    ])

    /// Spans that survive a Jaeger round trip (microsecond times), `count` of them in traces of three.
    static func spans(count: Int, seed: UInt64 = 1, resource: Resource = process) -> [Span] {
        (0..<count).map { i in
            let trace = TraceID(high: seed, low: UInt64(i / 3 + 1))
            let id = SpanID(seed << 32 | UInt64(i + 1))
            let parent = i % 3 == 0 ? nil : SpanID(seed << 32 | UInt64(i - i % 3 + 1))
            return Span(traceID: trace, spanID: id, parentSpanID: parent, name: "op-\(i)", kind: .server,
                        startTimeUnixNano: 1_700_000_000_000_000_000 + UInt64(i) * 1_000,
                        durationNano: UInt64(i + 1) * 1_000,
                        attributes: [Attribute("i", .int(Int64(i)))], resource: resource)
        }
    }

    /// `Agent.emitZipkinBatch` with `count` zipkincore spans (service `zipkin-svc`).
    static func emitZipkinBatch(count: Int, type: ThriftMessageType = .oneway) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "emitZipkinBatch", type: type, seqID: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.list, id: 1)
        w.writeListBegin(.struct, count: count)
        for i in 0..<count {
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(0x5151)
            w.writeFieldBegin(.binary, id: 3); w.writeString("zipkin-op-\(i)")
            w.writeFieldBegin(.i64, id: 4); w.writeI64(Int64(100 + i))
            if i > 0 { w.writeFieldBegin(.i64, id: 5); w.writeI64(100) }
            w.writeFieldBegin(.list, id: 6)
            w.writeListBegin(.struct, count: 1)
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(1_000_000 + Int64(i))
            w.writeFieldBegin(.binary, id: 2); w.writeString("sr")
            w.writeFieldBegin(.struct, id: 3)
            w.writeStructBegin()
            w.writeFieldBegin(.i32, id: 1); w.writeI32(0x7F00_0001)
            w.writeFieldBegin(.i16, id: 2); w.writeI16(9000)
            w.writeFieldBegin(.binary, id: 3); w.writeString("zipkin-svc")
            w.writeStructEnd()
            w.writeStructEnd()
            w.writeFieldBegin(.i64, id: 10); w.writeI64(1_000_000 + Int64(i))
            w.writeFieldBegin(.i64, id: 11); w.writeI64(250)
            w.writeStructEnd()
        }
        w.writeStructEnd()
        return w.bytes
    }

    static func zipkinJSON(traceHex: String = "00000000000000000000000000007777", count: Int) -> [UInt8] {
        let items = (0..<count).map { i in
            """
            {"traceId":"\(traceHex)","id":"\(String(format: "%016x", 0x700 + i))",\
            \(i > 0 ? "\"parentId\":\"0000000000000700\"," : "")"name":"z-\(i)","timestamp":1700000000000000,\
            "duration":\(10 + i),"kind":"SERVER","localEndpoint":{"serviceName":"zipkin-http-svc"}}
            """
        }
        return Array(("[" + items.joined(separator: ",") + "]").utf8)
    }
}

/// Same spans by (trace, span) id; reports the first difference.
func expectSameSpans(_ got: [Span], _ expected: [Span], sourceLocation: SourceLocation = #_sourceLocation) {
    func sorted(_ s: [Span]) -> [Span] {
        s.sorted { ($0.traceID, $0.spanID) < ($1.traceID, $1.spanID) }
    }
    let a = sorted(got), b = sorted(expected)
    #expect(a.count == b.count, "got \(a.count) spans, expected \(b.count)", sourceLocation: sourceLocation)
    if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        Issue.record("span \(i) differs:\n got      \(a[i])\n expected \(b[i])", sourceLocation: sourceLocation)
    }
}

func ids(_ spans: [Span]) -> Set<String> {
    Set(spans.map { "\($0.traceID.hex)/\($0.spanID.hex)" })
}

// MARK: - Raw sockets (the client side of live tests)

struct SocketFailure: Error, CustomStringConvertible {
    var description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}

func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// A plain UDP socket sending datagrams to 127.0.0.1.
final class UDPSender {
    let fd: Int32

    init() throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw SocketFailure("socket") }
    }

    deinit { close(fd) }

    func send(_ datagram: [UInt8], to port: Int) throws {
        var address = loopback(port: port)
        let sent = datagram.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == datagram.count else { throw SocketFailure("sendto") }
    }
}

struct HTTPResult {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal blocking HTTP/1.1 client over one TCP connection (5 s timeouts unless told),
/// used by one thread at a time (a test hands it to `offPool` and awaits), hence @unchecked.
final class RawHTTPConnection: @unchecked Sendable {
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 5) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SocketFailure("socket") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw SocketFailure("connect")
        }
    }

    deinit { close(fd) }

    static func request(_ path: String, method: String = "POST", contentType: String?, encoding: String? = nil,
                        body: [UInt8], headers: [(String, String)] = [], contentLength: Int? = nil) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if let encoding { head += "Content-Encoding: \(encoding)\r\n" }
        head += "Content-Length: \(contentLength ?? body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { raw in Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SocketFailure("send") }
            offset += n
        }
    }

    /// Reads one response (Content-Length framed).
    func readResponse() throws -> HTTPResult {
        while true {
            if let end = headerEnd() {
                let headText = String(decoding: pending[..<end], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw SocketFailure("bad status line \(headText)") }
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
                let bodyStart = end + 4
                while pending.count < bodyStart + length { try fill() }
                let body = Array(pending[bodyStart..<(bodyStart + length)])
                pending.removeFirst(bodyStart + length)
                return HTTPResult(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// True when the server closed the connection (reads EOF within the timeout).
    func readsEOF() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    /// True when the server closed the connection, whatever it sent first
    /// (an HTTP/2 server's SETTINGS): reads to EOF or a reset within the timeout.
    func readsToClose() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            return n == 0 || errno == ECONNRESET
        }
    }

    func roundTrip(_ request: [UInt8]) throws -> HTTPResult {
        try send(request)
        return try readResponse()
    }

    private func headerEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4) where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw SocketFailure(n == 0 ? "connection closed" : "recv") }
        pending.append(contentsOf: chunk[..<n])
    }
}

/// One request on a fresh connection.
func post(port: Int, _ path: String, contentType: String?, encoding: String? = nil, body: [UInt8],
          method: String = "POST") throws -> HTTPResult {
    let connection = try RawHTTPConnection(port: port)
    return try connection.roundTrip(RawHTTPConnection.request(path, method: method, contentType: contentType, encoding: encoding, body: body))
}
