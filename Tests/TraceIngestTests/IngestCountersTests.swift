import Testing
import TraceFormats
@testable import TraceIngest
import TraceModel

@Suite struct IngestCountersTests {
    private func report(_ counters: IngestCounters, service: String = "svc", identity: String = "a", seq: Int64?,
                        stats: ClientStats? = nil, listener: ListenerKind = .jaegerCompact) {
        var delta = ListenerDelta()
        delta.received = 1
        delta.clients.append(ClientReport(service: service, identity: identity, seqNo: seq, stats: stats))
        counters.commit(listener, delta)
    }

    @Test("client stats are cumulative per process: the latest per process, summed per service")
    func clientStats() {
        let counters = IngestCounters()
        report(counters, identity: "a", seq: 1, stats: ClientStats(fullQueueDroppedSpans: 5))
        report(counters, identity: "a", seq: 2, stats: ClientStats(fullQueueDroppedSpans: 7, tooLargeDroppedSpans: 1))
        report(counters, identity: "b", seq: 1, stats: ClientStats(failedToEmitSpans: 3))
        report(counters, service: "other", identity: "a", seq: 1, stats: ClientStats(fullQueueDroppedSpans: 100))
        let snapshot = counters.snapshot()
        let svc = snapshot.clients.first { $0.service == "svc" }
        #expect(svc?.processes == 2)
        #expect(svc?.dropped == ClientStats(fullQueueDroppedSpans: 7, tooLargeDroppedSpans: 1, failedToEmitSpans: 3))
        #expect(snapshot.clientDropped == 111)
        #expect(snapshot.missingBatches == 0)
    }

    @Test("seqNo gaps count missing batches; a restart resets and keeps the old process's drops")
    func seqGaps() {
        let counters = IngestCounters()
        report(counters, seq: 1, stats: ClientStats(fullQueueDroppedSpans: 4))
        report(counters, seq: 2, stats: ClientStats(fullQueueDroppedSpans: 4))
        report(counters, seq: 5, stats: ClientStats(fullQueueDroppedSpans: 6))   // 3 and 4 lost
        report(counters, seq: 5, stats: ClientStats(fullQueueDroppedSpans: 6))   // duplicate: nothing
        report(counters, seq: 1, stats: ClientStats(fullQueueDroppedSpans: 1))   // restarted
        report(counters, seq: 3, stats: ClientStats(fullQueueDroppedSpans: 2))   // 2 lost
        let svc = counters.snapshot().clients.first
        #expect(svc?.missingBatches == 3)
        #expect(svc?.restarts == 1)
        #expect(svc?.dropped.fullQueueDroppedSpans == 8)  // 6 before the restart + 2 since
        #expect(counters.snapshot().summaryLines.last == "clients: svc: 8 dropped (queue full), 3 batches missing (seqNo gaps)")
    }

    @Test("a full client table retires the least recently heard process, keeping its figures")
    func clientBound() {
        let counters = IngestCounters(maxTrackedClients: 2)
        report(counters, identity: "a", seq: 1, stats: ClientStats(failedToEmitSpans: 1))
        report(counters, identity: "b", seq: 1, stats: ClientStats(failedToEmitSpans: 2))
        report(counters, identity: "c", seq: 1, stats: ClientStats(failedToEmitSpans: 4))
        let svc = counters.snapshot().clients.first
        #expect(svc?.processes == 2)
        #expect(svc?.dropped.failedToEmitSpans == 7)
    }

    @Test("malformed reasons are bounded, with an other bucket and the latest example")
    func reasonBound() {
        let counters = IngestCounters(maxReasonsPerListener: 3)
        for i in 0..<10 {
            counters.recordMalformed(.otlpHTTP, reason: "reason \(i % 5)", example: "example \(i)")
        }
        let figures = counters.snapshot()[.otlpHTTP]
        #expect(figures.malformed == 10)
        #expect(figures.received == 10)
        #expect(figures.malformedReasons.count == 4)
        let other = figures.malformedReasons.first { $0.reason == MalformedReason.otherKey }
        #expect(other?.count == 4)
        #expect(other?.lastExample == "example 9")
        #expect(figures.malformedReasons.first { $0.reason == "reason 0" }?.lastExample == "example 5")
    }

    @Test("summary lines group digits and name reasons")
    func summary() {
        let counters = IngestCounters()
        counters.register(.jaegerBinary)
        counters.recordAccepted(.jaegerCompact, spans: Samples.spans(count: 1_234), bytes: 10)
        counters.recordMalformed(.jaegerCompact, reason: "thrift compact: truncated",
                                 example: "thrift compact: byte 3: truncated: 2 more bytes needed, 0 left")
        let lines = counters.snapshot().summaryLines
        #expect(lines == [
            "jaeger-compact: 1,234 spans in 412 traces, 2 datagrams, 1 malformed (thrift compact: truncated: 1, last \"thrift compact: byte 3: truncated: 2 more bytes needed, 0 left\")",
            "jaeger-binary: 0 spans in 0 traces, 0 datagrams, 0 malformed",
        ])
    }

    @Test("distinct traces are counted exactly up to the bound, then as a lower bound")
    func traceBound() {
        let counters = IngestCounters(maxTrackedTraces: 10)
        counters.recordAccepted(.otlpHTTP, spans: Samples.spans(count: 60))  // 20 traces
        let figures = counters.snapshot()[.otlpHTTP]
        #expect(figures.traces == 10)
        #expect(figures.tracesSaturated)
        #expect(figures.summaryLine.hasPrefix("otlp-http: 60 spans in 10+ traces, 1 requests"))
    }

    @Test("OTLP partial-success bodies")
    func otlpResponses() {
        #expect(OTLPResponse.protobuf(rejected: 0, message: "x") == [])
        #expect(OTLPResponse.protobuf(rejected: 300, message: "ab") == [0x0A, 0x07, 0x08, 0xAC, 0x02, 0x12, 0x02, 0x61, 0x62])
        #expect(String(decoding: OTLPResponse.json(rejected: 0, message: nil), as: UTF8.self) == "{}")
        #expect(String(decoding: OTLPResponse.json(rejected: 2, message: "span 1: \"bad\"\n"), as: UTF8.self)
                == #"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"span 1: \"bad\"\n"}}"#)
    }
}
