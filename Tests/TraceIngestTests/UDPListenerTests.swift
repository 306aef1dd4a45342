import Foundation
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// Live UDP listeners on ephemeral ports, fed through real sockets.
@Suite struct UDPListenerTests {
    @Test("jaeger-compact: emitBatch over UDP (CALL), with seqNo and client stats")
    func jaegerCompact() async throws {
        let running = try await RunningServer.start([.jaegerCompact])
        let spans = Samples.spans(count: 6)
        let datagram = JaegerThriftEncoder.emitBatch(
            process: Samples.process, spans: spans, seqNo: 1,
            stats: ClientStats(fullQueueDroppedSpans: 2), messageType: .call, protocolKind: .compact)
        try UDPSender().send(datagram, to: running.port(.jaegerCompact))

        #expect(await eventually { running.counters.snapshot()[.jaegerCompact].spansAccepted == 6 })
        let expected = try JaegerAgentDecoder.decode(datagram).spans
        expectSameSpans(running.sink.spans(from: .jaegerCompact), expected)
        #expect(ids(running.sink.spans()) == ids(spans))
        #expect(Set(running.sink.spans().map(\.serviceName)) == ["server-1"])
        let figures = running.counters.snapshot()[.jaegerCompact]
        #expect(figures.received == 1)
        #expect(figures.bytes == datagram.count)
        #expect(figures.traces == 2)
        #expect(figures.malformed == 0)
        #expect(running.counters.snapshot().clientDropped == 2)
        await running.server.shutdown()
    }

    @Test("jaeger-binary: emitBatch in Thrift binary (ONEWAY)")
    func jaegerBinary() async throws {
        let running = try await RunningServer.start([.jaegerBinary])
        let spans = Samples.spans(count: 4, seed: 2)
        let datagram = JaegerThriftEncoder.emitBatch(process: Samples.process, spans: spans, messageType: .oneway,
                                                     protocolKind: .binary)
        try UDPSender().send(datagram, to: running.port(.jaegerBinary))
        #expect(await eventually { running.counters.snapshot()[.jaegerBinary].spansAccepted == 4 })
        expectSameSpans(running.sink.spans(from: .jaegerBinary), try JaegerAgentDecoder.decode(datagram).spans)
        #expect(ids(running.sink.spans()) == ids(spans))
        await running.server.shutdown()
    }

    @Test("zipkin-compact: emitZipkinBatch and emitBatch on 5775")
    func zipkinCompact() async throws {
        let running = try await RunningServer.start([.zipkinCompact])
        let port = running.port(.zipkinCompact)
        let zipkin = Samples.emitZipkinBatch(count: 3)
        let jaeger = JaegerThriftEncoder.emitBatch(process: Samples.process, spans: Samples.spans(count: 2, seed: 3),
                                                   messageType: .oneway, protocolKind: .compact)
        let sender = try UDPSender()
        try sender.send(zipkin, to: port)
        try sender.send(jaeger, to: port)
        #expect(await eventually { running.counters.snapshot()[.zipkinCompact].spansAccepted == 5 })
        let expected = try JaegerAgentDecoder.decode(zipkin).spans + JaegerAgentDecoder.decode(jaeger).spans
        expectSameSpans(running.sink.spans(from: .zipkinCompact), expected)
        #expect(Set(running.sink.spans().map(\.serviceName)) == ["zipkin-svc", "server-1"])
        #expect(running.counters.snapshot()[.zipkinCompact].received == 2)
        await running.server.shutdown()
    }

