import NIOCore
import NIOHTTP1
import TraceFormats
import TraceModel

/// What an HTTP receiver does with a body, decided from the request head.
enum HTTPBodyFormat: Equatable {
    case jaegerThrift(ThriftProtocolKind)
    case otlpProtobuf
    case otlpJSON
    case zipkinJSON
}

/// The one route each HTTP listener serves and the media types it takes.
enum HTTPRoute {
    static func path(for kind: ListenerKind) -> String {
        switch kind {
        case .jaegerCollector: return "/api/traces"
        case .otlpHTTP: return "/v1/traces"
        case .zipkinHTTP: return "/api/v2/spans"
        case .jaegerCompact, .jaegerBinary, .zipkinCompact, .otlpGRPC: return ""
        }
    }

    /// nil: 415. `mediaType` is lowercased, without parameters; nil when absent.
    static func format(for kind: ListenerKind, mediaType: String?) -> HTTPBodyFormat? {
        switch (kind, mediaType) {
        case (.jaegerCollector, "application/x-thrift"?), (.jaegerCollector, "application/vnd.apache.thrift.binary"?):
            return .jaegerThrift(.binary)
        case (.jaegerCollector, "application/vnd.apache.thrift.compact"?):
            return .jaegerThrift(.compact)
        case (.otlpHTTP, "application/x-protobuf"?), (.otlpHTTP, "application/protobuf"?):
            return .otlpProtobuf
        case (.otlpHTTP, "application/json"?):
            return .otlpJSON
        case (.zipkinHTTP, "application/json"?), (.zipkinHTTP, nil):
            // Zipkin's own server takes a body without a content type as JSON.
            return .zipkinJSON
        default:
            return nil
        }
    }

    static func accepted(for kind: ListenerKind) -> String {
        switch kind {
        case .jaegerCollector: return "application/x-thrift, application/vnd.apache.thrift.binary"
        case .otlpHTTP: return "application/x-protobuf, application/json"
        case .zipkinHTTP: return "application/json"
        case .jaegerCompact, .jaegerBinary, .zipkinCompact, .otlpGRPC: return ""
        }
    }

    static func mediaType(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "content-type") else { return nil }
        let media = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = media.trimmingSpaces().lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }
}

struct HTTPReply {
    var status: HTTPResponseStatus
    var contentType: String?
    var body: [UInt8]
    var extraHeaders: [(String, String)] = []

    static func text(_ status: HTTPResponseStatus, _ message: String) -> HTTPReply {
        // One line, whatever the decoder's message held.
        let line = message.map { $0 == "\n" || $0 == "\r" ? " " : $0 }
        return HTTPReply(status: status, contentType: "text/plain; charset=utf-8", body: Array(String(line).utf8) + [0x0A])
    }
}

/// Settings an HTTP receiver needs, shared by all its connections.
struct HTTPReceiverSettings: Sendable {
    var kind: ListenerKind
    var maxBodyBytes: Int
    var maxDecompressedBytes: Int
    /// Shared by every receiver's bodies inflating at once.
    var inflationBudget: InflationBudget? = nil
    var token: BearerToken? = nil
    var limits = ReceiverLimits()
    var sink: any SpanSink
    var counters: IngestCounters
}

