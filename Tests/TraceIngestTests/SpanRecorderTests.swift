import Foundation
import Testing
import TestSupport
import TraceFormats
import TraceIngest
import TraceModel

private func temporaryPath(_ name: String) throws -> String {
    let dir = TestScratch.directory.appendingPathComponent("tracetty-ingest-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

private func readBack(_ path: String) throws -> (spans: [Span], summary: DumpReadSummary) {
    var spans: [Span] = []
    let summary = try DumpReader(path: path).read(onSpans: { spans += $0 })
    return (spans, summary)
}

@Suite struct SpanRecorderTests {
    @Test("spans from every listener land in the file exactly once")
    func recordsFromAllListeners() async throws {
        let path = try temporaryPath("rec.jsonl")
        let recorder = try SpanRecorder(path: path)
        let running = try await RunningServer.start(ListenerKind.allCases, sink: recorder)
        let sender = try UDPSender()
        let compact = Samples.spans(count: 3, seed: 51), binary = Samples.spans(count: 2, seed: 52)
        try sender.send(JaegerThriftEncoder.emitBatch(process: Samples.process, spans: compact), to: running.port(.jaegerCompact))
        try sender.send(JaegerThriftEncoder.emitBatch(process: Samples.process, spans: binary, protocolKind: .binary),
                        to: running.port(.jaegerBinary))
        try sender.send(Samples.emitZipkinBatch(count: 2), to: running.port(.zipkinCompact))
        let collector = Samples.spans(count: 4, seed: 53), otlp = Samples.spans(count: 5, seed: 54)
        #expect(try post(port: running.port(.jaegerCollector), "/api/traces", contentType: "application/x-thrift",
                         body: JaegerThriftEncoder.batch(process: Samples.process, spans: collector)).status == 202)
        #expect(try post(port: running.port(.otlpHTTP), "/v1/traces", contentType: "application/x-protobuf",
                         body: OTLPProtobufEncoder.encode(otlp)).status == 200)
        #expect(try post(port: running.port(.zipkinHTTP), "/api/v2/spans", contentType: "application/json",
                         body: Samples.zipkinJSON(count: 2)).status == 202)
        let total = 3 + 2 + 2 + 4 + 5 + 2
        #expect(await eventually { running.counters.snapshot().spansAccepted == total })
        await running.server.shutdown()

        let summary = try recorder.finish()
        #expect(summary.spansWritten == total)
        #expect(summary.spansDropped == 0)
        #expect(summary.summaryLine == "recorded 18 spans to \(path), 0 dropped")
        let back = try readBack(path)
        #expect(back.summary.issueCount == 0)
        #expect(back.spans.count == total)
        #expect(Set(back.spans.map { "\($0.traceID.hex)/\($0.spanID.hex)" }).count == total)  // each exactly once
        expectSameSpans(back.spans.map(\.identity), running.sink.spans().map(\.identity))
        // A second finish is harmless; later spans are dropped as "recorder closed".
        recorder.accept(Samples.spans(count: 1), from: .otlpHTTP)
        let again = try recorder.finish()
        #expect(again.spansWritten == total)
        #expect(again.dropReasons == [.init(reason: SpanRecorder.closedReason, spans: 1)])
    }

    @Test("a full queue drops and counts, never blocks")
    func queueOverflow() throws {
        let path = try temporaryPath("small.jsonl")
        let recorder = try SpanRecorder(path: path, maxQueuedSpans: 10)
        var offered = 0
        for i in 0..<200 {
            recorder.accept(Samples.spans(count: 7, seed: UInt64(i + 1)), from: .jaegerCompact)
            offered += 7
        }
        let summary = try recorder.finish()
        #expect(summary.spansWritten + summary.spansDropped == offered)
        #expect(summary.spansDropped > 0)
        #expect(summary.dropReasons.map(\.reason) == [SpanRecorder.queueFullReason])
        #expect(try readBack(path).spans.count == summary.spansWritten)
    }

    @Test("the queue is bounded in bytes too: big spans past the bound are dropped and counted, an empty queue takes any batch")
    func queueByteBound() throws {
        let path = try temporaryPath("bytes.jsonl")
        var big = Samples.spans(count: 1, seed: 1)[0]
        big.attributes = [Attribute("blob", .string(String(repeating: "x", count: 100_000)))]
        let bound = 3 * big.approximateBytes
        let recorder = try SpanRecorder(path: path, maxQueuedBytes: bound)
        // Bigger than the bound on its own: taken, the queue being empty.
        var huge = big
        huge.attributes = [Attribute("blob", .string(String(repeating: "y", count: 1_000_000)))]
        recorder.accept([huge], from: .otlpHTTP)
        var offered = 1
        for i in 0..<200 {
            var span = big
            span.spanID = SpanID(UInt64(1_000 + i))
            recorder.accept([span], from: .otlpHTTP)
            offered += 1
        }
        let summary = try recorder.finish()
        #expect(summary.spansWritten + summary.spansDropped == offered)
        #expect(summary.spansDropped > 0, "200 spans of 100 kB offered at once to a 300 kB queue")
        #expect(summary.dropReasons.map(\.reason) == [SpanRecorder.queueFullReason])
        let written = try readBack(path).spans
        #expect(written.count == summary.spansWritten)
        #expect(written.first?.attributes.first?.key == "blob" && written.contains { $0.spanID == huge.spanID })
    }

    @Test("at the memory limit spans are refused and counted as such, then taken again")
    func refusingForMemory() throws {
        let path = try temporaryPath("refuse.jsonl")
        let recorder = try SpanRecorder(path: path)
        recorder.accept(Samples.spans(count: 2, seed: 1), from: .otlpHTTP)
        recorder.setRefusing(true)
        recorder.accept(Samples.spans(count: 3, seed: 2), from: .otlpHTTP)
        recorder.setRefusing(false)
        recorder.accept(Samples.spans(count: 4, seed: 3), from: .otlpHTTP)
        let summary = try recorder.finish()
        #expect(summary.spansWritten == 6)
        #expect(summary.dropReasons == [.init(reason: SpanRecorder.memoryReason, spans: 3)])
        #expect(try readBack(path).spans.count == 6)
    }

    @Test("many batches from several threads: all written, in whole lines")
    func concurrentWriters() async throws {
        let path = try temporaryPath("many.jsonl")
        let recorder = try SpanRecorder(path: path)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<250 {
                        recorder.accept(Samples.spans(count: 4, seed: UInt64(t * 1_000 + i + 1)), from: .otlpHTTP)
                    }
                }
            }
        }
        let summary = try recorder.finish()
        #expect(summary.spansWritten == 4_000)
        let back = try readBack(path)
        #expect(back.spans.count == 4_000)
        #expect(back.summary.issueCount == 0)
    }

    @Test("an unwritable path fails at init")
    func cannotOpen() {
        #expect(throws: RecorderError.self) { _ = try SpanRecorder(path: "/nonexistent-dir/x.jsonl") }
    }
}

extension Span {
    /// Ids, name, service and times: what a dump round trip must keep.
    var identity: Span {
        Span(traceID: traceID, spanID: spanID, parentSpanID: parentSpanID, name: name,
             startTimeUnixNano: startTimeUnixNano, durationNano: durationNano,
             resource: Resource(serviceName: serviceName))
    }
}
