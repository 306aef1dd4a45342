import Instrumentation

import Synchronization
import TraceModel

/// The identity a span passes to its children and across process
/// boundaries: what `uber-trace-id` and `traceparent` carry. Immutable and
/// shared by reference, so putting it in an `InstrumentationContext` costs
/// no boxing beyond the object itself.
public final class JaegerSpanContext: Sendable, CustomStringConvertible {
    public let traceID: TraceID
    public let spanID: SpanID
    /// The parent of `spanID` (nil for a trace's root).
    public let parentSpanID: SpanID?
    /// Jaeger flags: 1 sampled, 2 debug.
    public let flags: UInt8
    /// W3C `tracestate`, passed through as received ("" when none).
    public let traceState: String
    /// Extracted from a request rather than started here.
    public let isRemote: Bool

    public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID? = nil, flags: UInt8 = 1,
                traceState: String = "", isRemote: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.flags = flags
        self.traceState = traceState
        self.isRemote = isRemote
    }

    public var isSampled: Bool { flags & 1 != 0 }

    /// The `uber-trace-id` form.
    public var description: String { JaegerPropagation.uberTraceID(self) }
}

enum JaegerSpanContextKey: InstrumentationContextKey {
    typealias Value = JaegerSpanContext
    static var nameOverride: String? { "jaeger-span-context" }
}

extension InstrumentationContext {
    /// The Jaeger span context of the current span, or of an extracted
    /// remote parent. Shared by every `JaegerTracer` of the process, so spans
    /// of two tracers nest.
    public var jaegerSpanContext: JaegerSpanContext? {
        get { self[JaegerSpanContextKey.self] }
        set { self[JaegerSpanContextKey.self] = newValue }
    }
}

/// Span and trace ids from SplitMix64 over one atomic Weyl sequence: lock
/// free, a few nanoseconds, never zero, and distinct span ids for 2^64 draws
/// (the mix is a bijection of the counter). Seeded from the system's CSPRNG
/// so two processes do not collide.
final class RandomIDGenerator: Sendable {
    private let counter: Atomic<UInt64>
    private static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        counter = Atomic(seed)
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    func next() -> UInt64 {
        let value = Self.mix(counter.wrappingAdd(Self.golden, ordering: .relaxed).newValue)
        return value == 0 ? Self.golden : value
    }

    /// Two draws for one atomic add.
    @inline(__always)
    func nextPair() -> (UInt64, UInt64) {
        let base = counter.wrappingAdd(Self.golden &* 2, ordering: .relaxed).newValue
        let a = Self.mix(base &- Self.golden)
        let b = Self.mix(base)
        return (a == 0 ? Self.golden : a, b == 0 ? Self.golden : b)
    }
}
