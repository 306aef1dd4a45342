import NIOCore
import TraceFormats
import TraceModel

/// The Jaeger agent's UDP ports: decodes each datagram on the event loop with
/// one reusable `WireDecoder` per channel, straight from the receive buffer.
/// Spans and counts of one read burst (up to `maxMessagesPerRead` vectored
/// reads) are handed over together in `channelReadComplete`. Never replies.
final class UDPAgentHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let datagram = envelope.data
        delta.received += 1
        delta.bytes += datagram.readableBytes
        let result = datagram.withUnsafeReadableBytes { raw in
            Result { () throws(WireDecodeError) in try decoder.decodeAgent(raw, protocolKind: protocolKind) }
        }
        switch result {
        case .success(let batch):
            accept(batch, from: envelope.remoteAddress)
        case .failure(let error):
            delta.malformed.append(MalformedEvent(reason: IngestReason.key(error), example: error.description))
        }
        if pendingSpans.count >= Self.flushSpanCount { flush() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A read error on a UDP socket (e.g. ECONNREFUSED from an ICMP) is not
        // fatal to the listener: NIO keeps the channel open for those. Kept
        // as the reason should the socket close afterwards.
        flush()
        counters.recordSocketError(kind, ListenerErrorWatch.describe(error))
    }

    private func accept(_ batch: AgentBatch, from source: SocketAddress) {
        delta.add(batch.spans)
        if batch.spans.count >= Self.handOverWholeSpanCount {
            // A full datagram's spans go over as they are: appending them to
            // the burst's copied every span (perf: a tenth of the event
            // loop's reading at 1M spans/s in 65,000-byte datagrams).
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
