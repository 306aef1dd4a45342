import Testing
@testable import TraceModel

/// Three hand-built traces with known answers, asked every term both ways:
/// on the materialized `Trace` and on the store's packed form (one trace
/// at a time, and all at once on one thread and in parallel).
enum QueryFixtures {
    static let ms: UInt64 = 1_000_000
    static let t0: UInt64 = 1_795_821_746_000_000_000

    static let server1 = Resource(serviceName: "server-1", attributes: [
        Attribute("service.name", .string("server-1")), Attribute("telemetry.sdk.language", .string("swift")),
    ])
    static let server2 = Resource(serviceName: "server-2", attributes: [Attribute("service.name", .string("server-2"))])
    static let batch = Resource(serviceName: "batch", attributes: [Attribute("deployment", .string("prod"))])

    static let aliceID = TraceID(high: 0xa11c_e000_0000_0001, low: 0x1111_2222_3333_4444)
    static let bobID = TraceID(high: 0xb0b0_0000_0000_0002, low: 0x5555_6666_7777_8888)
    /// A 64-bit id, as Jaeger clients send them.
    static let workerID = TraceID(high: 0, low: 0x0bad_cafe_0000_0003)

    /// server-1 -> server-1_to_server-2 -> server-2, arriving server span
    /// first (so span indices are not row order).
    static func seedShaped(_ id: TraceID, name: String, rootDuration: UInt64, error: Bool) -> [Span] {
        let status = error ? SpanStatus(code: .error, message: "cannot greet \(name)") : .unset
        var serverEvents = [SpanEvent(timeUnixNano: t0 + 300 * ms, name: "handling request",
                                      attributes: [Attribute("name", .string(name))])]
        if error {
            serverEvents.append(SpanEvent(timeUnixNano: t0 + 400 * ms, name: "exception", attributes: [
                Attribute("exception.message", .string("cannot greet \(name)")),
            ]))
        }
        return [
            Span(traceID: id, spanID: SpanID(3), parentSpanID: SpanID(2), name: "server-2", kind: .server, status: status,
                 startTimeUnixNano: t0 + 251 * ms, durationNano: 498 * ms,
                 attributes: [Attribute("http.method", .string("POST")), Attribute("http.status_code", .int(error ? 500 : 200))]
                    + (error ? [Attribute("error", .bool(true))] : []),
                 events: serverEvents, resource: server2),
            Span(traceID: id, spanID: SpanID(1), name: "server-1", kind: .server,
                 status: error ? .unset : SpanStatus(code: .ok),
                 startTimeUnixNano: t0, durationNano: rootDuration,
                 attributes: [Attribute("http.method", .string("GET")), Attribute("http.url", .string("/\(name)")),
                              Attribute("http.status_code", .int(error ? 500 : 200))],
                 resource: server1),
            Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "server-1_to_server-2", kind: .client,
                 startTimeUnixNano: t0 + 250 * ms, durationNano: 500 * ms,
                 attributes: [Attribute("http.method", .string("POST")), Attribute("peer.service", .string("server-2"))],
                 resource: server1),
        ]
    }

    static var alice: [Span] { seedShaped(aliceID, name: "alice", rootDuration: 750 * ms, error: false) }
    static var bob: [Span] { seedShaped(bobID, name: "bob", rootDuration: 800 * ms, error: true) }

    /// One span whose parent never came, with every kind of attribute value.
    static var worker: [Span] {
        [Span(traceID: workerID, spanID: SpanID(9), parentSpanID: SpanID(8), name: "worker", kind: .internal,
              startTimeUnixNano: t0, durationNano: 50 * ms,
              attributes: [
                  Attribute("retries", .int(3)), Attribute("ratio", .double(0.25)), Attribute("cached", .bool(false)),
                  Attribute("blob", .bytes([0xde, 0xad])), Attribute("list", .array([.string("x"), .int(1)])),
                  Attribute("owner", .map([Attribute("team", .string("infra"))])),
              ],
              resource: batch)]
    }

    static let names: [TraceID: String] = [aliceID: "alice", bobID: "bob", workerID: "worker"]
}

