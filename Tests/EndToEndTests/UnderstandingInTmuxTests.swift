import Foundation
import Testing

/// Understanding a trace as a person would, in the real binary and a real
/// terminal: the critical path on the seed trace, its statistics, and two
/// traces marked and compared.
@Suite(.serialized, .ownThreads) struct UnderstandingInTmuxTests {
    static var ready: Bool { TmuxSession.tmuxPath != nil && TmuxSession.tracettyPath != nil }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func criticalPathStatisticsAndCompare() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let sample = FindingTracesInTmuxTests.seedSample
        let session = try TmuxSession(command: "TZ=UTC '\(binary)' open '\(sample)'; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") && $0.contains("loaded 36 spans") }
        // The first trace: mark it (A), open the next one.
        try session.send("m")
        try session.waitFor("the mark") { $0.contains("marked trace") && $0.contains(" A ") }
        try session.send("j")
        try session.send("Enter")
        var screen = try session.waitFor("the waterfall with compare offered") {
            $0.contains("server-2 server-2") && $0.contains("= compares with the marked trace")
        }
        // The critical path: the total in the header, shaded bars off it, time on it per span.
        try session.send("c")
        screen = try session.waitFor("the critical path") { $0.contains("critical path ") && $0.contains("(100%)") }
        #expect(screen.contains("░"))
        let rows = screen.split(separator: "\n").filter { $0.contains("server-2 server-2") }
        #expect(rows.first?.contains("ms │") == true)
        // Statistics by service: server-1 and server-2, self time sums to the trace.
        try session.send("S")
        screen = try session.waitFor("the statistics") { $0.contains("SELF TOTAL") && $0.contains("% TRACE") }
        #expect(screen.contains(" server-1 ") && screen.contains(" server-2 "))
        try session.send("Escape")
        try session.waitFor("the waterfall again") { $0.contains("SERVICE OPERATION") }
        // Compare with the marked trace: the same three paths in both.
        try session.send("=")
        screen = try session.waitFor("the comparison") { $0.contains("SPAN PATH") && $0.contains("A/B duration") }
        #expect(screen.contains("spans 3 / 3"))
        #expect(screen.contains("server-2: server-2"))
        try session.send("Escape")
        try session.send("q")
        try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
    }
}
