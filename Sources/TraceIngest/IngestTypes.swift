import TraceModel

/// The receivers tracetty runs, named as `record` prints them.
public enum ListenerKind: String, CaseIterable, Sendable, Hashable, Comparable {
    case jaegerCompact = "jaeger-compact"
    case jaegerBinary = "jaeger-binary"
    case zipkinCompact = "zipkin-compact"
    case jaegerCollector = "jaeger-collector"
    case otlpHTTP = "otlp-http"
    case zipkinHTTP = "zipkin-http"
    case otlpGRPC = "otlp-grpc"

    public var transport: String {
        switch self {
        case .jaegerCompact, .jaegerBinary, .zipkinCompact: return "udp"
        case .jaegerCollector, .otlpHTTP, .zipkinHTTP: return "http"
        case .otlpGRPC: return "grpc"
        }
    }

    /// The Jaeger / OpenTelemetry / Zipkin default port.
    public var defaultPort: Int {
        switch self {
        case .jaegerCompact: return 6831
        case .jaegerBinary: return 6832
        case .zipkinCompact: return 5775
        case .jaegerCollector: return 14268
        case .otlpHTTP: return 4318
        case .zipkinHTTP: return 9411
        case .otlpGRPC: return 4317
        }
    }

    /// The command-line option that sets its port.
    public var portOption: String {
        switch self {
        case .jaegerCompact: return "--jaeger-compact-port"
        case .jaegerBinary: return "--jaeger-binary-port"
        case .zipkinCompact: return "--zipkin-compact-port"
        case .jaegerCollector: return "--collector-port"
        case .otlpHTTP: return "--otlp-http-port"
        case .zipkinHTTP: return "--zipkin-port"
        case .otlpGRPC: return "--otlp-grpc-port"
        }
    }

    public static func < (a: ListenerKind, b: ListenerKind) -> Bool {
        (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
    }
}

extension IngestConfiguration {
    /// SO_RCVBUF asked for by default: a burst the decoder is behind on waits
    /// in the kernel (Linux grants twice this, as bookkeeping, when allowed).
    public static let defaultUDPReceiveBufferBytes = 64 << 20
    /// Bytes of datagrams read but not yet decoded, per UDP listener, by
    /// default: ~1.4M seed-shaped spans (a 3 s flood at 1M spans/s that
    /// decoding is a core short on).
    public static let defaultUDPDecodeQueueBytes = 256 << 20
}

/// Where each listener binds. A listener absent from `ports` is off; port 0
/// asks the system for a free one.
public struct IngestConfiguration: Sendable, Hashable {
    public var host: String
    public var ports: [ListenerKind: Int]
    /// HTTP bodies larger than this get 413; gRPC messages, RESOURCE_EXHAUSTED.
    public var maxBodyBytes: Int
    /// SO_RCVBUF asked for on the UDP sockets (the kernel may cap it).
    public var udpReceiveBufferBytes: Int
    /// Datagrams read but not yet decoded wait for the listener's decode
    /// thread up to this many bytes; past it they are dropped and counted.
    public var udpDecodeQueueBytes: Int
    /// A gzip body that inflates past this gets 413 (gRPC: RESOURCE_EXHAUSTED).
    public var maxDecompressedBytes: Int
    /// When set, every HTTP and gRPC request must carry `Authorization:
    /// Bearer <token>` (401 / UNAUTHENTICATED otherwise). UDP cannot carry one.
    public var token: BearerToken?
    /// The HTTP and gRPC receivers' bounds on heads, time and connections.
    public var limits: ReceiverLimits

