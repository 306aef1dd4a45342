import GRPCCore
import Synchronization
import GRPCNIOTransportHTTP2
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import TraceFormats
import TraceModel

/// Settings the OTLP/gRPC receiver shares between its streams.
struct GRPCReceiverSettings: Sendable {
    var maxBodyBytes: Int
    var maxDecompressedBytes: Int
    /// Shared by every receiver's bodies inflating at once.
    var inflationBudget: InflationBudget? = nil
    var token: BearerToken? = nil
    var limits = ReceiverLimits()
    var sink: any SpanSink
    var counters: IngestCounters

    var kind: ListenerKind { .otlpGRPC }
    /// HTTP/2 streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS).
    static let maxConcurrentStreams = 100
}

/// `opentelemetry.proto.collector.trace.v1.TraceService/Export`, unary,
/// registered by hand: the request bytes go through the same OTLP protobuf
/// reader as OTLP/HTTP's `application/x-protobuf`, and the reply is written
/// by hand, so no generated code and no swift-protobuf.
struct OTLPTraceService: RegistrableRPCService {
    static let export = MethodDescriptor(
        fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService", method: "Export")
    /// `:path` of the one method, as the stream guard sees it.
    static let exportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    let settings: GRPCReceiverSettings

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let settings = self.settings
        router.registerHandler(
            forMethod: Self.export,
            deserializer: ExportRequestDeserializer(),
            serializer: ExportResponseSerializer()
        ) { request, _ in
            try await Self.export(request, settings: settings)
        }
    }

    /// One Export call: exactly one message, decoded (or refused) like an OTLP/HTTP protobuf body.
    static func export(_ request: StreamingServerRequest<ExportRequest>,
                       settings: GRPCReceiverSettings) async throws -> StreamingServerResponse<ExportResponse> {
        let counters = settings.counters, kind = settings.kind
        var messages = request.messages.makeAsyncIterator()
        // Errors from the stream itself (the client reset it, or the guard refused
        // the message and counted it) are passed on uncounted.
        guard let message = try await messages.next() else {
            counters.recordMalformed(kind, reason: IngestReason.grpcMessageCount, example: "Export call without a request message")
            throw RPCError(code: .invalidArgument, message: "Export takes exactly one ExportTraceServiceRequest; none was sent")
        }
        if try await messages.next() != nil {
            counters.recordMalformed(kind, reason: IngestReason.grpcMessageCount, example: "Export call with more than one request message")
            throw RPCError(code: .invalidArgument, message: "Export takes exactly one ExportTraceServiceRequest; more were sent")
        }
        let decoded: DecodedWireSpans
        switch message.decoded {
        case .failure(let error):
            let line = oneLine(error.description)
            counters.recordMalformed(kind, reason: IngestReason.key(error), example: line)
            throw RPCError(code: .invalidArgument, message: line)
        case .success(let spans):
            decoded = spans
        }
        var delta = ListenerDelta()
        delta.received = 1
        delta.rejected = decoded.rejectedCount
        delta.lastRejection = decoded.rejected.first?.description
        delta.add(decoded.spans)
        if !decoded.spans.isEmpty { settings.sink.accept(decoded.spans, from: kind) }
        counters.commit(kind, delta)
        let reply = ExportResponse(rejectedSpans: decoded.rejectedCount, errorMessage: delta.lastRejection)
        return StreamingServerResponse(single: ServerResponse(message: reply))
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

/// An `ExportTraceServiceRequest` as read: spans (with those skipped), or why it could not be read.
struct ExportRequest: Sendable {
    var decoded: Result<DecodedWireSpans, WireDecodeError>
}

/// `ExportTraceServiceResponse`: empty, or `partial_success` when spans were skipped.
struct ExportResponse: Sendable, Equatable {
    var rejectedSpans: Int
    var errorMessage: String?
}

/// Bytes -> spans with the project's OTLP protobuf reader. Never throws: a
/// decode error is a value, so the handler counts it and answers INVALID_ARGUMENT.
struct ExportRequestDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> ExportRequest {
        // One decoder per message: a `WireDecoder` is not Sendable and calls run on any thread.
        let decoder = WireDecoder()
        let result = serializedMessageBytes.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decoder.decodeOTLP(raw) }
        }
        return ExportRequest(decoded: result)
    }
}