@Suite struct TraceQueryEvaluatorTests {
    /// The names of the traces the query matches, after checking that every
    /// way of asking gives the same answer.
    static func matching(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Set<String> {
        let query = try TraceQuery.parse(text)
        var store = TraceStore()
        store.add(contentsOf: QueryFixtures.alice + QueryFixtures.bob + QueryFixtures.worker)
        let traces = [QueryFixtures.aliceID, QueryFixtures.bobID, QueryFixtures.workerID].compactMap { store.trace($0) }
        let materialized = Set(traces.filter(query.matches).compactMap { QueryFixtures.names[$0.traceID] })
        let name = { (ids: [TraceID]) in Set(ids.compactMap { QueryFixtures.names[$0] }) }
        // Stale summaries first (read from the spans), then fresh ones.
        for refresh in [false, true] {
            if refresh { store.refreshSummaries() }
            let one = name(traces.map(\.traceID).filter { store.matches(query, traceID: $0) })
            let serial = name(store.traceIDs(matching: query, parallelAbove: .max))
            let parallel = name(store.traceIDs(matching: query, parallelAbove: 0))
            #expect(one == materialized, "\(text): one by one", sourceLocation: sourceLocation)
            #expect(serial == materialized, "\(text): one thread", sourceLocation: sourceLocation)
            #expect(parallel == materialized, "\(text): in parallel", sourceLocation: sourceLocation)
        }
        return materialized
    }

    @Test(arguments: [
        ("", ["alice", "bob", "worker"]),
        ("service=server-2", ["alice", "bob"]),
        ("service=server", []),
        ("service~=SERVER", ["alice", "bob"]),
        ("service!=server-2", ["worker"]),
        ("not service=server-2", ["worker"]),
        ("op=server-1_to_server-2", ["alice", "bob"]),
        ("op~=WORK", ["worker"]),
        ("root.service=server-1", ["alice", "bob"]),
        ("root.service=server-2", []),
        // A trace without a true root: its first top-level span stands in.
        ("root.op=worker", ["worker"]),
        ("root.service!=server-1", ["worker"]),
        ("root.op~=SERVER-1", ["alice", "bob"]),
        ("dur>700ms", ["alice", "bob"]),
        ("dur>=800ms", ["bob"]),
        ("dur<100ms", ["worker"]),
        ("dur=50ms", ["worker"]),
        ("dur!=50ms", ["alice", "bob"]),
        ("dur<=0.75s", ["alice", "worker"]),
        ("spans>1", ["alice", "bob"]),
        ("spans=1", ["worker"]),
        ("services>=2", ["alice", "bob"]),
        ("services=1", ["worker"]),
        ("errors>0", ["bob"]),
        ("errors=0", ["alice", "worker"]),
        ("errors<2", ["alice", "bob", "worker"]),
        ("error", ["bob"]),
        ("not error", ["alice", "worker"]),
        ("orphan", ["worker"]),
        ("not orphan", ["alice", "bob"]),
    ])
    func traceFacts(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("tag.http.status_code", ["alice", "bob"]),
        ("tag.http.status_code>=500", ["bob"]),
        ("tag.http.status_code>499.5", ["bob"]),
        ("tag.http.status_code=200", ["alice"]),
        ("tag.http.status_code=200.0", ["alice"]),
        ("tag.http.status_code<300", ["alice"]),
        // At trace level != is "no span has it".
        ("tag.http.status_code!=500", ["alice", "worker"]),
        ("tag.http.method!=GET", ["worker"]),
        ("tag.http.url~=ALI", ["alice"]),
        ("tag.http.url=/alice", ["alice"]),
        ("tag.http.url=/ALICE", []),
        ("tag.error=true", ["bob"]),
        ("tag.deployment=prod", ["worker"]),
        ("tag.service.name=server-2", ["alice", "bob"]),
        ("tag.retries>2", ["worker"]),
        ("tag.retries=3.0", ["worker"]),
        ("tag.retries~=3", ["worker"]),
        ("tag.ratio<0.5", ["worker"]),
        ("tag.ratio=0.25", ["worker"]),
        ("tag.cached=false", ["worker"]),
        ("tag.cached=FALSE", ["worker"]),
        ("tag.cached=true", []),
        ("tag.cached>0", []),
        ("tag.blob=0xdead", ["worker"]),
        ("tag.list~=\"x\"", ["worker"]),
        ("tag.owner~=infra", ["worker"]),
        ("tag.missing", []),
        ("tag.HTTP.METHOD", []),
    ])
    func tags(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("trace=a11ce", ["alice"]),
        ("trace=A11CE000", ["alice"]),
        ("trace=a11ce00000000001111122223333", ["alice"]),
        ("trace=a11ce000000000011111222233334445", []),
        ("trace=b0b0", ["bob"]),
        ("trace!=b0b0", ["alice", "worker"]),
        // The low half: a prefix of a 64-bit id as shown, or a full 16 digits of any.
        ("trace=0badcafe", ["worker"]),
        ("trace=0000000000000000", ["worker"]),
        ("trace=1111222233334444", ["alice"]),
        ("trace=11112222", []),
    ])
    func traceIDs(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("alice", ["alice"]),
        ("ALICE", ["alice"]),
        ("bob", ["bob"]),
        // An event attribute value, an event name, a resource attribute value.
        ("greet", ["bob"]),
        ("handling", ["alice", "bob"]),
        ("prod", ["worker"]),
        ("server", ["alice", "bob"]),
        ("\"GET\"", ["alice", "bob"]),
        ("200", ["alice"]),
        ("0.25", ["worker"]),
        ("false", ["worker"]),
        ("dead", ["worker"]),
        ("infra", ["worker"]),
        ("\"request\" alice", ["alice"]),
        // Keys are not searched at trace level: only values.
        ("peer.service", []),
        ("nowhere", []),
    ])
    func bareWords(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("{service=server-2 dur>400ms}", ["alice", "bob"]),
        ("{service=server-2 dur>500ms}", []),
        ("{service=server-1 dur<600ms}", ["alice", "bob"]),
        ("{}", ["alice", "bob", "worker"]),
        ("{kind=server}", ["alice", "bob"]),
        ("{kind=internal}", ["worker"]),
        ("{kind=client}", ["alice", "bob"]),
        ("{kind!=server}", ["alice", "bob", "worker"]),
        ("{status=error}", ["bob"]),
        ("{status=ok}", ["alice"]),
        ("{status=unset}", ["alice", "bob", "worker"]),
        ("{error}", ["bob"]),
        ("{error kind=client}", []),
        ("{not error}", ["alice", "bob", "worker"]),
        ("not {error}", ["alice", "worker"]),
        ("{orphan}", ["worker"]),
        ("{event~=exception}", ["bob"]),
        ("{event=\"handling request\"}", ["alice", "bob"]),
        ("{event~=BOB}", ["bob"]),
        ("{event=alice}", ["alice"]),
        ("{event=ali}", []),
        ("{event!=exception}", ["alice", "bob", "worker"]),
        ("{op=server-1_to_server-2 event~=handling}", []),
        // Self time: root 750 - 500 (its child), the hop 500 - 498.
        ("{op=server-1 self=250ms}", ["alice"]),
        ("{op=server-1 self=300ms}", ["bob"]),
        ("{op=server-1_to_server-2 self<5ms}", ["alice", "bob"]),
        ("{self>490ms}", ["alice", "bob"]),
        ("{self>=50ms kind=internal}", ["worker"]),
        // Inside braces != is about the one span.
        ("{service!=server-2}", ["alice", "bob", "worker"]),
        ("{tag.http.method!=GET}", ["alice", "bob"]),
        ("{tag.http.method!=POST}", ["alice", "bob"]),
        ("{tag.http.method!=POST kind=client}", []),
        ("{tag.deployment=prod kind=internal}", ["worker"]),
        ("{tag.service.name=server-1 kind=client}", ["alice", "bob"]),
        ("{tag.http.status_code>=500 op=server-1}", ["bob"]),
        ("{alice}", ["alice"]),
        ("{op=server-2 alice}", ["alice"]),
        ("{op=server-1_to_server-2 alice}", []),
        ("{service=server-2 or op=worker}", ["alice", "bob", "worker"]),
        ("{(kind=client or kind=internal) not orphan}", ["alice", "bob"]),
    ])
    func spanTerms(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("{op=server-1_to_server-2} > {service=server-2 error}", ["bob"]),
        ("{op=server-1} > {op=server-2}", []),
        ("{op=server-1} >> {op=server-2}", ["alice", "bob"]),
        ("{op=server-1} > {op=server-1_to_server-2} > {op=server-2}", ["alice", "bob"]),
        ("{op=server-1} > {op=server-2} > {}", []),
        ("{op=server-2} > {}", []),
        ("{kind=client} > {kind=server}", ["alice", "bob"]),
        ("{kind=server} > {kind=server}", []),
        ("{kind=server} >> {kind=server}", ["alice", "bob"]),
        ("{} >> {error}", ["bob"]),
        // bob's error is server-2, which has no children.
        ("{error} >> {}", []),
        ("{status=ok} > {kind=client}", ["alice"]),
        ("{orphan} > {}", []),
        ("not {op=server-1} >> {op=server-2}", ["worker"]),
    ])
    func structure(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    @Test(arguments: [
        ("service=server-2 dur>700ms", ["alice", "bob"]),
        ("tag.http.status_code>=500 or error", ["bob"]),
        ("error or alice spans=1", ["bob"]),
        ("(error or alice) spans=3", ["alice", "bob"]),
        ("error or alice and not bob", ["alice", "bob"]),
        ("not (error or orphan)", ["alice"]),
        ("not error not orphan", ["alice"]),
        ("worker or not service=server-1", ["worker"]),
        ("{error} or {orphan}", ["bob", "worker"]),
        ("{kind=server} {kind=client} not {error}", ["alice"]),
    ])
    func combinations(text: String, expected: [String]) throws {
        #expect(try Self.matching(text) == Set(expected))
    }

    // MARK: The find bar

    @Test func findBarReturnsSpanIndicesInRowOrder() throws {
        let trace = Trace(traceID: QueryFixtures.aliceID, spans: QueryFixtures.alice)
        // Arrival: server-2 (0), server-1 (1), the hop (2); rows: 1, 2, 0.
        #expect(trace.tree.rows.map(\.spanIndex) == [1, 2, 0])
        let find = { (text: String) throws -> [Int32] in try SpanQuery.parse(text).matchingSpans(in: trace) }
        #expect(try find("") == [])
        #expect(try find("alice") == [1, 0])
        #expect(try find("ALICE") == [1, 0])
        // Keys count in the find bar: attribute, resource attribute, event attribute.
        #expect(try find("peer.service") == [2])
        #expect(try find("telemetry.sdk") == [1, 2])
        #expect(try find("name") == [1, 2, 0])
        #expect(try find("SERVER-2") == [2, 0])
        #expect(try find("handling") == [0])
        #expect(try find("nowhere") == [])
        #expect(try find("{kind=server}") == [1, 0])
        #expect(try find("{kind=client} > {kind=server}") == [0])
        #expect(try find("{op=server-1} >> {}") == [2, 0])
        #expect(try find("{kind=server} or {kind=client}") == [1, 2, 0])
        #expect(try find("{kind=server} and not {op=server-1}") == [0])
        #expect(try find("{kind=server} {alice}") == [1, 0])
        #expect(try find("{self<5ms}") == [2])
    }

    // MARK: Large traces

    /// A 10,000-span tree (each span's parent an earlier one), shuffled; the
    /// structural operators' answers checked span by span against a walk of
    /// the parent map made here.
    @Test func structuralOperatorsOnTenThousandSpans() throws {
        var rng = QueryRandom(seed: 11)
        let count = 10_000
        let id = TraceID(high: 1, low: 10_000)
        let resources = (0..<7).map { Resource(serviceName: "svc-\($0)") }
        var parentOf = [Int](repeating: -1, count: count)
        var spans: [Span] = []
        for i in 0..<count {
            if i > 0 { parentOf[i] = rng.below(i) }
            spans.append(Span(
                traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(UInt64(parentOf[i] + 1)),
                name: "op-\(i % 13)", kind: i % 5 == 0 ? .client : .server,
                status: SpanStatus(code: i % 97 == 0 ? .error : .unset),
                startTimeUnixNano: 1_000 + UInt64(i), durationNano: 10, resource: resources[i % 7]))
        }
        let order = (0..<count).shuffled(using: &rng)
        let trace = Trace(traceID: id, spans: order.map { spans[$0] })
        var store = TraceStore()
        store.add(contentsOf: trace.spans)
        store.refreshSummaries()
        // Span i of the generator is at index position[i] of the trace.
        var position = [Int](repeating: 0, count: count)
        for (index, original) in order.enumerated() { position[original] = index }

        func ancestors(_ i: Int) -> [Int] {
            var chain: [Int] = []
            var current = parentOf[i]
            while current >= 0 {
                chain.append(current)
                current = parentOf[current]
            }
            return chain
        }
        let service = { (i: Int) in i % 7 }
        let cases: [(String, (Int) -> Bool)] = [
            ("{service=svc-1} > {service=svc-2}", { i in service(i) == 2 && parentOf[i] >= 0 && service(parentOf[i]) == 1 }),
            ("{op=op-3} >> {error}", { i in i % 97 == 0 && ancestors(i).contains { $0 % 13 == 3 } }),
            ("{kind=client} > {kind=server} > {error}", { i in
                let p = parentOf[i]
                return i % 97 == 0 && p >= 0 && p % 5 != 0 && parentOf[p] >= 0 && parentOf[p] % 5 == 0
            }),
            ("{service=svc-0} >> {service=svc-0} > {op=op-0}", { i in
                let p = parentOf[i]
                return i % 13 == 0 && p >= 0 && p % 7 == 0 && ancestors(p).contains { $0 % 7 == 0 }
            }),
        ]
        for (text, expected) in cases {
            let wanted = (0..<count).filter(expected)
            #expect(!wanted.isEmpty, "\(text) should find something in a tree this size")
            let found = try SpanQuery.parse(text).matchingSpans(in: trace).map(Int.init)
            #expect(Set(found) == Set(wanted.map { position[$0] }), "\(text)")
            let query = try TraceQuery.parse(text)
            #expect(query.matches(trace))
            #expect(store.matches(query, traceID: id))
            #expect(store.traceIDs(matching: query) == [id])
        }
        // And a structure that is nowhere: no span of svc-3 under op-0 errors... checked both ways.
        let none = try TraceQuery.parse("{service=svc-1} > {service=svc-1} > {service=svc-1} > {service=svc-1} > {error}")
        let brute = (0..<count).contains { i in
            var chain = [i]
            for _ in 0..<4 {
                guard let last = chain.last, parentOf[last] >= 0 else { return false }
                chain.append(parentOf[last])
            }
            return i % 97 == 0 && chain.dropFirst().allSatisfy { $0 % 7 == 1 }
        }
        #expect(none.matches(trace) == brute)
        #expect(store.matches(none, traceID: id) == brute)
    }

    @Test func descendantsOfADeepChainAreFoundWithoutDeepRecursion() throws {
        let count = 20_000
        let id = TraceID(low: 77)
        let spans = (0..<count).map { i in
            Span(traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(UInt64(i)),
                 name: "d-\(i)", startTimeUnixNano: UInt64(i), durationNano: UInt64(count - i))
        }
        let trace = Trace(traceID: id, spans: spans.reversed())
        var store = TraceStore()
        store.add(contentsOf: trace.spans)
        for (text, expected) in [("{op=d-0} >> {op=d-19999}", true), ("{op=d-19999} >> {op=d-0}", false),
                                 ("{op=d-5} > {op=d-6}", true), ("{op=d-5} > {op=d-7}", false)] {
            let query = try TraceQuery.parse(text)
            #expect(query.matches(trace) == expected, "\(text)")
            #expect(store.matches(query, traceID: id) == expected, "\(text)")
        }
        #expect(try SpanQuery.parse("{op=d-19990} >> {}").matchingSpans(in: trace).count == 9)
    }

    @Test func cyclesAndDuplicateIDsFollowTheTree() throws {
        // a names b's id, b names a's: a cycle. c repeats b's id, so it nests
        // under b, and children naming that id (a, d) hang on its last
        // occurrence, c. Nothing is a root: the tree breaks the cycle at the
        // earliest start, b, giving b > c > (d, a).
        let id = TraceID(low: 5)
        let spans = [
            Span(traceID: id, spanID: SpanID(1), parentSpanID: SpanID(2), name: "a", startTimeUnixNano: 10, durationNano: 5),
            Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "b", startTimeUnixNano: 5, durationNano: 5),
            Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "c", startTimeUnixNano: 6, durationNano: 5),
            Span(traceID: id, spanID: SpanID(4), parentSpanID: SpanID(2), name: "d", startTimeUnixNano: 7, durationNano: 5),
        ]
        let trace = Trace(traceID: id, spans: spans)
        var store = TraceStore()
        store.add(contentsOf: spans)
        for text in ["{op=b} > {op=a}", "{op=a} > {op=b}", "{op=b} > {op=c}", "{op=c} > {op=d}", "{op=c} > {op=a}",
                     "{op=b} >> {op=d}", "{op=a} >> {op=d}", "root.op=b", "root.op=a", "{orphan}", "orphan",
                     "{op=c self<5ns}", "{op=b self=0ns}"] {
            let query = try TraceQuery.parse(text)
            #expect(store.matches(query, traceID: id) == query.matches(trace), "\(text)")
        }
        #expect(trace.tree.rows.map { trace.spans[Int($0.spanIndex)].name } == ["b", "c", "d", "a"])
        #expect(try TraceQuery.parse("{op=b} > {op=c} > {op=a}").matches(trace))
        #expect(try TraceQuery.parse("{op=c} > {op=d}").matches(trace))
        #expect(try !TraceQuery.parse("{op=a} > {op=b}").matches(trace))
        #expect(try TraceQuery.parse("root.op=b").matches(trace))
        #expect(try store.matches(TraceQuery.parse("{op=b} > {op=c} > {op=a}"), traceID: id))
    }

    // MARK: Packed and materialized agree

    /// Many random traces (shapes, attributes of every type, errors, events,
    /// orphans, duplicate ids, cycles, resources inline past a small table
    /// bound): every way of asking gives the same set for every query.
    @Test(arguments: [1 << 16, 12])
    func packedAndMaterializedAgree(tableCapacity: Int) throws {
        var rng = QueryRandom(seed: UInt64(tableCapacity))
        var generator = RandomTraces()
        var store = TraceStore(limits: TraceStoreLimits(), tableCapacity: tableCapacity)
        var ids: [TraceID] = []
        var late: [Span] = []
        for n in 0..<600 {
            var spans = generator.trace(number: n, using: &rng)
            ids.append(spans[0].traceID)
            // Some spans arrive after the first summaries: those summaries go stale.
            if n < 300, n % 10 == 0, spans.count > 1 { late.append(spans.removeLast()) }
            store.add(contentsOf: spans)
            if n == 299 { store.refreshSummaries() }
        }
        store.add(contentsOf: late)
        var queries = RandomTraces.queries
        // Trace id prefixes of real ids, and a full low half.
        queries += ids.prefix(5).map { "trace=\($0.hex.prefix(5))" } + ["trace=\(ids[3].hex.suffix(16))"]
        for refresh in [false, true] {
            // Fresh, stale and missing summaries first; then all fresh.
            if refresh { store.refreshSummaries() }
            let traces = ids.compactMap { store.trace($0) }
            #expect(traces.count == ids.count)
            for text in queries {
                let query = try TraceQuery.parse(text)
                let expected = Set(traces.filter(query.matches).map(\.traceID))
                #expect(Set(store.traceIDs(matching: query, parallelAbove: .max)) == expected, "\(text), one thread")
                #expect(Set(store.traceIDs(matching: query, parallelAbove: 0)) == expected, "\(text), in parallel")
                #expect(Set(ids.filter { store.matches(query, traceID: $0) }) == expected, "\(text), one by one")
            }
        }
        let traces = ids.compactMap { store.trace($0) }
        // The queries must tell traces apart: most match some and miss some.
        let discriminating = try queries.filter { text in
            let query = try TraceQuery.parse(text)
            let n = traces.filter(query.matches).count
            return n > 0 && n < traces.count
        }
        #expect(discriminating.count * 10 >= queries.count * 7, "only \(discriminating.count) of \(queries.count) discriminate")
        #expect(tableCapacity > 100 || store.valuesInlinedPastTableBound > 0)
    }
}