    @Test("a garbage datagram is counted with its reason; the next good one is accepted")
    func garbageThenGood() async throws {
        let running = try await RunningServer.start([.jaegerCompact])
        let port = running.port(.jaegerCompact)
        let sender = try UDPSender()
        try sender.send([0x82, 0x21, 0x01], to: port)           // truncated header
        try sender.send(Array("hello".utf8), to: port)           // not thrift
        var wrongType = JaegerThriftEncoder.emitBatch(process: Samples.process, spans: Samples.spans(count: 1))
        wrongType[1] = 0x41                                       // REPLY
        try sender.send(wrongType, to: port)
        let good = JaegerThriftEncoder.emitBatch(process: Samples.process, spans: Samples.spans(count: 3, seed: 9))
        try sender.send(good, to: port)

        #expect(await eventually { running.counters.snapshot()[.jaegerCompact].received == 4 })
        let figures = running.counters.snapshot()[.jaegerCompact]
        #expect(figures.spansAccepted == 3)
        #expect(figures.malformed == 3)
        let reasons = Dictionary(uniqueKeysWithValues: figures.malformedReasons.map { ($0.reason, $0) })
        #expect(reasons["thrift compact: truncated"]?.count == 1)
        #expect(reasons["thrift compact: not a thrift message"]?.lastExample.hasPrefix("thrift compact: byte 0: not a thrift message") == true)
        #expect(reasons["thrift compact: unsupported message type"]?.lastExample.contains("byte 1") == true)
        #expect(ids(running.sink.spans()) == ids(Samples.spans(count: 3, seed: 9)))
        #expect(figures.summaryLine.hasPrefix("jaeger-compact: 3 spans in 1 traces, 4 datagrams, 3 malformed ("))
        await running.server.shutdown()
    }

    @Test("a 65,000-byte datagram (~440 spans) arrives whole")
    func largeDatagram() async throws {
        let running = try await RunningServer.start([.jaegerCompact])
        var spans: [Span] = []
        var datagram: [UInt8] = []
        var count = 300
        while true {  // the largest batch under 65,000 bytes
            let candidate = Samples.spans(count: count, seed: 5)
            let bytes = JaegerThriftEncoder.emitBatch(process: Samples.process, spans: candidate)
            if bytes.count > 65_000 { break }
            spans = candidate
            datagram = bytes
            count += 20
        }
        #expect(datagram.count > 60_000)
        try UDPSender().send(datagram, to: running.port(.jaegerCompact))
        #expect(await eventually { running.counters.snapshot()[.jaegerCompact].spansAccepted == spans.count })
        #expect(ids(running.sink.spans()) == ids(spans))
        #expect(running.counters.snapshot()[.jaegerCompact].malformed == 0)
        await running.server.shutdown()
    }

    @Test("2,000 datagrams sent back to back are all accounted for")
    func manyDatagrams() async throws {
        let running = try await RunningServer.start([.jaegerCompact, .jaegerBinary])
        let sender = try UDPSender()
        let total = 2_000
        var sentSpans = 0
        for i in 0..<total {
            let kind: ListenerKind = i % 2 == 0 ? .jaegerCompact : .jaegerBinary
            if i % 100 == 99 {
                try sender.send([0x82, 0x21], to: running.port(.jaegerCompact))  // one bad in a hundred
                continue
            }
            let spans = Samples.spans(count: 1 + i % 3, seed: UInt64(1_000 + i))
            sentSpans += spans.count
            try sender.send(JaegerThriftEncoder.emitBatch(process: Samples.process, spans: spans, seqNo: Int64(i / 2 + 1),
                                                         protocolKind: kind == .jaegerCompact ? .compact : .binary),
                            to: running.port(kind))
        }
        let arrived = await eventually(seconds: 10) { running.counters.snapshot().received == total }
        let snapshot = running.counters.snapshot()
        #expect(arrived, "received \(snapshot.received) of \(total) datagrams")
        #expect(snapshot.received == snapshot[.jaegerCompact].received + snapshot[.jaegerBinary].received)
        #expect(snapshot.malformed == total / 100)
        #expect(snapshot.spansAccepted == sentSpans)
        #expect(running.sink.count == sentSpans)
        await running.server.shutdown()
    }

    @Test("UDP listeners ask for a large SO_RCVBUF and report what they got")
    func receiveBuffer() async throws {
        let server = IngestServer(
            configuration: IngestConfiguration(ports: [.jaegerCompact: 0], udpReceiveBufferBytes: 8 << 20),
            sink: CollectingSink())
        let bound = try await server.start()
        let granted = try #require(bound.first?.receiveBufferBytes)
        #expect(granted >= 212_992)  // at least Linux's usual default
        #expect(bound.first?.description == "listening jaeger-compact udp 127.0.0.1:\(bound.first?.port ?? 0)")
        await server.shutdown()
    }
}

