import TraceModel

/// A deterministic generator (SplitMix64): the same values on every run.
struct LatencyRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Traces for the latency and service-graph tests.
enum LatencyFixtures {
    static let server1 = Resource(serviceName: "server-1")
    static let server2 = Resource(serviceName: "server-2")

    /// Seed-shaped: a server-1 root, its client hop to server-2, and
    /// server-2's server span; every 20th trace has an error on the last two.
    static func seedTrace(_ n: Int, durations: (root: UInt64, hop: UInt64, work: UInt64)? = nil) -> [Span] {
        let id = TraceID(high: 1, low: UInt64(n))
        let base = UInt64(n) * 1_000
        let d = durations ?? (UInt64(10_000_000 + (n % 97) * 10_000), UInt64(8_000_000 + (n % 89) * 10_000),
                              UInt64(7_000_000 + (n % 83) * 10_000))
        let status = n % 20 == 0 ? SpanStatus(code: .error) : .unset
        return [
            Span(traceID: id, spanID: SpanID(base + 1), name: "GET /", kind: .server, startTimeUnixNano: 1_000,
                 durationNano: d.root, resource: server1),
            Span(traceID: id, spanID: SpanID(base + 2), parentSpanID: SpanID(base + 1), name: "server-1_to_server-2",
                 kind: .client, status: status, startTimeUnixNano: 2_000, durationNano: d.hop, resource: server1),
            Span(traceID: id, spanID: SpanID(base + 3), parentSpanID: SpanID(base + 2), name: "GET /work",
                 kind: .server, status: status, startTimeUnixNano: 3_000, durationNano: d.work, resource: server2),
        ]
    }

    /// A span of a hand-made trace.
    static func span(_ trace: UInt64, _ id: UInt64, parent: UInt64? = nil, _ service: String, _ name: String = "op",
                     duration: UInt64 = 100, error: Bool = false) -> Span {
        Span(traceID: TraceID(low: trace), spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: name,
             status: error ? SpanStatus(code: .error) : .unset, startTimeUnixNano: 1_000 + id, durationNano: duration,
             resource: Resource(serviceName: service))
    }
}
