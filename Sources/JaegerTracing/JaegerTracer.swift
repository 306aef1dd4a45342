import ServiceLifecycle
import Tracing
import struct TraceModel.SpanID
import struct TraceModel.TraceID

/// A swift-distributed-tracing `Tracer` reporting finished spans the way
/// jaeger-client-go does: Thrift compact `Agent.emitBatch` datagrams of up
/// to `maxDatagramBytes` over UDP to the agent, with `seqNo` and
/// `ClientStats`, every span sampled (a const sampler).
///
/// Run it as a swift-service-lifecycle `Service` (first in the group, so it
/// shuts down last): `run()` sends full datagrams as they fill and the rest
/// every `flushInterval`, and flushes everything on graceful shutdown.
/// Without `run()`, spans wait in the bounded queue for `flush()`.
///
/// Independent of `InstrumentationSystem`: pass the tracer to the code that
/// makes spans; several tracers (one per service) can share a process.
public final class JaegerTracer: Tracer, Service, Sendable {
    public typealias Span = JaegerSpan

    /// The `jaeger.version` process tag, as jaeger-client-go writes `Go-2.30.0`.
    public static let libraryVersion = "Swift-tracetty-1.0.0"

    public let configuration: JaegerTracerConfiguration
    private let reporter: JaegerReporter
    private let ids = RandomIDGenerator()

    /// Resolves the agent address and connects the UDP socket (no packet is
    /// sent); throws `JaegerTracerError` when the address cannot be resolved.
    deinit {
        // Spans waiting in the reporter hold it (see `releaseSpans`).
        reporter.releaseSpans()
    }

    public convenience init(configuration: JaegerTracerConfiguration) throws {
        try self.init(configuration: configuration, reporterPollInterval: JaegerReporter.defaultPollInterval)
    }

    /// `reporterPollInterval`: see `JaegerReporter.defaultPollInterval` (tests lengthen it).
    init(configuration: JaegerTracerConfiguration, reporterPollInterval: Duration) throws {
        guard configuration.maxDatagramBytes >= 1024, configuration.maxDatagramBytes <= 65_507 else {
            throw JaegerTracerError.invalidConfiguration("maxDatagramBytes must be within 1024...65507")
        }
        guard configuration.maxQueuedSpans > 0 else {
            throw JaegerTracerError.invalidConfiguration("maxQueuedSpans must be positive")
        }
        guard configuration.flushInterval > .zero else {
            throw JaegerTracerError.invalidConfiguration("flushInterval must be positive")
        }
        self.configuration = configuration
        let socket = try UDPAgentSocket(host: configuration.agentHost, port: configuration.agentPort,
                                        sendBufferBytes: 16 * configuration.maxDatagramBytes)
        reporter = JaegerReporter(socket: socket, serviceName: configuration.serviceName,
                                  processTags: Self.processTags(configuration.processTags),
                                  maxQueuedSpans: configuration.maxQueuedSpans,
                                  maxDatagramBytes: configuration.maxDatagramBytes, pollInterval: reporterPollInterval)
    }

    /// `hostname`, `ip`, `jaeger.version`, then the configured tags by key
    /// (a configured key among the first three replaces its value in place).
    static func processTags(_ extra: [String: String]) -> [(String, String)] {
        var tags = [("hostname", HostFacts.hostname()), ("ip", HostFacts.ipv4()), ("jaeger.version", libraryVersion)]
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            if let index = tags.firstIndex(where: { $0.0 == key }) { tags[index].1 = value } else { tags.append((key, value)) }
        }
        return tags
    }

    // MARK: Tracer

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> JaegerSpan {
        let context = context()
        let startNanos = instant().nanosecondsSinceEpoch
        let header: SpanHeader
        let traceState: String
        if let parent = context.jaegerSpanContext {
            // Always sampled (const sampler); other flags (debug) are inherited.
            header = SpanHeader(traceHigh: parent.traceID.high, traceLow: parent.traceID.low, spanID: ids.next(),
                                parentSpanID: parent.spanID.raw, flags: parent.flags | 1, kind: kind,
                                startsTrace: false, startNanos: startNanos)
            traceState = parent.traceState
        } else {
            // As jaeger-client-go: a root's span id is its trace id's low half.
            let (high, low) = ids.nextPair()
            header = SpanHeader(traceHigh: configuration.traceIDBits == .bits128 ? high : 0, traceLow: low, spanID: low,
                                parentSpanID: 0, flags: 1, kind: kind, startsTrace: true, startNanos: startNanos)
            traceState = ""
        }
        reporter.spanStarted()
        // The span's own context (this context plus its ids) is built only if asked for.
        if let reused = reporter.reusableSpan() {
            reused.restart(operationName: operationName, header: header, traceState: traceState, parentContext: context)
            return reused
        }
        return JaegerSpan(operationName: operationName, header: header, traceState: traceState,
                          parentContext: context, reporter: reporter)
    }

    public func forceFlush() {
        flush()
    }

    // MARK: Instrument

    /// Reads `traceparent` (with `tracestate`) or else `uber-trace-id`; a
    /// missing or malformed header leaves `context` unchanged, so the next
    /// span starts a new trace.
    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout InstrumentationContext,
                                          using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        if let remote = JaegerPropagation.extract(carrier, using: extractor) {
            context.jaegerSpanContext = remote
        }
    }

    /// Writes the headers of `configuration.propagation` for the context's span.
    public func inject<Carrier, Inject>(_ context: InstrumentationContext, into carrier: inout Carrier,
                                        using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        JaegerPropagation.inject(context, into: &carrier, using: injector, formats: configuration.propagation)
    }

    // MARK: reporting

    /// Sends everything queued now, the last datagram partly filled.
    public func flush() {
        reporter.flush(sendPartial: true)
    }

    /// Stops accepting spans (later ones are dropped and counted), sends
    /// what is queued, and ends a running `run()`. Idempotent.
    public func shutdown() {
        reporter.stopAccepting()
        reporter.requestStop()
        reporter.flush(sendPartial: true)
    }

    public var statistics: JaegerTracerStatistics { reporter.statistics }

    /// Queued spans that wake the reporter thread (tests).
    var reporterWakeCount: Int { reporter.wakeCount }

    /// Times `end()` woke the reporter thread (tests).
    var reporterWakeupsSignalled: Int { reporter.wakeupsSignalled }

    /// The reporter, to see that it goes with the tracer (tests).
    var reporterObject: AnyObject { reporter }

    /// Spans `startSpan` took from the reporter's cleared spans (tests).
    var spansReused: Int { reporter.spansReused }

    /// See `JaegerReporter.whileEncodersAreHeld` (tests).
    func whileReporterEncodersAreHeld<T>(callers: Bool, _ body: () -> T) -> T {
        reporter.whileEncodersAreHeld(callers: callers, body)
    }

    /// `run()`'s reporter thread has started (tests).
    var reporterThreadRunning: Bool { reporter.reporterThreadRunning }

    /// Sends full datagrams as they fill and everything every
    /// `flushInterval`, until graceful shutdown or cancellation; then shuts
    /// the tracer down (final flush). Throws `alreadyRunning` if called twice.
    /// The encoding and sending happen on a thread of the tracer's own, so a
    /// busy concurrency pool does not hold the queue back.
    public func run() async throws {
        try reporter.beginRunning()
        defer { reporter.endRunning() }
        let interval = configuration.flushInterval
        await withTaskCancellationOrGracefulShutdownHandler { [reporter] in
            await reporter.runReporterThread(flushInterval: interval)
        } onCancelOrGracefulShutdown: { [reporter] in
            reporter.requestStop()
        }
        shutdown()
    }
}