/// The reply written by hand: the same bytes OTLP/HTTP answers with.
struct ExportResponseSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: ExportResponse) throws -> Bytes {
        Bytes(OTLPResponse.protobuf(rejected: message.rejectedSpans, message: message.errorMessage))
    }
}

// MARK: - The listener

/// A running gRPC server for the receiver; `stop` lets calls in flight finish.
final class OTLPGRPCListener: Sendable {
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let serving: Task<Void, any Error>
    /// Set by `stop`: the server ending after it is a shutdown, not a failure.
    private let stopping = Atomic<Bool>(false)

    private init(server: GRPCServer<HTTP2ServerTransport.Posix>, serving: Task<Void, any Error>) {
        self.server = server
        self.serving = serving
    }

    /// Binds and serves; returns once the port is bound (with the real port), or throws the bind error.
    static func start(host: String, port: Int, settings: GRPCReceiverSettings,
                      group: MultiThreadedEventLoopGroup) async throws -> (OTLPGRPCListener, Int) {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        // gzip is inflated by `GRPCMessageGuard` (bounded, counted); it must be
        // enabled here so the transport accepts `grpc-encoding: gzip` at all.
        config.compression.enabledAlgorithms = [.gzip]
        // The guard's bounds bite first; this only keeps the transport's own check out of the way.
        config.rpc.maxRequestPayloadSize = max(settings.maxBodyBytes, settings.maxDecompressedBytes)
        // Each open Export holds its decoded request until the client ends the
        // stream: bound the streams a connection may open (the default is none).
        config.http2.maxConcurrentStreams = GRPCReceiverSettings.maxConcurrentStreams
        // Connections: the limit, the idle timeout, and the transport's own
        // header bound counted (`GRPCConnectionGuard`). Closed at accept past
        // the limit: HTTP/2 has no status to give a connection.
        let slots = ConnectionSlots(limit: settings.limits.maxConnections, refusingLimit: 0)
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { connection in
            connection.eventLoop.makeCompletedFuture {
                let admitted = slots.admit(connection) == .admitted
                if !admitted {
                    settings.counters.recordMalformed(
                        settings.kind, reason: IngestReason.grpcTooManyConnections,
                        example: "connection closed at accept: \(slots.limit) open, the most this receiver takes")
                }
                let sync = connection.pipeline.syncOperations
                let http2 = try sync.handler(type: NIOHTTP2Handler.self)
                try sync.addHandler(GRPCConnectionGuard(settings: settings, admitted: admitted), position: .after(http2))
            }
        }
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(GRPCMessageGuard(settings: settings), position: .first)
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4OrIPv6(host: host, port: port), transportSecurity: .plaintext, config: config,
            eventLoopGroup: group)
        let server = GRPCServer(transport: transport, services: [OTLPTraceService(settings: settings)])
        let serving = Task { try await server.serve() }
        do {
            let address = try await transport.listeningAddress
            let bound = address.ipv4?.port ?? address.ipv6?.port ?? port
            let listener = OTLPGRPCListener(server: server, serving: serving)
            // The server ending on its own (its socket closed under it) is a failure of this listener.
            Task { [weak listener] in
                let result = await serving.result
                guard let listener, !listener.stopping.load(ordering: .acquiring) else { return }
                switch result {
                case .failure(let error):
                    settings.counters.recordFailure(.otlpGRPC, reason: "\((error as? RuntimeError)?.cause ?? error)")
                case .success:
                    settings.counters.recordFailure(.otlpGRPC, reason: "the gRPC server stopped")
                }
            }
            return (listener, bound)
        } catch {
            // The transport says only "no listening address": the reason is what serve() threw.
            let failure: any Error
            switch await serving.result {
            case .failure(let served): failure = (served as? RuntimeError)?.cause ?? served
            case .success: failure = error
            }
            throw failure
        }
    }

    /// Stops accepting, lets calls in flight finish for at most `grace`, then cancels them.
    /// Returns once no call can reach the sink.
    func stop(grace: Duration) async {
        stopping.store(true, ordering: .releasing)
        server.beginGracefulShutdown()
        let serving = self.serving
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await serving.result }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            serving.cancel()
            group.cancelAll()
        }
        _ = await serving.result
    }
}

