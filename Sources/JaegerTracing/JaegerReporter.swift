import Dispatch
import Foundation
import Synchronization
import Tracing

/// The bounded queue between `span.end()` and the wire, and the encoder
/// that fills datagrams from it, like jaeger-client-go's remote reporter
/// and UDP transport. Two locks: `queue` is the only one `end()` takes
/// (one append of the span's reference); `encoder` serializes flushes and
/// owns the datagram buffers.
///
/// While `run()` runs, a thread of its own (not a task of the concurrency
/// pool, which callers may keep busy) encodes and sends: it sleeps until a
/// datagram's worth of spans is queued or the flush interval passes, so it
/// keeps ahead of callers ending spans flat out instead of letting the queue
/// fill between intervals. While each wake finds a datagram's worth, it
/// polls rather than have callers wake it.
///
/// If the queue is full while that thread runs, it has fallen behind for a
/// moment (descheduled on a busy machine: the queue is about 10 ms of a
/// caller ending spans flat out), so the ending caller sends the oldest
/// datagram's worth itself, on an encoder of its own, instead of dropping.
/// Only one caller at a time does: when another already is, callers
/// outrun both encoders (real overload) and the span is dropped and counted.
final class JaegerReporter: Sendable {
    private struct QueueState {
        var spans: [JaegerSpan] = []
        /// An emptied buffer handed back by the flush path, reused to avoid regrowing.
        var spare: [JaegerSpan] = []
        /// Encoded spans whose last references the next `end()` drops, so
        /// that their memory is freed by the thread that allocated it: glibc's
        /// malloc makes a thread freeing another's memory take that thread's
        /// arena lock, which the allocating caller then waits for. The whole
        /// batch at once: freeing two per `end()` instead cost the caller
        /// twice as much (perf: 18% of its time against 9%).
        var encoded: [JaegerSpan] = []
        /// Encoded spans nobody else held, cleared for `startSpan` to reuse
        /// (at most `maxReusableSpans`): no allocation or free of the span
        /// object and its attribute table per span.
        var reusable: [JaegerSpan] = []
        /// Spans reused by `startSpan` (tests).
        var reused = 0

        /// Cleared spans the pool still has room for (none once stopped).
        var reuseRoom: Int { stopped ? 0 : JaegerReporter.maxReusableSpans - reusable.count }

        /// Keeps cleared spans for `startSpan`, as many as there is room for.
        mutating func keepForReuse(_ spans: [JaegerSpan]) {
            reusable.append(contentsOf: spans.prefix(reuseRoom))
        }
        /// Queued spans that wake the reporter thread: about a datagram's worth,
        /// as measured on the spans encoded so far.
        var wakeCount: Int
        /// The reporter thread is (about to be) waiting on `wakeup`.
        var reporterSleeping = false
        /// Times `end()` signalled `wakeup` (tests).
        var wakeupsSignalled = 0
        var reporterThreadRunning = false
        var running = false
        var stopRequested = false
        /// After `shutdown()`: finished spans are dropped and counted.
        var stopped = false
        var finished = 0
        var droppedQueueFull = 0
        var droppedAfterShutdown = 0
        /// Datagrams' worth of spans that callers sent themselves (see the type's comment).
        var callerSends = 0
    }

    private struct EncoderState {
        /// Encoded spans of the open datagram, and its span count.
        var body: ByteWriter
        var bodySpans = 0
        /// The span that did not fit moves here, then becomes the next body.
        var spill: ByteWriter
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var datagramsSent = 0
        var spansReported = 0

        mutating func deallocate() {
            body.deallocate()
            spill.deallocate()
        }
    }

    let maxQueuedSpans: Int
    /// See `defaultPollInterval`.
    let pollInterval: Duration
    /// Bytes of spans per datagram (the rest is envelope).
    let bodyBudget: Int
    private let maxDatagramBytes: Int
    private let prefix: [UInt8]
    private let socket: UDPAgentSocket
    private let queue: Mutex<QueueState>
    /// The reporter thread's and `flush()`'s.
    private let encoder: Mutex<EncoderState>
    /// A caller's, when the queue is full (see the type's comment).
    private let callerEncoder: Mutex<EncoderState>
    /// Batches' `seqNo`, and spans dropped as too large or failed to send, across both encoders.
    private let seqNo = Atomic<Int64>(0)
    private let droppedTooLarge = Atomic<Int>(0)
    private let failedSpans = Atomic<Int>(0)
    private let started = Atomic<Int>(0)
    /// Signalled (once per sleep) to wake the reporter thread.
    private let wakeup = DispatchSemaphore(value: 0)

