import Foundation
import ServiceLifecycle
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

/// Datagram sizing, drops and their ClientStats, and when batches are sent.
@Suite struct JaegerTracerBatchingTests {
    @Test func manySpansFillSeveralDatagramsWithinTheLimit() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 5_000 }
        for index in 0..<3_000 {
            let span = tracer.startSpan("operation-\(index % 7)", context: .topLevel, ofKind: .client)
            span.attributes["http.method"] = "GET"
            span.attributes["http.url"] = "/alice/\(index)"
            span.attributes["peer.port"] = index
            span.attributes["retry"] = false
            span.end()
        }
        tracer.flush()
        let datagrams = sink.receiveAll()
        #expect(datagrams.count >= 4)
        #expect(datagrams.allSatisfy { $0.count <= 65_000 })
        // All but the last are nearly full.
        #expect(datagrams.dropLast().allSatisfy { $0.count > 60_000 })
        let batches = try datagrams.map(sink.decode)
        #expect(batches.reduce(0) { $0 + $1.spans.count } == 3_000)
        #expect(batches.map(\.batchSeqNo) == (1...Int64(batches.count)).map { $0 })
        let ids = Set(batches.flatMap { $0.spans.map(\.spanID) })
        #expect(ids.count == 3_000)
        #expect(tracer.statistics.spansReported == 3_000)
        #expect(tracer.statistics.datagramsSent == datagrams.count)
    }

    @Test func aSpanLargerThanADatagramIsDroppedAndCounted() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        tracer.withSpan("small-1", context: .topLevel) { _ in }
        tracer.withSpan("huge", context: .topLevel) { span in
            span.attributes["payload"] = String(repeating: "x", count: 70_000)
        }
        tracer.withSpan("small-2", context: .topLevel) { _ in }
        tracer.flush()
        tracer.withSpan("small-3", context: .topLevel) { _ in }
        tracer.flush()
        let batches = try sink.receiveAll().map(sink.decode)
        try #require(batches.count == 2)
        #expect(batches[0].spans.map(\.name) == ["small-1", "small-2"])
        #expect(batches[0].clientStats?.tooLargeDroppedSpans == 1)
        #expect(batches[1].clientStats?.tooLargeDroppedSpans == 1, "stats are cumulative, as jaeger-client-go's")
        #expect(tracer.statistics.droppedTooLarge == 1)
    }

    @Test func aSpanThatDoesNotFitStartsTheNextDatagram() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxDatagramBytes = 4_000 }
        tracer.withSpan("big-1", context: .topLevel) { span in span.attributes["payload"] = String(repeating: "y", count: 3_000) }
        tracer.withSpan("big-2", context: .topLevel) { span in span.attributes["payload"] = String(repeating: "z", count: 3_000) }
        tracer.withSpan("small", context: .topLevel) { _ in }
        tracer.flush()
        let datagrams = sink.receiveAll()
        #expect(datagrams.allSatisfy { $0.count <= 4_000 })
        let batches = try datagrams.map(sink.decode)
        #expect(batches.map { $0.spans.map(\.name) } == [["big-1"], ["big-2", "small"]])
        #expect(batches.last?.spans.first?.attribute("payload") == .string(String(repeating: "z", count: 3_000)))
    }

    @Test func queueOverflowIsCountedAndReportedInTheNextBatch() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.maxQueuedSpans = 10 }
        for index in 0..<15 { tracer.withSpan("s\(index)", context: .topLevel) { _ in } }
        #expect(tracer.statistics.droppedQueueFull == 5)
        tracer.flush()
        let batch = try sink.decode(try #require(sink.receive()))
        #expect(batch.spans.map(\.name) == (0..<10).map { "s\($0)" })
        #expect(batch.clientStats == ClientStats(fullQueueDroppedSpans: 5, tooLargeDroppedSpans: 0, failedToEmitSpans: 0))
    }

    @Test func shutdownFlushesAndLaterSpansAreDroppedAndCounted() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let open = tracer.startSpan("ends after shutdown", context: .topLevel)
        tracer.withSpan("before", context: .topLevel) { _ in }
        tracer.shutdown()
        let batch = try sink.decode(try #require(sink.receive()))
        #expect(batch.spans.map(\.name) == ["before"])
        open.end()
        tracer.withSpan("after", context: .topLevel) { _ in }
        tracer.flush()
        tracer.shutdown()
        #expect(sink.receive(timeout: 0.3) == nil)
        let statistics = tracer.statistics
        #expect(statistics.droppedAfterShutdown == 2)
        #expect(statistics.spansReported == 1)
        #expect(statistics.spansFinished == 3)
    }

    @Test func runFlushesPeriodicallyAndOnGracefulShutdown() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .milliseconds(100) }
        let group = ServiceGroup(services: [tracer])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tracer.withSpan("periodic", context: .topLevel) { _ in }
            // No flush() call: the interval sends it. The bound is generous: the
            // end-to-end suites block the 2 cooperative threads for tens of
            // seconds on a busy machine, and the flush task waits for one (a
            // full `swift test` with two release builds alongside: 135 s).
            let periodic = try sink.decode(try #require(await sink.nextDatagram(timeout: 400)))
            #expect(periodic.spans.map(\.name) == ["periodic"])
            tracer.withSpan("at shutdown", context: .topLevel) { _ in }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let remaining = try await sink.drain().map(sink.decode)
        #expect(remaining.flatMap { $0.spans.map(\.name) } == ["at shutdown"])
        tracer.withSpan("too late", context: .topLevel) { _ in }
        #expect(tracer.statistics.droppedAfterShutdown == 1)
    }

    @Test func gracefulShutdownSendsWhatTheLongIntervalWouldHaveHeld() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
        let group = ServiceGroup(services: [tracer])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for index in 0..<5 { tracer.withSpan("queued \(index)", context: .topLevel) { _ in } }
            try await Task.sleep(for: .milliseconds(50))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let batches = try await sink.drain().map(sink.decode)
        #expect(batches.flatMap { $0.spans.map(\.name) } == (0..<5).map { "queued \($0)" })
    }

    @Test func runSendsFullDatagramsWithoutWaitingForTheInterval() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
        let runner = Task { try await tracer.run() }
        try await Task.sleep(for: .milliseconds(50))
        for index in 0..<2_000 {
            let span = tracer.startSpan("busy", context: .topLevel)
            span.attributes["index"] = index
            span.attributes["padding"] = "0123456789012345678901234567890123456789"
            span.end()
            if index % 256 == 0 { await Task.yield() }
        }
        // Full datagrams arrive while the interval (an hour) is far away.
        let first = try #require(await sink.nextDatagram(timeout: 30))
        #expect(first.count > 60_000)
        runner.cancel()
        _ = try await runner.value
        let rest = await sink.drain()
        let total = try ([first] + rest).map(sink.decode).reduce(0) { $0 + $1.spans.count }
        #expect(total == 2_000)
        #expect(tracer.statistics.droppedQueueFull == 0)
    }

    @Test func runTwiceConcurrentlyIsRefused() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let runner = Task { try await tracer.run() }
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: JaegerTracerError.alreadyRunning) { try await tracer.run() }
        runner.cancel()
        _ = try await runner.value
    }
}
