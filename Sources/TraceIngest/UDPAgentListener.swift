#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import NIOCore
import NIOPosix
import Synchronization
import TraceFormats
import TraceModel

/// The Jaeger agent's UDP ports, on the event loop: copies each datagram's
/// bytes into the read burst and hands bursts to the listener's
/// `UDPDecodeStage`, which decodes them on a thread of its own. The event
/// loop only empties the socket; it never replies.
final class UDPAgentHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    /// A burst is handed over once it holds this many bytes, even mid-read.
    static let burstBytes = 1 << 20

    let stage: UDPDecodeStage
    private var burst = DatagramBurst()

    init(stage: UDPDecodeStage) {
        self.stage = stage
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        envelope.data.withUnsafeReadableBytes { burst.append($0, from: envelope.remoteAddress) }
        if burst.bytes.count >= Self.burstBytes { handOver() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handOver()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handOver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A read error on a UDP socket (e.g. ECONNREFUSED from an ICMP) is not
        // fatal to the listener: NIO keeps the channel open for those. Kept
        // as the reason should the socket close afterwards.
        handOver()
        stage.counters.recordSocketError(stage.kind, ListenerErrorWatch.describe(error))
    }

    private func handOver() {
        guard !burst.isEmpty else { return }
        stage.submit(burst)
        burst = DatagramBurst()
    }
}

/// Datagrams read together, as bytes: one array for all of them, so a
/// single-span datagram costs its own bytes, not a receive buffer's slot.
struct DatagramBurst: Sendable {
    var bytes: [UInt8] = []
    /// Where each datagram ends in `bytes`, and who sent it.
    var datagrams: [(end: Int, source: SocketAddress)] = []

    var isEmpty: Bool { datagrams.isEmpty }

    /// What the burst holds in memory while it waits (its arrays' capacity):
    /// the decode queue's bound counts this, so a burst of one small datagram
    /// costs about its own size.
    var heldBytes: Int {
        bytes.capacity + datagrams.capacity * MemoryLayout<(end: Int, source: SocketAddress)>.stride
    }

    mutating func append(_ datagram: UnsafeRawBufferPointer, from source: SocketAddress) {
        bytes.append(contentsOf: datagram)
        datagrams.append((bytes.count, source))
    }
}

/// Read bursts wait here, bounded in bytes, for the listener's decode
/// thread, which decodes them in order and hands the spans to the sink.
/// The event loop only empties the socket, so a flood that decoding is
/// behind on waits in this queue (what does not fit is dropped and counted)
/// rather than overflowing the kernel's buffer: at 1M spans/s in
/// 65,000-byte datagrams, decoding on the event loop took its whole core
/// and the kernel dropped what arrived meanwhile. A datagram's raw bytes
/// (~180 per span) are also the smallest form a backlog can wait in.
final class UDPDecodeStage: Sendable {
    let kind: ListenerKind
    let counters: IngestCounters
    let maxQueuedBytes: Int

    private struct State {
        var queue: [DatagramBurst] = []
        var queuedBytes = 0
        var decoderWaiting = false
        var finishing = false
        var threadReleased = false
    }

    private let state = Mutex(State())
    /// Touched only by the decode thread (the lock is never contended).
    private let decoder: Mutex<UDPDatagramDecoder>
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let thread: NIOThreadPool

    init(kind: ListenerKind, sink: any SpanSink, counters: IngestCounters, maxQueuedBytes: Int) {
        self.kind = kind
        self.counters = counters
        self.maxQueuedBytes = max(1, maxQueuedBytes)
        decoder = Mutex(UDPDatagramDecoder(kind: kind, sink: sink, counters: counters))
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { [self] _ in self.runDecoder() }
    }

    /// Queues a burst, or drops it whole (counted) when the queue is full or
    /// the stage is finishing. An empty queue takes any one burst.
    func submit(_ burst: DatagramBurst) {
        let size = burst.heldBytes
        let (accepted, signal) = state.withLock { s -> (Bool, Bool) in
            if s.finishing || (!s.queue.isEmpty && s.queuedBytes + size > maxQueuedBytes) { return (false, false) }
            s.queue.append(burst)
            s.queuedBytes += size
            if s.decoderWaiting {
                s.decoderWaiting = false
                return (true, true)
            }
            return (true, false)
        }
        if signal { wake.signal() }
        if !accepted {
            var delta = ListenerDelta()
            delta.queueDropped = burst.datagrams.count
            counters.commit(kind, delta)
        }
    }

    /// Bytes waiting to be decoded.
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    /// Decodes everything queued, then stops the thread. Bursts submitted
    /// afterwards are dropped and counted. Blocks until done; call it after
    /// the socket is closed. Safe to call more than once.
    func finish() {
        let signal = state.withLock { s -> Bool in
            s.finishing = true
            if s.decoderWaiting {
                s.decoderWaiting = false
                return true
            }
            return false
        }
        if signal { wake.signal() }
        done.wait()
        done.signal()  // let any other caller of finish() through too
        let first = state.withLock { s in
            defer { s.threadReleased = true }
            return !s.threadReleased
        }
        if first { thread.shutdownGracefully { _ in } }
    }

