import Foundation
import Instrumentation
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

/// The reporter thread: woken by a datagram's worth of queued spans, keeping
/// up with callers it can keep up with, and still bounded (drops counted)
/// when it cannot. No timings are asserted; the bounds are for liveness.
@Suite struct JaegerReporterTests {
    /// Ends `count` spans on a plain thread (not the concurrency pool), as an
    /// event loop would; `pause` is called after each span.
    static func endSpans(_ tracer: JaegerTracer, count: Int, threads: Int = 1,
                         pause: @escaping @Sendable (Int) -> Void = { _ in }) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for _ in 0..<threads {
                group.enter()
                Thread {
                    for index in 0..<count {
                        let span = tracer.startSpan("burst", context: .topLevel, ofKind: .server)
                        span.attributes["http.method"] = "GET"
                        span.attributes["http.status_code"] = 200
                        span.attributes["http.url"] = "/alice"
                        span.attributes["cache.hit"] = false
                        span.end()
                        pause(index)
                    }
                    group.leave()
                }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
    }

    /// Starts `run()` and waits for its thread: in a full `swift test` the
    /// task may wait seconds for a pool thread.
    static func running(_ tracer: JaegerTracer) async throws -> Task<Void, any Error> {
        let runner = Task { try await tracer.run() }
        for _ in 0..<24_000 where !tracer.reporterThreadRunning {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(tracer.reporterThreadRunning)
        return runner
    }

    @Test func aDatagramsWorthQueuedIsSentWithoutWaitingForTheInterval() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
        let runner = try await Self.running(tracer)
        // Spans of about 200 bytes: a 65,000-byte datagram holds about 300.
        await Self.endSpans(tracer, count: 1_000)
        let first = try #require(await sink.nextDatagram(timeout: 30), "nothing sent before the hour-long interval")
        let batch = try sink.decode(first)
        #expect(first.count > 60_000, "only full datagrams go before the interval")
        #expect(batch.spans.count > 250)
        runner.cancel()
        _ = try await runner.value
        let rest = try await sink.drain().map(sink.decode)
        #expect(rest.reduce(batch.spans.count) { $0 + $1.spans.count } == 1_000)
    }

