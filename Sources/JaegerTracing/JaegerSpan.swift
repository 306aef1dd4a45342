import Synchronization
import Tracing
import struct TraceModel.SpanID
import struct TraceModel.TraceID

/// A span of a `JaegerTracer`. Mutations take the span's own lock (spans are
/// shared references and may be touched from several tasks); `end()` hands
/// the recorded data to the tracer's queue in one short critical section.
/// Encoding happens later, on the flush path.
public final class JaegerSpan: Tracing.Span {
    public let context: InstrumentationContext
    /// This span's ids, also found as `context.jaegerSpanContext`.
    public let spanContext: JaegerSpanContext
    let kind: SpanKind
    let startNanos: UInt64
    /// Started a new trace here (jaeger-client-go tags these with the sampler).
    let startsTrace: Bool
    private let reporter: JaegerReporter
    private let state: Mutex<RecordedSpan>

    init(operationName: String, kind: SpanKind, startNanos: UInt64, context: InstrumentationContext,
         spanContext: JaegerSpanContext, startsTrace: Bool, reporter: JaegerReporter) {
        self.context = context
        self.spanContext = spanContext
        self.kind = kind
        self.startNanos = startNanos
        self.startsTrace = startsTrace
        self.reporter = reporter
        self.state = Mutex(RecordedSpan(operationName: operationName))
    }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { $0.operationName = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
        // `span.attributes["k"] = v` would otherwise copy the dictionary on
        // every write (the getter's copy shares storage with the span's). The
        // attributes are moved out, edited, and moved back; a concurrent
        // writer's keys are merged rather than lost.
        _modify {
            var moved = SpanAttributes()
            state.withLock { swap(&moved, &$0.attributes) }
            // Room for a typical span's attributes at once, instead of regrowing at 1, 3 and 6.
            if moved.isEmpty { moved.reserveCapacity(8) }
            defer {
                state.withLock { recorded in
                    if recorded.attributes.isEmpty {
                        swap(&moved, &recorded.attributes)
                    } else {
                        let concurrent = recorded.attributes
                        recorded.attributes = moved
                        concurrent.forEach { key, value in
                            if recorded.attributes.get(key) == nil { recorded.attributes.set(key, value: value) }
                        }
                    }
                }
            }
            yield &moved
        }
    }

    public var isRecording: Bool { !state.withLock { $0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.status = status }
    }

    public func addEvent(_ event: SpanEvent) {
        state.withLock { $0.events.append(event) }
    }

    /// A log as jaeger-client-go's `ext.LogError` writes it (`event=error`,
    /// `error.kind`, `error.object`, `message`) plus the given attributes, and
    /// the span's `error=true` tag.
    public func recordError<Instant: TracerInstant>(_ error: Error, attributes: SpanAttributes,
                                                    at instant: @autoclosure () -> Instant) {
        var fields = SpanAttributes()
        fields.reserveCapacity(3 + attributes.count)
        let text = String(describing: error)
        fields.set("error.kind", value: .string(String(describing: type(of: error))))
        fields.set("error.object", value: .string(text))
        fields.set("message", value: .string(text))
        fields.merge(attributes)
        let event = SpanEvent(name: "error", at: instant(), attributes: fields)
        state.withLock {
            $0.events.append(event)
            $0.errorRecorded = true
        }
    }

    /// Becomes a FOLLOWS_FROM reference; links to spans of other tracers
    /// (no Jaeger context) are ignored, as are the link's attributes (Jaeger
    /// references have none).
    public func addLink(_ link: SpanLink) {
        guard let target = link.context.jaegerSpanContext else { return }
        state.withLock { $0.links.append(target) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let endNanos = instant().nanosecondsSinceEpoch
        var recorded = RecordedSpan(operationName: "")
        let first = state.withLock { current -> Bool in
            guard !current.ended else { return false }
            swap(&recorded, &current)
            current.ended = true
            return true
        }
        // A second end() is a caller's mistake: ignored, as the protocol recommends.
        guard first else { return }
        reporter.enqueue(FinishedSpan(
            traceHigh: spanContext.traceID.high, traceLow: spanContext.traceID.low,
            spanID: spanContext.spanID.raw, parentSpanID: spanContext.parentSpanID?.raw ?? 0,
            flags: spanContext.flags, kind: kind, startsTrace: startsTrace,
            startNanos: startNanos, endNanos: endNanos, recorded: recorded))
    }
}

/// What a span records between start and end.
struct RecordedSpan: Sendable {
    var operationName: String
    var attributes = SpanAttributes()
    var status: SpanStatus? = nil
    /// Events, and recorded errors as `error` events.
    var events: [SpanEvent] = []
    var links: [JaegerSpanContext] = []
    var errorRecorded = false
    var ended = false
}

/// An ended span waiting in the queue for the flush path to encode it.
struct FinishedSpan: Sendable {
    var traceHigh: UInt64
    var traceLow: UInt64
    var spanID: UInt64
    /// 0 for a root.
    var parentSpanID: UInt64
    var flags: UInt8
    var kind: SpanKind
    var startsTrace: Bool
    var startNanos: UInt64
    var endNanos: UInt64
    var recorded: RecordedSpan
}