/// Every captured client datagram, through a real socket to its listener.
@Suite(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
struct UDPFixtureTests {
    @Test("jaeger-udp fixtures: each datagram's spans reach the sink exactly as decoded")
    func fixtures() async throws {
        let running = try await RunningServer.start([.jaegerCompact])
        let sender = try UDPSender()
        var expected: [Span] = []
        var datagrams = 0
        for folder in ["go-seed-servers", "python-jaeger-client", "python-otel-jaeger-exporter"] {
            for path in Shared.files("jaeger-udp/\(folder)", suffix: ".bin") {
                let bytes = try Shared.bytes(path)
                expected += try JaegerAgentDecoder.decode(bytes).spans
                try sender.send(bytes, to: running.port(.jaegerCompact))
                datagrams += 1
            }
        }
        #expect(datagrams == 8)
        #expect(await eventually { running.counters.snapshot()[.jaegerCompact].received == datagrams })
        let figures = running.counters.snapshot()[.jaegerCompact]
        #expect(figures.malformed == 0)
        #expect(figures.spansAccepted == expected.count)
        expectSameSpans(running.sink.spans(), expected)
        await running.server.shutdown()
    }
}

/// Loopback ingest rate, for BENCHMARKS.md: `INGEST_BENCH=1 swift test -c release --filter IngestBenchmark`.
@Suite(.enabled(if: ProcessInfoEnvironment.bench, "set INGEST_BENCH=1 to run"))
struct IngestBenchmark {
    /// Seed-shaped spans, as many as fit in `maxBytes` (or exactly `count`).
    static func datagrams(spans count: Int?, maxBytes: Int = 65_000) -> [[UInt8]] {
        var generator = SyntheticTraces(seed: 3)
        var spans: [Span] = []
        var result: [[UInt8]] = []
        var pending: [[UInt8]] = []
        while result.count < 32 {
            if spans.isEmpty { spans = generator.nextTrace() }
            let span = spans.removeFirst()
            let encoded = JaegerThriftEncoder.encodeSpan(span)
            let candidate = pending + [encoded]
            let bytes = JaegerThriftEncoder.emitBatch(process: SyntheticTraces.server1, encodedSpans: candidate, seqNo: 1, stats: ClientStats())
            if let count, candidate.count == count {
                result.append(bytes); pending = []
            } else if count == nil && bytes.count > maxBytes {
                result.append(JaegerThriftEncoder.emitBatch(process: SyntheticTraces.server1, encodedSpans: pending, seqNo: 1, stats: ClientStats()))
                pending = [encoded]
            } else {
                pending = candidate
            }
        }
        return result
    }

    @Test("UDP ingest over loopback at paced rates: loss and throughput")
    func udpRate() async throws {
        let big = Self.datagrams(spans: nil), small = Self.datagrams(spans: 1)
        let bigSpans = try JaegerAgentDecoder.decode(big[0]).spans.count
        for (payloads, perDatagram, rates) in [(small, 1, [300_000]), (big, bigSpans, [500_000, 1_000_000, 2_000_000, 4_000_000])] {
            for rate in rates {
                let running = try await RunningServer.start([.jaegerCompact])
                let sender = try UDPSender()
                let perMillisecond = max(1, rate / perDatagram / 1_000)
                let datagrams = perMillisecond * 1_000  // one second's worth
                let start = ContinuousClock.now
                var sent = 0
                while sent < datagrams {
                    let due = start + .microseconds(1_000 * (sent / perMillisecond))
                    while ContinuousClock.now < due {}
                    try sender.send(payloads[sent % payloads.count], to: running.port(.jaegerCompact))
                    sent += 1
                }
                let sendTime = ContinuousClock.now - start
                var last = -1
                while running.counters.snapshot().received != last {  // until it settles
                    last = running.counters.snapshot().received
                    try await Task.sleep(for: .milliseconds(100))
                }
                let s = running.counters.snapshot()[.jaegerCompact]
                print("bench: \(perDatagram) spans/datagram (\(payloads[0].count) bytes) offered \(rate) spans/s for \(sendTime): received \(s.received)/\(datagrams) datagrams (\(datagrams - s.received) lost), \(s.spansAccepted) spans, rcvbuf \(running.server.listeners.first?.receiveBufferBytes ?? 0)")
                await running.server.shutdown()
            }
        }
    }
}

enum ProcessInfoEnvironment {
    static var bench: Bool { ProcessInfo.processInfo.environment["INGEST_BENCH"] == "1" }
}
