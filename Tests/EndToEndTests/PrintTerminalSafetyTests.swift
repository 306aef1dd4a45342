import Foundation
import Testing
import TestSupport
import TraceModel
import TraceFormats

/// `print`, `list` and `stats` write what strangers sent to stdout, often a
/// terminal or `less -R`: escaped as the explorer shows it, unless
/// `print --raw` asks for the text as received.
@Suite(.ownThreads) struct PrintTerminalSafetyTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }

    /// Two hostile traces (every payload in every field) as an OTLP JSON dump.
    static func hostileDump() throws -> (path: String, ids: [TraceID]) {
        let ids = [TraceID(high: 0x5afe, low: 0xb1), TraceID(high: 0x5afe, low: 0xb2)]
        let spans = TerminalAttack.trace(ids[0], start: 1_700_000_000_000_000_000)
            + TerminalAttack.trace(ids[1], start: 1_700_000_100_000_000_000)
        let path = TestScratch.directory.appendingPathComponent("tracetty-hostile-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).ndjson").path
        try Data(OTLPJSONEncoder.encodeLine(spans)).write(to: URL(fileURLWithPath: path))
        return (path, ids)
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func printEscapesEveryPayloadUnlessRaw() throws {
        let (dump, ids) = try Self.hostileDump()
        defer { try? FileManager.default.removeItem(atPath: dump) }
        let text = try PrintCommandTests.run(["print", dump, "--width", "200"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(TerminalAttack.forbiddenScalars(in: text.stdout).isEmpty, "\(TerminalAttack.forbiddenScalars(in: text.stdout))")
        for p in TerminalAttack.payloads {
            #expect(text.stdout.contains("s-\(p.label) " + p.shown), "\(p.label) in\n\(text.stdout)")
        }

        let raw = try PrintCommandTests.run(["print", dump, "--width", "200", "--raw"])
        #expect(raw.status == 0, "\(raw.stderr)")
        for p in TerminalAttack.payloads {
            #expect(raw.stdout.contains("s-\(p.label) " + p.text), "\(p.label) as received")
        }
        for scalar in ["\u{1b}", "\u{9b}", "\u{9d}", "\u{202e}", "\u{2066}", "\u{200b}", "\u{200d}", "\u{feff}"] {
            #expect(raw.stdout.contains(scalar), "U+\(String(scalar.unicodeScalars.first!.value, radix: 16)) with --raw")
        }

        // Every other text output: the statistics table, the comparison, JSON.
        let a = ids[0].hex, b = ids[1].hex
        for arguments in [["--stats"], ["--stats", "--group-by", "both"], ["--compare", a, b], ["--critical-path"],
                          ["--format", "json"], ["--format", "json", "--stats"], ["--format", "json", "--compare", a, b],
                          ["--format", "json", "--raw"]] {
            let result = try PrintCommandTests.run(["print", dump, "--width", "200"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("osc0"), "\(arguments): \(result.stdout)")
            #expect(TerminalAttack.forbiddenScalars(in: result.stdout).isEmpty,
                    "\(arguments): \(TerminalAttack.forbiddenScalars(in: result.stdout))")
        }
        let rawStats = try PrintCommandTests.run(["print", dump, "--width", "200", "--stats", "--raw"])
        #expect(rawStats.stdout.contains("s-osc0 " + TerminalAttack.payloads[0].text), "\(rawStats.status): \(rawStats.stderr)")
        // JSON escapes are lossless: the same text comes back.
        let json = try PrintCommandTests.run(["print", dump, "--format", "json", "--trace", a])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let names = (object?["spans"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(Set(names) == Set(TerminalAttack.trace(ids[0], start: 0).map(\.name)))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func listAndStatsEscapeEveryPayload() throws {
        let (dump, _) = try Self.hostileDump()
        defer { try? FileManager.default.removeItem(atPath: dump) }
        for arguments in [["list"], ["list", "--format", "json"], ["stats"], ["stats", "--format", "json"], ["stats", "--graph"],
                          ["stats", "--graph", "--format", "json"]] {
            let result = try PrintCommandTests.run(arguments + [dump])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("osc0"), "\(arguments): \(result.stdout)")
            #expect(TerminalAttack.forbiddenScalars(in: result.stdout).isEmpty,
                    "\(arguments): \(TerminalAttack.forbiddenScalars(in: result.stdout))")
        }
    }

    /// A report about bad input quotes the input (here a Jaeger JSON
    /// processID): stderr is escaped too.
    @Test(.enabled(if: ready, "needs the built tracetty"))
    func reportsOnStandardErrorAreEscaped() throws {
        let processID = #"p\u001b]0;pwned\u0007\u009b2J\u202e"#
        let document = #"{"data":[{"traceID":"5afe00000000000000000000000000c1","spans":[{"traceID":"5afe00000000000000000000000000c1","#
            + #""spanID":"00000000000000c1","operationName":"op","references":[],"startTime":1700000000000000,"duration":1000,"#
            + #""tags":[],"logs":[],"processID":""# + processID + #""}],"processes":{"p1":{"serviceName":"svc","tags":[]}}}]}"#
        let path = try PrintCommandTests.temporaryFile(document + "\n", name: "hostile-jaeger.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try PrintCommandTests.run(["print", path])
        #expect(result.stderr.contains(#"unknown processID p\x1b]0;pwned\x07\u{9b}2J\u{202e}"#), "\(result.stderr)")
        #expect(TerminalAttack.forbiddenScalars(in: result.stderr).isEmpty,
                "\(TerminalAttack.forbiddenScalars(in: result.stderr))")
    }
}
