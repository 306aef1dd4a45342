import Synchronization
import Tracing
import struct TraceModel.SpanID
import struct TraceModel.TraceID

/// A span of a `JaegerTracer`. Mutations take the span's own lock (spans are
/// shared references and may be touched from several tasks); `end()` puts
/// the span itself in the tracer's queue (one reference, no copy of what it
/// recorded), and the reporter encodes it from there.
///
/// Once encoded, a span nobody else holds a strong reference to is cleared
/// and started again as a later span (its object and attribute table reused:
/// see `JaegerReporter`), as jaeger-client-go's span pool does. Only a weak
/// or unowned reference kept past `end()` could tell.
public final class JaegerSpan: Tracing.Span {
    private let reporter: JaegerReporter
    private let state: Mutex<SpanState>

    init(operationName: String, header: SpanHeader, traceState: String, parentContext: InstrumentationContext,
         reporter: JaegerReporter) {
        self.reporter = reporter
        self.state = Mutex(SpanState(header: header, traceState: traceState, parentContext: parentContext,
                                     recorded: RecordedSpan(operationName: operationName)))
    }

    /// Starts a span the reporter encoded and cleared (`encode(into:thenClear:)`) as a new one.
    func restart(operationName: String, header: SpanHeader, traceState: String, parentContext: InstrumentationContext) {
        state.withLock { s in
            s.header = header
            s.traceState = traceState
            s.parentContext = parentContext
            s.recorded.operationName = operationName
            s.ended = false
        }
    }

    /// Forgets what the span recorded, keeping the attribute table's storage
    /// if it is of a typical size; the span stays ended until `restart`.
    private static func clearForReuse(_ s: inout SpanState) {
        s.traceState = ""
        s.parentContext = .topLevel
        s.context = nil
        s.spanContext = nil
        s.recorded.operationName = ""
        if s.recorded.attributes.capacity <= reusedTableCapacity {
            s.recorded.attributes.removeAllKeepingCapacity()
        } else {
            s.recorded.attributes = .none
        }
        s.recorded.status = nil
        if !s.recorded.events.isEmpty { s.recorded.events = [] }
        if !s.recorded.links.isEmpty { s.recorded.links = [] }
        s.recorded.errorRecorded = false
    }

    /// The attribute tables kept by spans waiting for reuse: `emptyTable`'s
    /// size (larger ones are freed, so the pool stays small).
    static var reusedTableCapacity: Int { emptyTable.capacity }

    /// The start context plus this span's `JaegerSpanContext`. Built on first
    /// use: most spans are never asked (a context costs a dictionary and two
    /// objects), and `withSpan` asks once.
    public var context: InstrumentationContext {
        state.withLock { s in
            if let context = s.context { return context }
            var context = s.parentContext
            context.jaegerSpanContext = makeSpanContext(&s)
            s.context = context
            return context
        }
    }

    /// This span's ids, also found as `context.jaegerSpanContext` (the same object).
    public var spanContext: JaegerSpanContext {
        state.withLock { makeSpanContext(&$0) }
    }

    private func makeSpanContext(_ s: inout SpanState) -> JaegerSpanContext {
        if let made = s.spanContext { return made }
        let header = s.header
        let made = JaegerSpanContext(
            traceID: TraceID(high: header.traceHigh, low: header.traceLow), spanID: SpanID(header.spanID),
            parentSpanID: header.parentSpanID == 0 ? nil : SpanID(header.parentSpanID), flags: header.flags,
            traceState: s.traceState)
        s.spanContext = made
        return made
    }

