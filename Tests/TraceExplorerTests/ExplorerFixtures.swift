import TraceModel
@testable import TraceExplorer

/// Traces with fixed ids and times, so snapshots never depend on a clock.
enum ExplorerFixtures {
    static let ms: UInt64 = 1_000_000
    /// 2026-11-28 15:04:05.000 UTC
    static let t0: UInt64 = 1_795_878_245_000_000_000

    static let server1 = Resource(serviceName: "server-1", attributes: [
        Attribute("service.name", .string("server-1")),
        Attribute("hostname", .string("box-1")),
        Attribute("ip", .string("10.0.0.7")),
        Attribute("jaeger.version", .string("Go-2.30.0")),
    ])
    static let server2 = Resource(serviceName: "server-2", attributes: [
        Attribute("service.name", .string("server-2")),
        Attribute("hostname", .string("box-2")),
    ])

    static let seedID = TraceID(high: 0x877731db946805e5, low: 0xeab37af57c3f0bf4)

    static func seedTrace(id: TraceID = seedID, start: UInt64 = t0, name: String = "alice", error: Bool = false) -> [Span] {
        var hop = Span(traceID: id, spanID: SpanID(0x78ff26f76ccd6a1a), parentSpanID: SpanID(0x3cf548d830727a75),
                       name: "server-1_to_server-2", kind: .client, startTimeUnixNano: start + 250 * ms,
                       durationNano: 500_506_079,
                       attributes: [Attribute("http.method", .string("POST")),
                                    Attribute("http.url", .string("http://localhost:8081/")),
                                    Attribute("span.kind", .string("client"))],
                       resource: server1)
        var server2Span = Span(traceID: id, spanID: SpanID(0x1e3c5d7f9a2b4c6d), parentSpanID: SpanID(0x78ff26f76ccd6a1a),
                               name: "server-2", kind: .server, startTimeUnixNano: start + 251 * ms, durationNano: 500_213_000,
                               attributes: [Attribute("http.method", .string("POST")),
                                            Attribute("http.target", .string("/")),
                                            Attribute("http.status_code", .int(200))],
                               events: [SpanEvent(timeUnixNano: start + 252 * ms, name: "handling request",
                                                  attributes: [Attribute("name", .string(name)),
                                                               Attribute("sleep.ms", .int(500))])],
                               resource: server2)
        if error {
            server2Span.status = SpanStatus(code: .error, message: "upstream failed")
            server2Span.attributes.append(Attribute("error", .bool(true)))
            hop.attributes.append(Attribute("error", .bool(true)))
        }
        let root = Span(traceID: id, spanID: SpanID(0x3cf548d830727a75), name: "server-1", kind: .server,
                        startTimeUnixNano: start, durationNano: 750_909_443,
                        attributes: [Attribute("http.method", .string("GET")),
                                     Attribute("http.url", .string("/" + name)),
                                     Attribute("http.status_code", .int(200))],
                        resource: server1)
        return [hop, root, server2Span]
    }

    /// The seed trace, an error trace, a trace missing its root, and one
    /// with hostile text in its names.
    static func store() -> TraceStore {
        var store = TraceStore()
        store.add(contentsOf: seedTrace())
        store.add(contentsOf: seedTrace(id: TraceID(high: 0x1111, low: 0x2222), start: t0 + 2_000 * ms, name: "bob", error: true))
        let orphanTrace = seedTrace(id: TraceID(low: 0xabcdef0123456789), start: t0 + 4_000 * ms, name: "carol")
        store.add(contentsOf: orphanTrace.filter { $0.parentSpanID != nil })
        let hostile = Span(traceID: TraceID(low: 0x99), spanID: SpanID(7), name: "evil\u{1b}[2Jname\u{7}",
                           kind: .internal, startTimeUnixNano: t0 + 6_000 * ms, durationNano: 1_234_567,
                           attributes: [Attribute("payload", .string("line1\nline2\u{1b}]0;pwned\u{7}")),
                                        Attribute("日本語", .string("値 🙂 e\u{301}"))],
                           resource: Resource(serviceName: "wörker-β"))
        store.add(hostile)
        return store
    }

    static func state(width: Int, height: Int) -> ExplorerModel {
        var store = store()
        var state = ExplorerModel(width: width, height: height, title: "seed.ndjson")
        state.utcOffsetSeconds = 0
        state.maxSpans = 1_000_000
        state.list.showsPlot = false
        state.setTraces(from: &store)
        var ingest = IngestStatus()
        ingest.sourceName = "seed.ndjson"
        ingest.spansRead = store.spanCount
        _ = state.update(.ingest(ingest))
        return state
    }

