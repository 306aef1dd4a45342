import Foundation
import Testing
import TestSupport
import TraceModel
import TraceFormats

/// `tracetty replay`: `--to` reaches a `tracetty record` over real sockets
/// for each target (OTLP/gRPC included), every span exactly once; and the
/// explorer at x10 with pause in tmux.
@Suite(.serialized, .ownThreads) struct ReplayCommandTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }
    static var sample: String { TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func toEveryTargetEachSpanIsRecordedOnce() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-replay-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try RunningChild(binary, ["record", "--output", output] + LiveCommandsTests.everyListenerOnPortZero)
        let ports = LiveCommandsTests.listeningPorts(child)
        try #require(ports.count == 7, "listening lines: \(child.allOutput)")
        var original: [Span] = []
        _ = try DumpReader(path: Self.sample).read(onSpans: { original += $0 })
        let targets = [("jaeger-udp", "jaeger-compact"), ("otlp-http", "otlp-http"), ("zipkin", "zipkin-http"),
                       ("otlp-grpc", "otlp-grpc")]
        for (i, (scheme, listener)) in targets.enumerated() {
            let port = try #require(ports[listener])
            // New ids after the first: the same dump four times over, told apart.
            let result = try ChildProcess.run(binary, ["replay", Self.sample, "--speed", "max", "--to", "\(scheme)://127.0.0.1:\(port)"]
                                              + (i == 0 ? [] : ["--new-ids"]))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("replay: \(original.count) spans sent to \(scheme)://127.0.0.1:\(port)"), "\(result.stderr)")
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        // Each client's seqNo runs on by one: the receiver sees no lost batches.
        #expect(!child.allOutput.contains("seqNo gaps"), "\(child.allOutput)")
        var recorded: [Span] = []
        _ = try DumpReader(path: output).read(onSpans: { recorded += $0 })
        #expect(recorded.count == targets.count * original.count)
        // Every span once per target: the first copy keeps its ids, the others got new trace ids (span ids kept).
        let key = { (s: Span) in "\(s.traceID.hex)/\(s.spanID.hex)" }
        #expect(Set(recorded.map(key)).count == recorded.count)
        let originalKeys = Set(original.map(key))
        #expect(recorded.filter { originalKeys.contains(key($0)) }.count == original.count)
        for spanID in Set(original.map(\.spanID)) {
            #expect(recorded.filter { $0.spanID == spanID }.count == targets.count)
        }
        // Names and services survive every wire.
        #expect(Set(recorded.map { $0.serviceName + ":" + $0.name }) == Set(original.map { $0.serviceName + ":" + $0.name }))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func toOTLPGRPCWithTheToken() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-replay-grpc-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        var environment = ProcessInfo.processInfo.environment
        environment["TRACETTY_TOKEN"] = nil
        var withToken = environment
        withToken["TRACETTY_TOKEN"] = "s3cret"
        let child = try RunningChild(binary, ["record", "--output", output, "--otlp-grpc-port", "0", "--off", "jaeger-compact",
                                              "--off", "jaeger-binary", "--off", "zipkin-compact", "--off", "jaeger-collector",
                                              "--off", "otlp-http", "--off", "zipkin-http"], environment: withToken)
        let ports = LiveCommandsTests.listeningPorts(child, expecting: 1)
        let port = try #require(ports["otlp-grpc"], "listening lines: \(child.allOutput)")
        let url = "otlp-grpc://127.0.0.1:\(port)"
        // Without the token: refused, said with the status, nothing sent.
        let refused = try ChildProcess.run(binary, ["replay", Self.sample, "--speed", "max", "--to", url], environment: environment)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("replay --to \(url): gRPC call to 127.0.0.1:\(port) (tcp) ended with UNAUTHENTICATED (16): "),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was sent\n"), "\(refused.stderr)")  // not "no span in": they failed
        // With it: every span sent.
        let sent = try ChildProcess.run(binary, ["replay", Self.sample, "--speed", "max", "--to", url], environment: withToken)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stderr.contains("replay: 36 spans sent to \(url) in "), "\(sent.stderr)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        var original: [Span] = [], recorded: [Span] = []
        _ = try DumpReader(path: Self.sample).read(onSpans: { original += $0 })
        _ = try DumpReader(path: output).read(onSpans: { recorded += $0 })
        // Every span once, with its ids, parent, service and name.
        let shape = { (s: Span) in "\(s.traceID.hex)/\(s.spanID.hex)/\(s.parentSpanID?.hex ?? "-")/\(s.serviceName)/\(s.name)" }
        #expect(recorded.count == original.count)
        #expect(Set(recorded.map(shape)) == Set(original.map(shape)))
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func badTargetsAreClearErrors() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let bad = try ChildProcess.run(binary, ["replay", Self.sample, "--to", "ftp://x:1"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--to ftp://x:1"))
        let ids = try ChildProcess.run(binary, ["replay", Self.sample, "--new-ids"])
        #expect(ids.status == 64)
        #expect(ids.stderr.contains("--new-ids goes with --to"))
        // Nothing to send is an error, and a loop over nothing ends.
        let missing = try ChildProcess.run(binary, ["replay", "/nonexistent/dump.ndjson", "--loop", "--to", "jaeger-udp://127.0.0.1:9"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot open") && missing.stderr.contains("nothing was sent"))
        let stdinLoop = try ChildProcess.run(binary, ["replay", "-", "--loop"])
        #expect(stdinLoop.status == 64)
    }

    @Test(.enabled(if: TmuxSession.tmuxPath != nil && ready, "needs tmux and the built tracetty"))
    func inTheExplorerAtX10WithPause() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        // Paused at once, x1 (the sample's 12 seconds would take 12 s): then
        // + three times (x2, x5, x10) while paused, so nothing is missed on a slow machine.
        let session = try TmuxSession(command: "TZ=UTC '\(binary)' replay '\(Self.sample)' --speed 1; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        var screen = try session.waitFor("the replay playing") { $0.contains("▶ replay x1 ") }
        try session.send("p")
        screen = try session.waitFor("the pause at x1") { $0.contains("⏸ paused x1 ") }
        try session.send("+")
        try session.send("+")
        try session.send("+")
        screen = try session.waitFor("the pause") { $0.contains("⏸ paused x10") }
        // The replay's own part of the status line (the store count beside it catches up at the next refresh).
        func replayPart(_ screen: String) -> String {
            let line = screen.split(separator: "\n").first { $0.contains("⏸ paused") }.map(String.init) ?? ""
            return String(line.prefix { $0 != "%" })
        }
        let held = replayPart(screen)
        Thread.sleep(forTimeInterval: 1)
        let later = replayPart(try session.screen())
        #expect(held == later, "a paused replay moved: \(held) -> \(later)")
        try session.send("p")
        // The list catches up with the status at its next refresh.
        screen = try session.waitFor("the end of the replay, every trace listed") {
            $0.contains("■ replayed") && $0.contains("36 of 36 spans (100%)") && $0.contains("12 traces · 36 spans")
        }
        try session.send("q")
        try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
    }
}
