import ArgumentParser
import DemoServers
import Foundation
import JaegerTracing
import TraceExplorer
import TraceIngest
import TraceModel

/// `--agent HOST:PORT`: where a demo server's tracer sends its datagrams.
struct AgentAddress: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        // HOST:PORT, [IPv6]:PORT
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
              (1...65_535).contains(port) else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

/// The options of a single demo server command.
struct DemoServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The Jaeger agent (or a tracetty) receiving the spans, HOST:PORT (default: JAEGER_AGENT_HOST and JAEGER_AGENT_PORT, else 127.0.0.1:6831).",
                               valueName: "host:port"))
    var agent: AgentAddress?

    func tracer(for service: DemoService) -> JaegerTracerConfiguration {
        var configuration = JaegerTracerConfiguration.fromEnvironment(serviceName: service.rawValue)
        if let agent {
            configuration.agentHost = agent.host
            configuration.agentPort = agent.port
        }
        return configuration
    }
}

func validatePort(_ port: Int, option: String) throws {
    guard (0...65_535).contains(port) else { throw ValidationError("\(option) \(port): a port is 0...65535") }
}

/// Runs one demo server until SIGTERM or SIGINT; prints its listening line.
func runDemoServer(_ server: DemoServerConfiguration) async throws {
    let system = DemoSystem(configuration: .init(servers: [server], stopOnSignals: true, logToStandardError: true))
    let listening: [ListeningServer]
    do {
        listening = try await system.start()
    } catch {
        printError("tracetty: \(error)")
        throw ExitCode(2)
    }
    for server in listening { printNow(server.description) }
    do {
        try await system.wait()
    } catch {
        printError("tracetty: \(error)")
        throw ExitCode(1)
    }
    let reported = system.tracerStatistics[server.service]
    printNow("stopped \(server.service)" + (reported.map { "; tracer: \($0)" } ?? ""))
}

struct Server1Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server-1",
        abstract: "The seed's server-1: GET /NAME waits 250 ms, POSTs NAME to server-2 and answers \"Hello NAME! time is ...\"; spans to a Jaeger agent.",
        discussion: "Stops gracefully on SIGTERM or SIGINT (requests in flight finish, spans are sent)."
    )

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = DemoService.server1.defaultPort

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .customLong("server-2"), help: ArgumentHelp("server-2's base URL.", valueName: "url"))
    var server2 = "http://127.0.0.1:\(DemoService.server2.defaultPort)"

    @OptionGroup var options: DemoServerOptions

    func validate() throws {
        try validatePort(port, option: "--port")
        guard server2.hasPrefix("http://") else { throw ValidationError("--server-2 \(server2): an http:// URL") }
    }

    func run() async throws {
        try await runDemoServer(DemoServerConfiguration(
            service: .server1, host: host, port: port, portOption: "--port",
            tracer: options.tracer(for: .server1), server2URL: server2))
    }
}