/// One HTTP/1.1 connection of a receiver (last in `HTTPReceiverPipeline`).
/// Bodies accumulate up to `maxBodyBytes` (a larger Content-Length is refused
/// up front), are gunzipped within `maxDecompressedBytes`, then decoded on the
/// event loop; keep-alive and pipelining are handled by NIO's pipeline handler.
final class HTTPIngestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// After an early 413 the rest of the body is read and thrown away (so the
    /// client sees the answer instead of a reset), up to this many bytes.
    static let maxDiscardBytes = 64 << 20

    private enum State {
        case idle
        case collecting(head: HTTPRequestHead, format: HTTPBodyFormat, gzip: Bool, body: [UInt8])
        /// The reply is sent at `.end`, or was already sent (nil).
        case discarding(head: HTTPRequestHead, reply: HTTPReply?, discarded: Int)
    }

    private let settings: HTTPReceiverSettings
    private var state = State.idle
    private var decoder: WireDecoder?
    /// Set once a reply asked for the connection to close.
    private var closing = false

    init(settings: HTTPReceiverSettings) {
        self.settings = settings
    }

    private var kind: ListenerKind { settings.kind }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            begin(context: context, head: head)
        case .body(let buffer):
            receive(context: context, buffer)
        case .end:
            end(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // `HTTPServerProtocolErrorHandler` has answered 400 and closes; count it.
        if error is HTTPParserError {
            settings.counters.recordMalformed(kind, reason: IngestReason.badRequest, example: "unparsable HTTP: \(error)")
        }
        context.close(promise: nil)
    }

    // MARK: Request parts

    private func begin(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let expected = HTTPRoute.path(for: kind)
        guard path == expected || path == expected + "/" else {
            refuseAtEnd(head, reason: IngestReason.notFound,
                        .text(.notFound, "no route for \(head.method) \(path): this \(kind.rawValue) listener serves POST \(expected)"))
            return
        }
        guard head.method == .POST else {
            var reply = HTTPReply.text(.methodNotAllowed, "\(head.method) not allowed on \(expected): use POST")
            reply.extraHeaders.append(("Allow", "POST"))
            refuseAtEnd(head, reason: IngestReason.methodNotAllowed, reply)
            return
        }
        if let token = settings.token, !token.matches(authorization: head.headers.first(name: "authorization")) {
            var reply = HTTPReply.text(.unauthorized, "missing or wrong bearer token: send Authorization: Bearer <token>")
            reply.extraHeaders.append(("WWW-Authenticate", "Bearer"))
            refuseAtEnd(head, reason: IngestReason.unauthorized, reply)
            return
        }
        let mediaType = HTTPRoute.mediaType(head.headers)
        guard let format = HTTPRoute.format(for: kind, mediaType: mediaType) else {
            refuseAtEnd(head, reason: IngestReason.unsupportedMediaType,
                        .text(.unsupportedMediaType, "unsupported content type \"\(mediaType ?? "")\": \(kind.rawValue) takes \(HTTPRoute.accepted(for: kind))"))
            return
        }
        var gzip = false
        for encoding in head.headers[canonicalForm: "content-encoding"] {
            switch encoding.lowercased() {
            case "gzip", "x-gzip": gzip = true
            case "identity", "": break
            default:
                refuseAtEnd(head, reason: IngestReason.unsupportedEncoding,
                            .text(.unsupportedMediaType, "unsupported content encoding \"\(encoding)\": use gzip or none"))
                return
            }
        }
        if let declared = head.headers.first(name: "content-length").flatMap({ Int($0.trimmingSpaces()) }),
           declared > settings.maxBodyBytes {
            refuseTooLarge(context: context, head: head, size: "\(declared) bytes (Content-Length)")
            return
        }
        var body: [UInt8] = []
        if let declared = head.headers.first(name: "content-length").flatMap({ Int($0.trimmingSpaces()) }), declared > 0 {
            body.reserveCapacity(declared)
        }
        state = .collecting(head: head, format: format, gzip: gzip, body: body)
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            // curl asks before sending bodies over 1 KiB; without this it waits a second.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
    }

    private func receive(context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        switch state {
        case .idle:
            break
        case .collecting(let head, let format, let gzip, var body):
            if body.count + buffer.readableBytes > settings.maxBodyBytes {
                refuseTooLarge(context: context, head: head, size: "more than \(settings.maxBodyBytes) bytes")
                return
            }
            state = .idle  // let `body` be uniquely referenced while it grows
            body.append(contentsOf: buffer.readableBytesView)
            state = .collecting(head: head, format: format, gzip: gzip, body: body)
        case .discarding(let head, let reply, let discarded):
            let total = discarded + buffer.readableBytes
            if total > Self.maxDiscardBytes {
                state = .idle
                context.close(promise: nil)
                return
            }
            state = .discarding(head: head, reply: reply, discarded: total)
        }
    }

    private func end(context: ChannelHandlerContext) {
        let current = state
        state = .idle
        switch current {
        case .idle:
            break
        case .collecting(let head, let format, let gzip, let body):
            let reply = handle(body: body, format: format, gzip: gzip)
            send(context: context, head: head, reply, close: false)
        case .discarding(let head, let reply, _):
            if let reply {
                send(context: context, head: head, reply, close: false)
            } else if closing {
                context.close(promise: nil)
            }
        }
    }

    /// Answers once the request's body has been read (and thrown away).
    private func refuseAtEnd(_ head: HTTPRequestHead, reason: String, _ reply: HTTPReply) {
        settings.counters.recordMalformed(kind, reason: reason, example: "\(head.method) \(head.uri): \(reply.status.code) \(bodyText(reply))")
        state = .discarding(head: head, reply: reply, discarded: 0)
    }

    /// Answers 413 now and closes the connection once the body is over.
    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead, size: String) {
        let reply = HTTPReply.text(.payloadTooLarge, "body of \(size) exceeds the limit of \(settings.maxBodyBytes) bytes")
        settings.counters.recordMalformed(kind, reason: IngestReason.tooLarge, example: "\(head.method) \(head.uri): \(bodyText(reply))")
        state = .discarding(head: head, reply: nil, discarded: 0)
        send(context: context, head: head, reply, close: true)
    }

    private func bodyText(_ reply: HTTPReply) -> String {
        String(decoding: reply.body.prefix(while: { $0 != 0x0A }), as: UTF8.self)
    }

    // MARK: Bodies

    private func handle(body raw: [UInt8], format: HTTPBodyFormat, gzip: Bool) -> HTTPReply {
        let decoder = self.decoder ?? WireDecoder()
        self.decoder = decoder
        let outcome = HTTPBodyIngest.decode(raw, format: format, gzip: gzip,
                                            maxDecompressedBytes: settings.maxDecompressedBytes,
                                            inflationBudget: settings.inflationBudget, decoder: decoder)
        switch outcome.result {
        case .refused(let reason, let example):
            settings.counters.recordMalformed(kind, reason: reason, example: example, bytes: raw.count)
        case .accepted(let spans, let delta):
            if !spans.isEmpty { settings.sink.accept(spans, from: kind) }
            settings.counters.commit(kind, delta)
        }
        return outcome.reply
    }

    // MARK: Replies

    private func send(context: ChannelHandlerContext, head request: HTTPRequestHead, _ reply: HTTPReply, close: Bool) {
        let keepAlive = request.isKeepAlive && !close
        if close { closing = true }
        var headers = HTTPHeaders()
        if let contentType = reply.contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Content-Length", value: String(reply.body.count))
        for (name, value) in reply.extraHeaders { headers.add(name: name, value: value) }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let version = request.version.major == 1 && request.version.minor == 0 ? HTTPVersion.http1_0 : HTTPVersion.http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: reply.status, headers: headers))), promise: nil)
        if !reply.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive && !close {
            // Not keep-alive (HTTP/1.0, `Connection: close`): the request is over, close now.
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
        // `close` (early 413): closed at the request's `.end`, or when discarding hits its bound.
    }
}