    @Test func theWakeThresholdFollowsTheSpansPerDatagram() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        #expect(tracer.reporterWakeCount == 256, "before any span is encoded")
        await Self.endSpans(tracer, count: 500)
        tracer.flush()
        // About 65,000 bytes / about 200 bytes per span.
        #expect((250...400).contains(tracer.reporterWakeCount))
        #expect(JaegerReporter.wakeCount(spansPerDatagram: 300, maxQueuedSpans: 100) == 25, "at most a quarter of a small queue")
        #expect(JaegerReporter.wakeCount(spansPerDatagram: 300, maxQueuedSpans: 2) == 1)
        _ = sink.receiveAll()
    }

    @Test func aBurstFiveTimesTheQueueLosesNothingWhileTheReporterKeepsUp() async throws {
        let sink = try UDPSink()
        // An hour-long interval: only the wake threshold can make the reporter send.
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 2_000; $0.flushInterval = .seconds(3600) }
        let runner = try await Self.running(tracer)
        // 10,000 spans in bursts of 1,000 (half the queue). Between bursts the
        // caller waits until the reporter, woken by the threshold alone, has
        // taken the queue back under half: no timing is assumed, so a busy
        // machine only makes it slower, never lossy.
        for burst in 1...10 {
            await Self.endSpans(tracer, count: 1_000)
            for _ in 0..<6_000 where tracer.statistics.spansReported + tracer.statistics.droppedQueueFull < burst * 1_000 - 1_000 {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        runner.cancel()
        _ = try await runner.value
        let received = try await sink.drain().map(sink.decode).reduce(0) { $0 + $1.spans.count }
        let statistics = tracer.statistics
        #expect(statistics.droppedQueueFull == 0)
        #expect(statistics.spansReported == 10_000)
        #expect(received == 10_000)
    }

    @Test func fourCallersFlatOutIntoASmallQueueLoseNothingUncounted() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 400 }
        let runner = try await Self.running(tracer)
        // Four threads flat out into a queue of 400: while one of them sends a
        // datagram's worth itself, the others' spans are dropped (how many
        // depends on the machine; a test below makes it certain).
        await Self.endSpans(tracer, count: 20_000, threads: 4)
        runner.cancel()
        _ = try await runner.value
        let batches = try await sink.drain().map(sink.decode)
        let statistics = tracer.statistics
        #expect(statistics.spansFinished == 80_000)
        #expect(statistics.spansReported + statistics.droppedQueueFull == 80_000, "every span is sent or counted")
        #expect(batches.reduce(0) { $0 + $1.spans.count } == statistics.spansReported)
        // The last batch (the shutdown flush, after every end()) reports them all.
        let last = try #require(batches.max { ($0.batchSeqNo ?? 0) < ($1.batchSeqNo ?? 0) })
        #expect(last.clientStats?.fullQueueDroppedSpans == Int64(statistics.droppedQueueFull))
    }

    /// Ends `count` spans named `prefix-0`, `prefix-1`, ... on this thread.
    static func endNamedSpans(_ tracer: JaegerTracer, _ prefix: String, count: Int) {
        for index in 0..<count {
            let span = tracer.startSpan("\(prefix)-\(index)", context: .topLevel, ofKind: .server)
            span.attributes["http.status_code"] = 200
            span.end()
        }
    }

    @Test func aFullQueueWhileTheReporterIsStuckIsSentByTheCallerNotDropped() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 100; $0.flushInterval = .seconds(3600) }
        let runner = try await Self.running(tracer)
        // The reporter thread, once woken, takes the queue and then waits for its
        // encoder, as if descheduled mid-flush: the queue fills ten times over.
        tracer.whileReporterEncodersAreHeld(callers: false) {
            Self.endNamedSpans(tracer, "stuck", count: 1_000)
        }
        let statistics = tracer.statistics
        #expect(statistics.droppedQueueFull == 0)
        #expect(statistics.callerSends >= 30, "about 900 spans, 25 (a quarter of the queue) at a time")
        runner.cancel()
        _ = try await runner.value
        let names = try await sink.drain().map(sink.decode).flatMap { $0.spans.map(\.name) }
        #expect(names.count == 1_000)
        #expect(Set(names) == Set((0..<1_000).map { "stuck-\($0)" }), "every span once")
        #expect(tracer.statistics.spansReported == 1_000)
    }

    @Test func aFullQueueWhileBothEncodersAreBusyDropsAndCounts() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 100; $0.flushInterval = .seconds(3600) }
        let runner = try await Self.running(tracer)
        // Another caller is sending too (its encoder is taken): real overload.
        tracer.whileReporterEncodersAreHeld(callers: true) {
            Self.endNamedSpans(tracer, "overload", count: 1_000)
        }
        let statistics = tracer.statistics
        #expect(statistics.droppedQueueFull >= 800, "at most the queue and what the reporter took before it waited")
        #expect(statistics.callerSends == 0)
        runner.cancel()
        _ = try await runner.value
        let batches = try await sink.drain().map(sink.decode)
        let final = tracer.statistics
        #expect(final.spansReported + final.droppedQueueFull == 1_000, "every span is sent or counted")
        #expect(batches.reduce(0) { $0 + $1.spans.count } == final.spansReported)
        let last = try #require(batches.max { ($0.batchSeqNo ?? 0) < ($1.batchSeqNo ?? 0) })
        #expect(last.clientStats?.fullQueueDroppedSpans == Int64(final.droppedQueueFull))
    }

    @Test func whileSpansKeepComingTheReporterPollsInsteadOfBeingWoken() async throws {
        let sink = try UDPSink()
        // A long poll, so that even a slow debug build ends a datagram's worth during one.
        var configuration = JaegerTracerConfiguration(serviceName: "test-service", agentHost: "127.0.0.1", agentPort: sink.port)
        configuration.flushInterval = .seconds(3600)
        let tracer = try JaegerTracer(configuration: configuration, reporterPollInterval: .milliseconds(200))
        let runner = try await Self.running(tracer)
        await Self.endSpans(tracer, count: 3_000)
        runner.cancel()
        _ = try await runner.value
        let batches = try await sink.drain().map(sink.decode)
        #expect(batches.reduce(0) { $0 + $1.spans.count } == 3_000)
        #expect(batches.count >= 8, "about 300 spans a datagram")
        // Woken once per datagram's worth, it was signalled 6 times here (debug build).
        #expect(tracer.reporterWakeupsSignalled <= 2)
        #expect(tracer.statistics.droppedQueueFull == 0)
    }

    @Test func theSpanContextIsBuiltOnceAndKeepsTheStartContext() throws {
        enum OtherKey: InstrumentationContextKey { typealias Value = String }
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        var start = InstrumentationContext.topLevel
        start[OtherKey.self] = "kept"
        let parent = tracer.startSpan("parent", context: start)
        let context = parent.context
        #expect(context[OtherKey.self] == "kept")
        #expect(context.jaegerSpanContext === parent.spanContext)
        #expect(parent.context.jaegerSpanContext === parent.spanContext, "the same object on every read")
        let child = tracer.startSpan("child", context: context)
        #expect(child.spanContext.parentSpanID == parent.spanContext.spanID)
        #expect(child.spanContext.traceID == parent.spanContext.traceID)
        #expect(child.context[OtherKey.self] == "kept")
        child.end()
        parent.end()
        tracer.flush()
        let batch = try sink.decode(try #require(sink.receive()))
        #expect(batch.spans.map(\.name) == ["child", "parent"])
        #expect(batch.spans[0].parentSpanID == batch.spans[1].spanID)
    }

    @Test func changesAfterEndAreIgnored() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let span = tracer.startSpan("ended", context: .topLevel)
        span.attributes["before"] = 1
        span.end()
        span.attributes["after"] = 2
        span.operationName = "renamed"
        span.setStatus(SpanStatus(code: .error))
        #expect(!span.isRecording)
        tracer.flush()
        let datagram = try #require(sink.receive())
        let reported = try #require(try sink.decode(datagram).spans.first)
        #expect(reported.name == "ended")
        #expect(reported.attribute("before") == .int(1))
        #expect(reported.attribute("after") == nil)
        #expect(reported.attribute("otel.status_code") == nil)
    }
}