    public var operationName: String {
        get { state.withLock { $0.recorded.operationName } }
        set { state.withLock { if !$0.ended { $0.recorded.operationName = newValue } } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.recorded.attributes } }
        set { state.withLock { if !$0.ended { $0.recorded.attributes = newValue } } }
        // `span.attributes["k"] = v` would otherwise copy the dictionary on
        // every write (the getter's copy shares storage with the span's).
        // Generic code reaches this too: the protocol's witness for the
        // settable requirement calls it.
        _modify {
            var lent = lendAttributes()
            defer { takeBack(&lent) }
            yield &lent.attributes
        }
    }

    /// All of `update`'s writes on one loan of the span's attributes. The
    /// protocol's default (not a requirement, so only calls on a
    /// `JaegerSpan` reach this) reads a copy, which its first write copies
    /// again, and sets it back.
    public func updateAttributes(_ update: (inout SpanAttributes) -> Void) {
        var lent = lendAttributes()
        defer { takeBack(&lent) }
        update(&lent.attributes)
    }

    /// An empty table with room for a typical span's attributes at once,
    /// instead of regrowing at 1, 3 and 6: 6 fit the 8-bucket table (about
    /// 560 bytes; 8 would double it past the sizes glibc's per-thread cache
    /// keeps). Each span's is a `mapValues` copy of it: that is inlinable,
    /// specialized here, and allocates a table of the same size directly,
    /// while `Dictionary(minimumCapacity:)` and `reserveCapacity` are not
    /// inlinable and look the storage's generic metadata up on every call
    /// (a ninth of a 4-attribute span's instructions). The copies share its
    /// hash seed, which matters only when one table is inserted into a
    /// smaller one in order: here only the rare merge of concurrent writers.
    private static let emptyTable = [String: SpanAttribute](minimumCapacity: 6)

    /// The span's attributes, moved out so that writes to them do not copy.
    private struct LentAttributes {
        var attributes = SpanAttributes.none
        /// After end() the span is the reporter's: writes go to a scratch copy.
        var ended = false
    }

    private func lendAttributes() -> LentAttributes {
        var lent = LentAttributes()
        lent.ended = state.withLock { s -> Bool in
            if !s.ended { swap(&lent.attributes, &s.recorded.attributes) }
            return s.ended
        }
        // A reused span's table is empty but has its storage.
        if lent.attributes.isEmpty && !lent.ended && lent.attributes.capacity == 0 {
            lent.attributes = SpanAttributes(Self.emptyTable.mapValues { $0 })
        }
        return lent
    }

    /// Moves lent attributes back; a concurrent writer's keys are merged rather than lost.
    private func takeBack(_ lent: inout LentAttributes) {
        guard !lent.ended else { return }
        state.withLock { s in
            if s.recorded.attributes.isEmpty {
                swap(&lent.attributes, &s.recorded.attributes)
            } else {
                let concurrent = s.recorded.attributes
                s.recorded.attributes = lent.attributes
                concurrent.forEach { key, value in
                    if s.recorded.attributes.get(key) == nil { s.recorded.attributes.set(key, value: value) }
                }
            }
        }
    }

    public var isRecording: Bool { !state.withLock { $0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { if !$0.ended { $0.recorded.status = status } }
    }

    public func addEvent(_ event: SpanEvent) {
        state.withLock { if !$0.ended { $0.recorded.events.append(event) } }
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
            guard !$0.ended else { return }
            $0.recorded.events.append(event)
            $0.recorded.errorRecorded = true
        }
    }

    /// Becomes a FOLLOWS_FROM reference; links to spans of other tracers
    /// (no Jaeger context) are ignored, as are the link's attributes (Jaeger
    /// references have none).
    public func addLink(_ link: SpanLink) {
        guard let target = link.context.jaegerSpanContext else { return }
        state.withLock { if !$0.ended { $0.recorded.links.append(target) } }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let endNanos = instant().nanosecondsSinceEpoch
        let first = state.withLock { s -> Bool in
            guard !s.ended else { return false }
            s.ended = true
            s.endNanos = endNanos
            return true
        }
        // A second end() is a caller's mistake: ignored, as the protocol recommends.
        guard first else { return }
        reporter.enqueue(self)
    }

    /// Writes the ended span as a `jaeger.Span`, reading its record in place
    /// under its lock (uncontended: nobody writes once it has ended), then,
    /// with `thenClear` (the reporter holds the only reference), clears it
    /// for reuse in the same visit.
    func encode(into out: inout ByteWriter, thenClear: Bool) {
        state.withLock { s in
            JaegerBatchEncoder.writeSpan(s.header, endNanos: s.endNanos, s.recorded, into: &out)
            if thenClear { Self.clearForReuse(&s) }
        }
    }
}

