#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TraceFormats
import TraceModel

/// Why a send failed. A refused connection is one of these (with the
/// system's reason), never a crash.
public enum ReplaySendError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotResolve(host: String, reason: String)
    case cannotConnect(address: String, reason: String)
    case sendFailed(address: String, reason: String)
    case receiveFailed(address: String, reason: String)
    case badResponse(address: String, reason: String)
    /// A non-2xx HTTP status, with the start of the body.
    case httpStatus(address: String, status: Int, body: String)
    /// A gRPC status other than OK: its number, its name (`UNAUTHENTICATED`) and the receiver's message.
    case grpcStatus(address: String, code: Int, name: String, message: String)
    /// One span encodes larger than a datagram may be (dropped, as jaeger clients do).
    case spanTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .cannotResolve(let host, let reason): return "cannot resolve \(host): \(reason)"
        case .cannotConnect(let address, let reason): return "cannot connect to \(address): \(reason)"
        case .sendFailed(let address, let reason): return "sending to \(address) failed: \(reason)"
        case .receiveFailed(let address, let reason): return "reading the reply from \(address) failed: \(reason)"
        case .badResponse(let address, let reason): return "bad reply from \(address): \(reason)"
        case .httpStatus(let address, let status, let body):
            return "\(address) answered \(status)" + (body.isEmpty ? "" : ": \(body)")
        case .grpcStatus(let address, let code, let name, let message):
            // Not "answered": grpc-swift itself ends calls with some statuses (UNAVAILABLE, DEADLINE_EXCEEDED).
            return "gRPC call to \(address) ended with \(name) (\(code))" + (message.isEmpty ? "" : ": \(message)")
        case .spanTooLarge(let bytes, let limit): return "a span of \(bytes) bytes does not fit a \(limit)-byte datagram"
        }
    }
}

/// What a sender has done so far.
public struct ReplaySendStats: Sendable, Equatable {
    /// Spans the receiver accepted (HTTP 2xx, gRPC OK) or that went out in a datagram
    /// (UDP has no acknowledgement).
    public var spansSent = 0
    /// Spans in requests or datagrams that failed, and spans too large to send.
    public var spansFailed = 0
    /// HTTP requests, gRPC calls or UDP datagrams attempted.
    public var messages = 0
    /// Body bytes written (for gRPC the encoded messages, before HTTP/2 framing).
    public var bytes = 0
    /// Connections opened (HTTP keep-alive keeps this at 1 while the receiver allows; gRPC
    /// keeps one HTTP/2 connection, which grpc-swift itself reconnects after a failure).
    public var connections = 0
    /// Failed requests, datagrams and oversized spans.
    public var errors = 0
    /// The most recent failure, for the status line.
    public var lastError: ReplaySendError?

    public init() {}
}

/// Sends spans to another receiver as a tracer would: OTLP/HTTP protobuf,
/// OTLP/gRPC, Jaeger agent UDP (Thrift compact `emitBatch`) or Zipkin v2 JSON.
///
/// Blocking POSIX sockets: one connection (HTTP/1.1 keep-alive) or one
/// connected UDP socket, owned by the one task or thread that replays. Not
/// `Sendable` on purpose: it holds a socket and a buffer; hand it to one
/// task (it can be `sending`-transferred) and call it from there. Each call
/// blocks at most `ioTimeoutSeconds` per request, so a replay driver should
/// run it off the UI thread (e.g. its own `Thread` or a detached task).
///
/// OTLP/gRPC keeps one HTTP/2 connection in grpc-swift's hands for the
/// whole replay and waits for each call's answer (`BlockingGRPCExporter`):
/// for that scheme `send` and `close` must not run on a Swift concurrency
/// pool thread (the main thread or a `Thread` of its own, as `replay --to`).
///
/// Errors are counted in `stats` and returned, and the sender stays usable:
/// the next call reconnects.
public final class ReplaySender {
    public let target: ReplayTarget
    /// Spans per HTTP request or gRPC call: bounds one body (OTLP protobuf ~200 bytes a span).
    public let maxSpansPerRequest: Int
    /// The largest datagram (Jaeger agents read at most 65,000 bytes).
    public let maxDatagramBytes: Int
    public let ioTimeoutSeconds: Int
    /// Rewrites trace ids when set (`newIDs`): see `TraceIDRewriter`.
    public private(set) var rewriter: TraceIDRewriter?
    public private(set) var stats = ReplaySendStats()

