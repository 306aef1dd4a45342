#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import Hummingbird
import JaegerTracing
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs demo servers (server-1, server-2 or both), each with its own
/// `JaegerTracer`, plus optionally the traffic generator, in one
/// swift-service-lifecycle `ServiceGroup`.
///
/// Order in the group, which stops services in reverse: the tracers, the
/// HTTP client, server-2, server-1, the generator. So on a stop the generator
/// stops sending first and its requests finish, server-1 finishes its
/// requests while server-2 still answers, and the tracers stop last, sending
/// every span that ended.
///
/// `start()` returns once every server listens (server-2 is started before
/// server-1, so server-1 can call a server-2 bound to port 0), or throws why
/// not with nothing left running.
public final class DemoSystem: Sendable {
    public struct Configuration: Sendable {
        /// At most one of each service.
        public var servers: [DemoServerConfiguration]
        /// nil, or a rate of 0: no generated traffic.
        public var traffic: TrafficConfiguration?
        /// Stop gracefully on SIGTERM and SIGINT (the `server-N` commands);
        /// off when something else owns the signals (the explorer in `demo`).
        public var stopOnSignals: Bool
        /// Warnings and errors of the servers on standard error; off when a
        /// full-screen UI owns the terminal.
        public var logToStandardError: Bool

        public init(servers: [DemoServerConfiguration], traffic: TrafficConfiguration? = nil,
                    stopOnSignals: Bool = false, logToStandardError: Bool = false) {
            self.servers = servers
            self.traffic = traffic
            self.stopOnSignals = stopOnSignals
            self.logToStandardError = logToStandardError
        }
    }

    private struct Running: Sendable {
        var group: ServiceGroup
        var task: Task<Void, Never>
        var tracers: [DemoService: JaegerTracer]
        var generator: TrafficGenerator?
        var listening: [ListeningServer]
    }

    public let configuration: Configuration
    private let running = Mutex<Running?>(nil)
    private let finishedWith = Mutex<String?>(nil)
    private let started = Atomic<Bool>(false)

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Starts everything; returns each server's address once all listen.
    public func start() async throws(DemoServerError) -> [ListeningServer] {
        guard !started.exchange(true, ordering: .relaxed) else { throw .alreadyStarted }
        let logger = makeLogger()
        var tracers: [DemoService: JaegerTracer] = [:]
        for server in configuration.servers {
            do {
                tracers[server.service] = try JaegerTracer(configuration: server.tracer)
            } catch {
                for tracer in tracers.values { tracer.shutdown() }
                throw .tracer(server.service, reason: "\(error)")
            }
        }
        var clientConfiguration = HTTPClient.Configuration()
        // The hop's span is made by server-1 itself: no second client span from async-http-client.
        clientConfiguration.tracing.tracer = nil
        // Each request has its own deadline (the hop's upstream timeout, the
        // traffic's request timeout); the read timeout is never shorter.
        let longest = ([configuration.traffic?.requestTimeout ?? .seconds(30)] + configuration.servers.map(\.upstreamTimeout)).max() ?? .seconds(30)
        // The connect deadline stays short: async-http-client retries a
        // refused connection until it passes, and server-2 being down must
        // be a prompt 502, not a wait.
        clientConfiguration.timeout = .init(connect: .seconds(2), read: TimeAmount(max(longest, .seconds(30))))
        // A request waiting for a pooled connection fails after the connect
        // deadline (`getConnectionFromPoolTimeout`): with async-http-client's
        // default of 8 connections per host, the traffic's requests in flight
        // (up to `maxInFlight`, 64) queued behind slow answers on a busy
        // machine and failed at 2 s. Room for all of them.
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            max(8, (configuration.traffic?.maxInFlight ?? 8) + 8)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        let (events, sink) = AsyncStream<DemoSystemEvent>.makeStream()
        let services: [any Service] = configuration.servers.compactMap { tracers[$0.service] } + [HTTPClientService(client: client)]
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: configuration.stopOnSignals ? [.sigterm, .sigint] : [],
            logger: logger))
        let task = Task { [self] in
            var reason: String?
            do { try await group.run() } catch { reason = "\(error)" }
            self.finishedWith.withLock { $0 = reason }
            sink.yield(.finished(reason))
            sink.finish()
        }
        running.withLock { $0 = Running(group: group, task: task, tracers: tracers, generator: nil, listening: []) }

        var iterator = events.makeAsyncIterator()
        var listening: [ListeningServer] = []
        // server-2 first: server-1 may need its address.
        let ordered = configuration.servers.sorted { $0.service == .server2 && $1.service != .server2 }
        for server in ordered {
            guard let tracer = tracers[server.service] else { continue }
            var upstream: String?
            if server.service == .server1 {
                upstream = server.server2URL ?? listening.first { $0.service == .server2 }?.url
                    ?? "http://127.0.0.1:\(DemoService.server2.defaultPort)"
            }
            let service = ServerService(server: server, tracer: tracer, client: client, server2URL: upstream,
                                        logger: logger, events: sink)
            await group.addServiceUnlessShutdown(ServiceGroupConfiguration.ServiceConfiguration(
                service: service, serviceName: server.service.rawValue))
            switch await iterator.next() {
            case .listening(let bound)?:
                listening.append(bound)
            case .failed(let error)?:
                await task.value
                throw error
            case .finished(let reason)?:
                throw .stopped(reason: reason ?? "stopped")
            case nil:
                throw .stopped(reason: finishedWith.withLock { $0 } ?? "stopped")
            }
        }
        if let traffic = configuration.traffic, traffic.rate > 0,
           let server1 = listening.first(where: { $0.service == .server1 }) {
            let generator = TrafficGenerator(client: client, target: server1.url, configuration: traffic)
            await group.addServiceUnlessShutdown(ServiceGroupConfiguration.ServiceConfiguration(
                service: generator, serviceName: "traffic"))
            running.withLock { $0?.generator = generator }
        }
        let bound = listening
        running.withLock { $0?.listening = bound }
        return listening.sorted { $0.service.rawValue < $1.service.rawValue }
    }

    /// Waits until the services stopped (a stop signal, `stop()`, or a
    /// failure: then throws why).
    public func wait() async throws(DemoServerError) {
        guard let task = running.withLock({ $0?.task }) else { return }
        await task.value
        if let reason = finishedWith.withLock({ $0 }) { throw .stopped(reason: reason) }
    }

    /// Graceful stop: the generator, then the servers (requests in flight
    /// finish), then the tracers (they send what they hold). Returns when done.
    public func stop() async {
        guard let (group, task) = running.withLock({ r in r.map { ($0.group, $0.task) } }) else { return }
        await group.triggerGracefulShutdown()
        await task.value
    }

    /// Sends every span that ended, now, without waiting for the flush interval.
    public func flush() {
        for tracer in running.withLock({ $0.map { Array($0.tracers.values) } ?? [] }) { tracer.flush() }
    }

    /// The servers that are up (after `start()`).
    public var listening: [ListeningServer] { running.withLock { $0?.listening ?? [] } }

    /// The generator's figures (zeros when there is none).
    public var traffic: TrafficStatistics { running.withLock { $0?.generator?.statistics } ?? TrafficStatistics() }

    /// Each tracer's counters, e.g. to tell how many spans were reported.
    public var tracerStatistics: [DemoService: JaegerTracerStatistics] {
        running.withLock { $0?.tracers.mapValues(\.statistics) ?? [:] }
    }

    private func makeLogger() -> Logger {
        guard configuration.logToStandardError else {
            return Logger(label: "tracetty.demo", factory: { _ in SwiftLogNoOpLogHandler() })
        }
        var logger = Logger(label: "tracetty.demo", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return logger
    }
}

