import Testing
@testable import TraceModel

/// Regression tests from the `agent` fuzz target: spans whose start plus
/// duration does not fit in 64 bits (a hostile datagram's i64 duration read
/// as a huge UInt64) must not crash the store, the tree or the summary.
struct HostileTimesTests {
    static let resource = Resource(serviceName: "svc", attributes: [Attribute("service.name", .string("svc"))])
    static let id = TraceID(high: 1, low: 2)

    /// A span whose end wraps past 2^64, beside one that does not: the
    /// trace ends at 2^64-1, not at the other span's end.
    static let spans = [
        Span(traceID: id, spanID: SpanID(1), name: "wraps", startTimeUnixNano: 1_000,
             durationNano: .max - 10, resource: resource),
        Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "later",
             startTimeUnixNano: 5_000, durationNano: 10, resource: resource),
    ]

    /// The trap itself: every span's end wrapped below the earliest start
    /// (here the only span's), so `end - start` underflowed.
    @Test func aLoneSpanWhoseEndWraps() {
        let span = Span(traceID: Self.id, spanID: SpanID(1), name: "wraps", startTimeUnixNano: 1_000,
                        durationNano: .max - 10, resource: Self.resource)
        #expect(Trace(traceID: Self.id, spans: [span]).summary.durationNano == UInt64.max - 1_000)
        var store = TraceStore()
        store.add(span)
        #expect(store.trace(Self.id)?.summary.durationNano == UInt64.max - 1_000)
    }

    @Test func durationThatOverflowsTheEndSaturates() {
        let trace = Trace(traceID: Self.id, spans: Self.spans)
        #expect(trace.summary.startUnixNano == 1_000)
        #expect(trace.summary.durationNano == UInt64.max - 1_000)
        #expect(trace.tree.rows.count == 2)
    }

    @Test func theStoreSummarisesItStaleAndFresh() {
        var store = TraceStore()
        store.add(contentsOf: Self.spans)
        #expect(store.trace(Self.id)?.summary.durationNano == UInt64.max - 1_000)
        store.refreshSummaries()
        #expect(store.trace(Self.id)?.summary.durationNano == UInt64.max - 1_000)
    }

    @Test func maximalStartAndDuration() {
        let spans = [
            Span(traceID: Self.id, spanID: SpanID(1), name: "a", startTimeUnixNano: .max, durationNano: .max, resource: Self.resource),
            Span(traceID: Self.id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "b", startTimeUnixNano: 0,
                 durationNano: .max, resource: Self.resource),
        ]
        let trace = Trace(traceID: Self.id, spans: spans)
        #expect(trace.summary.startUnixNano == 0)
        #expect(trace.summary.durationNano == .max)
    }
}