/// SplitMix64, seeded: the same traces every run.
struct QueryRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// Varied traces from a small vocabulary, so that queries hit and miss.
struct RandomTraces {
    static let services = ["api", "db", "cache", "auth"]
    static let operations = ["GET /users", "SELECT", "get", "set", "login", "Proxy"]
    static let words = ["alice", "bob", "Zoë", "timeout", "retry", "x-1"]
    let resources: [Resource] = services.enumerated().map { i, name in
        Resource(serviceName: name, attributes: i % 2 == 0
                 ? [Attribute("service.name", .string(name)), Attribute("region", .string(i == 0 ? "eu" : "us"))]
                 : [Attribute("service.name", .string(name)), Attribute("long", .string(String(repeating: "r", count: 70 + i)))])
    }

    func value(using rng: inout QueryRandom) -> AttributeValue {
        switch rng.below(8) {
        case 0: return .int(Int64(rng.below(7)) * 100 - 100)
        case 1: return .double(Double(rng.below(9)) / 4)
        case 2: return .bool(rng.chance(50))
        case 3: return .bytes([UInt8(rng.below(256)), 0xad])
        case 4: return .array([.string(Self.words[rng.below(Self.words.count)]), .int(Int64(rng.below(3)))])
        case 5: return .string(String(repeating: "long-", count: 14) + Self.words[rng.below(Self.words.count)])
        case 6: return .string(String(rng.below(600)))
        default: return .string(Self.words[rng.below(Self.words.count)])
        }
    }