/// OTLP/HTTP `ExportTraceServiceResponse` bodies.
/// An HTTP receiver's body, decoded with no socket: bytes and their format
/// in, the reply and what to do with the spans out. The handler applies it
/// (spans to the sink, counters); tests and fuzzers call it directly.
enum HTTPBodyIngest {
    struct Outcome {
        enum Result {
            /// Spans to hand on and the figures to add (a body may be
            /// accepted with some spans rejected: `delta.rejected`).
            case accepted([Span], ListenerDelta)
            /// Nothing taken: counted as malformed under `reason`, with an example line.
            case refused(reason: String, example: String)
        }

        var reply: HTTPReply
        var result: Result
    }

    /// - Parameters:
    ///   - raw: the body as received (gzip when `gzip` or when it starts like one).
    ///   - maxDecompressedBytes: past it a gzip body is refused with 413.
    ///   - inflationBudget: shared with the bodies inflating at the same
    ///     time; a body that does not fit in what they leave gets 503.
    ///   - decoder: reused across one connection's bodies (it caches processes).
    static func decode(_ raw: [UInt8], format: HTTPBodyFormat, gzip: Bool, maxDecompressedBytes: Int,
                       inflationBudget: InflationBudget? = nil, decoder: WireDecoder) -> Outcome {
        var body = raw
        if gzip || Gzip.isGzip(raw) {
            do {
                body = try Gzip.decompress(raw, maxOutputBytes: maxDecompressedBytes, budget: inflationBudget)
            } catch {
                switch error {
                case .tooLarge:
                    return refused(.payloadTooLarge, IngestReason.tooLarge,
                                   "gzip body inflates past the limit of \(maxDecompressedBytes) bytes")
                case .busy(let budget):
                    var outcome = refused(.serviceUnavailable, IngestReason.inflationBusy,
                                          "gzip body does not fit in the \(budget) bytes that bodies inflating at once may hold; retry")
                    outcome.reply.extraHeaders.append(("Retry-After", "1"))
                    return outcome
                case .corrupt, .truncated:
                    break
                }
                return refused(.badRequest, IngestReason.badGzip, "gzip: \(error)")
            }
        }
        var delta = ListenerDelta()
        delta.received = 1
        delta.bytes = raw.count
        let spans: [Span]
        let reply: HTTPReply
        switch format {
        case .jaegerThrift(let protocolKind):
            let batch: JaegerBatch
            do {
                batch = try decoder.decodeJaegerBatch(body, protocolKind: protocolKind)
            } catch {
                return refused(.badRequest, IngestReason.key(error), error.description)
            }
            spans = batch.spans
            delta.rejected = batch.rejectedCount
            delta.lastRejection = batch.rejected.first?.description
            if batch.seqNo != nil || batch.stats != nil {
                delta.clients.append(ClientReport(service: batch.process.serviceName,
                                                  identity: ClientIdentity.of(batch.process, source: nil),
                                                  seqNo: batch.seqNo, stats: batch.stats))
            }
            reply = HTTPReply(status: .accepted, contentType: nil, body: [])
        case .otlpProtobuf:
            let decoded: DecodedWireSpans
            do {
                decoded = try decoder.decodeOTLP(body)
            } catch {
                return refused(.badRequest, IngestReason.key(error), error.description)
            }
            spans = decoded.spans
            delta.rejected = decoded.rejectedCount
            delta.lastRejection = decoded.rejected.first?.description
            reply = HTTPReply(status: .ok, contentType: "application/x-protobuf",
                              body: OTLPResponse.protobuf(rejected: decoded.rejectedCount, message: delta.lastRejection))
        case .otlpJSON, .zipkinJSON:
            let decoded: DecodedSpans
            do {
                decoded = format == .otlpJSON
                    ? try OTLPJSONDecoder.decodePartially(body) : try ZipkinJSONDecoder.decodePartially(body)
            } catch {
                return refused(.badRequest, IngestReason.json, "json: \(error.description)")
            }
            spans = decoded.spans
            delta.rejected = decoded.rejected.count
            delta.lastRejection = decoded.rejected.first?.description
            if format == .otlpJSON {
                reply = HTTPReply(status: .ok, contentType: "application/json",
                                  body: OTLPResponse.json(rejected: decoded.rejected.count, message: delta.lastRejection))
            } else {
                reply = HTTPReply(status: .accepted, contentType: nil, body: [])
            }
        }
        delta.add(spans)
        return Outcome(reply: reply, result: .accepted(spans, delta))
    }

