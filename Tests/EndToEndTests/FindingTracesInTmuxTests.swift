import Foundation
import Testing
import TraceModel
import TraceFormats
import TestSupport

/// Finding traces as a person would: a query typed in `open`, the list
/// narrowing, a find inside the trace, `n`; and `live --filter`.
@Suite(.serialized, .ownThreads) struct FindingTracesInTmuxTests {
    static var ready: Bool { TmuxSession.tmuxPath != nil && TmuxSession.tracettyPath != nil }
    static var seedSample: String { TmuxSession.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func typeAQueryOpenTheTraceFindAndJump() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' open '\(Self.seedSample)'; echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        try session.waitFor("the trace list") { $0.contains("ROOT SERVICE: OPERATION") && $0.contains("loaded 36 spans") }
        // A query with a mistake: the error and its position, the list untouched.
        try session.send("/")
        try session.send("-l", "dur>")
        var screen = try session.waitFor("the position error") { $0.contains("position 5: expected") }
        #expect(screen.contains("12 traces"))
        // Fixed, it narrows the list as it is typed.
        try session.send("C-u")
        try session.send("-l", "alice")
        screen = try session.waitFor("the list narrowed to alice") { $0.contains("1 of 12") }
        try session.send("Enter")
        screen = try session.waitFor("the filter in the status bar") { $0.contains("filter alice: 1 of 12") }
        let rows = screen.split(separator: "\n").filter { $0.contains("server-1: server-1") }
        #expect(rows.count == 1)
        // Open it, find the spans of server-2's process, step with n.
        try session.send("Enter")
        try session.waitFor("the waterfall") { $0.contains("server-2 server-2") }
        try session.send("/")
        try session.send("-l", "server")
        try session.send("Enter")
        screen = try session.waitFor("the find count") { $0.contains("1/3") }
        try session.send("n")
        screen = try session.waitFor("the next match") { $0.contains("2/3") }
        try session.send("Escape")  // clears the find
        try session.send("Escape")  // back to the list, still filtered
        screen = try session.waitFor("the filtered list") { $0.contains("filter alice: 1 of 12") && $0.contains("ROOT SERVICE") }
        try session.send("q")
        try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty (swift build)"))
    func liveShowsOnlyTracesThatMatchTheFilter() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' live --filter 'op=match-me' --jaeger-compact-port 0 "
                                      + "--off jaeger-binary --off zipkin-compact --off jaeger-collector --off otlp-http "
                                      + "--off zipkin-http --off otlp-grpc; sleep 30")
        defer { session.kill() }
        let waiting = try session.waitFor("the listening address") { $0.contains("listening jaeger-compact udp 127.0.0.1:") }
        let line = try #require(waiting.split(separator: "\n").first { $0.contains("listening jaeger-compact udp") })
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let resource = Resource(serviceName: "svc")
        let t0: UInt64 = 1_795_821_746_000_000_000
        let spans = [
            Span(traceID: TraceID(low: 1), spanID: SpanID(1), name: "match-me", startTimeUnixNano: t0, durationNano: 5_000_000,
                 resource: resource),
            Span(traceID: TraceID(low: 2), spanID: SpanID(2), name: "other-op", startTimeUnixNano: t0 + 1_000, durationNano: 7_000_000,
                 resource: resource),
        ]
        #expect(Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: resource, spans: spans), port: port))
        let screen = try session.waitFor("the matching trace only") { $0.contains("svc: match-me") && $0.contains("1 of 2") }
        #expect(!screen.contains("other-op"))
        try session.send("q")
    }
}