    private var socket: Int32 = -1
    /// otlp-grpc: the one connection, opened by the first send.
    private var grpc: BlockingGRPCExporter?
    /// Requests sent on the current connection: a reused connection the
    /// server closed while idle is retried once on a fresh one.
    private var requestsOnConnection = 0
    /// Each client's own `seqNo` sequence: a receiver tracks them per client
    /// (service and host, from the process tags), so one per Resource; a
    /// shared counter would look like lost batches.
    private var seqNos: [Resource: Int64] = [:]
    /// `Bearer <token>` for HTTP and gRPC targets that want one (`TRACETTY_TOKEN`); UDP cannot carry it.
    public var authorization: String?
    /// Bounded read buffer for HTTP replies.
    private var readBuffer: [UInt8] = []
    private static let maxReplyHeadBytes = 64 << 10

    /// `newIDs`: give every trace a new random id (consistent within one sender until `rekey()`).
    public init(target: ReplayTarget, newIDs: Bool = false, maxSpansPerRequest: Int = 1_000,
                maxDatagramBytes: Int = 65_000, ioTimeoutSeconds: Int = 5) {
        self.target = target
        self.rewriter = newIDs ? TraceIDRewriter() : nil
        self.maxSpansPerRequest = max(1, maxSpansPerRequest)
        self.maxDatagramBytes = min(max(512, maxDatagramBytes), 65_507)
        self.ioTimeoutSeconds = max(1, ioTimeoutSeconds)
    }

    public convenience init(url: String, newIDs: Bool = false) throws(ReplayTargetError) {
        self.init(target: try ReplayTarget(parsing: url), newIDs: newIDs)
    }

    /// Uses a fixed rewriter (tests), or none.
    public func setRewriter(_ rewriter: TraceIDRewriter?) { self.rewriter = rewriter }

    /// A new random id mapping (call when a loop starts over, so the second
    /// pass does not repeat the first pass's ids). No-op without `newIDs`.
    public func rekey() {
        if rewriter != nil { rewriter = TraceIDRewriter() }
    }

    deinit { if socket >= 0 { _ = posixClose(socket) } }

    /// Closes the connection (gRPC: waits for it to close, a second or two at most).
    public func close() {
        if socket >= 0 { _ = posixClose(socket) }
        socket = -1
        requestsOnConnection = 0
        grpc?.close()
        grpc = nil
    }

    /// Sends `spans` (split into requests or datagrams). Returns the first
    /// error, nil when everything went out; `stats` counts both.
    @discardableResult
    public func send(_ spans: [Span]) -> ReplaySendError? {
        guard !spans.isEmpty else { return nil }
        let outgoing = rewriter.map { r in spans.map { r.rewrite($0) } } ?? spans
        switch target.scheme {
        case .jaegerUDP: return sendDatagrams(outgoing)
        case .otlpHTTP, .otlpGRPC, .zipkin: return sendRequests(outgoing)
        }
    }

    private func fail(_ error: ReplaySendError, spans: Int) -> ReplaySendError {
        stats.errors += 1
        stats.spansFailed += spans
        stats.lastError = error
        return error
    }

    // MARK: HTTP and gRPC

    /// At most `maxSpansPerRequest` spans a request (a gRPC call for otlp-grpc).
    private func sendRequests(_ spans: [Span]) -> ReplaySendError? {
        var first: ReplaySendError? = nil
        var start = 0
        while start < spans.count {
            let end = min(spans.count, start + maxSpansPerRequest)
            let chunk = Array(spans[start..<end])
            start = end
            let body: [UInt8]
            let contentType: String
            switch target.scheme {
            case .otlpHTTP, .otlpGRPC:
                body = OTLPProtobufEncoder.encode(chunk)
                contentType = "application/x-protobuf"
            case .zipkin, .jaegerUDP:
                body = ZipkinJSONEncoder.encode(chunk)
                contentType = "application/json"
            }
            stats.messages += 1
            let error = target.scheme == .otlpGRPC ? export(body: body) : post(body: body, contentType: contentType)
            if let error {
                first = first ?? fail(error, spans: chunk.count)
            } else {
                stats.spansSent += chunk.count
                stats.bytes += body.count
            }
        }
        return first
    }

