import TraceModel

/// Deterministic synthetic traces shaped like the seed's system (server-1
/// calling server-2), for demos, tests and benchmarks. Everything derives from
/// the seed: the same seed gives the same traces.
public struct SyntheticTraces: Sendable {
    public let seed: UInt64
    public let startUnixNano: UInt64
    /// Gap between the starts of consecutive traces.
    public let traceIntervalNano: UInt64
    /// Children of every 50th trace's root (500 by default).
    public let wideChildren: Int
    /// Spans in every 97th trace's chain (200 by default).
    public let deepDepth: Int
    public private(set) var tracesMade = 0
    private var state: UInt64

    public static let server1 = Resource(serviceName: "server-1", attributes: [
        Attribute("service.name", .string("server-1")),
        Attribute("telemetry.sdk.language", .string("swift")),
    ])
    public static let server2 = Resource(serviceName: "server-2", attributes: [
        Attribute("service.name", .string("server-2")),
        Attribute("telemetry.sdk.language", .string("swift")),
    ])
    public static let scope1 = InstrumentationScope(name: "emitter.server-1", version: "1.0.0")
    public static let scope2 = InstrumentationScope(name: "emitter.server-2", version: "1.0.0")

    static let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
                        "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoë"]

    /// Smaller `wideChildren` and `deepDepth` keep the mix of shapes with
    /// fewer spans per trace: 10 and 20 give ~3.3 spans per trace (about
    /// 300,000 traces per million spans, as a busy seed system makes).
    public init(seed: UInt64 = 1, startUnixNano: UInt64 = 1_700_000_000_000_000_000, traceIntervalNano: UInt64 = 50_000_000,
                wideChildren: Int = 500, deepDepth: Int = 200) {
        self.seed = seed
        self.startUnixNano = startUnixNano
        self.traceIntervalNano = traceIntervalNano
        self.wideChildren = max(0, wideChildren)
        self.deepDepth = max(1, deepDepth)
        state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x2545_F491_4F6C_DD1D
    }

    /// SplitMix64.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ n: UInt64) -> UInt64 { n == 0 ? 0 : next() % n }
    private mutating func spanID() -> SpanID { SpanID(next() | 1) }
    private mutating func traceID() -> TraceID { TraceID(high: next(), low: next() | 1) }

    /// The next trace: mostly the seed's three spans, some errors, every 50th
    /// a wide trace (a root with `wideChildren` children, 500 by default),
    /// every 97th a deep one (a chain of `deepDepth`, 200 by default).
    public mutating func nextTrace() -> [Span] {
        let index = tracesMade
        tracesMade += 1
        let start = startUnixNano &+ UInt64(index) &* traceIntervalNano &+ below(traceIntervalNano / 2)
        if index % 97 == 96 { return deepTrace(start: start, depth: deepDepth) }
        if index % 50 == 49 { return wideTrace(start: start, children: wideChildren) }
        let name = Self.names[Int(below(UInt64(Self.names.count)))] + (index >= Self.names.count ? "\(below(1000))" : "")
        let isError = below(20) == 0
        return Self.seedTrace(
            traceID: traceID(), rootSpanID: spanID(), clientSpanID: spanID(), serverSpanID: spanID(),
            name: name, startUnixNano: start,
            rootDurationNano: 750_000_000 &+ below(40_000_000),
            clientOffsetNano: 250_000_000 &+ below(2_000_000),
            clientDurationNano: 500_000_000 &+ below(20_000_000),
            error: isError)
    }

    /// The classic seed trace: `server-1` -> `server-1_to_server-2` -> `server-2`.
    public static func seedTrace(
        traceID: TraceID = TraceID(high: 0x8777_31db_9468_05e5, low: 0xeab3_7af5_7c3f_0bf4),
        rootSpanID: SpanID = SpanID(0x3cf5_48d8_3072_7a75),
        clientSpanID: SpanID = SpanID(0x78ff_26f7_6ccd_6a1a),
        serverSpanID: SpanID = SpanID(0x7192_9b2f_f2e1_2ab8),
        name: String = "alice",
        startUnixNano: UInt64 = 1_795_821_746_743_620_141,
        rootDurationNano: UInt64 = 750_909_443,
        clientOffsetNano: UInt64 = 250_377_575,
        clientDurationNano: UInt64 = 500_506_079,
        error: Bool = false
    ) -> [Span] {
        let clientStart = startUnixNano &+ clientOffsetNano
        let serverStart = clientStart &+ 185_307
        let serverDuration = clientDurationNano > 400_000 ? clientDurationNano - 370_000 : clientDurationNano
        var rootAttributes = [
            Attribute("http.method", .string("GET")),
            Attribute("http.url", .string("/\(name)")),
            Attribute("http.status_code", .int(error ? 500 : 200)),
        ]
        var serverEvents = [SpanEvent(timeUnixNano: serverStart &+ 23_445, name: "handling request",
                                      attributes: [Attribute("name", .string(name))])]
        var rootStatus = SpanStatus.unset
        var serverStatus = SpanStatus.unset
        var serverAttributes: [Attribute] = [
            Attribute("http.method", .string("POST")),
            Attribute("http.target", .string("/")),
            Attribute("http.status_code", .int(error ? 500 : 200)),
        ]
        if error {
            rootAttributes.append(Attribute("error", .bool(true)))
            serverAttributes.append(Attribute("error", .bool(true)))
            rootStatus = SpanStatus(code: .error, message: "upstream server-2 failed")
            serverStatus = SpanStatus(code: .error, message: "cannot greet \(name)")
            serverEvents.append(SpanEvent(timeUnixNano: serverStart &+ serverDuration / 2, name: "exception", attributes: [
                Attribute("exception.type", .string("GreetingError")),
                Attribute("exception.message", .string("cannot greet \(name)")),
            ]))
        }
        return [
            Span(traceID: traceID, spanID: rootSpanID, name: "server-1", kind: .server, status: rootStatus,
                 startTimeUnixNano: startUnixNano, durationNano: rootDurationNano, attributes: rootAttributes,
                 resource: server1, scope: scope1, flags: 0x101),
            Span(traceID: traceID, spanID: clientSpanID, parentSpanID: rootSpanID, name: "server-1_to_server-2",
                 kind: .client, status: rootStatus, startTimeUnixNano: clientStart, durationNano: clientDurationNano,
                 attributes: [Attribute("http.method", .string("POST")),
                              Attribute("http.url", .string("http://localhost:8081/")),
                              Attribute("peer.service", .string("server-2"))],
                 resource: server1, scope: scope1, flags: 0x101),
            Span(traceID: traceID, spanID: serverSpanID, parentSpanID: clientSpanID, name: "server-2", kind: .server,
                 status: serverStatus, startTimeUnixNano: serverStart, durationNano: serverDuration,
                 attributes: serverAttributes, events: serverEvents, resource: server2, scope: scope2, flags: 0x301),
        ]
    }

    private mutating func wideTrace(start: UInt64, children: Int) -> [Span] {
        let trace = traceID()
        let root = spanID()
        let step: UInt64 = 1_000_000
        var spans = [Span(traceID: trace, spanID: root, name: "batch", kind: .server, startTimeUnixNano: start,
                          durationNano: UInt64(children) &* step &+ 1_000_000,
                          attributes: [Attribute("http.method", .string("POST")), Attribute("http.url", .string("/batch")),
                                       Attribute("http.status_code", .int(200)), Attribute("batch.size", .int(Int64(children)))],
                          resource: Self.server1, scope: Self.scope1)]
        spans.reserveCapacity(children + 1)
        for i in 0..<children {
            spans.append(Span(traceID: trace, spanID: spanID(), parentSpanID: root, name: "item",
                              kind: .internal, startTimeUnixNano: start &+ UInt64(i) &* step &+ 500_000,
                              durationNano: 200_000 &+ below(700_000), attributes: [Attribute("item.index", .int(Int64(i)))],
                              resource: Self.server1, scope: Self.scope1))
        }
        return spans
    }

    private mutating func deepTrace(start: UInt64, depth: Int) -> [Span] {
        let trace = traceID()
        var spans: [Span] = []
        spans.reserveCapacity(depth)
        var parent: SpanID? = nil
        let total = UInt64(depth) &* 2_000_000
        for level in 0..<depth {
            let id = spanID()
            let offset = UInt64(level) &* 1_000_000
            spans.append(Span(traceID: trace, spanID: id, parentSpanID: parent, name: level == 0 ? "recurse" : "recurse-\(level)",
                              kind: level == 0 ? .server : .internal, startTimeUnixNano: start &+ offset,
                              durationNano: total &- 2 &* offset, attributes: [Attribute("depth", .int(Int64(level)))],
                              resource: level % 2 == 0 ? Self.server1 : Self.server2,
                              scope: level % 2 == 0 ? Self.scope1 : Self.scope2))
            parent = id
        }
        return spans
    }
}
