import Foundation
import Testing
import TestSupport

/// `tracetty print` as a script would run it.
@Suite(.ownThreads) struct PrintCommandTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let binary = try #require(TmuxSession.tracettyPath)
        let result = try ChildProcess.run(binary, arguments, environment: ["TZ": "UTC", "PATH": "/usr/bin:/bin"],
                                          stdin: stdin.map { [UInt8]($0) } ?? [])
        #expect(!result.timedOut, "tracetty \(arguments) did not finish")
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    static func temporaryFile(_ contents: String, name: String) throws -> String {
        let path = TestScratch.directory.appendingPathComponent("tracetty-\(getpid())-\(name)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func printsTheSeedWaterfallAsText() throws {
        let sample = TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path
        let result = try Self.run(["print", sample, "--width", "100"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        // Waterfall rows fit the width; only trace header lines (never cut) may be longer.
        #expect(lines.filter { !$0.contains("  trace ") }.allSatisfy { $0.count <= 100 })
        #expect(result.stdout.contains("SERVICE OPERATION"))
        #expect(result.stdout.contains("▾ server-1 server-1 "))
        #expect(result.stdout.contains("▾ server-1 server-1_to_server-2"))
        #expect(result.stdout.contains("    server-2 server-2"))
        #expect(!result.stdout.contains("\u{1b}"))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func onlyTheAskedTraceAndTheSameFromStandardInput() throws {
        let sample = TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson")
        let all = try Self.run(["print", sample.path, "--width", "120"])
        let headers = all.stdout.split(separator: "\n").filter { $0.contains("  trace ") }
        #expect(headers.count > 1)
        let first = try #require(headers.first)
        let id = try #require(first.components(separatedBy: "  trace ").last?.split(separator: " ").first).description
        let one = try Self.run(["print", sample.path, "--trace", id, "--width", "120"])
        #expect(one.status == 0)
        #expect(one.stdout.split(separator: "\n").filter { $0.contains("  trace ") } == [first])
        let piped = try Self.run(["print", "-", "--trace", id, "--width", "120"], stdin: try Data(contentsOf: sample))
        #expect(piped.stdout == one.stdout)
        let missing = try Self.run(["print", sample.path, "--trace", "00000000000000000000000000000bad"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no trace 00000000000000000000000000000bad"))
        let bad = try Self.run(["print", sample.path, "--trace", "xyz"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("16 or 32 hex digits"))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func malformedLinesAreReportedAndTheRestStillPrints() throws {
        let good = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"op","startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]}"#
        let path = try Self.temporaryFile(good + "\n" + #"{"resourceSpans": [}"# + "\n", name: "bad.ndjson")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Self.run(["print", path, "--width", "80"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("svc op"))
        #expect(result.stderr.contains((path as NSString).lastPathComponent + ":2: ") || result.stderr.contains(path + ":2: "))

        let garbage = try Self.temporaryFile("not json at all\n", name: "garbage.ndjson")
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let failed = try Self.run(["print", garbage])
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("no spans could be read"))
        let absent = try Self.run(["print", "/nonexistent/dump.ndjson"])
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("/nonexistent/dump.ndjson"))
    }
}