    /// One Export call on the replay's one gRPC connection (a new one if it ended).
    private func export(body: [UInt8]) -> ReplaySendError? {
        if grpc?.hasEnded == true { grpc = nil }
        if grpc == nil {
            // Resolved here too, so that a name that does not resolve is said as for the other schemes.
            if let error = checkResolves() { return error }
            grpc = BlockingGRPCExporter(host: target.host, port: target.port, address: address)
            stats.connections += 1
        }
        return grpc?.export(body, authorization: authorization, timeoutSeconds: ioTimeoutSeconds)
    }

    /// One POST; retried once on a fresh connection when a reused one turns
    /// out closed (servers drop idle keep-alive connections).
    private func post(body: [UInt8], contentType: String) -> ReplaySendError? {
        let path = target.scheme.path ?? "/"
        let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        let head = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: \(contentType)\r\n"
            + (authorization.map { "Authorization: \($0)\r\n" } ?? "")
            + "Content-Length: \(body.count)\r\nConnection: keep-alive\r\nUser-Agent: tracetty-replay\r\n\r\n"
        var request = Array(head.utf8)
        request.append(contentsOf: body)
        for attempt in 0..<2 {
            if socket < 0, let error = connectSocket(udp: false) { return error }
            let reused = requestsOnConnection > 0
            requestsOnConnection += 1
            switch exchange(request) {
            case .success(let status):
                return status
            case .failure(let error):
                close()
                // Only a reused connection that failed before any reply is retried.
                guard reused, attempt == 0, case .connectionLost = error else { return error.sendError(address: address) }
            }
        }
        return nil
    }

    private enum ExchangeFailure: Error {
        /// Write failed or EOF before the first reply byte.
        case connectionLost(String)
        case other(ReplaySendError)

        func sendError(address: String) -> ReplaySendError {
            switch self {
            case .connectionLost(let reason): return .sendFailed(address: address, reason: reason)
            case .other(let e): return e
            }
        }
    }

