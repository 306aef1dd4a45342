import Foundation
import Testing

/// `--max-memory` from outside, as the issue measured it: spans with
/// 100 kB attributes posted to `live` well past its limit; the process
/// stays under the limit (resident high-water mark, from /proc) and shows
/// the newest trace.
@Suite(.serialized, .ownThreads) struct MemoryLimitInTmuxTests {
    /// One OTLP JSON trace of three spans, each with a `size`-byte attribute; the root is named `post-N`.
    static func body(post: Int, size: Int) -> [UInt8] {
        let traceID = String(format: "%016llx%016llx", UInt64(0xfeed), UInt64(post + 1))
        let payload = String(repeating: "x", count: size)
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let spans = (0..<3).map { i in
            "{\"traceId\":\"\(traceID)\",\"spanId\":\"\(String(format: "%016llx", UInt64(i + 1)))\","
                + (i > 0 ? "\"parentSpanId\":\"0000000000000001\"," : "")
                + "\"name\":\"\(i == 0 ? "post-\(post)" : "child-\(i)")\",\"kind\":2,"
                + "\"startTimeUnixNano\":\"\(now)\",\"endTimeUnixNano\":\"\(now + 1_000_000)\","
                + "\"attributes\":[{\"key\":\"payload\",\"value\":{\"stringValue\":\"\(payload)\"}}]}"
        }
        return Array(("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"big\"}}]},"
                      + "\"scopeSpans\":[{\"spans\":[" + spans.joined(separator: ",") + "]}]}]}").utf8)
    }

    @Test(.enabled(if: TmuxSession.tracettyPath != nil && TmuxSession.tmuxPath != nil, "needs tmux and the built tracetty"))
    func liveStaysUnderItsLimitAndShowsTheNewestTrace() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "exec '\(binary)' live --max-memory 128MiB --otlp-http-port 0 --off jaeger-compact "
                                      + "--off jaeger-binary --off zipkin-compact --off jaeger-collector --off zipkin-http --off otlp-grpc")
        defer { session.kill() }
        let waiting = try session.waitFor("the listening address") { $0.contains("listening otlp-http http 127.0.0.1:") }
        let line = try #require(waiting.split(separator: "\n").first { $0.contains("listening otlp-http http") })
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        let pid = try #require(try session.panePID())
        // 150 MB of spans into a 128 MiB process.
        let posts = 500
        for post in 0..<posts {
            #expect(Loopback.post(port: port, path: "/v1/traces", contentType: "application/json",
                                  body: Self.body(post: post, size: 100_000)) == 200)
        }
        let screen = try session.waitFor("the newest trace and the evictions") {
            $0.contains("post-\(posts - 1) ") && $0.contains("for memory")
        }
        #expect(screen.contains("post-\(posts - 1) "))
        let peak = try #require(TmuxSession.statusKiB("VmHWM", pid: pid))
        #expect(peak <= 128 * 1024 * 115 / 100, "peak RSS \(peak / 1024) MiB against a 128 MiB limit")
        try session.send("q")
    }
}
