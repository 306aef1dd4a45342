#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TraceFormats
import TraceModel

/// Runs every enabled listener of an `IngestConfiguration` on one event-loop
/// group, feeding a `SpanSink` and counting into `IngestCounters`.
///
/// `start()` binds them all or none; `shutdown()` stops accepting, lets
/// requests in flight finish, and returns once no listener can call the sink
/// again (so a recorder can be finished right after).
public final class IngestServer: Sendable {
    /// Vectored UDP reads: datagrams per `recvmmsg` call.
    public static let datagramsPerVectorRead = 64
    /// Room for the largest possible datagram (65,507 bytes over IPv4).
    public static let datagramCapacity = 65_536
    /// How long `shutdown()` waits for HTTP requests in flight before closing their connections.
    public static let shutdownGrace: TimeAmount = .seconds(5)
    /// Connections past `maxConnections` an HTTP receiver keeps for a moment
    /// to answer 503; past these too, a connection is closed at accept.
    static let maxRefusingConnections = 16

    public let configuration: IngestConfiguration
    public let sink: any SpanSink
    public let counters: IngestCounters
    /// What the HTTP and gRPC receivers' gzip bodies inflating at once may
    /// hold between them: one body's bound, so bombs on four receivers cost
    /// no more than one.
    public let inflationBudget: InflationBudget
    private let group: any EventLoopGroup
    private let state = Mutex(ServerState())

