import Foundation
import Testing
import TestSupport
import TraceFormats

/// `tracetty print`, `list` and `stats` of dumps built from hostile cases
/// (issue 12): parent cycles, escape sequences and invalid UTF-8, NaN,
/// times at the ends of 64 bits, a line nested a million deep, a span with
/// 100,000 attributes, 100,000 children under one span, a gzip trailer that
/// lies. The real binary: every good line prints, the bad ones are
/// reported, nothing raw reaches the output.
@Suite(.ownThreads) struct HostileDumpTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }
    static let t0: UInt64 = 1_795_878_245_000_000_000

    /// One OTLP JSON line: `spans` (already JSON objects) under one service.
    static func line(service: String, _ spans: [String]) -> String {
        #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\#(service)"}}]},"scopeSpans":[{"spans":["#
            + spans.joined(separator: ",") + "]}]}]}"
    }

    static func span(_ trace: Int, _ id: Int, parent: Int? = nil, name: String, start: UInt64, end: UInt64,
                     extra: String = "") -> String {
        let traceID = String(repeating: "0", count: 28) + String(format: "%04x", trace)
        let parentID = parent.map { #","parentSpanId":"\#(String(format: "%016x", $0))""# } ?? ""
        return #"{"traceId":"\#(traceID)","spanId":"\#(String(format: "%016x", id))"\#(parentID),"name":"\#(name)","startTimeUnixNano":"\#(start)","endTimeUnixNano":"\#(end)"\#(extra)}"#
    }

    static func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = TestScratch.directory.appendingPathComponent("tracetty-\(getpid())-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func hostileDump() throws -> String {
        let ms: UInt64 = 1_000_000
        var lines: [String] = []
        // 1: a self-parented span, and a cycle of three with a child.
        lines.append(line(service: "loop", [
            span(1, 1, parent: 1, name: "self-parent", start: t0, end: t0 + 10 * ms),
            span(1, 2, parent: 4, name: "cycle-a", start: t0 + ms, end: t0 + 9 * ms),
            span(1, 3, parent: 2, name: "cycle-b", start: t0 + 2 * ms, end: t0 + 8 * ms),
            span(1, 4, parent: 3, name: "cycle-c", start: t0 + 3 * ms, end: t0 + 7 * ms),
            span(1, 5, parent: 4, name: "cycle-child", start: t0 + 4 * ms, end: t0 + 5 * ms),
        ]))
        // 2: escape sequences and NaN.
        lines.append(line(service: #"evil\u001b[2J"#, [
            span(2, 1, name: #"clear\u001b[2Jscreen\u0007"#, start: t0, end: t0 + ms,
                 extra: #","attributes":[{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"inf","value":{"doubleValue":1e999}}],"events":[{"timeUnixNano":"\#(t0)","name":"\u009b31m"}]"#),
        ]))
        // 3: nested a million deep.
        lines.append(line(service: "deep", [span(3, 1, name: "deep", start: t0, end: t0 + ms,
                                                extra: #","x":"# + String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000))]))
        // 4: times at the edges: a zero-length span with an event six years
        // on; a child 2^63 ns after its root; the last instant; end before start.
        lines.append(line(service: "time", [
            span(4, 1, name: "instant", start: t0, end: t0, extra: #","events":[{"timeUnixNano":"\#(t0 + 189_216_000_000_000_000)","name":"later"}]"#),
            span(5, 1, name: "epoch", start: 0, end: 1),
            span(5, 2, parent: 1, name: "far", start: 1 << 63, end: (1 << 63) + 1),
            span(6, 1, name: "last", start: UInt64.max, end: UInt64.max),
            span(7, 1, name: "backwards", start: t0 + 5 * ms, end: t0),
        ]))
        // 5: 100,000 attributes on one span.
        var attributes = #","attributes":["#
        attributes += (0..<100_000).map { #"{"key":"k\#($0)","value":{"intValue":"\#($0)"}}"# }.joined(separator: ",") + "]"
        lines.append(line(service: "wide", [span(8, 1, name: "wide", start: t0, end: t0 + ms, extra: attributes)]))
        var bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        // 6: invalid UTF-8 in a name and a service (raw bytes in the JSON string).
        let invalid = line(service: "bad@@", [span(9, 1, name: "bad@@name", start: t0, end: t0 + ms)]) + "\n"
        var raw = Array(invalid.utf8)
        for i in raw.indices.dropLast(1) where raw[i] == UInt8(ascii: "@") && raw[i + 1] == UInt8(ascii: "@") {
            raw[i] = 0xFF
            raw[i + 1] = 0xC3
        }
        bytes += raw
        return try write(bytes, name: "hostile.ndjson")
    }

    /// A liveness deadline only (a debug build on a busy machine): 5 minutes.
    /// Waited for on a thread of its own: a child that runs for a minute must
    /// not hold one of the concurrency pool's two threads (2 cores) meanwhile.
    static func run(_ arguments: [String]) async throws -> PrintCommandTests.Result {
        let binary = try #require(TmuxSession.tracettyPath)
        let result = try await withCheckedThrowingContinuation { (done: CheckedContinuation<ChildProcess.Result, any Error>) in
            Thread {
                done.resume(with: Result {
                    try ChildProcess.run(binary, arguments, environment: ["TZ": "UTC", "PATH": "/usr/bin:/bin"],
                                         timeout: .seconds(300))
                })
            }.start()
        }
        #expect(!result.timedOut, "tracetty \(arguments) did not finish")
        return PrintCommandTests.Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    static func expectClean(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let controls = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        #expect(controls.isEmpty, "raw controls in the output: \(controls.map { $0.value })", sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func printListAndStatsOfAHostileDump() async throws {
        let path = try Self.hostileDump()
        defer { try? FileManager.default.removeItem(atPath: path) }

        let printed = try await Self.run(["print", path, "--width", "100", "--critical-path"])
        #expect(printed.status == 0, "\(printed.stderr)")
        Self.expectClean(printed.stdout)
        // The deep line is reported with its place; the others print.
        #expect(printed.stderr.contains("hostile.ndjson:3: nesting deeper than 64"), "\(printed.stderr)")
        // Each span once: waterfall rows are the lines with the name column's edge.
        let rows = printed.stdout.split(separator: "\n").filter { $0.contains("│") && !$0.contains("SERVICE OPERATION") }
        for name in ["self-parent", "cycle-a", "cycle-b", "cycle-c", "cycle-child", "instant", "epoch", "far", "last", "backwards", "wide"] {
            #expect(rows.filter { $0.contains(" \(name) ") }.count == 1, "\(name): \(rows)")
        }
        #expect(printed.stdout.contains(#"clear\x1b[2Jscreen\x07"#))
        #expect(printed.stdout.contains("bad\u{FFFD}\u{FFFD}name"))
        #expect(printed.stdout.contains("2554-07-21"))

        let json = try await Self.run(["print", path, "--format", "json", "--critical-path"])
        #expect(json.status == 0)
        for line in json.stdout.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line.prefix(200))")
        }
        let stats = try await Self.run(["print", path, "--stats", "--group-by", "both"])
        #expect(stats.status == 0)
        Self.expectClean(stats.stdout)
        for arguments in [["list", path], ["list", path, "--format", "json", "--sort", "duration"], ["stats", path], ["stats", path, "--graph"]] {
            let result = try await Self.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            Self.expectClean(result.stdout)
        }

        // Exported: the 100,000-attribute span keeps 1,024 and says how many it lost.
        let exported = TestScratch.directory.appendingPathComponent("tracetty-\(getpid())-hostile-export.ndjson").path
        defer { try? FileManager.default.removeItem(atPath: exported) }
        let export = try await Self.run(["list", path, "--filter", "op=wide", "--output", exported, "--force"])
        #expect(export.status == 0, "\(export.stderr)")
        let text = try String(contentsOfFile: exported, encoding: .utf8)
        #expect(text.contains(#""droppedAttributesCount":98976"#))
        #expect(text.contains(#""key":"k1023""#) && !text.contains(#""key":"k1024""#))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func printAHundredThousandChildrenAndALyingGzipTrailer() async throws {
        let ms: UInt64 = 1_000_000
        var spans = [Self.span(1, 1, name: "fan", start: Self.t0, end: Self.t0 + 100_000 * ms)]
        for i in 0..<100_000 {
            let start = Self.t0 + UInt64(i) * ms
            spans.append(Self.span(1, i + 2, parent: 1, name: "c\(i)", start: start, end: start + ms))
        }
        let line = Array((Self.line(service: "fan", spans) + "\n").utf8)
        let path = try Self.write(line, name: "fan.ndjson")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // One span over the default 100,000 per trace: counted and said; the rest print, one row each.
        let printed = try await Self.run(["print", path, "--width", "80", "--critical-path"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let rows = printed.stdout.split(separator: "\n")
        #expect(rows.count == 2 + 100_000, "\(rows.prefix(3))")
        let raised = try await Self.run(["print", path, "--width", "80", "--max-spans-per-trace", "100001"])
        #expect(raised.stdout.split(separator: "\n").count == 2 + 100_001)
        #expect(raised.stdout.contains(" c99999 "))

        // gzip whose trailer claims 4 GiB: the content loads, the lie is reported.
        let gzipped = Gzip.compress(Array((Self.line(service: "gz", [Self.span(2, 1, name: "zipped", start: Self.t0, end: Self.t0 + ms)]) + "\n").utf8))
        var lying = gzipped
        lying.replaceSubrange((lying.count - 4)..., with: [0xFF, 0xFF, 0xFF, 0xFF])
        let gz = try Self.write(lying, name: "lying.ndjson.gz")
        defer { try? FileManager.default.removeItem(atPath: gz) }
        let unzipped = try await Self.run(["print", gz, "--width", "80"])
        #expect(unzipped.status == 0, "\(unzipped.stderr)")
        #expect(unzipped.stdout.contains("gz zipped"))
        #expect(unzipped.stderr.contains("incorrect length check"), "\(unzipped.stderr)")
    }

}