    /// Writes the request and reads one reply; success holds nil for a 2xx.
    private func exchange(_ request: [UInt8]) -> Result<ReplaySendError?, ExchangeFailure> {
        var offset = 0
        while offset < request.count {
            let n = request[offset...].withUnsafeBytes { raw in
                posixSend(socket, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(.connectionLost(Self.reason(errno))) }
            offset += n
        }
        readBuffer.removeAll(keepingCapacity: true)
        // Head.
        var headEnd: Int? = nil
        var scanned = 0
        while headEnd == nil {
            if readBuffer.count > Self.maxReplyHeadBytes {
                return .failure(.other(.badResponse(address: address, reason: "reply head larger than 64 KiB")))
            }
            if let reason = fill() {
                return .failure(readBuffer.isEmpty ? .connectionLost(reason)
                                                   : .other(.receiveFailed(address: address, reason: reason)))
            }
            headEnd = Self.find(crlfcrlfIn: readBuffer, from: max(0, scanned - 3))
            scanned = readBuffer.count
        }
        guard let headEnd else { return .failure(.other(.badResponse(address: address, reason: "no reply head"))) }
        let head = String(decoding: readBuffer[..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).makeIterator()
        let statusParts = (lines.next() ?? "").split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            return .failure(.other(.badResponse(address: address, reason: "not an HTTP/1 status line")))
        }
        var contentLength: Int? = nil
        var chunked = false
        var closeAfter = statusParts[0] == "HTTP/1.0"
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingPrefix(" ").lowercased()
            switch name {
            case "content-length": contentLength = Int(value)
            case "transfer-encoding": chunked = value.contains("chunked")
            case "connection": closeAfter = value.contains("close") ? true : (value.contains("keep-alive") ? false : closeAfter)
            default: break
            }
        }
        readBuffer.removeFirst(headEnd + 4)
        // Body: kept up to 512 bytes for the error message, the rest discarded.
        var snippet: [UInt8] = []
        let bodyResult: Result<Void, ExchangeFailure>
        if chunked {
            bodyResult = readChunked(&snippet)
        } else if let contentLength {
            bodyResult = readExactly(contentLength, &snippet)
        } else if status == 204 || status == 304 || (100..<200).contains(status) {
            bodyResult = .success(())
        } else {
            bodyResult = readToEOF(&snippet)
            closeAfter = true
        }
        if case .failure(let f) = bodyResult { return .failure(f) }
        if closeAfter { close() }
        if (200..<300).contains(status) { return .success(nil) }
        let text = String(decoding: snippet, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return .success(.httpStatus(address: address, status: status, body: text))
    }

    private static func find(crlfcrlfIn bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= 4, from <= bytes.count - 4 else { return nil }
        for i in from...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Appends what one recv gives to `readBuffer`; the reason on EOF or error.
    private func fill() -> String? {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { return "connection closed by the receiver" }
            if n < 0 {
                return errno == EAGAIN || errno == EWOULDBLOCK ? "no reply within \(ioTimeoutSeconds) s" : Self.reason(errno)
            }
            readBuffer.append(contentsOf: chunk[..<n])
            return nil
        }
    }

    private func take(_ count: Int, into snippet: inout [UInt8]) {
        let room = max(0, 512 - snippet.count)
        snippet.append(contentsOf: readBuffer[..<min(count, room)])
        readBuffer.removeFirst(count)
    }

    private func readExactly(_ length: Int, _ snippet: inout [UInt8]) -> Result<Void, ExchangeFailure> {
        var remaining = max(0, length)
        while remaining > 0 {
            if readBuffer.isEmpty, let reason = fill() {
                return .failure(.other(.receiveFailed(address: address, reason: reason)))
            }
            let n = min(remaining, readBuffer.count)
            take(n, into: &snippet)
            remaining -= n
        }
        return .success(())
    }

    private func readToEOF(_ snippet: inout [UInt8]) -> Result<Void, ExchangeFailure> {
        while true {
            take(readBuffer.count, into: &snippet)
            if fill() != nil { return .success(()) }
        }
    }

    private func readChunked(_ snippet: inout [UInt8]) -> Result<Void, ExchangeFailure> {
        while true {
            var lineEnd: Int? = nil
            while lineEnd == nil {
                lineEnd = readBuffer.firstIndex(of: 10)
                if lineEnd == nil {
                    guard readBuffer.count < 1024, fill() == nil else {
                        return .failure(.other(.badResponse(address: address, reason: "bad chunked body")))
                    }
                }
            }
            guard let lineEnd else { return .success(()) }
            let sizeText = String(decoding: readBuffer[..<lineEnd], as: UTF8.self)
                .split(separator: ";").first.map { $0.filter { !$0.isWhitespace } } ?? ""
            readBuffer.removeFirst(lineEnd + 1)
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                return .failure(.other(.badResponse(address: address, reason: "bad chunk size")))
            }
            if size == 0 {
                // Trailers, then the empty line.
                var discard: [UInt8] = []
                return readTrailers(&discard)
            }
            if case .failure(let f) = readExactly(size + 2, &snippet) { return .failure(f) }
        }
    }

    private func readTrailers(_ discard: inout [UInt8]) -> Result<Void, ExchangeFailure> {
        while true {
            if let nl = readBuffer.firstIndex(of: 10) {
                let empty = nl <= 1
                readBuffer.removeFirst(nl + 1)
                if empty { return .success(()) }
                continue
            }
            guard readBuffer.count < 8192, fill() == nil else {
                return .failure(.other(.badResponse(address: address, reason: "bad chunked trailer")))
            }
        }
    }

    // MARK: UDP