    public init(configuration: IngestConfiguration, sink: any SpanSink, counters: IngestCounters = IngestCounters(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.sink = sink
        self.counters = counters
        self.group = eventLoopGroup
        inflationBudget = InflationBudget(bytes: configuration.maxDecompressedBytes)
    }

    /// The listeners that are up, in `ListenerKind` order (empty before `start()` and after `shutdown()`).
    public var listeners: [BoundListener] {
        state.withLock { $0.bound }
    }

    /// Binds every enabled listener. On any failure closes what it opened and
    /// throws `.portInUse` (EADDRINUSE) or `.cannotBind`.
    public func start() async throws(IngestError) -> [BoundListener] {
        let kinds = ListenerKind.allCases.filter { configuration.ports[$0] != nil }
        var opened: [(BoundListener, (any Channel)?)] = []
        var stages: [UDPDecodeStage] = []
        var grpc: OTLPGRPCListener?
        var udpInodes: [ListenerKind: UInt64] = [:]
        for kind in kinds {
            let port = configuration.ports[kind] ?? 0
            do {
                if kind == .otlpGRPC {
                    let (listener, boundPort) = try await OTLPGRPCListener.start(
                        host: configuration.host, port: port, settings: grpcSettings, group: grpcGroup)
                    grpc = listener
                    opened.append((BoundListener(kind: kind, host: configuration.host, port: boundPort), nil))
                    counters.register(kind)
                    continue
                }
                let channel = try await bind(kind, port: port, stages: &stages)
                let local = channel.localAddress
                var bound = BoundListener(kind: kind, host: local?.ipAddress ?? configuration.host, port: local?.port ?? port)
                if kind.transport == "udp" {
                    bound.receiveBufferBytes = await Self.enlargeReceiveBuffer(channel, to: configuration.udpReceiveBufferBytes)
                    if let inode = KernelDrops.socketInode(udpPort: bound.port) { udpInodes[kind] = inode }
                }
                opened.append((bound, channel))
                counters.register(kind)
            } catch {
                for case (_, let channel?) in opened { try? await channel.close() }
                await Self.finish(stages)
                await grpc?.stop(grace: .zero)
                throw Self.bindError(error, kind: kind, host: configuration.host, port: port)
            }
        }
        let bound = opened.map(\.0)
        let channels = opened.compactMap(\.1)
        let stale: [any Channel]? = state.withLock { s in
            if s.started { return channels }
            s.started = true
            s.bound = bound
            s.listenerChannels = channels
            s.grpc = grpc
            s.udpInodes = udpInodes
            s.udpStages = stages
            return nil
        }
        if let stale {
            for channel in stale { try? await channel.close() }
            await Self.finish(stages)
            await grpc?.stop(grace: .zero)
            throw IngestError.cannotBind(kinds.first ?? .jaegerCompact, host: configuration.host, port: 0,
                                         reason: "the server was already started")
        }
        for case (let listener, let channel?) in opened {
            watchForFailure(listener.kind, closed: channel.closeFuture)
        }
        return bound
    }

    /// Stops accepting (closes the UDP sockets and listening sockets), asks
    /// open HTTP connections to finish the request in flight and close, and
    /// waits for them (at most `shutdownGrace`, then closes them).
    public func shutdown() async {
        sampleKernelDrops()  // the last figure, before the sockets (and their counts) are gone
        let (listeners, grpc, stages) = state.withLock { s in
            let channels = s.listenerChannels
            let grpc = s.grpc
            let stages = s.udpStages
            s.listenerChannels = []
            s.grpc = nil
            s.udpInodes = [:]
            s.udpStages = []
            s.bound = []
            s.shuttingDown = true
            return (channels, grpc, stages)
        }
        for channel in listeners {
            try? await channel.close()
        }
        // What the UDP sockets read is decoded and handed on before this returns.
        await Self.finish(stages)
        // gRPC: GOAWAY, calls in flight finish within the same grace as HTTP's.
        async let grpcStopped: Void = { await grpc?.stop(grace: .nanoseconds(Self.shutdownGrace.nanoseconds)) }()
        let connections = state.withLock { s in Array(s.connections.values) }
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = NIODeadline.now() + Self.shutdownGrace
        for connection in connections {
            let remaining = deadline - .now()
            let closed = connection.closeFuture
            let timer = connection.eventLoop.scheduleTask(in: max(remaining, .zero)) {
                connection.close(promise: nil)
            }
            try? await closed.get()
            timer.cancel()
        }
        await grpcStopped
    }

    /// Reads how many datagrams the kernel dropped on each UDP listener's
    /// socket (receive buffer full) into the counters. A read of /proc: call
    /// it about once a second, not per datagram. Linux only; elsewhere nothing.
    public func sampleKernelDrops() {
        let inodes = state.withLock { $0.udpInodes }
        guard !inodes.isEmpty else { return }
        let drops = KernelDrops.drops(inodes: Set(inodes.values))
        for (kind, inode) in inodes {
            if let count = drops[inode] { counters.recordKernelDrops(kind, count) }
        }
    }

    /// A listener whose socket closes before `shutdown()` asked for it has
    /// failed (an error closed it, or something outside the process did):
    /// counted with its reason, so the status bar and `record` say so while
    /// the other listeners keep running.
    private func watchForFailure(_ kind: ListenerKind, closed: EventLoopFuture<Void>) {
        let counters = self.counters
        closed.whenComplete { [weak self] _ in
            guard let self, !self.state.withLock({ $0.shuttingDown }) else { return }
            counters.recordFailure(kind, reason: nil)
        }
    }

    // MARK: Binding

    /// Decodes what the stages hold and stops their threads, off the
    /// concurrency pool (a backlog can take seconds).
    private static func finish(_ stages: [UDPDecodeStage]) async {
        guard !stages.isEmpty else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                for stage in stages { stage.finish() }
                done.resume()
            }
        }
    }

    private func bind(_ kind: ListenerKind, port: Int, stages: inout [UDPDecodeStage]) async throws -> any Channel {
        let host = configuration.host
        switch kind {
        case .jaegerCompact, .jaegerBinary, .zipkinCompact:
            let stage = UDPDecodeStage(kind: kind, sink: sink, counters: counters, maxQueuedBytes: configuration.udpDecodeQueueBytes)
            stages.append(stage)
            let vector = Self.datagramsPerVectorRead
            return try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 0)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramCapacity * vector))
                .channelOption(.datagramVectorReadMessageCount, value: vector)
                .channelOption(.maxMessagesPerRead, value: 16)
                .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(clamping: configuration.udpReceiveBufferBytes))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPAgentHandler(stage: stage))
                    }
                }
                .bind(host: host, port: port)
                .get()
        case .otlpGRPC:
            preconditionFailure("otlp-grpc is bound by OTLPGRPCListener")  // start() never passes it here
        case .jaegerCollector, .otlpHTTP, .zipkinHTTP:
            let settings = HTTPReceiverSettings(
                kind: kind, maxBodyBytes: configuration.maxBodyBytes,
                maxDecompressedBytes: configuration.maxDecompressedBytes, inflationBudget: inflationBudget,
                token: configuration.token, limits: configuration.limits, sink: sink, counters: counters)
            let slots = ConnectionSlots(limit: configuration.limits.maxConnections, refusingLimit: Self.maxRefusingConnections)
            let counters = self.counters
            return try await ServerBootstrap(group: group)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ListenerErrorWatch(kind: kind, counters: counters))
                    }
                }
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let self, self.track(channel) else {
                            throw ChannelError.ioOnClosedChannel  // shutting down: refuse the connection
                        }
                        let limit = settings.limits.maxConnections
                        switch slots.admit(channel) {
                        case .admitted:
                            try HTTPReceiverPipeline.configure(channel, settings: settings)
                        case .refused:
                            counters.recordMalformed(kind, reason: IngestReason.tooManyConnections,
                                                     example: "connection answered 503: \(limit) open, the most this receiver takes")
                            try HTTPReceiverPipeline.configureRefusal(channel, settings: settings)
                        case .closed:
                            counters.recordMalformed(kind, reason: IngestReason.tooManyConnections,
                                                     example: "connection closed at accept: \(limit) open and \(Self.maxRefusingConnections) being refused")
                            throw ChannelError.ioOnClosedChannel
                        }
                    }
                }
                .bind(host: host, port: port)
                .get()
        }
    }

    private var grpcSettings: GRPCReceiverSettings {
        GRPCReceiverSettings(maxBodyBytes: configuration.maxBodyBytes,
                             maxDecompressedBytes: configuration.maxDecompressedBytes, inflationBudget: inflationBudget,
                             token: configuration.token,
                             limits: configuration.limits, sink: sink, counters: counters)
    }

    /// grpc-swift's Posix transport runs on a `MultiThreadedEventLoopGroup` only.
    private var grpcGroup: MultiThreadedEventLoopGroup {
        group as? MultiThreadedEventLoopGroup ?? .singleton
    }

    /// HTTP connections open now, served or being refused (for tests' messages).
    var openHTTPConnections: Int { state.withLock { $0.connections.count } }

    /// Remembers an HTTP connection until it closes, so shutdown can wait for it.
    private func track(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock { s in
            if s.shuttingDown { return false }
            s.connections[id] = channel
            return true
        }
        guard accepted else { return false }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { s in s.connections.removeValue(forKey: id) }
        }
        return true
    }

    /// Asks for `bytes` of receive buffer; if the kernel's `rmem_max` capped
    /// it and we may (CAP_NET_ADMIN), forces it. Returns what the kernel
    /// reports (Linux doubles the request for its bookkeeping).
    private static func enlargeReceiveBuffer(_ channel: any Channel, to bytes: Int) async -> Int? {
        let wanted = SocketOptionValue(clamping: bytes)
        let option = ChannelOptions.socketOption(.so_rcvbuf)
        guard var granted = try? await channel.getOption(option).get() else { return nil }
        #if os(Linux)
        if granted / 2 < wanted {
            let force = ChannelOptions.Types.SocketOption(level: .socket, name: .init(rawValue: SO_RCVBUFFORCE))
            if (try? await channel.setOption(force, value: wanted).get()) != nil,
               let forced = try? await channel.getOption(option).get() {
                granted = forced
            }
        }
        #endif
        return Int(granted)
    }

    static func bindError(_ error: any Error, kind: ListenerKind, host: String, port: Int) -> IngestError {
        if let io = error as? IOError {
            if io.errnoCode == EADDRINUSE { return .portInUse(kind, host: host, port: port) }
            return .cannotBind(kind, host: host, port: port, reason: String(cString: strerror(io.errnoCode)))
        }
        return .cannotBind(kind, host: host, port: port, reason: "\(error)")
    }
}

