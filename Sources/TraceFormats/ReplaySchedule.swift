import TraceModel

/// Plays spans in the order a tracer would have sent them: a span is due when
/// it *ended* (start + duration), because that is when an SDK exports it.
///
/// Pure: there is no clock inside. The driver passes a monotonic nanosecond
/// reading ("wall" time, e.g. `ContinuousClock` or `CLOCK_MONOTONIC`) to every
/// call that depends on time, so tests can drive it with a fake clock and the
/// UI loop decides when to ask. The replay clock (Unix nanoseconds of the
/// dump's time) is `anchorReplay + (wall - anchorWall) × speed`; the anchor
/// pair is reset on every speed change, pause, resume, step and jump, so the
/// replay clock stays continuous across them (no jump when x1 becomes x10).
///
/// Streaming: a loader `add`s spans while playback runs (a big dump starts
/// playing before it is read). Spans loaded but not yet played wait in a
/// min-heap by end time; a late-loaded span whose end is already behind the
/// replay clock is released by the next `due` at once (it cannot be sent "in
/// the past"). Played spans are not kept.
///
/// Memory is bounded by what the loader adds ahead of the replay clock: the
/// heap holds only loaded-but-unplayed spans. A loader should read another
/// batch only while `wantsMoreSpans` (heap below `pendingHighWater`), which
/// bounds the heap to `pendingHighWater` plus one batch. A dump that is far
/// out of end-time order then sees its stragglers released late (at once when
/// loaded) rather than memory growing without bound.
///
/// Loop: played spans are not retained (that is what keeps memory bounded), so
/// the schedule cannot replay them on its own. When `status.finished` and the
/// driver wants to loop, it calls `startOver()` and has the loader read the
/// dump again. Each loop replays the same timestamps (no offset is added);
/// a sender with fresh ids per loop (`ReplaySender` `newIDs` re-keyed per
/// loop) keeps the receiver from seeing duplicates.
public struct ReplaySchedule: Sendable {
    /// Where playback begins.
    public enum Start: Sendable, Equatable {
        /// This far after the earliest span end loaded when playback starts
        /// (the first `due`/`step`/`jump` with spans loaded). Spans ending
        /// before that point are skipped, not sent.
        case offset(nanos: UInt64)
        /// At an absolute Unix time in nanoseconds (spans ending before are skipped).
        case unixNanos(UInt64)

        /// From the first span: nothing is skipped (a span loaded late that
        /// ends before the first is played at once).
        case beginning
    }

    public static let minimumSpeed = 0.1
    public static let maximumSpeed = 1000.0
    /// `setSpeed(unlimited)`: every loaded span is due at once, in end order.
    public static let unlimited = Double.infinity

    /// What the status bar shows.
    public struct Status: Sendable, Equatable {
        /// The replay clock in Unix nanoseconds of the dump's time; nil before playback starts.
        public var replayClockUnixNano: UInt64?
        /// Spans released by `due`/`step` in this loop.
        public var played: Int
        /// Spans dropped because they end before the `Start` point.
        public var skipped: Int
        /// Spans added in this loop (played + skipped + pending).
        public var loaded: Int
        /// Loaded and waiting.
        public var pending: Int
        /// `finishLoading()` was called: `loaded` is the whole dump.
        public var loadingFinished: Bool
        /// (played + skipped) / loaded × 100; of what is loaded so far while loading.
        public var percent: Double
        /// The speed factor (`.infinity` when unlimited).
        public var speed: Double
        public var paused: Bool
        /// Completed `startOver()` calls.
        public var loops: Int
        /// Loading finished and every span played or skipped.
        public var finished: Bool
    }

    private struct Entry {
        var end: UInt64
        /// Load order: equal ends come out in the order they were loaded.
        var sequence: UInt64
        var span: Span

        func precedes(_ other: Entry) -> Bool {
            end != other.end ? end < other.end : sequence < other.sequence
        }
    }