    private func runDecoder() {
        #if os(Linux)
        // This thread only (Linux nice is per thread), as the recorder's
        // writer: the event loop always wins the CPU and empties the socket;
        // decoding and writing share what is left equally, so a backlog
        // waits here as raw bytes (~180 a span) rather than decoded before
        // the disk (~350).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        #endif
        while true {
            let (work, finishing) = state.withLock { s -> ([DatagramBurst], Bool) in
                if s.queue.isEmpty {
                    if s.finishing { return ([], true) }
                    s.decoderWaiting = true
                    return ([], false)
                }
                let work = s.queue
                s.queue = []
                return (work, false)
            }
            if finishing { break }
            if work.isEmpty {
                wake.wait()
                continue
            }
            for burst in work {
                decoder.withLock { $0.decode(burst) }
                state.withLock { $0.queuedBytes -= burst.heldBytes }
            }
        }
        done.signal()
    }
}

/// Decodes bursts of agent datagrams with one reusable `WireDecoder`,
/// straight from the burst's bytes, and hands their spans and counts over
/// per burst (a datagram of many spans on its own, uncopied).
final class UDPDatagramDecoder {
    /// Spans held back before handing them over mid-burst.
    static let flushSpanCount = 4096
    /// A datagram with at least this many spans is handed over on its own,
    /// uncopied (small ones are gathered per burst, so the sink's lock is
    /// taken per burst, not per datagram).
    static let handOverWholeSpanCount = 64

    let kind: ListenerKind
    let protocolKind: ThriftProtocolKind
    let sink: any SpanSink
    let counters: IngestCounters
    private let decoder = WireDecoder()
    private var pendingSpans: [Span] = []
    private var delta = ListenerDelta()
    /// Client identities by the decoder's shared process `Resource` and the
    /// source address (the Resource is held, so its identifier is not reused).
    private var identities: [IdentityKey: (Resource, String)] = [:]

    private struct IdentityKey: Hashable {
        var resource: ObjectIdentifier
        var source: SocketAddress
    }

    init(kind: ListenerKind, sink: any SpanSink, counters: IngestCounters) {
        self.kind = kind
        self.protocolKind = kind == .jaegerBinary ? .binary : .compact
        self.sink = sink
        self.counters = counters
    }

    func decode(_ burst: DatagramBurst) {
        burst.bytes.withUnsafeBytes { all in
            var start = 0
            for (end, source) in burst.datagrams {
                decode(UnsafeRawBufferPointer(rebasing: all[start..<end]), from: source)
                start = end
                if pendingSpans.count >= Self.flushSpanCount { flush() }
            }
        }
        flush()
    }

    private func decode(_ datagram: UnsafeRawBufferPointer, from source: SocketAddress) {
        delta.received += 1
        delta.bytes += datagram.count
        do {
            accept(try decoder.decodeAgent(datagram, protocolKind: protocolKind), from: source)
        } catch {
            delta.malformed.append(MalformedEvent(reason: IngestReason.key(error), example: error.description))
        }
    }

    private func accept(_ batch: AgentBatch, from source: SocketAddress) {
        delta.add(batch.spans)
        if batch.spans.count >= Self.handOverWholeSpanCount {
            // A full datagram's spans go over as they are: appending them to
            // the burst's copied every span (perf: a tenth of decoding at 1M
            // spans/s in 65,000-byte datagrams).
            handOverPendingSpans()
            sink.accept(batch.spans, from: kind)
        } else if pendingSpans.isEmpty {
            pendingSpans = batch.spans
        } else {
            pendingSpans.append(contentsOf: batch.spans)
        }
        if batch.rejectedCount > 0 {
            delta.rejected += batch.rejectedCount
            if let first = batch.rejected.first { delta.lastRejection = first.description }
        }
        if let process = batch.process, batch.batchSeqNo != nil || batch.clientStats != nil {
            delta.clients.append(ClientReport(
                service: process.serviceName, identity: identity(of: process, source: source),
                seqNo: batch.batchSeqNo, stats: batch.clientStats))
        }
    }

    private func identity(of process: Resource, source: SocketAddress) -> String {
        let key = IdentityKey(resource: ObjectIdentifier(process), source: source)
        if let (_, identity) = identities[key] { return identity }
        if identities.count >= 1024 { identities.removeAll(keepingCapacity: true) }
        let identity = ClientIdentity.of(process, source: source)
        identities[key] = (process, identity)
        return identity
    }

    private func handOverPendingSpans() {
        if !pendingSpans.isEmpty {
            let spans = pendingSpans
            pendingSpans = []
            sink.accept(spans, from: kind)
        }
    }

    /// Sink first, then counters: whoever sees a count can find its spans.
    private func flush() {
        handOverPendingSpans()
        if !delta.isEmpty {
            counters.commit(kind, delta)
            delta = ListenerDelta()
        }
    }
}
