import Foundation
import Testing

/// `print --critical-path`, `--format json`, `--stats`, `--compare` and
/// `--raw-times` on a hand-made Jaeger trace whose answers are known: the
/// server span's clock runs 15ms behind its caller's, and a consumer
/// follows the request (FOLLOWS_FROM).
@Suite(.ownThreads) struct PrintAnalysisTests {
    static var ready: Bool { PrintCommandTests.ready }

    /// Times in µs from T. root 0..100 (server-1), call 10..90 (server-1),
    /// handle 5..65 (server-2: 15ms early), consume 120..150 (worker, FOLLOWS_FROM root).
    static let dump = #"""
    {"data": [{
      "traceID": "00000000000000000000000000000abc",
      "spans": [
        {"traceID": "abc", "spanID": "01", "operationName": "GET /alice", "startTime": 1700000000000000, "duration": 100000, "processID": "p1"},
        {"traceID": "abc", "spanID": "02", "operationName": "call server-2", "startTime": 1700000000010000, "duration": 80000, "processID": "p1",
         "references": [{"refType": "CHILD_OF", "traceID": "abc", "spanID": "01"}]},
        {"traceID": "abc", "spanID": "03", "operationName": "handle", "startTime": 1700000000005000, "duration": 60000, "processID": "p2",
         "references": [{"refType": "CHILD_OF", "traceID": "abc", "spanID": "02"}],
         "logs": [{"timestamp": 1700000000006000, "fields": [{"key": "event", "type": "string", "value": "started"}]}]},
        {"traceID": "abc", "spanID": "04", "operationName": "consume", "startTime": 1700000000120000, "duration": 30000, "processID": "p3",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "abc", "spanID": "01"}]}
      ],
      "processes": {"p1": {"serviceName": "server-1"}, "p2": {"serviceName": "server-2"}, "p3": {"serviceName": "worker"}}
    }, {
      "traceID": "00000000000000000000000000000def",
      "spans": [
        {"traceID": "def", "spanID": "11", "operationName": "GET /alice", "startTime": 1700000001000000, "duration": 40000, "processID": "p1"},
        {"traceID": "def", "spanID": "12", "operationName": "cache hit", "startTime": 1700000001001000, "duration": 2000, "processID": "p1",
         "references": [{"refType": "CHILD_OF", "traceID": "def", "spanID": "11"}]}
      ],
      "processes": {"p1": {"serviceName": "server-1"}}
    }]}
    """#

    static let t0: UInt64 = 1_700_000_000_000_000_000
    static let ms: UInt64 = 1_000_000

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func criticalPathAsJSON() throws {
        let file = try PrintCommandTests.temporaryFile(Self.dump, name: "analysis.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try PrintCommandTests.run(["print", file, "--trace", "00000000000000000000000000000abc", "--format", "json", "--critical-path"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        try #require(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["traceId"] as? String == "00000000000000000000000000000abc")
        let spans = try #require(object["spans"] as? [[String: Any]])
        #expect(spans.map { $0["name"] as? String } == ["GET /alice", "call server-2", "handle", "consume"])
        #expect(spans.map { $0["depth"] as? Int } == [0, 1, 2, 1])
        #expect(spans.map { $0["parentSpanId"] as? String } == [nil, "0000000000000001", "0000000000000002", "0000000000000001"])
        #expect(spans[3]["reference"] as? String == "FOLLOWS_FROM")
        #expect(spans.map { $0["service"] as? String } == ["server-1", "server-1", "server-2", "worker"])
        // handle moved +15ms: centred in its caller (10..90 holds 60ms at 20..80).
        #expect(spans[2]["startUnixNano"] as? UInt64 == Self.t0 + 20 * Self.ms)
        #expect(spans[2]["skewShiftNanos"] as? Int == 15_000_000)
        #expect(spans.map { $0["durationNanos"] as? UInt64 } == [100, 80, 60, 30].map { $0 * Self.ms })
        #expect(spans.map { $0["selfNanos"] as? UInt64 } == [20, 20, 60, 30].map { $0 * Self.ms })
        // The consumer does not block the request: off the path.
        #expect(spans.map { $0["criticalPathNanos"] as? UInt64 } == [20, 20, 60, 0].map { $0 * Self.ms })
        #expect(object["criticalPathNanos"] as? UInt64 == 100 * Self.ms)
        let path = try #require(object["criticalPath"] as? [[String: Any]])
        #expect(path.map { $0["spanId"] as? String } == ["01", "02", "03", "02", "01"].map { "00000000000000" + $0 })
        #expect(path.map { ($0["startUnixNano"] as? UInt64).map { ($0 - Self.t0) / Self.ms } } == [0, 10, 20, 80, 90])
        #expect(path.map { ($0["endUnixNano"] as? UInt64).map { ($0 - Self.t0) / Self.ms } } == [10, 20, 80, 90, 100])

        // Raw times: handle is where its clock put it (5..65): still inside 10..90? No: it starts
        // before its caller, so the path clips it to 10..65.
        let raw = try PrintCommandTests.run(["print", file, "--trace", "00000000000000000000000000000abc", "--format", "json", "--critical-path", "--raw-times"])
        let rawObject = try #require(try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any])
        let rawSpans = try #require(rawObject["spans"] as? [[String: Any]])
        #expect(rawSpans[2]["startUnixNano"] as? UInt64 == Self.t0 + 5 * Self.ms)
        #expect(rawSpans[2]["skewShiftNanos"] == nil)
        #expect(rawSpans.map { $0["criticalPathNanos"] as? UInt64 } == [20, 25, 55, 0].map { $0 * Self.ms })
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func criticalPathAsText() throws {
        let file = try PrintCommandTests.temporaryFile(Self.dump, name: "analysis-text.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try PrintCommandTests.run(["print", file, "--trace", "00000000000000000000000000000abc", "--critical-path", "--width", "100"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0].hasSuffix("critical path 100ms (66.7% of trace)"))
        // Each span's time on the path closes its name column; shaded bars off the path.
        #expect(lines[2].contains("GET /alice") && lines[2].contains("20ms │") && lines[2].contains("░"))
        #expect(lines[4].hasPrefix("~") && lines[4].contains("handle") && lines[4].contains("60ms │"))
        #expect(lines[5].contains("⇢ worker consume") && lines[5].contains("· │") && !lines[5].contains("█"))
        #expect(lines.last == "clock skew: 1 span shifted (~); --raw-times shows the times as received")
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func statisticsTable() throws {
        let file = try PrintCommandTests.temporaryFile(Self.dump, name: "analysis-stats.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let text = try PrintCommandTests.run(["print", file, "--trace", "00000000000000000000000000000abc", "--stats", "--width", "120"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines[1] == "SERVICE COUNT ▼TOTAL AVG MIN MAX SELF TOTAL SELF AVG % TRACE")
        #expect(lines[2] == "server-1 2 180ms 90ms 80ms 100ms 40ms 20ms 26.7%")
        #expect(lines[3] == "server-2 1 60ms 60ms 60ms 60ms 60ms 60ms 40%")
        #expect(lines[4] == "worker 1 30ms 30ms 30ms 30ms 30ms 30ms 20%")
        let json = try PrintCommandTests.run(["print", file, "--trace", "00000000000000000000000000000abc", "--stats", "--group-by", "operation", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.map { $0["operation"] as? String } == ["GET /alice", "call server-2", "handle", "consume"])
        #expect(rows.map { $0["selfTotalNanos"] as? UInt64 } == [20, 20, 60, 30].map { $0 * Self.ms })
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func compareTwoTraces() throws {
        let file = try PrintCommandTests.temporaryFile(Self.dump, name: "analysis-compare.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let text = try PrintCommandTests.run(["print", file, "--compare", "00000000000000000000000000000abc", "0000000000000def", "--width", "120"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines[0].hasPrefix("A/B duration 150ms / 40ms (-110ms) spans 4 / 2 errors 0 / 0 A abc server-1: GET /alice B def server-1: GET /alice"))
        // Biggest difference first (then the bigger count difference); paths only in A or B carry their letter.
        #expect(lines[2] == "A server-1: call server-2 1 0 80ms - -80ms -100%")
        #expect(lines[3] == "A server-2: handle 1 0 60ms - -60ms -100%")
        #expect(lines[4] == "server-1: GET /alice 1 1 100ms 40ms -60ms -60%")
        #expect(lines.contains("B server-1: cache hit 0 1 - 2ms +2ms new"))
        let missing = try PrintCommandTests.run(["print", file, "--compare", "00000000000000000000000000000abc", "000000000000bad0"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no trace 000000000000bad0"))
    }
}

/// `print --trace` keeps only the trace asked for, so a dump bigger than
/// `--max-spans` still finds it; a bound that evicts is said on stderr.
@Suite(.ownThreads) struct PrintBoundsTests {
    @Test(.enabled(if: PrintCommandTests.ready, "needs the built tracetty"))
    func aTraceIsFoundWhateverTheBound() throws {
        let sample = TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path
        // The sample's oldest trace: with room for 6 spans it would be evicted long before the end.
        let found = try PrintCommandTests.run(["print", sample, "--max-spans", "6", "--trace", "961facc76d5fe21c0094ab49d50f11f9",
                                               "--width", "100"])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.contains("trace 961facc76d5fe21c0094ab49d50f11f9"))
        #expect(!found.stderr.contains("evicted"))
        // A 64-bit id still finds the 128-bit trace by its low half.
        let low = try PrintCommandTests.run(["print", sample, "--max-spans", "6", "--trace", "0094ab49d50f11f9"])
        #expect(low.stdout.contains("trace 961facc76d5fe21c0094ab49d50f11f9"))
        // A filter runs on what was kept: the eviction is said.
        let filtered = try PrintCommandTests.run(["print", sample, "--max-spans", "6", "--filter", "error"])
        #expect(filtered.status == 0)
        #expect(filtered.stderr.contains("10 traces (30 spans) evicted by --max-spans 6: raise it to keep them"))
    }
}
