import NIOCore
import NIOHTTP1
import Synchronization

/// Open connections of one receiver against `ReceiverLimits.maxConnections`.
final class ConnectionSlots: Sendable {
    enum Admission: Equatable {
        case admitted
        /// Past the limit: answered (HTTP 503), then closed.
        case refused
        /// Past the limit with `refusingLimit` refusals already under way: closed at accept.
        case closed
    }

    let limit: Int
    /// Connections past the limit that may be kept open for a moment to be answered.
    let refusingLimit: Int
    private let counts = Mutex((open: 0, refusing: 0))

    init(limit: Int, refusingLimit: Int) {
        self.limit = limit
        self.refusingLimit = refusingLimit
    }

    /// Takes a slot for `channel`, given back when it closes.
    func admit(_ channel: any Channel) -> Admission {
        let admission = counts.withLock { c -> Admission in
            if c.open < limit {
                c.open += 1
                return .admitted
            }
            if c.refusing < refusingLimit {
                c.refusing += 1
                return .refused
            }
            return .closed
        }
        switch admission {
        case .admitted: channel.closeFuture.whenComplete { [self] _ in counts.withLock { $0.open -= 1 } }
        case .refused: channel.closeFuture.whenComplete { [self] _ in counts.withLock { $0.refusing -= 1 } }
        case .closed: break
        }
        return admission
    }
}

/// `30 s`, `1.5 s`, `250 ms`: how the limits' durations read in replies and counters.
func spoken(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    if seconds == 0 { return "\(attoseconds / 1_000_000_000_000_000) ms" }
    let tenths = attoseconds / 100_000_000_000_000_000
    return tenths == 0 ? "\(seconds) s" : "\(seconds).\(tenths) s"
}

// MARK: - HTTP/1.1

/// An HTTP receiver's pipeline: `HTTPLimitGuard` in front of NIO's server
/// pipeline, `HTTPRequestObserver` right after its decoder, then the ingest handler.
enum HTTPReceiverPipeline {
    static func configure(_ channel: any Channel, settings: HTTPReceiverSettings) throws {
        let sync = channel.pipeline.syncOperations
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        // The guard's count bites first (431); NIO's own (URL, header names and
        // values only, answered 400) just has to stay out of its way.
        decoderLimits.maxHeaderListSize = max(decoderLimits.maxHeaderListSize, settings.limits.maxHeaderBytes)
        decoderLimits.maxHeaderFieldSize = max(decoderLimits.maxHeaderFieldSize, settings.limits.maxHeaderBytes)
        try sync.configureHTTPServerPipeline(withErrorHandling: true, withEncoderConfiguration: .init(),
                                             withDecoderLimitConfiguration: decoderLimits)
        let limitGuard = HTTPLimitGuard(kind: settings.kind, limits: settings.limits, counters: settings.counters)
        try sync.addHandler(limitGuard, position: .first)
        let decoder = try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try sync.addHandler(HTTPRequestObserver(limitGuard), position: .after(decoder))
        try sync.addHandler(HTTPIngestHandler(settings: settings))
    }

    /// A connection past `maxConnections`: its first bytes get 503, then it closes.
    static func configureRefusal(_ channel: any Channel, settings: HTTPReceiverSettings) throws {
        let refusing = HTTPLimitGuard(kind: settings.kind, limits: settings.limits, counters: settings.counters,
                                      refusingConnection: true)
        try channel.pipeline.syncOperations.addHandler(refusing)
    }
}

