import Synchronization
import Tracing

/// Why the flush loop woke.
enum FlushWake: Sendable { case batchReady, timer, stop }

/// The bounded queue between `span.end()` and the wire, and the encoder
/// that fills datagrams from it, like jaeger-client-go's remote reporter
/// and UDP transport. Two locks: `queue` is the only one `end()` takes
/// (one append); `encoder` serializes flushes and owns the datagram buffers.
final class JaegerReporter: Sendable {
    private struct QueueState {
        var spans: [FinishedSpan] = []
        /// An emptied buffer handed back by the flush path, reused to avoid regrowing.
        var spare: [FinishedSpan] = []
        /// The flush loop waiting for work (at most one `run()` at a time).
        var waiter: CheckedContinuation<FlushWake, Never>? = nil
        var running = false
        var timerDue = false
        var stopRequested = false
        /// After `shutdown()`: finished spans are dropped and counted.
        var stopped = false
        var finished = 0
        var droppedQueueFull = 0
        var droppedAfterShutdown = 0
    }

    private struct EncoderState {
        /// Encoded spans of the open datagram, and its span count.
        var body: ByteWriter
        var bodySpans = 0
        /// The span that did not fit moves here, then becomes the next body.
        var spill: ByteWriter
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var seqNo: Int64 = 0
        var datagramsSent = 0
        var spansReported = 0
        var droppedTooLarge = 0
        var failedSpans = 0
    }

    let maxQueuedSpans: Int
    /// Queued spans that wake the flush loop (about a datagram's worth).
    let wakeCount: Int
    /// Bytes of spans per datagram (the rest is envelope).
    let bodyBudget: Int
    private let maxDatagramBytes: Int
    private let prefix: [UInt8]
    private let socket: UDPAgentSocket
    private let queue = Mutex(QueueState())
    private let encoder: Mutex<EncoderState>
    private let started = Atomic<Int>(0)

    init(socket: UDPAgentSocket, serviceName: String, processTags: [(String, String)],
         maxQueuedSpans: Int, maxDatagramBytes: Int) {
        self.socket = socket
        self.prefix = JaegerBatchEncoder.batchPrefix(serviceName: serviceName, tags: processTags)
        self.maxQueuedSpans = max(1, maxQueuedSpans)
        self.maxDatagramBytes = maxDatagramBytes
        self.bodyBudget = maxDatagramBytes - prefix.count - JaegerBatchEncoder.envelopeBytesBound
        self.wakeCount = max(1, min(256, self.maxQueuedSpans / 4))
        let capacity = maxDatagramBytes + 4096
        var state = EncoderState(body: ByteWriter(capacity: capacity), spill: ByteWriter(capacity: capacity))
        state.head.reserveCapacity(prefix.count + 32)
        state.tail.reserveCapacity(64)
        encoder = Mutex(state)
    }

    deinit {
        encoder.withLock { e in
            e.body.deallocate()
            e.spill.deallocate()
        }
    }

    // MARK: span side

    @inline(__always)
    func spanStarted() {
        started.wrappingAdd(1, ordering: .relaxed)
    }

    func enqueue(_ span: FinishedSpan) {
        let waiter = queue.withLock { q -> CheckedContinuation<FlushWake, Never>? in
            q.finished += 1
            if q.stopped {
                q.droppedAfterShutdown += 1
                return nil
            }
            guard q.spans.count < maxQueuedSpans else {
                q.droppedQueueFull += 1
                return nil
            }
            q.spans.append(span)
            guard q.spans.count >= wakeCount, let waiter = q.waiter else { return nil }
            q.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .batchReady)
    }

    // MARK: flush loop side

    func beginRunning() throws(JaegerTracerError) {
        let wasRunning = queue.withLock { q -> Bool in
            defer { q.running = true }
            return q.running
        }
        if wasRunning { throw .alreadyRunning }
    }

    func endRunning() {
        queue.withLock { $0.running = false }
    }

