import Foundation
import Testing
import TraceModel
import TraceFormats
import TestSupport

/// The signals a person's terminal and shell send, tried on the real binary:
/// the SSH session dropping (SIGHUP) under `live --record`, Ctrl-Z and `fg`
/// (and a SIGTSTP from outside), a storm of resizes, and a reader that goes
/// away in the middle of `print`.
@Suite(.serialized, .ownThreads) struct SignalsInTmuxTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil && TmuxSession.tmuxPath != nil }
    static let onlyCompactUDP = ["--jaeger-compact-port", "0", "--off", "jaeger-binary", "--off", "zipkin-compact",
                                 "--off", "jaeger-collector", "--off", "otlp-http", "--off", "zipkin-http", "--off", "otlp-grpc"]

    /// The process the pane's shell is running in the foreground (its only child).
    static func child(of session: TmuxSession) throws -> Int32 {
        let shell = try #require(try session.panePID())
        var pid: Int32?
        for _ in 0..<100 where pid == nil {
            let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
            pid = children.split(separator: " ").first.flatMap { Int32($0) }
            if pid == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        return try #require(pid, "the pane's shell has no child")
    }

    /// `listening jaeger-compact udp 127.0.0.1:PORT` on the screen before the UI starts.
    static func compactPort(_ session: TmuxSession) throws -> Int {
        let waiting = try session.waitFor("the listening address") { $0.contains("listening jaeger-compact udp 127.0.0.1:") }
        let line = try #require(waiting.split(separator: "\n").first { $0.contains("listening jaeger-compact udp") })
        return try #require(line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    }

    static func send(_ trace: [Span], port: Int) {
        for service in ["server-1", "server-2"] {
            let spans = trace.filter { $0.serviceName == service }
            #expect(Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans), port: port))
        }
    }

    /// The SSH session drops: `live --record` flushes what it accepted, puts
    /// the terminal back and exits 0.
    @Test(.enabled(if: ready, "needs tmux and the built tracetty"))
    func liveRecordFlushesAndExitsZeroOnSIGHUP() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-live-hup-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let session = try TmuxSession(command: "'\(binary)' live --record '\(output)' \(Self.onlyCompactUDP.joined(separator: " "))"
                                      + " 2>/dev/null; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        let port = try Self.compactPort(session)
        let traces = (0..<3).map { LiveCommandsTests.trace(UInt64(700 + $0)) }
        for trace in traces { Self.send(trace, port: port) }
        try session.waitFor("three traces") { $0.contains("3 traces") }
        #expect(kill(try Self.child(of: session), SIGHUP) == 0)
        let screen = try session.waitFor("exit status 0") { $0.contains("TRACETTY-EXIT=") }
        #expect(screen.contains("TRACETTY-EXIT=0"), "\(screen)")
        var recorded: [Span] = []
        let summary = try DumpReader(path: output).read(onSpans: { recorded += $0 })
        #expect(summary.issueCount == 0)
        #expect(Set(recorded.map(\.spanID)) == Set(traces.joined().map(\.spanID)), "every accepted span is in the file")
    }

    /// Ctrl-Z hands the terminal to the shell, `fg` brings the explorer back
    /// whole; a SIGTSTP from outside (`kill -TSTP`) does the same.
    @Test(.enabled(if: ready && FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs bash, tmux and the built tracetty"))
    func ctrlZAndFgGiveTheTerminalBackAndRestoreTheScreen() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "PS1='PROMPT$ ' exec /bin/bash --norc --noprofile -i", width: 110, height: 30)
        defer { session.kill() }
        try session.waitFor("the shell") { $0.contains("PROMPT$") }
        // (Not `; echo $?` on the same line: bash would run it when the job stops.)
        try session.send("'\(binary)' open '\(ExplorerInTmuxTests.seedSample)'", "Enter")
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") }
        let pid = try Self.child(of: session)

        try session.send("C-z")
        var screen = try session.waitFor("the shell, with the job stopped") { $0.contains("Stopped") && !$0.contains("ROOT SERVICE: OPERATION") }
        #expect(screen.contains("PROMPT$"))
        try session.send("fg", "Enter")
        // The whole screen is the explorer's again: nothing of the shell's is left.
        screen = try session.waitFor("the list again, whole") {
            $0.contains("ROOT SERVICE: OPERATION") && $0.contains("12 traces") && !$0.contains("PROMPT$")
        }

        #expect(kill(pid, SIGTSTP) == 0)
        try session.waitFor("the shell after SIGTSTP") { $0.contains("Stopped") && !$0.contains("ROOT SERVICE: OPERATION") }
        try session.send("fg", "Enter")
        try session.waitFor("the list after fg") { $0.contains("ROOT SERVICE: OPERATION") }
        // Keys still work: the help opens and closes, q quits with 0.
        try session.send("?")
        try session.waitFor("the help") { $0.localizedCaseInsensitiveContains("keys") && $0.contains("quit") }
        try session.send("Escape")
        try session.send("q")
        try session.waitFor("the shell again") { !$0.contains("ROOT SERVICE: OPERATION") }
        try session.send("echo TRACETTY-EXIT=$?", "Enter")
        screen = try session.waitFor("the exit status") { $0.split(separator: "\n").contains { $0.hasPrefix("TRACETTY-EXIT=") } }
        #expect(screen.split(separator: "\n").contains("TRACETTY-EXIT=0"), "\(screen)")
    }

    /// A storm of resizes (tmux resizing the window, and bare SIGWINCHs)
    /// while spans arrive: the explorer keeps drawing at the final size and
    /// answers keys.
    @Test(.enabled(if: ready, "needs tmux and the built tracetty"))
    func aStormOfResizesLeavesTheExplorerDrawingAtTheLastSize() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' live \(Self.onlyCompactUDP.joined(separator: " ")) 2>/dev/null;"
                                      + " echo TRACETTY-EXIT=$?; sleep 30", width: 120, height: 36)
        defer { session.kill() }
        let port = try Self.compactPort(session)
        Self.send(LiveCommandsTests.trace(800), port: port)
        try session.waitFor("the first trace") { $0.contains("1 traces") || $0.contains("1 trace ") }
        let pid = try Self.child(of: session)
        let sizes = [(60, 15), (200, 60), (40, 10), (130, 40), (80, 24), (20, 5), (150, 20)]
        for round in 0..<60 {
            let (width, height) = sizes[round % sizes.count]
            try TmuxSession.tmux(["resize-window", "-t", session.name, "-x", "\(width)", "-y", "\(height)"])
            for _ in 0..<20 { _ = kill(pid, SIGWINCH) }
            if round % 10 == 0 { Self.send(LiveCommandsTests.trace(UInt64(801 + round / 10)), port: port) }
        }
        try TmuxSession.tmux(["resize-window", "-t", session.name, "-x", "100", "-y", "30"])
        let screen = try session.waitFor("seven traces at 100x30") { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return screen.contains("7 traces") && lines.first.map { $0.hasPrefix(" tracetty") && $0.count <= 100 } == true
        }
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 100 }, "nothing drawn past the last width:\n\(screen)")
        #expect(lines.first?.contains("7 traces") == true, "the header is redrawn at the last width:\n\(screen)")
        try session.send("Enter")
        try session.waitFor("a waterfall") { $0.contains("server-1 server-1_to_server-2") }
        try session.send("q")
        try session.send("q")
        let end = try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=") }
        #expect(end.contains("TRACETTY-EXIT=0"))
    }

    /// `tracetty print DUMP | head -1`: the reader goes away. tracetty ends
    /// as `cat` would, by SIGPIPE, with nothing on stderr, also when its
    /// parent left SIGPIPE ignored (then a write fails with EPIPE instead).
    @Test(.enabled(if: TmuxSession.tracettyPath != nil, "needs the built tracetty"))
    func aClosedPipeEndsPrintQuietly() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let dump = TestScratch.directory.appendingPathComponent("tracetty-pipe-\(getpid()).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: dump) }
        let made = try ChildProcess.run(binary, ["generate", "--output", dump, "--spans", "3000", "--seed", "7"])
        try #require(made.status == 0, "\(made.stderr)")
        for command in ["print"] {  // 450 KB of waterfalls: far past a pipe's buffer
            for ignore in ["", "trap '' PIPE; "] {
                // The status of tracetty itself, not of head: written to stdout after the pipeline.
                let script = "\(ignore){ { '\(binary)' \(command) '\(dump)'; echo $? >&3; } | head -1 >/dev/null; } 3>&1"
                let result = try ChildProcess.run("/bin/sh", ["-c", script])
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "141", "\(command) \(ignore): \(result.stdout)")
                #expect(result.stderr.isEmpty, "\(command) \(ignore): \(result.stderr)")
            }
        }
    }
}