/// First in an HTTP receiver's pipeline, before NIO's decoder, it bounds
/// what NIO leaves unbounded or answers 400 for: the bytes of a request
/// head (431), the time from a request's first byte to its last (408), and
/// the time a connection sits with no request (closed). Each is counted.
///
/// Head bytes are counted here, raw, because NIO's decoder limit counts only
/// the URL and header names and values (not separators, nor the whitespace
/// llhttp skips) and its overflow is a 400. The decoder is fed slices of at
/// most the allowance left, so a head still incomplete when the allowance
/// is used up is too large: exact at the limit. (A pipelined head that starts
/// in the slice where the previous request ended is counted from the next
/// slice: it may get up to one slice, `maxHeaderBytes`, more.)
/// `HTTPRequestObserver`, right after the decoder, says where requests start and end.
///
/// A refusal is written here as raw bytes, straight to the socket: nothing
/// else is being answered (a head is incomplete, or a body is and no reply
/// went out), and the connection closes after it. The reply is followed by
/// a FIN; the rest of the input is read and dropped until the client closes
/// (at most `linger`), so the client reads the reply rather than a reset.
final class HTTPLimitGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long a refused connection is kept to let the client read the reply.
    static let linger: TimeAmount = .seconds(2)
    /// A connection refused at `maxConnections` that sends nothing is closed after this.
    static let refusalWait: TimeAmount = .seconds(5)

    private enum Phase: Equatable {
        /// No request in progress: the idle timer runs.
        case idle
        /// Bytes of a head so far, not yet decoded: the request timer runs.
        case head(bytes: Int)
        /// The head is decoded, its end not yet: the request timer runs.
        case body
        /// Refused, timed out or closed: input is dropped.
        case closing(dropped: Int)
    }

    private let kind: ListenerKind
    private let limits: ReceiverLimits
    private let counters: IngestCounters
    /// Past `maxConnections`: answer 503 to whatever comes, and close.
    private let refusingConnection: Bool
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// `POST /v1/traces` of the request in progress, once decoded (for the 408's example).
    private var request: String?
    /// A reply (not 100 Continue) already went out for the request in progress.
    private var answered = false
    /// We cut the connection (a refusal or a timeout): the decoder's complaint
    /// about the request it then sees end early is ours, not the client's.
    private(set) var cutOff = false

    init(kind: ListenerKind, limits: ReceiverLimits, counters: IngestCounters, refusingConnection: Bool = false) {
        self.kind = kind
        self.limits = limits
        self.counters = counters
        self.refusingConnection = refusingConnection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startIdle() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        startIdle()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        phase = .closing(dropped: 0)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Shutdown: NIO's pipeline handler closes a serving connection once idle; a refused one has none.
        if refusingConnection, event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if refusingConnection, case .idle = phase {
            refuse(context, status: "503 Service Unavailable", extraHeaders: "Retry-After: 1\r\n",
                   "too many connections: this \(kind.rawValue) receiver takes \(limits.maxConnections) at once; retry later")
        }
        while buffer.readableBytes > 0 {
            switch phase {
            case .closing(let dropped):
                drop(context, dropped + buffer.readableBytes)
                return
            case .idle:
                // Empty lines before a request line are ignored (RFC 9112 2.2), not the start of one.
                let blank = buffer.readableBytesView.prefix { $0 == 0x0D || $0 == 0x0A }.count
                if blank > 0 {
                    context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: blank)!))
                } else {
                    beginRequest()
                }
            case .head(let bytes):
                let slice = buffer.readSlice(length: min(limits.maxHeaderBytes - bytes, buffer.readableBytes))!
                phase = .head(bytes: bytes + slice.readableBytes)
                context.fireChannelRead(wrapInboundOut(slice))
                // Still in this head (the observer moves the phase on when the decoder finishes it).
                if case .head(let now) = phase, now >= limits.maxHeaderBytes {
                    counters.recordMalformed(kind, reason: IngestReason.headTooLarge,
                                             example: "request head past the limit of \(limits.maxHeaderBytes) bytes")
                    refuse(context, status: "431 Request Header Fields Too Large",
                           "request head exceeds the limit of \(limits.maxHeaderBytes) bytes")
                }
            case .body:
                // In slices too: a pipelined head starting in one is uncounted only up to its size.
                let slice = buffer.readSlice(length: min(limits.maxHeaderBytes, buffer.readableBytes))!
                context.fireChannelRead(wrapInboundOut(slice))
            }
        }
    }

    // MARK: What the observer reports

    /// The decoder produced a request head.
    func headDecoded(_ head: HTTPRequestHead) {
        switch phase {
        case .head:
            phase = .body
        case .idle:
            // Pipelined: it began in the slice where the previous request ended.
            beginRequest()
            phase = .body
        case .body, .closing:
            return
        }
        request = "\(head.method) \(head.uri)"
    }

    /// The decoder produced a request's end (the reply, if any, has been written).
    func requestEnded() {
        guard case .body = phase else { return }
        phase = .idle
        request = nil
        startIdle()
    }

    /// A final reply to the request in progress went out.
    func replyStarted() {
        answered = true
    }

    // MARK: Timers

    private func beginRequest() {
        phase = .head(bytes: 0)
        answered = false
        request = nil
        arm(TimeAmount(limits.requestTimeout)) { $0.requestTimedOut() }
    }

    private func startIdle() {
        guard case .idle = phase else { return }
        if refusingConnection {
            arm(Self.refusalWait) { $0.context?.close(promise: nil) }
        } else {
            arm(TimeAmount(limits.idleTimeout)) { $0.idleTimedOut() }
        }
    }

    private func arm(_ delay: TimeAmount, _ action: @escaping (HTTPLimitGuard) -> Void) {
        timer?.cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            if let self { action(self) }
        }
    }

    private func requestTimedOut() {
        guard let context else { return }
        let limit = spoken(limits.requestTimeout)
        switch phase {
        case .head(let bytes):
            counters.recordMalformed(kind, reason: IngestReason.requestTimeout,
                                     example: "request head not complete within \(limit) (\(bytes) bytes came)")
            refuse(context, status: "408 Request Timeout", "request not complete within \(limit)")
        case .body where answered:
            // Already answered (an early 413 dropping the rest): that reply stands.
            phase = .closing(dropped: 0)
            cutOff = true
            context.close(promise: nil)
        case .body:
            counters.recordMalformed(kind, reason: IngestReason.requestTimeout,
                                     example: "\(request ?? "request"): body not complete within \(limit)")
            refuse(context, status: "408 Request Timeout", "request not complete within \(limit)")
        case .idle, .closing:
            break
        }
    }

    private func idleTimedOut() {
        guard let context, case .idle = phase else { return }
        phase = .closing(dropped: 0)
        cutOff = true
        counters.recordClosedIdle(kind)
        context.close(promise: nil)
    }

    // MARK: Refusing

    /// Writes the reply, then a FIN, then drops input until the client closes or `linger` passes.
    private func refuse(_ context: ChannelHandlerContext, status: String, extraHeaders: String = "", _ message: String) {
        phase = .closing(dropped: 0)
        cutOff = true
        let body = message + "\n"
        var reply = context.channel.allocator.buffer(capacity: 160 + body.utf8.count)
        reply.writeString("HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\(extraHeaders)\r\n")
        reply.writeString(body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in
            let halfClosed = channel.eventLoop.makePromise(of: Void.self)
            channel.close(mode: .output, promise: halfClosed)
            halfClosed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        }
        arm(Self.linger) { $0.context?.close(promise: nil) }
    }

    private func drop(_ context: ChannelHandlerContext, _ total: Int) {
        if total > HTTPIngestHandler.maxDiscardBytes {
            context.close(promise: nil)
        }
        phase = .closing(dropped: total)
    }
}

/// Right after NIO's HTTP decoder: tells `HTTPLimitGuard` where each request
/// head and end is, and when a reply to it goes out.
final class HTTPRequestObserver: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limitGuard: HTTPLimitGuard

    init(_ limitGuard: HTTPLimitGuard) {
        self.limitGuard = limitGuard
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            limitGuard.headDecoded(head)
            context.fireChannelRead(data)
        case .body:
            context.fireChannelRead(data)
        case .end:
            context.fireChannelRead(data)
            limitGuard.requestEnded()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder, told of EOF in the middle of a request we cut off,
        // calls it unparsable: not an error of the client's, nor a 400 to send.
        if limitGuard.cutOff, error is HTTPParserError { return }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data), head.status.code >= 200 {
            limitGuard.replyStarted()
        }
        context.write(data, promise: promise)
    }
}
