import Foundation
import Testing
import TestSupport
import TraceModel
import TraceFormats

/// Across traces as a person would: the latency view, Enter into an
/// operation's slowest traces, the service graph, and an export that reads
/// back the same.
@Suite(.serialized, .ownThreads) struct AcrossTracesInTmuxTests {
    static var ready: Bool { TmuxSession.tmuxPath != nil && TmuxSession.tracettyPath != nil }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func latencySlowestTracesGraphAndExport() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let sample = FindingTracesInTmuxTests.seedSample
        let directory = TestScratch.directory.appendingPathComponent("tracetty-tmux-export-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let session = try TmuxSession(command: "cd '\(directory.path)' && TZ=UTC '\(binary)' open '\(sample)'; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") && $0.contains("loaded 36 spans") }
        // The latency view: per service and operation, with a histogram.
        try session.send("P")
        var screen = try session.waitFor("the latency view") { $0.contains("P50") && $0.contains("P99") && $0.contains("Histogram") }
        #expect(screen.contains("server-1_to_server-2"))
        // Down to server-2's operation; Enter lists its slowest traces.
        try session.send("G")
        try session.send("Enter")
        screen = try session.waitFor("the slowest server-2 traces") {
            // The status bar shortens a long filter.
            $0.contains(#"filter {service="server-2" op="server-"#) && $0.contains(": 12 of 12") && $0.contains("sort duration ▼")
        }
        // Who calls whom.
        try session.send("D")
        screen = try session.waitFor("the service graph") { $0.contains("│server-1├") && $0.contains("▶│server-2│") }
        try session.send("Escape")
        // Export the filtered list: the default name, Enter.
        try session.send("e")
        try session.waitFor("the export prompt") { $0.contains("export 12 traces as OTLP to: tracetty-export.ndjson") }
        try session.send("Enter")
        try session.waitFor("the export written") { $0.contains("exported 12 traces (36 spans") }
        try session.send("q")
        try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
        var exported: [Span] = []
        _ = try DumpReader(path: directory.appendingPathComponent("tracetty-export.ndjson").path).read(onSpans: { exported += $0 })
        var original: [Span] = []
        _ = try DumpReader(path: sample).read(onSpans: { original += $0 })
        #expect(exported.count == 36)
        #expect(Set(exported.map { "\($0.traceID.hex)/\($0.spanID.hex)" }) == Set(original.map { "\($0.traceID.hex)/\($0.spanID.hex)" }))
    }
}
