import Testing
@testable import TraceModel

/// A batch packed where it was decoded (`PackedSpans`) must leave the store
/// exactly as adding its spans does: the same spans, summaries, latency
/// rows, counters and bytes, under every bound.
@Suite struct PackedSpansTests {
    /// Spans of several traces, interleaved, carrying every kind of field;
    /// resources shared by object and equal ones made apart.
    static func mixedSpans(_ count: Int) -> [Span] {
        let shared = Resource(serviceName: "shared", attributes: [Attribute("service.name", .string("shared"))])
        return (0..<count).map { n in
            var span = SpanArenaTests.kitchenSink(n)
            span.traceID = TraceID(high: UInt64(n % 3), low: UInt64(n % 7 + 1))
            if n % 4 == 1 { span.resource = shared }
            if n % 6 == 2 { span.name = "op-\(n % 5)" }
            return span
        }
    }

    static func batches(_ spans: [Span], sizes: [Int]) -> [[Span]] {
        var out: [[Span]] = []
        var start = 0
        var i = 0
        while start < spans.count {
            let end = min(spans.count, start + sizes[i % sizes.count])
            out.append(Array(spans[start..<end]))
            start = end
            i += 1
        }
        return out
    }

    static func expectSame(_ a: inout TraceStore, _ b: inout TraceStore, _ comment: Comment,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.counters == b.counters, comment, sourceLocation: sourceLocation)
        #expect(a.spanCount == b.spanCount, comment, sourceLocation: sourceLocation)
        #expect(a.traceCount == b.traceCount, comment, sourceLocation: sourceLocation)
        // The same bytes in the same pages (not `bytesHeld`, which counts a
        // large trace's array capacity: malloc may round it differently as
        // its own thresholds move within one process).
        #expect(a.traces.spanBytes.payload == b.traces.spanBytes.payload, comment, sourceLocation: sourceLocation)
        #expect(a.traces.spanBytes.pagedBytes == b.traces.spanBytes.pagedBytes, comment, sourceLocation: sourceLocation)
        #expect(a.traces.spanBytes.largeCount == b.traces.spanBytes.largeCount, comment, sourceLocation: sourceLocation)
        #expect(a.valuesInlinedPastTableBound == b.valuesInlinedPastTableBound, comment, sourceLocation: sourceLocation)
        #expect(a.version == b.version, comment, sourceLocation: sourceLocation)
        #expect(a.latency.rows() == b.latency.rows(), comment, sourceLocation: sourceLocation)
        #expect(a.latency.overflowSpans == b.latency.overflowSpans, comment, sourceLocation: sourceLocation)
        #expect(a.allTraceIDs == b.allTraceIDs, comment, sourceLocation: sourceLocation)
        for id in a.allTraceIDs {
            #expect(a.traceSpans(id) == b.traceSpans(id), comment, sourceLocation: sourceLocation)
        }
        let summaries = b.summaries()
        #expect(a.summaries() == summaries, comment, sourceLocation: sourceLocation)
    }

    /// Small spans of 30 traces: every trace's bytes stay in the shared
    /// pages, so `bytesHeld` (and eviction by it) does not depend on malloc.
    static func smallSpans(_ count: Int) -> [Span] {
        let resources = (0..<4).map { Resource(serviceName: "svc-\($0)", attributes: [Attribute("k", .int(Int64($0)))]) }
        return (0..<count).map { (n: Int) -> Span in
            let trace = TraceID(low: UInt64(n % 30 + 1))
            let attributes = [Attribute("http.url", .string("/path/\(n % 13)")), Attribute("n", .int(Int64(n)))]
            return Span(traceID: trace, spanID: SpanID(UInt64(n + 1)), name: "op-\(n % 5)", startTimeUnixNano: UInt64(n),
                        durationNano: UInt64(n) * 1_000 + 1, attributes: attributes, resource: resources[n % 4])
        }
    }

    @Test func packedBatchesLeaveTheStoreAsTheirSpansDo() {
        let mixed = Self.mixedSpans(120), small = Self.smallSpans(240)
        let bounds: [(String, [Span], TraceStoreLimits, Int)] = [
            ("no bound", mixed, TraceStoreLimits(), 1 << 16),
            ("tables of 3", mixed, TraceStoreLimits(), 3),
            ("2 spans a trace", mixed, TraceStoreLimits(maxSpansPerTrace: 2), 1 << 16),
            ("40 spans", mixed, TraceStoreLimits(maxSpans: 40), 1 << 16),
            ("8 KB, tables of 8", small, TraceStoreLimits(maxBytes: 8_000), 8),
            ("3 KB", small, TraceStoreLimits(maxBytes: 3_000), 1 << 16),
        ]
        for (name, spans, limits, tableCapacity) in bounds {
            for sizes in [[1], [3, 17], [50], [240]] {
                var bySpans = TraceStore(limits: limits, tableCapacity: tableCapacity)
                var byPacked = TraceStore(limits: limits, tableCapacity: tableCapacity)
                for batch in Self.batches(spans, sizes: sizes) {
                    bySpans.add(contentsOf: batch)
                    let packed = PackedSpans(packing: batch)
                    #expect(packed.count == batch.count)
                    byPacked.add(packed)
                }
                Self.expectSame(&byPacked, &bySpans, "\(name), batches of \(sizes)")
                if limits.maxBytes < .max {
                    #expect(bySpans.counters.tracesEvictedForMemory > 0, "\(name)")
                    #expect(byPacked.bytesHeld == bySpans.bytesHeld, "\(name), batches of \(sizes)")
                }
            }
        }
    }

    /// A trace's spans split across pieces: a piece's spans keep their
    /// starts apart, so the first one stored (in this piece or an earlier
    /// one) is the one the rest are relative to, whatever order the starts
    /// come in: before it, after it, at both ends of the range (wrapping).
    @Test func aTraceSplitAcrossPiecesInEveryOrderKeepsItsStarts() throws {
        let id = TraceID(low: 77), other = TraceID(low: 78)
        let starts: [UInt64] = [1_000, 0, .max, 999, 1_000 + (1 << 63)]
        let spans = starts.indices.map { i in
            Span(traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(UInt64(i)),
                 name: "op\(i)", startTimeUnixNano: starts[i], durationNano: UInt64(i) * 300)
        }
        // Another trace's span between them, so a piece holds two traces.
        let between = Span(traceID: other, spanID: SpanID(99), name: "other", startTimeUnixNano: 5, durationNano: 1)
        var orders: [[Span]] = [[]]
        for _ in spans.indices {
            orders = orders.flatMap { order in spans.filter { !order.contains($0) }.map { order + [$0] } }
        }
        #expect(orders.count == 120)
        for order in orders {
            for sizes in [[1], [2], [1, 3], [3, 1], [4, 2]] {
                let input = Array(order[..<2]) + [between] + Array(order[2...])
                var bySpans = TraceStore(), byPacked = TraceStore()
                for batch in Self.batches(input, sizes: sizes) {
                    bySpans.add(contentsOf: batch)
                    byPacked.add(PackedSpans(packing: batch))
                }
                #expect(byPacked.traceSpans(id) == order, "\(order.map(\.spanID.raw)), pieces of \(sizes)")
                let record = try #require(byPacked.traces[id])
                var layouts: [SpanArena.SpanLayout] = []
                byPacked.traces.bytes(of: record).withUnsafeBufferPointer { SpanArena.layouts(of: $0, into: &layouts) }
                #expect(layouts.map(\.start) == order.map(\.startTimeUnixNano))
                Self.expectSame(&byPacked, &bySpans, "\(order.map(\.spanID.raw)), pieces of \(sizes)")
            }
        }
    }

    /// The latency index's key bound: keys are made as spans are stored, in
    /// the same order, so the same spans land in the "other" rows.
    @Test func latencyKeysPastTheirBoundGoWhereTheSpansPut() {
        let resources = (0..<6).map { Resource(serviceName: "svc-\($0)") }
        let spans = (0..<120).map { (n: Int) -> Span in
            let trace = TraceID(low: UInt64(n % 9 + 1))
            let duration = UInt64(n) * 1_000 + 1
            return Span(traceID: trace, spanID: SpanID(UInt64(n + 1)), name: "op-\(n % 11)",
                        startTimeUnixNano: UInt64(n), durationNano: duration, resource: resources[n % 6])
        }
        var bySpans = TraceStore(tableCapacity: 1 << 16, latencyKeys: 9)
        var byPacked = TraceStore(tableCapacity: 1 << 16, latencyKeys: 9)
        for batch in Self.batches(spans, sizes: [7, 40]) {
            bySpans.add(contentsOf: batch)
            byPacked.add(PackedSpans(packing: batch))
        }
        #expect(byPacked.latency.overflowSpans > 0)
        Self.expectSame(&byPacked, &bySpans, "9 latency keys")
    }

    @Test func anEmptyBatchChangesNothing() {
        var store = TraceStore()
        store.add(PackedSpans(packing: []))
        store.add(PackedSpans())
        #expect(store.version == 0 && store.traceCount == 0)
    }
}
