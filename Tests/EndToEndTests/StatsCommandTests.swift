import Foundation
import Testing
import TraceModel
import TraceFormats

/// `tracetty stats` on a dump of known durations: HdrHistogram's
/// percentiles agree with exact ones within 3 significant digits.
@Suite(.ownThreads) struct StatsCommandTests {
    static var ready: Bool { PrintCommandTests.ready }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func percentilesAgreeWithExactOnes() throws {
        // 1,000 `api: get` spans of 1..1000 ms (a shuffled ramp), 1 in 10 an error;
        // 200 `db: query` children of 3 ms each.
        var spans: [Span] = []
        let api = Resource(serviceName: "api"), db = Resource(serviceName: "db")
        var durations = (1...1000).map { UInt64($0) * 1_000_000 + UInt64($0) * 7 }
        var rng = SystemRandomNumberGenerator()
        durations.shuffle(using: &rng)
        for (i, duration) in durations.enumerated() {
            let trace = TraceID(high: 0x5, low: UInt64(i + 1))
            spans.append(Span(traceID: trace, spanID: SpanID(1), name: "get", kind: .server,
                              status: i % 10 == 0 ? SpanStatus(code: .error) : .unset,
                              startTimeUnixNano: 1_795_821_746_000_000_000 + UInt64(i) * 1_000_000_000, durationNano: duration,
                              resource: api))
            if i % 5 == 0 {
                spans.append(Span(traceID: trace, spanID: SpanID(2), parentSpanID: SpanID(1), name: "query", kind: .client,
                                  startTimeUnixNano: 1_795_821_746_000_000_000 + UInt64(i) * 1_000_000_000, durationNano: 3_000_000,
                                  resource: db))
            }
        }
        let file = try PrintCommandTests.temporaryFile(String(decoding: OTLPJSONEncoder.encodeLine(spans), as: UTF8.self),
                                                       name: "stats.ndjson")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try PrintCommandTests.run(["stats", file, "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try result.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let get = try #require(rows.first { $0["service"] as? String == "api" && $0["operation"] as? String == "get" })
        #expect(get["count"] as? Int == 1000)
        #expect(get["errors"] as? Int == 100)
        let sorted = durations.sorted()
        func exact(_ p: Double) -> UInt64 { sorted[Int((p * Double(sorted.count)).rounded(.up)) - 1] }  // nearest rank
        for (field, p) in [("p50Nanos", 0.5), ("p90Nanos", 0.9), ("p99Nanos", 0.99)] {
            let value = try #require(get[field] as? UInt64)
            let truth = exact(p)
            // Within HdrHistogram's 3 significant digits: at most 0.1% off.
            #expect(value >= truth && value - truth <= truth / 1000, "\(field): \(value) vs exact \(truth)")
        }
        #expect(get["maxNanos"] as? UInt64 == sorted.last)
        let query = try #require(rows.first { $0["operation"] as? String == "query" })
        #expect(query["p50Nanos"] as? UInt64 == 3_000_000 || (query["p50Nanos"] as? UInt64).map { $0 - 3_000_000 <= 3_000 } == true)
        // The service rows come first for each service; --by service keeps only them.
        let byService = try PrintCommandTests.run(["stats", file, "--by", "service", "--format", "json"])
        #expect(byService.stdout.split(separator: "\n").count == 2)
        // The graph: api calls db 200 times.
        let graph = try PrintCommandTests.run(["stats", file, "--graph", "--format", "json"])
        let edge = try #require(try JSONSerialization.jsonObject(with: Data(graph.stdout.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(edge["parent"] as? String == "api" && edge["child"] as? String == "db" && edge["calls"] as? Int == 200)
        let text = try PrintCommandTests.run(["stats", file, "--graph", "--width", "100"])
        #expect(text.stdout.contains("│api├") && text.stdout.contains("▶│db│"))
        // A filter narrows the table to the matching traces.
        let errors = try PrintCommandTests.run(["stats", file, "--filter", "error", "--format", "json"])
        #expect(errors.stdout.contains("\"count\":100,\"errors\":100"))
    }
}
