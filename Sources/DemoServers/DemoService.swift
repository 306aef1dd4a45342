import JaegerTracing

/// The seed's two services. server-1 answers `GET /NAME` after asking
/// server-2 (`POST` with NAME as the body); each reports its spans to a
/// Jaeger agent under its own service name.
public enum DemoService: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case server1 = "server-1"
    case server2 = "server-2"

    /// The seed's ports.
    public var defaultPort: Int {
        switch self {
        case .server1: return 8082
        case .server2: return 8081
        }
    }

    /// How long the handler works before answering (server-1: before calling server-2).
    public var defaultDelay: Duration {
        switch self {
        case .server1: return .milliseconds(250)
        case .server2: return .milliseconds(500)
        }
    }

    public var description: String { rawValue }
}

/// One demo server: where it listens, where it reports, and server-1's upstream.
public struct DemoServerConfiguration: Sendable {
    public var service: DemoService
    public var host: String
    /// 0 picks a free port (reported by `DemoSystem.start()`).
    public var port: Int
    /// The command-line option that set `port`, named in a bind error.
    public var portOption: String
    /// The tracer of this server: `serviceName` should be the service's name.
    public var tracer: JaegerTracerConfiguration
    /// server-1 only: the base URL of server-2 (`http://127.0.0.1:8081`). nil:
    /// the server-2 started in the same `DemoSystem`.
    public var server2URL: String?
    public var delay: Duration
    /// The longest name accepted (server-1: in the path, server-2: the body).
    public var maxNameBytes: Int
    /// How long server-1 waits for server-2's answer.
    public var upstreamTimeout: Duration

    public init(service: DemoService, host: String = "127.0.0.1", port: Int? = nil, portOption: String = "--port",
                tracer: JaegerTracerConfiguration? = nil, server2URL: String? = nil) {
        self.service = service
        self.host = host
        self.port = port ?? service.defaultPort
        self.portOption = portOption
        self.tracer = tracer ?? JaegerTracerConfiguration.fromEnvironment(serviceName: service.rawValue)
        self.server2URL = server2URL
        self.delay = service.defaultDelay
        self.maxNameBytes = 1024
        self.upstreamTimeout = .seconds(10)
    }
}

/// A server that is up, and the address it got.
public struct ListeningServer: Sendable, Hashable, CustomStringConvertible {
    public var service: DemoService
    public var host: String
    public var port: Int

    public init(service: DemoService, host: String, port: Int) {
        self.service = service
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:8082`, `[::1]:8082`.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `http://127.0.0.1:8082`
    public var url: String { "http://" + address }

    /// `listening server-1 http 127.0.0.1:8082`, like `record`'s listener lines.
    public var description: String { "listening \(service) http \(address)" }
}

/// Why the demo servers could not start.
public enum DemoServerError: Error, Sendable, Equatable, CustomStringConvertible {
    case portInUse(DemoService, host: String, port: Int, option: String)
    case cannotListen(DemoService, host: String, port: Int, option: String, reason: String)
    case tracer(DemoService, reason: String)
    /// The services stopped by themselves (while starting, or later): why.
    case stopped(reason: String)
    /// `start()` was called on a system that was started already.
    case alreadyStarted

    public var description: String {
        switch self {
        case .portInUse(let service, let host, let port, let option):
            return "port \(port) on \(host) is already in use (\(service), \(option)): choose another port with \(option)"
        case .cannotListen(let service, let host, let port, let option, let reason):
            return "cannot listen on \(host):\(port) for \(service) (\(option)): \(reason)"
        case .tracer(let service, let reason):
            return "\(service): cannot start its Jaeger tracer: \(reason)"
        case .stopped(let reason):
            return "the demo servers stopped: \(reason)"
        case .alreadyStarted:
            return "the demo servers were started already"
        }
    }
}