    func attributes(using rng: inout QueryRandom) -> [Attribute] {
        let keys = ["http.status_code", "user", "n", "flag", "error", "peer.service"]
        return (0..<rng.below(4)).map { _ in
            let key = keys[rng.below(keys.count)]
            if key == "error" { return Attribute(key, rng.chance(50) ? .bool(true) : .string(rng.chance(50) ? "true" : "no")) }
            return Attribute(key, value(using: &rng))
        }
    }

    mutating func trace(number: Int, using rng: inout QueryRandom) -> [Span] {
        let id = rng.chance(20) ? TraceID(low: rng.next() | 1) : TraceID(high: rng.next(), low: rng.next())
        let count = rng.chance(10) ? 40 + rng.below(60) : 1 + rng.below(8)
        let start: UInt64 = 1_000_000_000_000 + UInt64(rng.below(1_000_000))
        var spans: [Span] = []
        for i in 0..<count {
            var parent: SpanID? = i == 0 ? nil : SpanID(UInt64(rng.below(i) + 1))
            if rng.chance(4) { parent = SpanID(UInt64(5_000 + rng.below(10))) }  // never arrives: an orphan
            if i == 0, rng.chance(5) { parent = SpanID(UInt64(count)) }  // a cycle through the last span
            let spanID = rng.chance(3) && i > 0 ? SpanID(UInt64(rng.below(i) + 1)) : SpanID(UInt64(i + 1))
            let events: [SpanEvent] = rng.chance(30)
                ? [SpanEvent(timeUnixNano: start, name: rng.chance(50) ? "exception" : Self.words[rng.below(Self.words.count)],
                             attributes: rng.chance(50) ? [Attribute("message", value(using: &rng))] : [])]
                : []
            let status = SpanStatus(code: SpanStatus.Code(rawValue: UInt8(rng.below(3))) ?? .unset,
                                    message: rng.chance(10) ? "failed" : "")
            spans.append(Span(
                traceID: id, spanID: spanID, parentSpanID: parent,
                name: rng.chance(5) ? "op-\(rng.below(100_000))" : Self.operations[rng.below(Self.operations.count)],
                kind: SpanKind(rawValue: UInt8(rng.below(6))) ?? .internal, status: status,
                startTimeUnixNano: start + UInt64(rng.below(50_000_000)), durationNano: UInt64(rng.below(900)) * 1_000_000,
                attributes: attributes(using: &rng), events: events,
                resource: rng.chance(5) ? Resource(serviceName: "one-off-\(rng.below(3))") : resources[rng.below(resources.count)]))
        }
        return spans
    }

