import Synchronization

/// Hands spans from the listeners' threads to the one task that owns the
/// store. `push` is O(1) under a short lock and never waits for the consumer;
/// past `capacity` spans waiting, batches are refused and counted.
public final class SpanQueue: Sendable {
    struct State {
        var batches: [[Span]] = []
        var waiting = 0
        var pushed = 0
        var dropped = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 2_000_000) {
        self.capacity = max(1, capacity)
    }

    /// False when the batch was dropped because the queue was full.
    @discardableResult
    public func push(_ spans: [Span]) -> Bool {
        guard !spans.isEmpty else { return true }
        return state.withLock { s in
            guard s.waiting + spans.count <= capacity else {
                s.dropped += spans.count
                return false
            }
            s.batches.append(spans)
            s.waiting += spans.count
            s.pushed += spans.count
            return true
        }
    }

    /// Everything waiting, oldest first.
    public func drain() -> [[Span]] {
        state.withLock { s in
            defer {
                s.batches = []
                s.waiting = 0
            }
            return s.batches
        }
    }

    /// Spans accepted into the queue so far, and spans refused because it was full.
    public var totals: (pushed: Int, dropped: Int) {
        state.withLock { ($0.pushed, $0.dropped) }
    }
}