    func waitForWork() async -> FlushWake {
        await withCheckedContinuation { (continuation: CheckedContinuation<FlushWake, Never>) in
            let now = queue.withLock { q -> FlushWake? in
                if q.stopRequested { return .stop }
                if q.timerDue {
                    q.timerDue = false
                    return .timer
                }
                if q.spans.count >= wakeCount { return .batchReady }
                q.waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func timerFired() {
        wake(.timer)
    }

    func requestStop() {
        wake(.stop)
    }

    private func wake(_ reason: FlushWake) {
        let waiter = queue.withLock { q -> CheckedContinuation<FlushWake, Never>? in
            if reason == .stop { q.stopRequested = true }
            if let waiter = q.waiter {
                q.waiter = nil
                return waiter
            }
            if reason == .timer { q.timerDue = true }
            return nil
        }
        waiter?.resume(returning: reason)
    }

    /// Stops accepting spans (later ones are counted as dropped after shutdown).
    func stopAccepting() {
        queue.withLock { $0.stopped = true }
    }

    // MARK: encoding and sending

    /// Encodes every queued span into datagrams of at most `maxDatagramBytes`
    /// and sends the full ones; `sendPartial` also sends the last, partly
    /// filled one (periodic flush, `flush()`, shutdown), otherwise it stays
    /// open for the next spans.
    func flush(sendPartial: Bool) {
        var spans = queue.withLock { q -> [FinishedSpan] in
            var taken = q.spare
            swap(&taken, &q.spans)
            q.spare = []
            return taken
        }
        encoder.withLock { e in
            for span in spans {
                let mark = e.body.count
                JaegerBatchEncoder.writeSpan(span, into: &e.body)
                let size = e.body.count - mark
                if size > bodyBudget {
                    // Too large even alone: jaeger-client-go drops it and counts it.
                    e.body.truncate(to: mark)
                    e.body.shrink(to: maxDatagramBytes + 4096)
                    e.droppedTooLarge += 1
                    continue
                }
                if e.body.count > bodyBudget {
                    // The open datagram is full without this span: send it, start the next with the span.
                    e.spill.truncate(to: 0)
                    e.spill.append(UnsafeBufferPointer(rebasing: e.body.buffer[mark...]))
                    e.body.truncate(to: mark)
                    send(&e)
                    swap(&e.body, &e.spill)
                }
                e.bodySpans += 1
            }
            if sendPartial && e.bodySpans > 0 { send(&e) }
        }
        spans.removeAll(keepingCapacity: true)
        queue.withLock { q in
            if q.spare.capacity < spans.capacity { q.spare = spans }
        }
    }

    private func send(_ e: inout EncoderState) {
        guard e.bodySpans > 0 else { return }
        let fullQueue = queue.withLock { $0.droppedQueueFull }
        e.seqNo &+= 1
        e.head.removeAll(keepingCapacity: true)
        JaegerBatchEncoder.messageHeader(seqID: Int32(truncatingIfNeeded: e.seqNo), into: &e.head)
        e.head.append(contentsOf: prefix)
        JaegerBatchEncoder.listHeader(count: e.bodySpans, element: JaegerBatchEncoder.typeStruct, into: &e.head)
        e.tail.removeAll(keepingCapacity: true)
        JaegerBatchEncoder.batchSuffix(seqNo: e.seqNo, fullQueueDropped: Int64(fullQueue),
                                       tooLargeDropped: Int64(e.droppedTooLarge), failedToEmit: Int64(e.failedSpans),
                                       into: &e.tail)
        if socket.send(e.head, e.body.buffer, e.tail) {
            e.datagramsSent += 1
            e.spansReported += e.bodySpans
        } else {
            e.failedSpans += e.bodySpans
        }
        e.body.truncate(to: 0)
        e.bodySpans = 0
    }

    var statistics: JaegerTracerStatistics {
        var s = JaegerTracerStatistics()
        s.spansStarted = started.load(ordering: .relaxed)
        queue.withLock { q in
            s.spansFinished = q.finished
            s.droppedQueueFull = q.droppedQueueFull
            s.droppedAfterShutdown = q.droppedAfterShutdown
        }
        encoder.withLock { e in
            s.spansReported = e.spansReported
            s.datagramsSent = e.datagramsSent
            s.droppedTooLarge = e.droppedTooLarge
            s.sendFailures = e.failedSpans
        }
        return s
    }
}