/// What is fixed when a span starts.
struct SpanHeader: Sendable {
    var traceHigh: UInt64
    var traceLow: UInt64
    var spanID: UInt64
    /// 0 for a root.
    var parentSpanID: UInt64
    var flags: UInt8
    var kind: SpanKind
    /// Started a new trace here (jaeger-client-go tags these with the sampler).
    var startsTrace: Bool
    var startNanos: UInt64
}

/// A span's state, behind its lock.
struct SpanState: Sendable {
    /// Ids, kind and start: fixed from start to end.
    var header: SpanHeader
    /// W3C `tracestate` inherited from the parent ("" when none).
    var traceState: String
    /// The context the span was started in; `context` adds this span to it.
    var parentContext: InstrumentationContext
    var recorded: RecordedSpan
    var ended = false
    var endNanos: UInt64 = 0
    /// Built on first request (see `JaegerSpan.context`).
    var context: InstrumentationContext? = nil
    var spanContext: JaegerSpanContext? = nil
}

/// What a span records between start and end.
struct RecordedSpan: Sendable {
    var operationName: String
    var attributes = SpanAttributes.none
    var status: SpanStatus? = nil
    /// Events, and recorded errors as `error` events.
    var events: [SpanEvent] = []
    var links: [JaegerSpanContext] = []
    var errorRecorded = false
}

/// A span's record outside a `JaegerSpan` (the encoder's tests build these).
struct FinishedSpan: Sendable {
    var header: SpanHeader
    var endNanos: UInt64
    var recorded: RecordedSpan

    init(traceHigh: UInt64, traceLow: UInt64, spanID: UInt64, parentSpanID: UInt64, flags: UInt8, kind: SpanKind,
         startsTrace: Bool, startNanos: UInt64, endNanos: UInt64, recorded: RecordedSpan) {
        header = SpanHeader(traceHigh: traceHigh, traceLow: traceLow, spanID: spanID, parentSpanID: parentSpanID,
                            flags: flags, kind: kind, startsTrace: startsTrace, startNanos: startNanos)
        self.endNanos = endNanos
        self.recorded = recorded
    }
}

extension SpanAttributes {
    /// `SpanAttributes` is a struct of one stored property, a
    /// `[String: SpanAttribute]`, so it has that dictionary's layout: what
    /// lets `removeAllKeepingCapacity` and `capacity` reach the table it
    /// does not expose. Checked here (a constant) and by a test; were the
    /// layout ever to differ, tables are simply not reused.
    static var sharesDictionaryLayout: Bool {
        MemoryLayout<SpanAttributes>.size == MemoryLayout<[String: SpanAttribute]>.size
            && MemoryLayout<SpanAttributes>.alignment == MemoryLayout<[String: SpanAttribute]>.alignment
    }

    /// Slots the table has room for without growing (0 for `none`).
    var capacity: Int {
        guard Self.sharesDictionaryLayout else { return 0 }
        return withUnsafePointer(to: self) {
            $0.withMemoryRebound(to: [String: SpanAttribute].self, capacity: 1) { $0.pointee.capacity }
        }
    }

    /// Removes every attribute and keeps the table's storage for the next span.
    mutating func removeAllKeepingCapacity() {
        guard Self.sharesDictionaryLayout else {
            self = .none
            return
        }
        withUnsafeMutablePointer(to: &self) {
            $0.withMemoryRebound(to: [String: SpanAttribute].self, capacity: 1) { $0.pointee.removeAll(keepingCapacity: true) }
        }
    }

    /// No attributes. `SpanAttributes()` builds its empty table through the
    /// dictionary-literal initializer (an array and a merge per call); this
    /// wraps the shared empty dictionary.
    static var none: SpanAttributes { SpanAttributes([String: SpanAttribute]()) }
}
