import Foundation
import Testing
import TestSupport

/// `list`/`print --output FILE [--export-format otlp|jaeger] [--force]`:
/// the traces they would show go to a file that reads back the same.
@Suite(.ownThreads) struct ExportCommandTests {
    static var ready: Bool { PrintCommandTests.ready }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func listAndPrintExportWhatTheyWouldShow() throws {
        let sample = TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path
        let directory = TestScratch.directory.appendingPathComponent("tracetty-export-cli-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let errors = directory.appendingPathComponent("errors.json").path
        // The error traces, as Jaeger UI JSON.
        let export = try PrintCommandTests.run(["list", sample, "--filter", "error", "--output", errors, "--export-format", "jaeger"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stderr.contains("wrote 1 traces (3 spans"))
        #expect(export.stdout.isEmpty)
        let listed = try PrintCommandTests.run(["list", sample, "--filter", "error", "--format", "json"])
        let reread = try PrintCommandTests.run(["list", errors, "--format", "json"])
        // Jaeger JSON keeps whole microseconds: compare at that precision.
        func rows(_ text: String) throws -> [String] {
            try text.split(separator: "\n").map { line in
                let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let micros = (row["startUnixNano"] as? UInt64 ?? 0) / 1_000
                return "\(row["traceId"] ?? "") \(row["rootService"] ?? "") \(row["rootOperation"] ?? "") \(micros) "
                    + "\(row["spans"] ?? "") \(row["errors"] ?? "") \(row["services"] ?? "")"
            }
        }
        #expect(try rows(reread.stdout) == rows(listed.stdout))
        #expect(try rows(reread.stdout).count == 1)
        // The whole sample as OTLP: the same waterfalls when printed again.
        let all = directory.appendingPathComponent("all.ndjson").path
        #expect(try PrintCommandTests.run(["print", sample, "--output", all]).status == 0)
        let before = try PrintCommandTests.run(["print", sample, "--width", "120", "--format", "json"])
        let after = try PrintCommandTests.run(["print", all, "--width", "120", "--format", "json"])
        #expect(after.stdout == before.stdout)
        // An existing file is never overwritten without --force.
        let again = try PrintCommandTests.run(["print", sample, "--output", all, "--filter", "error"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists (use --force to overwrite)"))
        #expect(try PrintCommandTests.run(["print", all, "--format", "json"]).stdout == before.stdout)
        let forced = try PrintCommandTests.run(["print", sample, "--output", all, "--filter", "error", "--force"])
        #expect(forced.status == 0)
        #expect(try PrintCommandTests.run(["list", all]).stdout.split(separator: "\n").count == 2)
    }
}