    static let queries: [String] = [
        "service=api", "service=db dur>300ms", "service~=A", "service!=cache", "op=\"GET /users\"", "op~=get",
        "root.service=api", "root.op=SELECT", "root.service!=db", "root.op~=o",
        "dur>500ms", "dur<=200ms", "dur=0ns", "dur!=0ns", "spans>3", "spans=1", "services>=2", "services<2",
        "errors>0", "errors>=2", "error", "orphan", "not orphan",
        "tag.http.status_code>=300", "tag.http.status_code=200", "tag.http.status_code!=200", "tag.user=alice",
        "tag.user~=ZO", "tag.n<1", "tag.n>=1.5", "tag.flag=true", "tag.flag", "tag.region=eu", "tag.long~=rrr",
        "tag.user=0xffad", "tag.user~=x-1", "tag.error=true", "tag.error", "tag.peer.service~=long",
        "alice", "ZOË", "timeout", "retry", "200", "0.5", "true", "ad", "long-long", "eu", "failed",
        "{service=db dur>100ms}", "{kind=server}", "{kind=client error}", "{status=ok}", "{status=error}", "{status=unset}",
        "{error}", "{not error}", "{orphan}", "{self>100ms}", "{self<=10ms kind=producer}", "{event~=exception}",
        "{event=timeout}", "{event!=exception}", "{event~=0}", "{tag.n>100}", "{tag.user!=alice}", "{tag.region=us}",
        "{bob}", "{op=get service=cache}", "{service=api or service=auth}", "{not (kind=server or kind=client)}",
        "{}", "{service=api} > {service=db}", "{service=api} >> {error}", "{kind=client} > {kind=server} > {}",
        "{op=SELECT} >> {op=get} > {op=set}", "{} > {orphan}", "{error} >> {error}",
        "service=api dur>300ms or error", "not service=api", "(alice or bob) not error", "{error} or orphan",
        "not {kind=server} > {kind=client}", "tag.http.status_code>=500 or error",
    ]
}
