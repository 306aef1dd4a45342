import Testing
@testable import TraceModel

/// Regression tests from the `agent` fuzz target: spans whose start plus
/// duration does not fit in 64 bits (a hostile datagram's i64 duration read
/// as a huge UInt64) must not crash the store, the tree or the summary.
struct HostileTimesTests {
    static let resource = Resource(serviceName: "svc", attributes: [Attribute("service.name", .string("svc"))])
    static let id = TraceID(high: 1, low: 2)

    /// The span ending "first" wrapped past 2^64 to a time before the other
    /// span's start: the trace's end minus its start underflowed and trapped
    /// in `SummaryFacts` (found through `TraceStore.trace`).
    static let spans = [
        Span(traceID: id, spanID: SpanID(1), name: "wraps", startTimeUnixNano: 1_000,
             durationNano: .max - 10, resource: resource),
        Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "later",
             startTimeUnixNano: 5_000, durationNano: 10, resource: resource),
    ]

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