    public let start: Start
    /// `wantsMoreSpans` turns false at this many pending spans.
    public let pendingHighWater: Int

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0
    private var started = false
    private var startReplay: UInt64 = 0
    private var anchorWall: UInt64 = 0
    private var anchorReplay: UInt64 = 0
    /// Speed in thousandths (x0.1 = 100, x1000 = 1,000,000): integer clock
    /// arithmetic, so equal inputs give equal replay clocks (testable, no drift).
    private var speedPermille: UInt64
    private var isUnlimited: Bool
    private var isPaused: Bool
    private var played = 0
    private var skipped = 0
    private var loaded = 0
    private var loadingFinished = false
    private var loops = 0

    public init(speed: Double = 1, start: Start = .beginning, paused: Bool = false, pendingHighWater: Int = 1_000_000) {
        self.start = start
        self.pendingHighWater = max(1, pendingHighWater)
        (speedPermille, isUnlimited) = Self.permille(speed)
        isPaused = paused
    }

    private static func permille(_ speed: Double) -> (UInt64, Bool) {
        if speed.isNaN { return (1000, false) }
        if speed == .infinity { return (UInt64(maximumSpeed * 1000), true) }
        let clamped = min(max(speed, minimumSpeed), maximumSpeed)
        return (UInt64((clamped * 1000).rounded()), false)
    }

    // MARK: loading

    /// Queues spans to play. Spans ending before an already fixed start point
    /// are counted as skipped and dropped.
    public mutating func add(_ spans: [Span]) {
        loaded += spans.count
        heap.reserveCapacity(heap.count + spans.count)
        for span in spans {
            let end = span.endTimeUnixNano
            // From the beginning nothing is skipped: a late span is released at once.
            if started && end < startReplay && start != .beginning {
                skipped += 1
                continue
            }
            push(Entry(end: end, sequence: nextSequence, span: span))
            nextSequence &+= 1
        }
    }

    /// The loader reached the end of the dump: `loaded` is final and the
    /// schedule can finish.
    public mutating func finishLoading() { loadingFinished = true }

    /// True while the heap is below `pendingHighWater`: the loader should read
    /// the next batch only then (bounded memory).
    public var wantsMoreSpans: Bool { heap.count < pendingHighWater }

    /// For looping: forget the counters and the clock (keeping speed and
    /// pause) so the loader can add the dump again from the start. Spans
    /// still pending are dropped.
    public mutating func startOver() {
        heap.removeAll(keepingCapacity: true)
        started = false
        played = 0
        skipped = 0
        loaded = 0
        loadingFinished = false
        loops += 1
    }

    // MARK: playing

    /// Spans due at `wall`, in end order, at most `limit` (the rest stay due
    /// for the next call: a driver can bound one send). Starts playback on the
    /// first call with spans loaded; returns nothing while paused.
    public mutating func due(atWallNanos wall: UInt64, limit: Int = Int.max) -> [Span] {
        guard startIfNeeded(wall), !isPaused else { return [] }
        var out: [Span] = []
        if isUnlimited {
            while out.count < limit, let entry = pop() {
                anchorReplay = max(anchorReplay, entry.end)
                out.append(entry.span)
            }
            anchorWall = wall
        } else {
            let now = replayClock(wall)
            while out.count < limit, let top = heap.first, top.end <= now, let entry = pop() {
                out.append(entry.span)
            }
        }
        played += out.count
        return out
    }

    /// The wall time at which the next pending span becomes due (now if it
    /// already is); nil while paused, before start with nothing loaded, or
    /// with nothing pending. Lets the driver sleep exactly that long.
    public func nextDueWallNanos(atWallNanos wall: UInt64) -> UInt64? {
        guard !isPaused, let top = heap.first else { return nil }
        if isUnlimited { return wall }
        let now = started ? replayClock(wall) : max(startPoint(), top.end)
        guard top.end > now else { return wall }
        let replayGap = top.end - now
        // wall gap = replay gap × 1000 / permille, rounded up so the span is due by then.
        let (high, low) = replayGap.multipliedFullWidth(by: 1000)
        guard high < speedPermille else { return UInt64.max }
        let (q, r) = speedPermille.dividingFullWidth((high, low))
        let gap = q &+ (r > 0 ? 1 : 0)
        let (sum, overflow) = wall.addingReportingOverflow(gap)
        return overflow ? UInt64.max : sum
    }