private struct ServerState {
    var started = false
    var shuttingDown = false
    var bound: [BoundListener] = []
    var listenerChannels: [any Channel] = []
    var connections: [ObjectIdentifier: any Channel] = [:]
    var grpc: OTLPGRPCListener?
    /// Each UDP listener's socket, to find its kernel drops in /proc/net/udp.
    var udpInodes: [ListenerKind: UInt64] = [:]
    /// Each UDP listener's decode thread and its queue.
    var udpStages: [UDPDecodeStage] = []
}

/// On a listening socket's pipeline: keeps the latest accept error (EMFILE
/// when out of file descriptors, or the error that closes the socket) as the
/// listener's socket error.
final class ListenerErrorWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel
    let kind: ListenerKind
    let counters: IngestCounters

    init(kind: ListenerKind, counters: IngestCounters) {
        self.kind = kind
        self.counters = counters
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        counters.recordSocketError(kind, Self.describe(error))
        context.fireErrorCaught(error)
    }

    /// `accept: Too many open files` rather than NIO's debug description.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            // NIO's text starts with the call: "accept(descriptor:pointer:size:): ...".
            let call = io.description.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return "\(call.isEmpty ? "socket" : String(call)): " + String(cString: strerror(io.errnoCode))
        }
        return "\(error)"
    }
}