struct Server2Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server-2",
        abstract: "The seed's server-2: POST with a name as the body waits 500 ms and answers \"Hello NAME!\"; spans to a Jaeger agent.",
        discussion: "Stops gracefully on SIGTERM or SIGINT (requests in flight finish, spans are sent)."
    )

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = DemoService.server2.defaultPort

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @OptionGroup var options: DemoServerOptions

    func validate() throws {
        try validatePort(port, option: "--port")
    }

    func run() async throws {
        try await runDemoServer(DemoServerConfiguration(
            service: .server2, host: host, port: port, portOption: "--port", tracer: options.tracer(for: .server2)))
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Try tracetty in one command: server-1 and server-2 of the seed, traffic, and the live explorer receiving their spans.",
        discussion: """
            Starts server-1 (8082) and server-2 (8081), each with its own Jaeger tracer, the Jaeger agent \
            listener (UDP 6831) and the explorer in follow mode, and sends GET /NAME to server-1 at --rate \
            per second. Send your own: curl localhost:8082/alice. q quits and stops everything.
            """
    )

    @Option(help: "Requests per second the traffic generator sends to server-1 (0: none).")
    var rate: Double = 1

    @Option(name: .customLong("server-1-port"), help: "server-1's port (0 picks a free one).")
    var server1Port = DemoService.server1.defaultPort

    @Option(name: .customLong("server-2-port"), help: "server-2's port (0 picks a free one).")
    var server2Port = DemoService.server2.defaultPort

    @Option(help: "UDP port of the Jaeger agent listener the servers report to (0 picks a free one).")
    var agentPort = ListenerKind.jaegerCompact.defaultPort

    @Option(help: "Address the servers and the listener bind to.")
    var host = "127.0.0.1"

    @OptionGroup var store: StoreOptions

    @Option(help: "Colours: auto (NO_COLOR and the terminal decide), always (256 colours), never.")
    var color: ColorChoice = .auto

    func validate() throws {
        guard rate.isFinite, rate >= 0, rate <= 10_000 else { throw ValidationError("--rate \(rate): 0...10000 requests per second") }
        try validatePort(server1Port, option: "--server-1-port")
        try validatePort(server2Port, option: "--server-2-port")
        try validatePort(agentPort, option: "--agent-port")
    }

    func run() async throws {
        // Everything binds before the terminal is touched: a taken port is one line and exit 2.
        let queue = SpanQueue(capacity: max(store.maxSpans, 100_000), byteCapacity: store.memory.limitBytes / 8)
        let counters = IngestCounters()
        let ingest = IngestServer(configuration: IngestConfiguration(host: host, ports: [.jaegerCompact: agentPort]),
                                  sink: LiveSink(queue: queue, recorder: nil), counters: counters)
        let bound: [BoundListener]
        do {
            bound = try await ingest.start()
        } catch {
            printError("tracetty: " + error.message(option: "--agent-port"))
            throw ExitCode(2)
        }
        let agentHost = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        func server(_ service: DemoService, port: Int, option: String) -> DemoServerConfiguration {
            var tracer = JaegerTracerConfiguration(serviceName: service.rawValue, agentHost: agentHost,
                                                   agentPort: bound.first?.port ?? agentPort)
            tracer.flushInterval = .milliseconds(500)
            return DemoServerConfiguration(service: service, host: host, port: port, portOption: option, tracer: tracer)
        }
        let system = DemoSystem(configuration: .init(
            servers: [server(.server2, port: server2Port, option: "--server-2-port"),
                      server(.server1, port: server1Port, option: "--server-1-port")],
            traffic: rate > 0 ? TrafficConfiguration(rate: rate) : nil))
        let listening: [ListeningServer]
        do {
            listening = try await system.start()
        } catch {
            await ingest.shutdown()
            printError("tracetty: \(error)")
            throw ExitCode(2)
        }
        let server1 = listening.first { $0.service == .server1 }
        let hint = Self.hint(listening: listening, agent: bound, rate: rate)
        for line in hint { printNow(line) }

        let sharedStore = SharedTraceStore(limits: store.limits)
        let memory = MemoryWatch(limitBytes: store.memory.limitBytes, targets: .init(store: sharedStore, queue: queue))
        defer { memory.stop() }
        let title = "demo · curl \(Self.curlAddress(server1))/alice"
        let colorMode = color.mode, utcOffset = store.utcOffsetSeconds, rawTimes = store.rawTimes
        let outcome = await runOnOwnThread { () throws -> Int32 in
            let feed = MemoryReportingFeed(
                inner: LiveFeed(queue: queue, counters: counters, server: ingest, listeners: bound, recorder: nil, recordPath: nil),
                watch: memory, queue: queue)
            var loop = ExplorerLoop(store: sharedStore, feed: feed, title: title, colorMode: colorMode,
                                    utcOffsetSeconds: utcOffset)
            loop.rawTimes = rawTimes
            loop.follow = true
            return try loop.run()
        }
        // The explorer is gone: stop sending, let requests finish, flush the tracers, then stop listening.
        await system.stop()
        await ingest.shutdown()
        let traffic = system.traffic
        printNow("tracetty demo: stopped. \(traffic.sent) generated requests (\(traffic.succeeded) answered 200"
                 + (traffic.failed > 0 ? ", \(traffic.failed) failed" : "") + "), "
                 + "\(counters.snapshot().spansAccepted) spans received.")
        printNow("Run it again and send your own request: curl \(Self.curlAddress(server1))/alice")
        let exit = try outcome.get()
        if exit != 0 { throw ExitCode(exit) }
    }

    /// What runs where, and how to send your own request.
    static func hint(listening: [ListeningServer], agent: [BoundListener], rate: Double) -> [String] {
        let server1 = listening.first { $0.service == .server1 }
        let addresses = listening.map { "\($0.service) on \($0.address)" } + agent.map { "spans to udp \($0.address)" }
        let traffic = rate > 0 ? "sending \(rate == rate.rounded() ? String(Int(rate)) : String(rate)) request/s to server-1" : "no generated traffic (--rate 0)"
        return ["tracetty demo: " + addresses.joined(separator: ", "),
                "\(traffic); send your own: curl \(curlAddress(server1))/alice"]
    }

    /// `localhost:8082` for a loopback or wildcard address, else the address.
    static func curlAddress(_ server: ListeningServer?) -> String {
        guard let server else { return "localhost:\(DemoService.server1.defaultPort)" }
        return ["127.0.0.1", "0.0.0.0", "::1", "::"].contains(server.host) ? "localhost:\(server.port)" : server.address
    }
}
