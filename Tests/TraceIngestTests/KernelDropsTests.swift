#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOPosix
import Synchronization
import Testing
import TraceFormats
@testable import TraceIngest
import TraceModel
import TestSupport

/// Datagrams the kernel drops on a full receive buffer, and datagrams read
/// but dropped on a full decode queue, are counted per listener, so what was
/// sent adds up: received + dropped by the kernel + dropped before decoding.
@Suite(.serialized) struct KernelDropsTests {
    /// Holds the decode thread in its first delivery until opened: read
    /// datagrams pile up in the decode queue, as under a real stall.
    final class GatedSink: SpanSink {
        let gate = DispatchSemaphore(value: 0)
        let inner = CollectingSink()
        private let entered = Atomic<Bool>(false)
        var blocked: Bool { entered.load(ordering: .acquiring) }

        func accept(_ spans: [Span], from listener: ListenerKind) {
            if !entered.exchange(true, ordering: .acquiringAndReleasing) { gate.wait() }
            inner.accept(spans, from: listener)
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/udp"), "needs Linux's /proc/net/udp"))
    func whatWasSentIsReceivedPlusWhatTheKernelDropped() async throws {
        let sink = CollectingSink()
        let counters = IngestCounters()
        // The smallest receive buffer the kernel grants: a few datagrams.
        // An event loop of its own: the test stalls it on purpose, and the
        // shared group's loops serve every other test's sockets.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = IngestServer(
            configuration: IngestConfiguration(ports: [.jaegerCompact: 0], udpReceiveBufferBytes: 4_096),
            sink: sink, counters: counters, eventLoopGroup: group)
        let port = try #require(try await server.start().first?.port)
        let sender = try UDPSender()
        let spans = Samples.spans(count: 1, seed: 3)
        let datagram = JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans)
        // The socket is not read while its event loop is held.
        let gate = DispatchSemaphore(value: 0)
        let held = Atomic<Bool>(false)
        group.next().execute {
            held.store(true, ordering: .releasing)
            gate.wait()
        }
        #expect(await eventually(seconds: 30) { held.load(ordering: .acquiring) }, "the event loop is held")
        let sent = 2_000
        for _ in 0..<sent { try sender.send(datagram, to: port) }
        gate.signal()

        // Everything still in the buffer is read; then the kernel's count is final.
        var figures = counters.snapshot().listeners[0]
        for _ in 0..<600 {
            server.sampleKernelDrops()
            figures = counters.snapshot().listeners[0]
            if figures.received + figures.kernelDrops == sent { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(figures.kernelDrops > 0, "a 4 KiB buffer cannot hold 2,000 datagrams")
        #expect(figures.queueDrops == 0)
        #expect(figures.received + figures.kernelDrops == sent, "received \(figures.received), dropped \(figures.kernelDrops)")
        #expect(sink.count == figures.spansAccepted)
        #expect(figures.summaryLine.contains(" datagrams dropped by the kernel (receive buffer full)"), "\(figures.summaryLine)")
        await server.shutdown()
        #expect(counters.snapshot().listeners[0].kernelDrops == figures.kernelDrops, "the count survives the socket")
        try await group.shutdownGracefully()
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/udp"), "needs Linux's /proc/net/udp"))
    func aStalledDecoderFillsItsBoundedQueueAndTheRestIsCounted() async throws {
        let sink = GatedSink()
        let counters = IngestCounters()
        // A decode queue of 16 KiB (an empty queue still takes one burst of any size).
        let server = IngestServer(
            configuration: IngestConfiguration(ports: [.jaegerCompact: 0], udpDecodeQueueBytes: 16 << 10),
            sink: sink, counters: counters)
        let port = try #require(try await server.start().first?.port)
        let sender = try UDPSender()
        let spans = Samples.spans(count: 3, seed: 5)
        let datagram = JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans)
        try sender.send(datagram, to: port)
        #expect(await eventually(seconds: 30) { sink.blocked }, "the first datagram reached the sink")
        let sent = 2_000
        for _ in 1..<sent { try sender.send(datagram, to: port) }
        // The event loop reads on while the decoder is stuck: what the
        // queue cannot take is counted as soon as it is read.
        #expect(await eventually(seconds: 30) { counters.snapshot().listeners[0].queueDrops > 0 },
                "\(counters.snapshot().listeners[0].summaryLine)")
        sink.gate.signal()
        #expect(await eventually(seconds: 60) {
            server.sampleKernelDrops()
            let f = counters.snapshot().listeners[0]
            return f.received + f.kernelDrops + f.queueDrops == sent
        }, "\(counters.snapshot().listeners[0].summaryLine)")
        await server.shutdown()

        let figures = counters.snapshot().listeners[0]
        #expect(figures.received + figures.kernelDrops + figures.queueDrops == sent,
                "received \(figures.received), kernel \(figures.kernelDrops), queue \(figures.queueDrops)")
        #expect(figures.received > 1)
        #expect(figures.spansAccepted == figures.received * spans.count)
        #expect(sink.inner.count == figures.spansAccepted, "every decoded span reached the sink before shutdown returned")
        #expect(figures.summaryLine.contains(" datagrams dropped waiting to be decoded (decode queue full)"), "\(figures.summaryLine)")
    }

    @Test func theDropsColumnIsReadForOurSocketsOnly() {
        let table = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
         1234: 0100007F:1AAF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
         1235: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 5
         1236: garbage
        """
        #expect(KernelDrops.parse(table, inodes: [4242]) == [4242: 17])
        #expect(KernelDrops.parse(table, inodes: [1]).isEmpty)
    }
}