/// On each connection of the gRPC receiver, right after NIO's HTTP/2 handler:
/// - not `admitted` (past `maxConnections`): closed as soon as it is up;
/// - no stream open for `idleTimeout`: the transport is asked to close it
///   gracefully (GOAWAY, as at shutdown), and it is closed outright
///   `goAwayGrace` later if still open (a client that never answers, or never
///   spoke HTTP/2); counted as closed idle. The transport's own `maxIdleTime`
///   is not used: it neither counts nor closes a connection that never acks.
/// - counts connections the HTTP/2 handler closes for a header list past
///   the transport's fixed bound, or another undecodable frame (its GOAWAY
///   is all the client gets).
final class GRPCConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    static let goAwayGrace: TimeAmount = .seconds(5)

    private let settings: GRPCReceiverSettings
    private let admitted: Bool
    private var openStreams = 0
    private var closing = false
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(settings: GRPCReceiverSettings, admitted: Bool) {
        self.settings = settings
        self.admitted = admitted
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        timer?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is NIOHTTP2StreamCreatedEvent:
            openStreams += 1
            if !closing { timer?.cancel() }
        case is StreamClosedEvent:
            openStreams = max(0, openStreams - 1)
            if openStreams == 0 { armIdle() }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO's HTTP/2 handler has sent a GOAWAY and closes the connection.
        // Headers past the bound on the wire are named as such; past it only
        // once decompressed they are an HPACK error, which it reports as an
        // undecodable frame like any other.
        let bound = ReceiverLimits.grpcHeaderListBytes
        if error is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock {
            settings.counters.recordMalformed(settings.kind, reason: IngestReason.grpcHeadersRefused,
                                              example: "a header block past \(bound) bytes: connection closed (GOAWAY)")
        } else if error is NIOHTTP2Errors.UnableToParseFrame {
            settings.counters.recordMalformed(
                settings.kind, reason: IngestReason.grpcHeadersRefused,
                example: "an HTTP/2 frame that could not be decoded (e.g. headers past \(bound) bytes once decompressed): connection closed (GOAWAY)")
        }
        context.fireErrorCaught(error)
    }

    private func start() {
        guard admitted else {
            closing = true
            context?.close(promise: nil)
            return
        }
        armIdle()
    }

    private func armIdle() {
        guard !closing, let context else { return }
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(settings.limits.idleTimeout)) { [weak self] in
            self?.idleTimedOut()
        }
    }

    private func idleTimedOut() {
        guard let context, !closing, openStreams == 0 else { return }
        closing = true
        settings.counters.recordClosedIdle(settings.kind)
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        armClose()
    }

    /// Closes once no stream is open, checking every `goAwayGrace` (a stream
    /// that raced the GOAWAY is bounded by the request timeout).
    private func armClose() {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.goAwayGrace) { [weak self] in
            guard let self, let context = self.context else { return }
            if self.openStreams == 0 { context.close(promise: nil) } else { self.armClose() }
        }
    }
}

extension GRPCNIOTransportCore.SocketAddress {
    /// An IPv6 literal (contains ':') or anything else as IPv4/hostname, as NIO's bootstrap takes it.
    static func ipv4OrIPv6(host: String, port: Int) -> Self {
        host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
    }
}

// MARK: - Message bounds and gzip, before the transport sees the bytes

