import Testing
@testable import TraceModel

/// The store keeps spans packed (`SpanArena`); what it gives back must equal
/// what went in, field for field, whatever the span carries.
@Suite struct SpanArenaTests {
    static let traceID = TraceID(high: 0xfeed, low: 0xbeef)

    static func kitchenSink(_ n: Int) -> Span {
        let scope = InstrumentationScope(name: "lib-\(n % 3)", version: "1.\(n)",
                                         attributes: [Attribute("scope.k", .string("v"))])
        let resource = Resource(serviceName: "svc-\(n % 5) ünïcødé", attributes: [
            Attribute("service.name", .string("svc-\(n % 5) ünïcødé")),
            Attribute("host", .string(String(repeating: "h", count: 70 + n))),
        ])
        return Span(
            traceID: traceID, spanID: SpanID(UInt64(n) &* 0x9E37_79B9_7F4A_7C15 | 1),
            parentSpanID: n % 4 == 0 ? nil : SpanID(UInt64(n)), name: n % 2 == 0 ? "op \u{1b}[31m\(n)" : "",
            kind: SpanKind(rawValue: UInt8(n % 6)) ?? .internal,
            status: SpanStatus(code: n % 3 == 0 ? .error : .ok, message: n % 3 == 0 ? "boom \(n)" : ""),
            startTimeUnixNano: UInt64.max - UInt64(n), durationNano: UInt64(n) << 40,
            attributes: [
                Attribute("s", .string("value-\(n)")),
                Attribute("long", .string(String(repeating: "x", count: 65 + n))),
                Attribute("empty", .string("")),
                Attribute("neg", .int(-Int64(n) - 1)),
                Attribute("min", .int(Int64.min)),
                Attribute("max", .int(Int64.max)),
                Attribute("d", .double(-0.5 * Double(n))),
                Attribute("nan-free", .double(.infinity)),
                Attribute("t", .bool(true)), Attribute("f", .bool(false)),
                Attribute("b", .bytes([0, 255, UInt8(n % 256)])),
                Attribute("arr", .array([.int(1), .string("two"), .array([.bool(false)])])),
                Attribute("map", .map([Attribute("inner", .map([Attribute("deep", .double(1e300))]))])),
            ],
            events: n % 2 == 0 ? [] : [
                SpanEvent(timeUnixNano: 5, name: "log", attributes: [Attribute("event", .string("error"))]),
                SpanEvent(timeUnixNano: UInt64.max, name: ""),
            ],
            links: n % 5 == 0 ? [] : [
                SpanLink(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), referenceType: "FOLLOWS_FROM",
                         attributes: [Attribute("k", .int(7))]),
                SpanLink(traceID: TraceID(low: 9), spanID: SpanID(10)),
            ],
            resource: resource, scope: n % 7 == 0 ? .none : scope,
            traceState: n % 2 == 0 ? "" : "vendor=\(n)", flags: UInt32(n) << 8 | 1)
    }

    @Test func everyFieldSurvivesTheStore() throws {
        let spans = (0..<40).map(Self.kitchenSink)
        var store = TraceStore()
        store.add(contentsOf: spans)
        let back = try #require(store.traceSpans(Self.traceID))
        #expect(back.count == spans.count)
        for (a, b) in zip(spans, back) {
            #expect(a == b)
            #expect(a.events == b.events && a.links == b.links && a.status == b.status)
            #expect(a.resource.attributes == b.resource.attributes && a.scope.attributes == b.scope.attributes)
        }
        #expect(store.valuesInlinedPastTableBound == 0)
    }

    @Test func fullTablesWriteValuesInlineAndLoseNothing() throws {
        let spans = (0..<40).map(Self.kitchenSink)
        var store = TraceStore(tableCapacity: 3)
        store.add(contentsOf: spans)
        let back = try #require(store.traceSpans(Self.traceID))
        #expect(back == spans)
        #expect(back.map(\.resource.serviceName) == spans.map(\.resource.serviceName))
        #expect(store.valuesInlinedPastTableBound > 0)
        // Summaries read inline resources too.
        let summary = try #require(store.summaries().first)
        #expect(summary.services.count == 5)
        #expect(summary.spanCount == 40)
    }

    @Test func summaryFromThePackedFormMatchesTheOneFromSpans() throws {
        var spans = seedSpans()
        spans[2].attributes = [Attribute("error", .string("true"))]
        var store = TraceStore()
        store.add(contentsOf: spans.reversed())
        let packed = try #require(store.summaries().first)
        let direct = Trace(traceID: seedTraceID, spans: spans.reversed(), lastUpdate: packed.lastUpdate).summary
        #expect(packed == direct)
        #expect(packed.rootOperation == "server-1" && packed.services == ["server-1", "server-2"])
        #expect(packed.errorCount == 1)
    }

    /// Past `parallelSummaryMinimum` stale traces the summaries are made on
    /// several threads: each must equal the one made from the trace's spans,
    /// when all are new and again when some grew and others did not.
    @Test func summariesMadeInParallelMatchTheOnesFromSpans() throws {
        var store = TraceStore()
        var spansByTrace: [TraceID: [Span]] = [:]
        let services = [Resource(serviceName: "front"), Resource(serviceName: "back"), Resource(serviceName: "db")]
        func addSpan(trace: Int, index: Int) {
            let id = TraceID(low: UInt64(trace + 1))
            var span = Span(traceID: id, spanID: SpanID(UInt64(trace * 100 + index + 1)),
                            parentSpanID: index == 0 ? nil : SpanID(UInt64(trace * 100 + (index - 1) / 2 + 1)),
                            name: "op\(index % 4)", startTimeUnixNano: UInt64(1_000 * trace + 10 * index),
                            durationNano: UInt64(500 - 10 * index), resource: services[(trace + index) % 3])
            if index == 3 && trace % 7 == 0 { span.status = SpanStatus(code: .error) }
            store.add(span)
            spansByTrace[id, default: []].append(span)
        }
        let traces = TraceStore.parallelSummaryMinimum + 1_000
        for trace in 0..<traces { for index in 0..<(1 + trace % 6) { addSpan(trace: trace, index: index) } }
        func check() {
            let summaries = store.summaries()
            #expect(summaries.count == traces)
            for packed in summaries {
                let direct = Trace(traceID: packed.traceID, spans: spansByTrace[packed.traceID] ?? [], lastUpdate: packed.lastUpdate).summary
                #expect(packed == direct)
            }
        }
        check()
        for trace in stride(from: 0, to: traces, by: 1) where trace % 5 != 0 { addSpan(trace: trace, index: 6 + trace % 3) }
        check()
    }

    @Test func aProcessWithManyTagsStaysWithItsTraceAndIsEvictedWithIt() throws {
        let big = Resource(serviceName: "wide", attributes: (0..<65).map { Attribute("k\($0)", .int(Int64($0))) })
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 1))
        let first = Span(traceID: TraceID(low: 1), spanID: SpanID(1), name: "a", startTimeUnixNano: 1, durationNano: 1,
                         resource: big)
        store.add(first)
        #expect(store.traceSpans(TraceID(low: 1)) == [first])
        #expect(store.valuesInlinedPastTableBound == 1)
        store.add(Span(traceID: TraceID(low: 2), spanID: SpanID(2), name: "b", startTimeUnixNano: 2, durationNano: 1))
        #expect(store.traceSpans(TraceID(low: 1)) == nil)
    }

    /// Later spans' starts are kept relative to the trace's first span:
    /// before it, far after it, at both ends of the range, in every order
    /// of arrival, through each reader (whole spans, headers for the
    /// summary, layouts for queries and latency).
    @Test func startsRelativeToTheFirstSpanSurviveEveryOrderAndReader() throws {
        let id = TraceID(low: 77)
        let starts: [UInt64] = [1_000, 0, .max, 999, 1_001, 1_000 + (1 << 63)]
        let durations: [UInt64] = [0, .max, 1, 1 << 35, 127, 128]
        let spans = starts.indices.map { i in
            Span(traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(UInt64(i)),
                 name: "op\(i)", startTimeUnixNano: starts[i], durationNano: durations[i])
        }
        for order in [spans, spans.reversed(), [spans[2], spans[0], spans[5], spans[1], spans[4], spans[3]]] {
            var store = TraceStore()
            for span in order { store.add(span) }
            #expect(store.traceSpans(id) == order)
            let record = try #require(store.traces[id])
            var layouts: [SpanArena.SpanLayout] = []
            store.traces.bytes(of: record).withUnsafeBufferPointer { SpanArena.layouts(of: $0, into: &layouts) }
            #expect(layouts.map(\.start) == order.map(\.startTimeUnixNano))
            #expect(layouts.map(\.duration) == order.map(\.durationNano))
            #expect(layouts.map(\.spanID) == order.map(\.spanID.raw))
            #expect(layouts.map { $0.hasParent ? $0.parentID : nil } == order.map { $0.parentSpanID?.raw })
            let source = StoredSpans(arena: store.arena, bytes: store.traces.bytes(of: record), count: order.count)
            #expect((0..<source.count).map { source.start($0) } == order.map(\.startTimeUnixNano))
            let summary = try #require(store.summaries().first)
            #expect(summary == Trace(traceID: id, spans: order, lastUpdate: summary.lastUpdate).summary)
        }
    }

    /// What the relative times save: the seed's three spans (no attributes)
    /// took 3 x 38 = 114 bytes with four fixed 8-byte fields each; now a
    /// root has no parent id and times within seconds take 5 bytes, not 8.
    @Test func seedSpansPackSmallerThanFixedFields() {
        var store = TraceStore()
        store.add(contentsOf: seedSpans())
        // Root 1+1+8+8+5+4 = 27, each child 1+1+5+8+8+5+4 = 32.
        #expect(store.traces.spanBytes.payload == 91)
        #expect(store.traceSpans(seedTraceID) == seedSpans())
    }
}