/// What `start()` hears from the servers and the group.
private enum DemoSystemEvent: Sendable {
    case listening(ListeningServer)
    case failed(DemoServerError)
    case finished(String?)
}

/// Shuts the client down once the servers using it have stopped.
private struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// One Hummingbird application: reports when it listens, and turns a bind
/// failure into a `DemoServerError` naming the port and its option.
private struct ServerService: Service {
    let server: DemoServerConfiguration
    let tracer: JaegerTracer
    let client: HTTPClient
    let server2URL: String?
    let logger: Logger
    let events: AsyncStream<DemoSystemEvent>.Continuation

    init(server: DemoServerConfiguration, tracer: JaegerTracer, client: HTTPClient, server2URL: String?,
         logger: Logger, events: AsyncStream<DemoSystemEvent>.Continuation) {
        self.server = server
        self.tracer = tracer
        self.client = client
        self.server2URL = server2URL
        self.logger = logger
        self.events = events
    }

    func run() async throws {
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response
        switch server.service {
        case .server1:
            let upstream = Self.withPath(server2URL ?? "http://127.0.0.1:\(DemoService.server2.defaultPort)")
            let server1 = Server1Handler(tracer: tracer, client: client, server2URL: upstream, delay: server.delay,
                                         maxNameBytes: server.maxNameBytes, upstreamTimeout: server.upstreamTimeout)
            handler = { request, _ in try await server1.respond(request) }
        case .server2:
            let server2 = Server2Handler(delay: server.delay, maxNameBytes: server.maxNameBytes)
            handler = { request, _ in try await server2.respond(request) }
        }
        let responder = TracedResponder(
            middleware: ServerTracingMiddleware<BasicRequestContext, JaegerTracer>(tracer: tracer, operationName: server.service.rawValue),
            handler: handler)
        let server = self.server
        let events = self.events
        let app = Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(server.host, port: server.port)),
            onServerRunning: { channel in
                let local = channel.localAddress
                events.yield(.listening(ListeningServer(service: server.service, host: local?.ipAddress ?? server.host,
                                                        port: local?.port ?? server.port)))
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            let failure = Self.bindError(error, server)
            events.yield(.failed(failure))
            throw failure
        }
    }

    /// `http://host:port` -> `http://host:port/`; a URL with a path stays as it is.
    static func withPath(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        return url[scheme.upperBound...].contains("/") ? url : url + "/"
    }

    static func bindError(_ error: any Error, _ server: DemoServerConfiguration) -> DemoServerError {
        if let io = error as? IOError {
            if io.errnoCode == EADDRINUSE {
                return .portInUse(server.service, host: server.host, port: server.port, option: server.portOption)
            }
            return .cannotListen(server.service, host: server.host, port: server.port, option: server.portOption,
                                 reason: String(cString: strerror(io.errnoCode)))
        }
        return .cannotListen(server.service, host: server.host, port: server.port, option: server.portOption,
                             reason: "\(error)")
    }
}