    /// Spans grouped by resource (the Jaeger Process), packed into
    /// `emitBatch` datagrams of at most `maxDatagramBytes`, each with the next seqNo.
    private func sendDatagrams(_ spans: [Span]) -> ReplaySendError? {
        if socket < 0, let error = connectSocket(udp: true) { return fail(error, spans: spans.count) }
        var first: ReplaySendError? = nil
        var groups: [(resource: Resource, spans: [Span])] = []
        var index: [Resource: Int] = [:]
        for span in spans {
            if let last = groups.indices.last, groups[last].resource === span.resource {
                groups[last].spans.append(span)
            } else if let i = index[span.resource] {
                groups[i].spans.append(span)
            } else {
                index[span.resource] = groups.count
                groups.append((span.resource, [span]))
            }
        }
        for group in groups {
            // The largest seqNo's varint and a 5-byte list header: a bound, not a guess.
            let overhead = JaegerThriftEncoder.emitBatchOverhead(process: group.resource, seqNo: Int64.max) + 5
            let budget = maxDatagramBytes - overhead
            var batch: [[UInt8]] = []
            var batchBytes = 0
            func flush() {
                guard !batch.isEmpty else { return }
                // Bounded: past 100,000 processes a new one starts its sequence afresh (the old ones are kept).
                let seqNo = (seqNos[group.resource] ?? 0) &+ 1
                if seqNos.count < 100_000 || seqNos[group.resource] != nil { seqNos[group.resource] = seqNo }
                let datagram = JaegerThriftEncoder.emitBatch(process: group.resource, encodedSpans: batch,
                                                             seqNo: seqNo, messageType: .oneway)
                stats.messages += 1
                if let error = sendDatagram(datagram) {
                    first = first ?? fail(error, spans: batch.count)
                } else {
                    stats.spansSent += batch.count
                    stats.bytes += datagram.count
                }
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
            for span in group.spans {
                let encoded = JaegerThriftEncoder.encodeSpan(span)
                if encoded.count > budget {
                    first = first ?? fail(.spanTooLarge(bytes: encoded.count + overhead, limit: maxDatagramBytes), spans: 1)
                    continue
                }
                if batchBytes + encoded.count > budget { flush() }
                batch.append(encoded)
                batchBytes += encoded.count
            }
            flush()
        }
        return first
    }

    private func sendDatagram(_ datagram: [UInt8]) -> ReplaySendError? {
        while true {
            let n = datagram.withUnsafeBytes { posixSend(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n == datagram.count { return nil }
            let code = errno
            let reason = n < 0 ? Self.reason(code) : "short write (\(n) of \(datagram.count) bytes)"
            return .sendFailed(address: address, reason: reason + (n < 0 && code == ECONNREFUSED ? " (nothing listening)" : ""))
        }
    }

    // MARK: sockets

    private var address: String {
        let transport = target.scheme == .jaegerUDP ? "udp" : "tcp"
        return "\(target.host.contains(":") ? "[\(target.host)]" : target.host):\(target.port) (\(transport))"
    }

    private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The host resolves (gRPC: grpc-swift resolves it again to connect, and tries every address).
    private func checkResolves() -> ReplaySendError? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0, list != nil else {
            return .cannotResolve(host: target.host, reason: String(cString: gai_strerror(status)))
        }
        freeaddrinfo(list)
        return nil
    }

    /// Resolves the host and connects (UDP too: a connected UDP socket
    /// reports a refused port on a later send). Tries every address.
    private func connectSocket(udp: Bool) -> ReplaySendError? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM
        #else
        hints.ai_socktype = Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0, let head = list else {
            return .cannotResolve(host: target.host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = head
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = posixSocket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastErrno = errno; continue }
            // Linux applies SO_SNDTIMEO to connect too: a silent host cannot hang us.
            var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if udp {
                var size: Int32 = 4 << 20
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            } else {
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if posixConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                socket = fd
                requestsOnConnection = 0
                stats.connections += 1
                return nil
            }
            lastErrno = errno
            _ = posixClose(fd)
        }
        return .cannotConnect(address: address, reason: Self.reason(lastErrno))
    }
}

// File-scope wrappers: inside `ReplaySender` the names `send`, `close` and
// `socket` are its own members, and a module-qualified call would tie this
// file to Glibc.
private func posixSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    send(fd, bytes, count, flags)
}

private func posixClose(_ fd: Int32) -> Int32 { close(fd) }

private func posixSocket(_ family: Int32, _ type: Int32, _ proto: Int32) -> Int32 { socket(family, type, proto) }

private func posixConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