    init(socket: UDPAgentSocket, serviceName: String, processTags: [(String, String)],
         maxQueuedSpans: Int, maxDatagramBytes: Int, pollInterval: Duration = JaegerReporter.defaultPollInterval) {
        self.socket = socket
        self.pollInterval = pollInterval
        self.prefix = JaegerBatchEncoder.batchPrefix(serviceName: serviceName, tags: processTags)
        self.maxQueuedSpans = max(1, maxQueuedSpans)
        self.maxDatagramBytes = maxDatagramBytes
        self.bodyBudget = maxDatagramBytes - prefix.count - JaegerBatchEncoder.envelopeBytesBound
        queue = Mutex(QueueState(wakeCount: Self.wakeCount(spansPerDatagram: 256, maxQueuedSpans: max(1, maxQueuedSpans))))
        let (capacity, headBytes) = (maxDatagramBytes + 4096, prefix.count + 32)
        func encoderState() -> EncoderState {
            var state = EncoderState(body: ByteWriter(capacity: capacity), spill: ByteWriter(capacity: capacity))
            state.head.reserveCapacity(headBytes)
            state.tail.reserveCapacity(64)
            return state
        }
        encoder = Mutex(encoderState())
        callerEncoder = Mutex(encoderState())
    }

    deinit {
        encoder.withLock { $0.deallocate() }
        callerEncoder.withLock { $0.deallocate() }
    }

    /// A datagram's worth, but at most a quarter of the queue: a small queue
    /// needs its reporter early.
    static func wakeCount(spansPerDatagram: Int, maxQueuedSpans: Int) -> Int {
        max(1, min(spansPerDatagram, maxQueuedSpans / 4))
    }

    /// The current wake threshold (tests).
    var wakeCount: Int { queue.withLock { $0.wakeCount } }

    /// `run()`'s thread has started (tests).
    var reporterThreadRunning: Bool { queue.withLock { $0.reporterThreadRunning } }

    /// Times `end()` woke the reporter thread (tests).
    var wakeupsSignalled: Int { queue.withLock { $0.wakeupsSignalled } }

    // MARK: span side

    /// Cleared spans kept for reuse: about a datagram's worth a few times
    /// over (a span and its table are about 800 bytes).
    static let maxReusableSpans = 1_024

    /// A cleared span to start again, if one is waiting.
    @inline(__always)
    func reusableSpan() -> JaegerSpan? {
        queue.withLock { q in
            guard let span = q.reusable.popLast() else { return nil }
            q.reused += 1
            return span
        }
    }

    /// Spans `startSpan` reused (tests).
    var spansReused: Int { queue.withLock { $0.reused } }

    @inline(__always)
    func spanStarted() {
        started.wrappingAdd(1, ordering: .relaxed)
    }

    private enum Enqueued { case queued, wake, full, callerSends }

    func enqueue(_ span: JaegerSpan) {
        var encoded: [JaegerSpan] = []
        var outcome = queue.withLock { q -> Enqueued in
            q.finished += 1
            if !q.encoded.isEmpty { swap(&encoded, &q.encoded) }
            return Self.append(span, to: &q, limit: maxQueuedSpans)
        }
        if outcome == .callerSends {
            // The reporter thread runs but fell behind: send the oldest
            // datagram's worth here, unless another caller already is.
            var oldest: [JaegerSpan] = []
            let reusable = callerEncoder.withLockIfAvailable { e -> [JaegerSpan] in
                let reuseRoom = queue.withLock { q -> Int in
                    oldest = Array(q.spans.prefix(q.wakeCount))
                    q.spans.removeFirst(oldest.count)
                    q.callerSends += 1
                    return q.reuseRoom
                }
                return encode(&oldest, into: &e, sendPartial: true, reuseRoom: reuseRoom).reusable
            }
            outcome = queue.withLock { q -> Enqueued in
                guard let reusable else {
                    q.droppedQueueFull += 1
                    return .full
                }
                q.keepForReuse(reusable)
                let again = Self.append(span, to: &q, limit: maxQueuedSpans)
                if again == .callerSends { q.droppedQueueFull += 1 }  // refilled by other callers meanwhile
                return again
            }
        }
        if outcome == .wake { wakeup.signal() }
        // Frees the batch the reporter encoded last (outside the lock).
        if !encoded.isEmpty { encoded.removeAll(keepingCapacity: true); recycle(encoded) }
    }

