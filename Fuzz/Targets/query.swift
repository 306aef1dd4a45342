// The query language: TraceQuery.parse (the trace list's filter) and
// SpanQuery.parse (the find bar). The parser has no printer, so the check on
// what parses is semantic: the materialized evaluator and the store's packed
// evaluator (one by one, serial, parallel; stale and fresh summaries) agree
// on every trace of a small fixed store.
@testable import TraceModel
import TraceFormats

enum QueryFuzz: FuzzTarget {
    static let name = "query"

    static func seeds() -> [[UInt8]] {
        [
            "", "service=server-2", "service~=SERVER", "service!=server-2", "not service=server-2",
            "op=server-1_to_server-2", "root.service=server-1", "root.op~=SERVER-1", "dur>700ms", "dur>=1.5s",
            "dur<100us", "spans>2", "services=2", "errors>=1", "trace=961f", "trace!=0bad", "error", "orphan",
            "tag.http.status_code>=500 or error", "tag.http.method=GET", "tag.ratio<0.5", "tag.cached=false",
            "tag.owner~=infra", "tag.http.url!=/alice", "{service=server-2 dur>400ms}",
            "{op=server-1_to_server-2} > {service=server-2 error}", "{service=server-1} >> {kind=server}",
            "{self>10ms and status=error} or {event=exception}", "({kind=client}) and not (\"walter\")",
            "\"quoted \\\" word\"", "a b (c or d) not e", "{status=ok} > {status=unset} >> {kind=internal}",
            "{tag.peer.service=server-2 event~=handling}", "((((((service=a))))))", "walter",
        ].map { Array($0.utf8) }
    }

    static let ms: UInt64 = 1_000_000
    static let t0: UInt64 = 1_795_821_746_000_000_000

    /// The samples plus traces that stress the evaluator: a span that is its
    /// own parent, a two-span cycle, duplicate ids, every attribute type.
    static let fixtureSpans: [Span] = {
        var spans = sampleSpans()
        let odd = Resource(serviceName: "odd", attributes: [Attribute("service.name", .string("odd"))])
        let a = TraceID(high: 0x0bad, low: 1), b = TraceID(high: 0x0bad, low: 2)
        spans.append(Span(traceID: a, spanID: SpanID(5), parentSpanID: SpanID(5), name: "self-parent", kind: .server,
                          status: SpanStatus(code: .error, message: "boom"), startTimeUnixNano: t0, durationNano: 5 * ms,
                          attributes: [Attribute("retries", .int(3)), Attribute("ratio", .double(.nan)),
                                       Attribute("cached", .bool(false)), Attribute("blob", .bytes([0xde, 0xad])),
                                       Attribute("list", .array([.string("x"), .int(1)])),
                                       Attribute("owner", .map([Attribute("team", .string("infra"))]))],
                          events: [SpanEvent(timeUnixNano: t0 + ms, name: "exception", attributes: [])], resource: odd))
        spans.append(Span(traceID: b, spanID: SpanID(1), parentSpanID: SpanID(2), name: "cycle-1", kind: .client,
                          startTimeUnixNano: t0, durationNano: .max, resource: odd))
        spans.append(Span(traceID: b, spanID: SpanID(2), parentSpanID: SpanID(1), name: "cycle-2", kind: .internal,
                          startTimeUnixNano: 0, durationNano: 0, resource: odd))
        spans.append(Span(traceID: b, spanID: SpanID(2), name: "duplicate", startTimeUnixNano: t0, durationNano: ms, resource: .unknown))
        return spans
    }()

    static let staleStore: TraceStore = {
        var store = TraceStore()
        store.add(contentsOf: fixtureSpans)
        return store
    }()

    static let freshStore: TraceStore = {
        var store = staleStore
        store.refreshSummaries()
        return store
    }()

    static let traceIDs: [TraceID] = {
        var seen = Set<TraceID>()
        return fixtureSpans.map(\.traceID).filter { seen.insert($0).inserted }
    }()

    static let materialized: [Trace] = traceIDs.compactMap { staleStore.trace($0) }

    static func check(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        let characters = text.count
        do {
            let query = try TraceQuery.parse(text)
            let expected = Set(materialized.filter(query.matches).map(\.traceID))
            for store in [staleStore, freshStore] {
                let one = Set(traceIDs.filter { store.matches(query, traceID: $0) })
                require(one == expected, "\(text.debugDescription): store.matches disagrees with Trace.matches")
                let serial = Set(store.traceIDs(matching: query, parallelAbove: .max))
                require(serial == expected, "\(text.debugDescription): traceIDs(matching:) disagrees with Trace.matches")
            }
            let parallel = Set(freshStore.traceIDs(matching: query, parallelAbove: 0))
            require(parallel == expected, "\(text.debugDescription): the parallel evaluation disagrees")
        } catch {
            require(error.position >= 1 && error.position <= characters + 1,
                    "\(text.debugDescription): error position \(error.position) outside 1...\(characters + 1)")
        }
        do {
            let find = try SpanQuery.parse(text)
            for trace in materialized {
                let rows = find.matchingSpans(in: trace)
                require(Set(rows).count == rows.count, "\(text.debugDescription): a span found twice")
                require(rows.allSatisfy { $0 >= 0 && Int($0) < trace.spans.count }, "\(text.debugDescription): span index out of range")
            }
        } catch {
            require(error.position >= 1 && error.position <= characters + 1,
                    "find \(text.debugDescription): error position \(error.position) outside 1...\(characters + 1)")
        }
    }
}