/// Sits first on every HTTP/2 stream of the receiver and reads the gRPC
/// length-prefixed messages as DATA frames arrive. It enforces
/// `maxBodyBytes` on the wire length, inflates gzip messages itself within
/// `maxDecompressedBytes` (the same `Gzip` path as the HTTP receiver) and
/// hands the transport uncompressed messages.
///
/// Why not leave it to grpc-swift: its deframer applies one limit to both the
/// compressed and the inflated size, and when it bites it resets the stream
/// ("Failed to decode message") instead of answering, so a client would never
/// see RESOURCE_EXHAUSTED and nothing could count it. Here a refusal is a
/// trailers-only response with a status and one line, counted like the HTTP
/// receivers' 413 and 400.
final class GRPCMessageGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Phase {
        /// Reading a message's 5-byte prefix (compressed flag, big-endian length).
        case prefix
        /// Uncompressed message bytes, forwarded as they come.
        case passing(remaining: Int)
        /// A compressed message, kept until whole.
        case collecting(remaining: Int)
        /// Refused (status sent) or left to the transport (unknown method, unsupported encoding).
        case done(forward: Bool)
    }

    private let settings: GRPCReceiverSettings
    private var phase = Phase.prefix
    private var sawHeaders = false
    /// Until the client ends its request stream (`ReceiverLimits.requestTimeout`).
    private var deadline: Scheduled<Void>?
    private var gzip = false
    private var prefix: [UInt8] = []
    private var compressed = ByteBuffer()

    init(settings: GRPCReceiverSettings) {
        self.settings = settings
        prefix.reserveCapacity(5)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The stream exists once its HEADERS came: its request must be whole by the deadline.
        let timeout = settings.limits.requestTimeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [weak self] in
            guard let self, !self.isDone else { return }
            self.refuse(context: context, code: 4, reason: IngestReason.grpcDeadline,
                        "request not complete within \(spoken(timeout)): the Export stream must end by then", bytes: 0)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    private var isDone: Bool {
        if case .done(forward: false) = phase { return true }
        return false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch payload {
        case .headers(let headers) where headers.endStream: deadline?.cancel()
        case .data(let frame) where frame.endStream: deadline?.cancel()
        default: break
        }
        switch payload {
        case .headers(let headers):
            if !sawHeaders {
                sawHeaders = true
                let size = Self.headerListSize(headers.headers)
                if size > settings.limits.maxHeaderBytes {
                    refuse(context: context, code: 8, reason: IngestReason.grpcHeadersTooLarge,
                           "header list of \(size) bytes exceeds the limit of \(settings.limits.maxHeaderBytes) bytes", bytes: 0)
                    return
                }
                if let token = settings.token, !token.matches(authorization: headers.headers.first(name: "authorization")) {
                    // Before the transport sees the stream: nothing of it is read.
                    refuse(context: context, code: 16, reason: IngestReason.grpcUnauthenticated,
                           "missing or wrong bearer token: send authorization: Bearer <token>", bytes: 0)
                    return
                }
                inspect(headers.headers)
            }
            if case .done(forward: false) = phase { return }
            context.fireChannelRead(data)
        case .data(let frame):
            switch phase {
            case .done(let forward):
                if forward { context.fireChannelRead(data) }
            case .passing(let remaining) where frame.data.readableBytes <= remaining:
                // The common case for a large message: the whole frame is message body.
                if case .byteBuffer(let buffer) = frame.data {
                    phase = .passing(remaining: remaining - buffer.readableBytes)
                }
                context.fireChannelRead(data)
            default:
                guard case .byteBuffer(let buffer) = frame.data else { return }
                scan(context: context, buffer, endStream: frame.endStream)
            }
        default:
            context.fireChannelRead(data)
        }
    }

    /// The request head: only the Export method, only gzip or no encoding.
    /// Other heads are counted and left to the transport, which answers UNIMPLEMENTED.
    private func inspect(_ headers: HPACKHeaders) {
        let path = headers.first(name: ":path") ?? ""
        if path != OTLPTraceService.exportPath {
            settings.counters.recordMalformed(
                settings.kind, reason: IngestReason.grpcUnknownMethod,
                example: "no method \(path): this otlp-grpc listener serves \(OTLPTraceService.exportPath)")
            phase = .done(forward: true)
            return
        }
        let encoding = (headers.first(name: "grpc-encoding") ?? "identity").lowercased()
        switch encoding {
        case "gzip": gzip = true
        case "identity", "": gzip = false
        default:
            settings.counters.recordMalformed(
                settings.kind, reason: IngestReason.grpcUnsupportedEncoding,
                example: "unsupported grpc-encoding \"\(encoding)\": use gzip or none")
            phase = .done(forward: true)
        }
    }

    /// Walks one DATA frame through the message framing and forwards what the transport should see.
    private func scan(context: ChannelHandlerContext, _ input: ByteBuffer, endStream: Bool) {
        var input = input
        var out = context.channel.allocator.buffer(capacity: input.readableBytes + 5)
        while input.readableBytes > 0 {
            switch phase {
            case .done:
                input.moveReaderIndex(forwardBy: input.readableBytes)
            case .prefix:
                let take = min(5 - prefix.count, input.readableBytes)
                if let bytes = input.readBytes(length: take) { prefix.append(contentsOf: bytes) }
                guard prefix.count == 5 else { continue }
                let flag = prefix[0]
                let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
                prefix.removeAll(keepingCapacity: true)
                if length > settings.maxBodyBytes {
                    refuse(context: context, code: 8, reason: IngestReason.grpcTooLarge,
                           "message of \(length) bytes exceeds the limit of \(settings.maxBodyBytes) bytes", bytes: length)
                    return
                }
                switch flag {
                case 0:
                    countBytes(length)
                    out.writeBytes([0, UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                                    UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)])
                    phase = .passing(remaining: length)
                case 1 where gzip:
                    // Grown as bytes arrive: the prefix's claim is not allocated up front.
                    compressed = context.channel.allocator.buffer(capacity: min(length, 64 << 10))
                    phase = .collecting(remaining: length)
                    if length == 0, !finishCompressed(context: context, into: &out) { return }
                default:
                    // A compressed flag without grpc-encoding, or a flag gRPC does not define.
                    refuse(context: context, code: 13, reason: IngestReason.grpcBadFrame,
                           flag == 1 ? "compressed message without grpc-encoding" : "message flag \(flag) is not 0 or 1",
                           bytes: length)
                    return
                }
            case .passing(let remaining):
                let take = min(remaining, input.readableBytes)
                if let slice = input.readSlice(length: take) { out.writeImmutableBuffer(slice) }
                phase = take == remaining ? .prefix : .passing(remaining: remaining - take)
            case .collecting(let remaining):
                let take = min(remaining, input.readableBytes)
                if let slice = input.readSlice(length: take) { compressed.writeImmutableBuffer(slice) }
                phase = .collecting(remaining: remaining - take)
                if take == remaining, !finishCompressed(context: context, into: &out) { return }
            }
        }
        // Nothing to hand on mid-prefix or mid-compressed-message, unless the stream ends here.
        if out.readableBytes > 0 || endStream {
            context.fireChannelRead(wrapInboundOut(.data(.init(data: .byteBuffer(out), endStream: endStream))))
        }
    }

    /// A whole gzip message: inflated within `maxDecompressedBytes` and written as an uncompressed one.
    private func finishCompressed(context: ChannelHandlerContext, into out: inout ByteBuffer) -> Bool {
        let raw = Array(compressed.readableBytesView)
        compressed = ByteBuffer()
        phase = .prefix
        let inflated: [UInt8]
        do {
            inflated = try Gzip.decompress(raw, maxOutputBytes: settings.maxDecompressedBytes, budget: settings.inflationBudget)
        } catch {
            switch error {
            case .tooLarge:
                refuse(context: context, code: 8, reason: IngestReason.grpcTooLarge,
                       "gzip message inflates past the limit of \(settings.maxDecompressedBytes) bytes", bytes: raw.count)
            case .busy(let budget):
                // UNAVAILABLE: the client may retry.
                refuse(context: context, code: 14, reason: IngestReason.grpcInflationBusy,
                       "gzip message does not fit in the \(budget) bytes that messages inflating at once may hold; retry", bytes: raw.count)
            case .corrupt, .truncated:
                refuse(context: context, code: 3, reason: IngestReason.badGzip, "gzip: \(error)", bytes: raw.count)
            }
            return false
        }
        countBytes(raw.count)
        out.writeInteger(UInt8(0))
        out.writeInteger(UInt32(truncatingIfNeeded: inflated.count))
        out.writeBytes(inflated)
        return true
    }

    /// Wire bytes of a message the handler will see (it sees them inflated).
    private func countBytes(_ count: Int) {
        var delta = ListenerDelta()
        delta.bytes = count
        settings.counters.commit(settings.kind, delta)
    }

    /// HTTP/2's measure (RFC 9113 6.5.2): names and values plus 32 per field.
    static func headerListSize(_ headers: HPACKHeaders) -> Int {
        headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
    }

    /// Answers trailers-only with `code` and one line, counts it, and ends the stream.
    private func refuse(context: ChannelHandlerContext, code: Int, reason: String, _ message: String, bytes: Int) {
        deadline?.cancel()
        phase = .done(forward: false)
        compressed = ByteBuffer()
        let line = OTLPTraceService.oneLine(message)
        settings.counters.recordMalformed(settings.kind, reason: reason, example: line, bytes: bytes)
        let headers: HPACKHeaders = [
            ":status": "200",
            "content-type": "application/grpc",
            "grpc-status": String(code),
            "grpc-message": Self.percentEncoded(line),
        ]
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    /// grpc-message is percent-encoded: anything outside printable ASCII, and '%'.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != 0x25 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
