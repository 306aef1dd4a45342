import Foundation

/// How a `JaegerTracer` identifies its process, where it sends spans and how
/// it propagates context. Defaults follow jaeger-client-go.
public struct JaegerTracerConfiguration: Sendable {
    /// The Process's `serviceName` in every batch.
    public var serviceName: String
    /// The Jaeger agent (or tracetty) receiving Thrift compact `emitBatch` on UDP.
    public var agentHost: String
    public var agentPort: Int
    /// Extra process tags after `hostname`, `ip` and `jaeger.version` (a key
    /// named like one of those replaces its value).
    public var processTags: [String: String]
    /// Width of the trace ids of new traces; extracted ids keep their width.
    public var traceIDBits: TraceIDBits
    /// Which headers `inject` writes; `extract` always accepts both.
    public var propagation: PropagationFormats
    /// How often `run()` sends what is queued, full datagram or not.
    public var flushInterval: Duration
    /// Finished spans waiting to be encoded; more are dropped and counted
    /// (`ClientStats.fullQueueDroppedSpans`).
    public var maxQueuedSpans: Int
    /// The largest datagram sent; a span that does not fit alone is dropped
    /// and counted (`ClientStats.tooLargeDroppedSpans`).
    public var maxDatagramBytes: Int

    public init(serviceName: String, agentHost: String = "127.0.0.1", agentPort: Int = 6831) {
        self.serviceName = serviceName
        self.agentHost = agentHost
        self.agentPort = agentPort
        self.processTags = [:]
        self.traceIDBits = .bits128
        self.propagation = .both
        self.flushInterval = .seconds(1)
        self.maxQueuedSpans = 10_000
        self.maxDatagramBytes = 65_000
    }

    /// `JAEGER_AGENT_HOST` / `JAEGER_AGENT_PORT` override the defaults, as in
    /// jaeger-client-go; an empty host or a port outside 1...65535 is ignored.
    public static func fromEnvironment(serviceName: String,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) -> Self {
        var configuration = Self(serviceName: serviceName)
        if let host = environment["JAEGER_AGENT_HOST"]?.trimmingCharacters(in: .whitespaces), !host.isEmpty {
            configuration.agentHost = host
        }
        if let text = environment["JAEGER_AGENT_PORT"]?.trimmingCharacters(in: .whitespaces),
           let port = Int(text), (1...65535).contains(port) {
            configuration.agentPort = port
        }
        return configuration
    }
}

public enum TraceIDBits: Sendable, Hashable {
    /// jaeger-client-go's `Gen128Bit`, W3C-compatible: the default.
    case bits128
    /// Classic Jaeger ids (`traceIdHigh` = 0).
    case bits64
}

/// The context headers `inject` writes.
public struct PropagationFormats: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `uber-trace-id: {trace}:{span}:{parent}:{flags}`.
    public static let jaeger = PropagationFormats(rawValue: 1)
    /// `traceparent` (and `tracestate` when the context carries one).
    public static let w3c = PropagationFormats(rawValue: 2)
    public static let both: PropagationFormats = [.jaeger, .w3c]
}

public enum JaegerTracerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// getaddrinfo could not resolve the agent address.
    case cannotResolveAgent(host: String, port: Int, reason: String)
    case invalidConfiguration(String)
    case socket(operation: String, errno: Int32)
    /// `run()` was called while another `run()` of the same tracer is running.
    case alreadyRunning

    public var description: String {
        switch self {
        case .cannotResolveAgent(let host, let port, let reason):
            return "cannot resolve the Jaeger agent address \(host):\(port): \(reason)"
        case .invalidConfiguration(let reason): return "invalid tracer configuration: \(reason)"
        case .socket(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        case .alreadyRunning: return "the tracer's run() is already running"
        }
    }
}

/// Counters since the tracer started. `droppedQueueFull`, `droppedTooLarge`
/// and `sendFailures` are also sent in every batch as jaeger `ClientStats`.
public struct JaegerTracerStatistics: Sendable, Equatable, CustomStringConvertible {
    public var spansStarted: Int = 0
    public var spansFinished: Int = 0
    /// Spans in datagrams that were sent whole.
    public var spansReported: Int = 0
    public var datagramsSent: Int = 0
    /// Finished while the queue held `maxQueuedSpans` and another caller was
    /// already sending a datagram's worth (or `run()` was not running).
    public var droppedQueueFull: Int = 0
    /// Times a caller found the queue full while `run()` was running and sent
    /// the oldest datagram's worth itself rather than drop its span.
    public var callerSends: Int = 0
    /// Larger alone than a datagram.
    public var droppedTooLarge: Int = 0
    /// Spans in datagrams whose send failed (jaeger's `failedToEmitSpans`).
    public var sendFailures: Int = 0
    /// Finished after `shutdown()`.
    public var droppedAfterShutdown: Int = 0

    public init() {}

    public var description: String {
        "started \(spansStarted), finished \(spansFinished), reported \(spansReported) in \(datagramsSent) datagrams, "
            + "dropped: queue full \(droppedQueueFull), too large \(droppedTooLarge), send failed \(sendFailures), "
            + "after shutdown \(droppedAfterShutdown); sent by callers \(callerSends) times"
    }
}