    /// Queues an ended span, or says why not: a full queue is the caller's
    /// to send (`.callerSends`) while the reporter thread runs, else a drop
    /// (counted here).
    private static func append(_ span: JaegerSpan, to q: inout QueueState, limit: Int) -> Enqueued {
        if q.stopped {
            q.droppedAfterShutdown += 1
            return .full
        }
        guard q.spans.count < limit else {
            if q.reporterThreadRunning && !q.stopRequested { return .callerSends }
            q.droppedQueueFull += 1
            return .full
        }
        q.spans.append(span)
        guard q.reporterSleeping, q.spans.count >= q.wakeCount else { return .queued }
        q.reporterSleeping = false
        q.wakeupsSignalled += 1
        return .wake
    }

    /// Runs `body` while the reporter's encoder (and with `callers`, the
    /// callers' too) is taken, as by a reporter thread descheduled mid-flush (tests).
    func whileEncodersAreHeld<T>(callers: Bool, _ body: () -> T) -> T {
        encoder.withLock { _ in callers ? callerEncoder.withLock { _ in body() } : body() }
    }

    /// Hands an emptied array back as the queue's next buffer.
    private func recycle(_ emptied: [JaegerSpan]) {
        queue.withLock { q in
            if q.spare.capacity < emptied.capacity { q.spare = emptied }
        }
    }

    // MARK: reporter thread

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

