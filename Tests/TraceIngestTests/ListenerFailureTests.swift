#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// A listener whose socket fails while tracetty runs: the fault is real (the
/// listening socket is shut down under the server, as a kernel or another
/// hand could), it is counted with its reason, and the other listeners keep
/// taking spans.
@Suite(.serialized) struct ListenerFailureTests {
    /// This process's listening TCP socket on 127.0.0.1:`port`.
    static func listeningSocket(port: Int) -> Int32? {
        for fd in Int32(3)..<4096 {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0, address.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: address.sin_port)) == port else { continue }
            var listening: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 { return fd }
        }
        return nil
    }

    @Test(arguments: [ListenerKind.otlpHTTP, .otlpGRPC])
    func aListenerThatFailsIsCountedWithItsReasonAndTheOthersKeepRunning(failing: ListenerKind) async throws {
        let running = try await RunningServer.start([.jaegerCompact, .zipkinHTTP, failing])
        let fd = try #require(Self.listeningSocket(port: running.port(failing)), "the listening socket of \(failing)")
        #expect(shutdown(fd, Int32(SHUT_RDWR)) == 0)

        let failed = await eventually(seconds: 30) { running.counters.snapshot().failedListeners.map(\.kind) == [failing] }
        #expect(failed, "\(running.counters.snapshot().listeners)")
        let figures = running.counters.snapshot()
        let reason = try #require(figures.failedListeners.first?.failure)
        #expect(!reason.isEmpty)
        #expect(figures.summaryText.contains("\(failing.rawValue): 0 spans") && figures.summaryText.contains("FAILED: \(reason)"),
                "\(figures.summaryText)")

        // The others still take spans.
        let zipkin = try post(port: running.port(.zipkinHTTP), "/api/v2/spans", contentType: "application/json",
                              body: Samples.zipkinJSON(count: 2))
        #expect(zipkin.status == 202)
        let spans = Samples.spans(count: 3, seed: 9)
        try UDPSender().send(JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans), to: running.port(.jaegerCompact))
        #expect(await eventually(seconds: 30) { running.sink.spans().count == 5 })

        await running.server.shutdown()
        // Shutting down is not failing.
        #expect(running.counters.snapshot().failedListeners.map(\.kind) == [failing])
    }

    @Test func aShutdownIsNotAFailure() async throws {
        let running = try await RunningServer.start([.jaegerCompact, .otlpHTTP, .otlpGRPC])
        await running.server.shutdown()
        try await Task.sleep(for: .milliseconds(200))
        #expect(running.counters.snapshot().failedListeners.isEmpty)
    }

    @Test func theSummaryLineNamesTheFailureOrTheLastSocketError() {
        let counters = IngestCounters()
        counters.register(.otlpHTTP)
        counters.register(.jaegerCollector)
        counters.recordSocketError(.jaegerCollector, "accept: Too many open files")
        counters.recordSocketError(.otlpHTTP, "accept: Too many open files")
        counters.recordFailure(.otlpHTTP, reason: nil)
        counters.recordFailure(.otlpHTTP, reason: "a later reason")
        let figures = counters.snapshot()
        #expect(figures.failedListeners.map(\.kind) == [.otlpHTTP])
        #expect(figures.failedListeners.first?.failure == "accept: Too many open files", "without a reason, the last socket error; the first kept")
        #expect(figures.summaryLines.contains { $0.hasPrefix("jaeger-collector:") && $0.hasSuffix(", last socket error: accept: Too many open files") })
        #expect(figures.summaryLines.contains { $0.hasPrefix("otlp-http:") && $0.hasSuffix(", FAILED: accept: Too many open files") })
    }
}
