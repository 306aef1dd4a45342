import Dispatch
import Synchronization

/// A batch of spans on its way to the store: as decoded, or packed where
/// it was decoded (`PackedSpans`), which is cheaper for the store to take
/// and smaller while it waits.
public enum SpanBatch: Sendable {
    case spans([Span])
    case packed(PackedSpans)

    public var count: Int {
        switch self {
        case .spans(let spans): spans.count
        case .packed(let packed): packed.count
        }
    }
}

extension TraceStore {
    public mutating func add(_ batch: SpanBatch) {
        switch batch {
        case .spans(let spans): add(contentsOf: spans)
        case .packed(let packed): add(packed)
        }
    }
}

/// Hands spans from the listeners' threads to the one task that owns the
/// store. `push` is O(1) in the batch under a short lock and never waits for
/// the consumer; past `capacity` spans or `byteCapacity` bytes waiting, or
/// while a memory limit refuses (`setRefusing`), batches are refused and
/// counted.
public final class SpanQueue: Sendable {
    struct State {
        var batches: [SpanBatch] = []
        var waiting = 0
        var waitingBytes = 0
        var pushed = 0
        var dropped = 0
        var droppedForMemory = 0
        var refusing = false
        var closedForWaiting = false
        var droppedAfterClose = 0
    }

    public enum PushOutcome: Sendable {
        case pushed
        /// Past `capacity` or `byteCapacity`: not taken, not counted.
        case full
        /// Memory is short (`setRefusing`), or the consumer is gone
        /// (`closeForWaiting`): dropped and counted.
        case refused
    }

    public let capacity: Int
    /// Bytes of spans waiting at most (`Span.approximateBytes`).
    public let byteCapacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 2_000_000, byteCapacity: Int = .max) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
    }

    /// False when the batch was dropped: the queue was full, or memory is short.
    @discardableResult
    public func push(_ spans: [Span]) -> Bool {
        // Sized outside the lock; only when bytes are bounded.
        push(spans, bytes: byteCapacity == .max ? 0 : spans.reduce(0) { $0 + $1.approximateBytes })
    }

    /// `push` with the spans' `approximateBytes` already summed.
    @discardableResult
    public func push(_ spans: [Span], bytes: Int) -> Bool { push(.spans(spans), bytes: bytes) }

    /// `push` of a batch whose bytes (as it waits) are `bytes`.
    @discardableResult
    public func push(_ spans: SpanBatch, bytes: Int) -> Bool {
        guard spans.count > 0 else { return true }
        return state.withLock { s in
            if s.closedForWaiting {
                // The consumer is gone: nothing pushed now would be taken.
                s.dropped += spans.count
                s.droppedAfterClose += spans.count
                return false
            }
            if s.refusing || s.waitingBytes + bytes > byteCapacity {
                s.dropped += spans.count
                s.droppedForMemory += spans.count
                return false
            }
            guard s.waiting + spans.count <= capacity else {
                s.dropped += spans.count
                return false
            }
            s.batches.append(spans)
            s.waiting += spans.count
            s.waitingBytes += bytes
            s.pushed += spans.count
            return true
        }
    }

    /// `push` for a producer that may wait for room: a full queue leaves the
    /// batch with the caller (uncounted) to try again; only refusing drops it.
    public func tryPush(_ spans: [Span], bytes: Int) -> PushOutcome { tryPush(.spans(spans), bytes: bytes) }

    public func tryPush(_ spans: SpanBatch, bytes: Int) -> PushOutcome {
        guard spans.count > 0 else { return .pushed }
        return state.withLock { s in
            if s.closedForWaiting {
                s.dropped += spans.count
                s.droppedAfterClose += spans.count
                return .refused
            }
            if s.refusing {
                s.dropped += spans.count
                s.droppedForMemory += spans.count
                return .refused
            }
            if s.waitingBytes + bytes > byteCapacity || s.waiting + spans.count > capacity { return .full }
            s.batches.append(spans)
            s.waiting += spans.count
            s.waitingBytes += bytes
            s.pushed += spans.count
            return .pushed
        }
    }

    /// `push` that waits (polling every millisecond, up to `maxWait`) while
    /// the queue is only full, for a producer whose backlog is better kept
    /// where it is (a UDP decode thread: its datagrams are denser than
    /// spans). Gives up, dropping and counting, once `closeForWaiting` was
    /// called, at the deadline, or at once for a batch that could never fit.
    /// Returns whether the batch was taken.
    @discardableResult
    public func pushWaiting(_ spans: [Span], bytes: Int, maxWait: Duration) -> Bool {
        pushWaiting(.spans(spans), bytes: bytes, maxWait: maxWait)
    }

    @discardableResult
    public func pushWaiting(_ spans: SpanBatch, bytes: Int, maxWait: Duration) -> Bool {
        guard bytes <= byteCapacity, spans.count <= capacity else { return push(spans, bytes: bytes) }
        let deadline = ContinuousClock.now + maxWait
        let pause = DispatchSemaphore(value: 0)  // never signalled: a 1 ms sleep
        while true {
            switch tryPush(spans, bytes: bytes) {
            case .pushed: return true
            case .refused: return false
            case .full:
                if isClosedForWaiting || ContinuousClock.now >= deadline { return push(spans, bytes: bytes) }
                _ = pause.wait(timeout: .now() + .milliseconds(1))
            }
        }
    }

    /// The consumer is gone for good: producers that wait for room stop waiting.
    public func closeForWaiting() {
        state.withLock { $0.closedForWaiting = true }
    }

    public var isClosedForWaiting: Bool { state.withLock { $0.closedForWaiting } }

    /// Everything waiting, oldest first.
    public func drain() -> [SpanBatch] {
        state.withLock { s in
            defer {
                s.batches = []
                s.waiting = 0
                s.waitingBytes = 0
            }
            return s.batches
        }
    }

    /// While set, every batch is refused and counted (a process over its memory limit).
    public func setRefusing(_ refusing: Bool) {
        state.withLock { $0.refusing = refusing }
    }

    /// Spans accepted into the queue so far, and spans refused: in all, and
    /// of those, for memory (bytes waiting past `byteCapacity`, or refusing).
    public var totals: (pushed: Int, dropped: Int) {
        state.withLock { ($0.pushed, $0.dropped) }
    }

    public var droppedForMemory: Int { state.withLock { $0.droppedForMemory } }

    /// Spans handed over after `closeForWaiting` (the consumer was gone): in `totals.dropped` too.
    public var droppedAfterClose: Int { state.withLock { $0.droppedAfterClose } }
}
