import Foundation
import Testing
import TestSupport

/// The real binary in a real terminal: open a trace, move to server-2, open
/// its detail, quit; and the terminal is given back on SIGTERM.
@Suite(.serialized, .ownThreads) struct ExplorerInTmuxTests {
    static var ready: Bool { TmuxSession.tmuxPath != nil && TmuxSession.tracettyPath != nil }

    static var seedSample: String { TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func openTraceMoveToServer2AndOpenItsDetail() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' open '\(Self.seedSample)'; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        // The list can show before the loader's last status (`loading … 100%`)
        // lands on a busy machine: wait for the finished load itself.
        var screen = try session.waitFor("the loaded trace list") {
            $0.contains("ROOT SERVICE: OPERATION") && $0.contains("server-1: server-1") && $0.contains("loaded")
        }
        // Oldest trace is the seed's first request: go to it and open it.
        try session.send("G")
        try session.send("Enter")
        // Wait for the rows, not just the header: under load a capture can
        // land between the two.
        screen = try session.waitFor("the waterfall") {
            $0.contains("SERVICE OPERATION") && $0.contains("server-2 server-2")
        }
        #expect(screen.contains("server-1 server-1_to_server-2"))
        #expect(screen.contains("server-2 server-2"))
        try session.send("j")
        try session.send("j")
        try session.send("Enter")
        screen = try session.waitFor("server-2's detail") { $0.contains("Span detail · server-2: server-2") }
        #expect(screen.contains("Kind        server"))
        #expect(screen.contains("http.method"))
        try session.send("?")
        screen = try session.waitFor("the help") { $0.contains("Keys") && $0.contains("switch to the waterfall") }
        try session.send("Escape")
        try session.send("q")
        screen = try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
        // Back on the normal screen: the explorer's rows are gone.
        #expect(!screen.contains("SERVICE OPERATION"))
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func sigtermRestoresTheTerminal() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let pidFile = TestScratch.directory.appendingPathComponent("tracetty-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pid").path
        // tracetty runs in the foreground of a shell (a background job plus
        // `wait` hangs when the test runner started us with SIGCHLD blocked);
        // the test finds it as the shell's child.
        let session = try TmuxSession(
            command: "echo $$ > '\(pidFile)'; '\(binary)' open '\(Self.seedSample)'; echo TRACETTY-EXIT=$?; "
                + "echo STTY $(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo); sleep 30",
            width: 100, height: 30)
        defer {
            session.kill()
            try? FileManager.default.removeItem(atPath: pidFile)
        }
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") }
        let shell = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        let pid = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
        #expect(Foundation.kill(pid, SIGTERM) == 0)
        let screen = try session.waitFor("exit status 0") { $0.contains("TRACETTY-EXIT=0") && $0.contains("STTY") }
        #expect(!screen.contains("ROOT SERVICE: OPERATION"))
        // Cooked mode again: canonical input and echo are back on.
        #expect(screen.contains("STTY icanon echo"))
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func malformedLinesShowInTheStatusBarAndOnStderrAfterwards() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let sample = try String(contentsOfFile: Self.seedSample, encoding: .utf8)
        let path = TestScratch.directory.appendingPathComponent("tracetty-bad-\(getpid()).ndjson").path
        try (sample + "{\"resourceSpans\": [}\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = try TmuxSession(command: "'\(binary)' open '\(path)'; echo TRACETTY-EXIT=$?; sleep 30", width: 120, height: 30)
        defer { session.kill() }
        let screen = try session.waitFor("the malformed count") { $0.contains("1 malformed") }
        // The report waits for the screen to be free: the explorer's rows are intact.
        #expect(screen.split(separator: "\n").first?.contains("tracetty") == true)
        #expect(!screen.contains("tracetty: "))
        try session.send("q")
        let after = try session.waitFor("the report on stderr") { $0.contains("TRACETTY-EXIT=0") }
        #expect(after.contains("tracetty-bad-\(getpid()).ndjson:13: "))
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func resizeRedrawsAndTooSmallSaysSo() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' open '\(Self.seedSample)'; sleep 30", width: 100, height: 30)
        defer { session.kill() }
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") }
        try TmuxSession.tmux(["resize-window", "-t", session.name, "-x", "38", "-y", "9"])
        try session.waitFor("the too-small message") { $0.contains("terminal too small") }
        try TmuxSession.tmux(["resize-window", "-t", session.name, "-x", "60", "-y", "15"])
        let screen = try session.waitFor("the list again") { $0.contains("tracetty") && !$0.contains("too small") }
        let rows = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(rows.first?.contains("traces") == true)
        try session.send("q")
    }
}