    private static func refused(_ status: HTTPResponseStatus, _ reason: String, _ message: String) -> Outcome {
        let reply = HTTPReply.text(status, message)
        // The example is the reply's one line, as the client sees it.
        return Outcome(reply: reply, result: .refused(reason: reason, example: String(decoding: reply.body.dropLast(), as: UTF8.self)))
    }
}

enum OTLPResponse {
    /// Empty message, or `partial_success { rejected_spans, error_message }`.
    static func protobuf(rejected: Int, message: String?) -> [UInt8] {
        guard rejected > 0 else { return [] }
        var inner: [UInt8] = [0x08]
        appendVarint(UInt64(rejected), to: &inner)
        let text = Array((message ?? "").utf8)
        if !text.isEmpty {
            inner.append(0x12)
            appendVarint(UInt64(text.count), to: &inner)
            inner.append(contentsOf: text)
        }
        var out: [UInt8] = [0x0A]
        appendVarint(UInt64(inner.count), to: &out)
        out.append(contentsOf: inner)
        return out
    }

    /// `{}`, or `{"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}` (int64 as a string, per proto3 JSON).
    static func json(rejected: Int, message: String?) -> [UInt8] {
        guard rejected > 0 else { return Array("{}".utf8) }
        var out = "{\"partialSuccess\":{\"rejectedSpans\":\"\(rejected)\""
        if let message, !message.isEmpty {
            out += ",\"errorMessage\":\"" + jsonEscaped(message) + "\""
        }
        out += "}}"
        return Array(out.utf8)
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func jsonEscaped(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