    /// Changes the speed (clamped to x0.1...x1000, or `unlimited`) keeping the
    /// replay clock continuous: it is re-anchored at `wall` first.
    public mutating func setSpeed(_ speed: Double, atWallNanos wall: UInt64) {
        reanchor(wall)
        (speedPermille, isUnlimited) = Self.permille(speed)
    }

    /// Holds the replay clock where it is at `wall`.
    public mutating func pause(atWallNanos wall: UInt64) {
        reanchor(wall)
        isPaused = true
    }

    /// Lets the replay clock run again from where it was held.
    public mutating func resume(atWallNanos wall: UInt64) {
        guard isPaused else { return }
        anchorWall = wall
        isPaused = false
    }

    /// Pauses (as a player's frame step does), releases exactly the next span
    /// and moves the replay clock to its end (never backwards). nil when
    /// nothing is pending.
    public mutating func step(atWallNanos wall: UInt64) -> Span? {
        pause(atWallNanos: wall)
        guard startIfNeeded(wall), let entry = pop() else { return nil }
        anchorReplay = max(anchorReplay, entry.end)
        played += 1
        return entry.span
    }

    /// Moves the replay clock forward: spans ending in the jumped-over stretch
    /// become due at once (they are sent, not skipped, so traces stay whole).
    /// Only forward: played spans are not kept, so there is nothing to rewind to.
    public mutating func jump(byNanos nanos: UInt64, atWallNanos wall: UInt64) {
        guard startIfNeeded(wall) else { return }
        reanchor(wall)
        let (sum, overflow) = anchorReplay.addingReportingOverflow(nanos)
        anchorReplay = overflow ? UInt64.max : sum
    }

    public func status(atWallNanos wall: UInt64) -> Status {
        let done = played + skipped
        return Status(
            replayClockUnixNano: started ? replayClock(wall) : nil,
            played: played, skipped: skipped, loaded: loaded, pending: heap.count,
            loadingFinished: loadingFinished,
            percent: loaded == 0 ? 0 : Double(done) * 100 / Double(loaded),
            speed: isUnlimited ? Self.unlimited : Double(speedPermille) / 1000,
            paused: isPaused, loops: loops,
            finished: loadingFinished && heap.isEmpty)
    }

    // MARK: clock

    private func replayClock(_ wall: UInt64) -> UInt64 {
        if isPaused || isUnlimited { return anchorReplay }
        let elapsed = wall > anchorWall ? wall - anchorWall : 0
        let (high, low) = elapsed.multipliedFullWidth(by: speedPermille)
        guard high < 1000 else { return UInt64.max }
        let advance = UInt64(1000).dividingFullWidth((high, low)).quotient
        let (sum, overflow) = anchorReplay.addingReportingOverflow(advance)
        return overflow ? UInt64.max : sum
    }

    private mutating func reanchor(_ wall: UInt64) {
        if started { anchorReplay = replayClock(wall) }
        anchorWall = wall
    }

    private func startPoint() -> UInt64 {
        switch start {
        case .beginning: return heap.first?.end ?? 0
        case .offset(let nanos):
            let first = heap.first?.end ?? 0
            let (sum, overflow) = first.addingReportingOverflow(nanos)
            return overflow ? UInt64.max : sum
        case .unixNanos(let t): return t
        }
    }

    /// Fixes the start point and anchors the clock at `wall`, skipping what
    /// ends before the start. False when nothing was loaded yet.
    private mutating func startIfNeeded(_ wall: UInt64) -> Bool {
        if started { return true }
        guard !heap.isEmpty else { return false }
        startReplay = startPoint()
        anchorReplay = startReplay
        anchorWall = wall
        started = true
        while start != .beginning, let top = heap.first, top.end < startReplay {
            _ = pop()
            skipped += 1
        }
        return true
    }

    // MARK: heap

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func pop() -> Entry? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            let right = left + 1
            var smallest = left
            if right < count && heap[right].precedes(heap[left]) { smallest = right }
            guard heap[smallest].precedes(heap[parent]) else { break }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
        return first
    }
}