    /// Runs the reporter loop on a new thread until `requestStop()`.
    func runReporterThread(flushInterval: Duration) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                queue.withLock { $0.reporterThreadRunning = true }
                reporterLoop(flushInterval: flushInterval)
                queue.withLock { $0.reporterThreadRunning = false }
                done.resume()
            }
            thread.name = "jaeger-reporter"
            thread.start()
        }
    }

    private enum Work { case batch, interval, poll, sleep, stop }

    /// How long the reporter sleeps, unasked, while spans arrive a datagram's
    /// worth at a time: waking it with the semaphore costs the caller a
    /// futex syscall and the other core's wakeup (6% of a span's time at
    /// full speed), a timed sleep costs the reporter's own core.
    static let defaultPollInterval: Duration = .milliseconds(1)

    private func reporterLoop(flushInterval: Duration) {
        let clock = ContinuousClock()
        var nextInterval = clock.now + flushInterval
        // The last wake found a datagram's worth (but at most half the queue):
        // callers are busy, so the next wait is a poll.
        var pollNext = false
        while true {
            let now = clock.now
            let work = queue.withLock { q -> Work in
                q.reporterSleeping = false
                if q.stopRequested { return .stop }
                if now >= nextInterval { return .interval }
                let queued = q.spans.count
                if queued >= q.wakeCount {
                    pollNext = queued <= maxQueuedSpans / 2
                    return .batch
                }
                if pollNext {
                    pollNext = false
                    return .poll
                }
                q.reporterSleeping = true
                return .sleep
            }
            switch work {
            case .stop: return
            case .interval:
                flush(sendPartial: true)
                nextInterval = clock.now + flushInterval
            case .batch:
                // Full datagrams only; the open one waits for more spans or the interval.
                flush(sendPartial: false)
            case .poll:
                sleep(on: wakeup, until: min(now + pollInterval, nextInterval), now: now)
            case .sleep:
                sleep(on: wakeup, until: nextInterval, now: now)
            }
        }
    }

    private func sleep(on semaphore: DispatchSemaphore, until deadline: ContinuousClock.Instant,
                       now: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (deadline - now).components
        let nanos = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
        _ = semaphore.wait(timeout: .now() + .nanoseconds(Int(clamping: min(nanos, UInt64(Int.max)))))
    }

    func requestStop() {
        let wake = queue.withLock { q -> Bool in
            q.stopRequested = true
            defer { q.reporterSleeping = false }
            return q.reporterSleeping
        }
        if wake { wakeup.signal() }
    }

    /// Stops accepting spans (later ones are counted as dropped after shutdown).
    func stopAccepting() {
        let waiting = queue.withLock { q -> [JaegerSpan] in
            q.stopped = true
            defer { q.reusable = [] }
            return q.reusable
        }
        _ = waiting  // freed here, outside the lock
    }

    /// The tracer is gone: lets go of every span this reporter holds. Each
    /// span holds its reporter, so spans kept here (queued, encoded, waiting
    /// for reuse) would otherwise keep it, and its socket, alive forever.
    func releaseSpans() {
        var held: ([JaegerSpan], [JaegerSpan], [JaegerSpan], [JaegerSpan]) = ([], [], [], [])
        queue.withLock { q in
            q.stopped = true
            held = (q.spans, q.encoded, q.reusable, q.spare)
            (q.spans, q.encoded, q.reusable, q.spare) = ([], [], [], [])
        }
        _ = held  // freed here, outside the lock
    }

    // MARK: encoding and sending

    /// Encodes every queued span into datagrams of at most `maxDatagramBytes`
    /// and sends the full ones; `sendPartial` also sends the last, partly
    /// filled one (periodic flush, `flush()`, shutdown), otherwise it stays
    /// open for the next spans.
    func flush(sendPartial: Bool) {
        var (spans, reuseRoom) = queue.withLock { q -> ([JaegerSpan], Int) in
            var taken = q.spare
            swap(&taken, &q.spans)
            q.spare = []
            return (taken, q.reuseRoom)
        }
        let count = spans.count
        let (encodedBytes, reusable) = encoder.withLock { e in
            encode(&spans, into: &e, sendPartial: sendPartial, reuseRoom: reuseRoom)
        }
        // The next end() frees the other spans (see `encoded`). A batch nobody
        // claimed since the last flush (no spans are ending), or any batch
        // after shutdown, is freed here.
        var unclaimed: [JaegerSpan] = []
        queue.withLock { q in
            swap(&unclaimed, &q.encoded)
            if !q.stopped {
                swap(&q.encoded, &spans)
                q.keepForReuse(reusable)
            }
            if count >= 16 {
                let perDatagram = bodyBudget / max(1, encodedBytes / count)
                q.wakeCount = Self.wakeCount(spansPerDatagram: perDatagram, maxQueuedSpans: maxQueuedSpans)
            }
        }
    }

    /// Encodes spans into the open datagram, sending each as it fills (see
    /// `flush`), and returns the bytes they took. Up to `reuseRoom` spans
    /// nobody else holds (the batch has their last reference) are cleared in
    /// the same visit and moved out of `spans`, for `startSpan` to reuse.
    private func encode(_ spans: inout [JaegerSpan], into e: inout EncoderState, sendPartial: Bool,
                        reuseRoom: Int) -> (bytes: Int, reusable: [JaegerSpan]) {
        var total = 0
        var reusable: [JaegerSpan] = []
        if reuseRoom > 0 { reusable.reserveCapacity(min(reuseRoom, spans.count)) }
        var kept = 0
        for index in spans.indices {
            let reuse = reusable.count < reuseRoom && isKnownUniquelyReferenced(&spans[index])
            let mark = e.body.count
            spans[index].encode(into: &e.body, thenClear: reuse)
            let size = e.body.count - mark
            total += size
            if size > bodyBudget {
                // Too large even alone: jaeger-client-go drops it and counts it.
                e.body.truncate(to: mark)
                e.body.shrink(to: maxDatagramBytes + 4096)
                droppedTooLarge.add(1, ordering: .relaxed)
            } else {
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
            if reuse {
                reusable.append(spans[index])
            } else {
                spans.swapAt(kept, index)
                kept += 1
            }
        }
        spans.removeLast(spans.count - kept)
        // A batch encoded after shutdown()'s final flush must not stay open.
        if (sendPartial || queue.withLock { $0.stopped }) && e.bodySpans > 0 { send(&e) }
        return (total, reusable)
    }

    private func send(_ e: inout EncoderState) {
        guard e.bodySpans > 0 else { return }
        let fullQueue = queue.withLock { $0.droppedQueueFull }
        let seqNo = seqNo.wrappingAdd(1, ordering: .relaxed).newValue
        e.head.removeAll(keepingCapacity: true)
        JaegerBatchEncoder.messageHeader(seqID: Int32(truncatingIfNeeded: seqNo), into: &e.head)
        e.head.append(contentsOf: prefix)
        JaegerBatchEncoder.listHeader(count: e.bodySpans, element: JaegerBatchEncoder.typeStruct, into: &e.head)
        e.tail.removeAll(keepingCapacity: true)
        JaegerBatchEncoder.batchSuffix(seqNo: seqNo, fullQueueDropped: Int64(fullQueue),
                                       tooLargeDropped: Int64(droppedTooLarge.load(ordering: .relaxed)),
                                       failedToEmit: Int64(failedSpans.load(ordering: .relaxed)), into: &e.tail)
        if socket.send(e.head, e.body.buffer, e.tail) {
            e.datagramsSent += 1
            e.spansReported += e.bodySpans
        } else {
            failedSpans.add(e.bodySpans, ordering: .relaxed)
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
            s.callerSends = q.callerSends
        }
        for (reported, datagrams) in [encoder.withLock { ($0.spansReported, $0.datagramsSent) },
                                      callerEncoder.withLock { ($0.spansReported, $0.datagramsSent) }] {
            s.spansReported += reported
            s.datagramsSent += datagrams
        }
        s.droppedTooLarge = droppedTooLarge.load(ordering: .relaxed)
        s.sendFailures = failedSpans.load(ordering: .relaxed)
        return s
    }
}