    static func openSeed(_ state: inout ExplorerModel) {
        let store = store()
        if let trace = store.trace(seedID) { state.openTrace(trace) }
    }
}

extension ExplorerModel {
    /// What the store changed since it was last asked, as the runtime sends it.
    mutating func setTraces(from store: inout TraceStore) {
        let changes = store.takeChanges(matching: list.filter.map { q in { s, id in s.matches(q, traceID: id) } })
        _ = update(.snapshot(StoreSnapshot(changes: changes, spanCount: store.spanCount)))
    }

    mutating func openTrace(_ trace: Trace) { _ = update(.traceLoaded(trace)) }
    mutating func updateOpenTrace(_ trace: Trace) {
        _ = update(.snapshot(StoreSnapshot(changes: TraceStoreChanges(), openTrace: trace, spanCount: storedSpans)))
    }
    mutating func handle(_ message: ExplorerMessage) -> [ExplorerEffect] { update(message) }
    var traces: [TraceSummary] { list.rows }
    var selectedTraceID: TraceID? { list.selectedID }
    var selectedIndex: Int? { list.selectedIndex }
    var traceView: TraceScreen? { trace }
    var context: Focus { focus }
    var follow: Bool { list.follow }
    var sort: TraceSort { list.sort }
}

extension ExplorerFixtures {
    static let queueID = TraceID(low: 0x5a3f)

    /// A web request publishes a job; a worker consumes it after the request
    /// has answered (FOLLOWS_FROM, as jaeger-client-go reports it).
    static func producerConsumerTrace() -> Trace {
        let web = Resource(serviceName: "web")
        let worker = Resource(serviceName: "worker")
        let spans = [
            Span(traceID: queueID, spanID: SpanID(1), name: "POST /orders", kind: .server,
                 startTimeUnixNano: t0, durationNano: 40 * ms, resource: web),
            Span(traceID: queueID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "publish order", kind: .producer,
                 startTimeUnixNano: t0 + 10 * ms, durationNano: 5 * ms,
                 events: [SpanEvent(timeUnixNano: t0 + 12 * ms, name: "published",
                                    attributes: [Attribute("queue", .string("orders"))])],
                 resource: web),
            Span(traceID: queueID, spanID: SpanID(3), parentSpanID: SpanID(2), parentReference: .followsFrom,
                 name: "consume order", kind: .consumer, startTimeUnixNano: t0 + 60 * ms, durationNano: 90 * ms,
                 events: [SpanEvent(timeUnixNano: t0 + 100 * ms, name: "charged card")], resource: worker),
            Span(traceID: queueID, spanID: SpanID(4), parentSpanID: SpanID(3), name: "UPDATE orders", kind: .client,
                 startTimeUnixNano: t0 + 110 * ms, durationNano: 30 * ms,
                 events: [SpanEvent(timeUnixNano: t0 + 139 * ms, name: "row updated", attributes: [Attribute("rows", .int(1))])],
                 resource: worker),
        ]
        return Trace(traceID: queueID, spans: spans)
    }
}

extension ExplorerFixtures {
    static let linksID = TraceID(low: 0x11e5)

    /// A batch job whose span links to a span of its own trace, to the seed
    /// trace (stored), and to a trace that is not in the store.
    static func linksTrace() -> Trace {
        let job = Resource(serviceName: "batch")
        let spans = [
            Span(traceID: linksID, spanID: SpanID(0x10), name: "nightly", kind: .internal,
                 startTimeUnixNano: t0, durationNano: 100 * ms, resource: job),
            Span(traceID: linksID, spanID: SpanID(0x11), parentSpanID: SpanID(0x10), name: "load", kind: .internal,
                 startTimeUnixNano: t0 + 5 * ms, durationNano: 20 * ms, resource: job),
            Span(traceID: linksID, spanID: SpanID(0x12), parentSpanID: SpanID(0x10), name: "aggregate", kind: .internal,
                 startTimeUnixNano: t0 + 30 * ms, durationNano: 60 * ms,
                 links: [SpanLink(traceID: linksID, spanID: SpanID(0x11)),
                         SpanLink(traceID: seedID, spanID: SpanID(0x1e3c5d7f9a2b4c6d), referenceType: "FOLLOWS_FROM"),
                         SpanLink(traceID: TraceID(low: 0xdead), spanID: SpanID(0xbeef))],
                 resource: job),
        ]
        return Trace(traceID: linksID, spans: spans)
    }
}