    public init(host: String = "127.0.0.1",
                ports: [ListenerKind: Int] = Dictionary(uniqueKeysWithValues: ListenerKind.allCases.map { ($0, $0.defaultPort) }),
                maxBodyBytes: Int = 16 << 20,
                udpReceiveBufferBytes: Int = IngestConfiguration.defaultUDPReceiveBufferBytes,
                udpDecodeQueueBytes: Int = IngestConfiguration.defaultUDPDecodeQueueBytes,
                maxDecompressedBytes: Int? = nil, token: BearerToken? = nil, limits: ReceiverLimits = ReceiverLimits()) {
        self.token = token
        self.limits = limits
        self.host = host
        self.ports = ports
        self.maxBodyBytes = maxBodyBytes
        self.udpReceiveBufferBytes = udpReceiveBufferBytes
        self.udpDecodeQueueBytes = udpDecodeQueueBytes
        self.maxDecompressedBytes = maxDecompressedBytes ?? max(maxBodyBytes, 64 << 20)
    }
}

/// What one HTTP or gRPC connection may take besides its bodies; each bound
/// that bites is answered (431, 408, 503; RESOURCE_EXHAUSTED,
/// DEADLINE_EXCEEDED) or the connection is closed, and counted.
public struct ReceiverLimits: Sendable, Hashable {
    /// Node's default; gRPC's own bound is this too (see `grpcHeaderListBytes`).
    public static let defaultMaxHeaderBytes = 16 << 10
    public static let defaultRequestTimeout: Duration = .seconds(30)
    /// Longer than Go's client pool (90 s), so the client is the one that
    /// closes an idle keep-alive connection, not us under its next request.
    public static let defaultIdleTimeout: Duration = .seconds(120)
    /// Per receiver. Four receivers at this bound, plus the connections
    /// being refused, stay under the usual 1024 open files.
    public static let defaultMaxConnections = 128
    /// grpc-swift-nio-transport advertises and enforces this header list size
    /// (SETTINGS_MAX_HEADER_LIST_SIZE) itself; it cannot be raised from here.
    public static let grpcHeaderListBytes = 16 << 10

    /// HTTP: bytes of a request head (request line, header lines, blank
    /// line) past which it gets 431. gRPC: the header list size as HTTP/2
    /// measures it (names, values, 32 per field), at most `grpcHeaderListBytes`.
    public var maxHeaderBytes: Int
    /// From a request's first byte to its last (HTTP: 408; gRPC: the Export
    /// stream must end by then, DEADLINE_EXCEEDED otherwise).
    public var requestTimeout: Duration
    /// A connection with no request in progress is closed after this.
    public var idleTimeout: Duration
    /// Open connections per receiver; past it a new one is refused (HTTP 503, gRPC: closed).
    public var maxConnections: Int

    public init(maxHeaderBytes: Int = ReceiverLimits.defaultMaxHeaderBytes,
                requestTimeout: Duration = ReceiverLimits.defaultRequestTimeout,
                idleTimeout: Duration = ReceiverLimits.defaultIdleTimeout,
                maxConnections: Int = ReceiverLimits.defaultMaxConnections) {
        self.maxHeaderBytes = maxHeaderBytes
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// A listener that is up, and the address it got.
public struct BoundListener: Sendable, Hashable, CustomStringConvertible {
    public var kind: ListenerKind
    public var host: String
    public var port: Int
    /// UDP only: SO_RCVBUF as the kernel reports it after our request (Linux
    /// reports twice what it grants for data; capped by net.core.rmem_max
    /// unless the process may force it).
    public var receiveBufferBytes: Int?

    public init(kind: ListenerKind, host: String, port: Int, receiveBufferBytes: Int? = nil) {
        self.kind = kind
        self.host = host
        self.port = port
        self.receiveBufferBytes = receiveBufferBytes
    }

    /// `127.0.0.1:6831`, `[::1]:6831`.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `listening jaeger-compact udp 127.0.0.1:6831`
    public var description: String { "listening \(kind.rawValue) \(kind.transport) \(address)" }
}

/// Where decoded spans go (the store feeding the UI, the recorder). Called on
/// NIO event-loop threads: it must be quick and must never block on I/O.
public protocol SpanSink: Sendable {
    func accept(_ spans: [Span], from listener: ListenerKind)
}

public enum IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    case portInUse(ListenerKind, host: String, port: Int)
    case cannotBind(ListenerKind, host: String, port: Int, reason: String)

    public var description: String { message(option: nil) }

    /// The one-line message, naming `option` (default: the listener's own
    /// port option, which `--off NAME` can also turn off) as what to change.
    public func message(option: String?) -> String {
        switch self {
        case .portInUse(let kind, let host, let port):
            let fix = option.map { "choose another port with \($0)" }
                ?? "choose another port with \(kind.portOption) or turn the listener off"
            return "port \(port) on \(host) is already in use (\(kind.rawValue), \(option ?? kind.portOption)): \(fix)"
        case .cannotBind(let kind, let host, let port, let reason):
            return "cannot listen on \(host):\(port) for \(kind.rawValue) (\(option ?? kind.portOption)): \(reason)"
        }
    }
}
