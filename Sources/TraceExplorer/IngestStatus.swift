import TraceModel

/// What the loader or the listeners are doing, for the status bar.
public struct IngestStatus: Sendable, Hashable {
    public var sourceName: String = ""
    public var bytesRead: Int = 0
    public var totalBytes: Int? = nil
    public var spansRead: Int = 0
    public var bytesPerSecond: Double = 0
    public var loading = false
    public var malformed = 0
    /// The first problems, as `file:line: reason`, for the status line.
    public var firstIssue: String? = nil
    public var spansDropped = 0
    public var tracesEvicted = 0
    /// Of `tracesEvicted`, those evicted to stay under the memory limit.
    public var tracesEvictedForMemory = 0
    /// Spans refused because the process was at its memory limit.
    public var spansRefusedMemory = 0
    /// The process against its `--max-memory`, when it has one.
    public var memory: MemoryStatus? = nil
    /// Set when spans arrive from listeners rather than from files.
    public var live: LiveStatus? = nil
    /// Set when a dump is replayed at its own pace.
    public var replay: ReplayStatus? = nil

    public init() {}

    /// Differs in more than its running figures (rates, byte and span counts,
    /// the replay clock and position): what the screen must show at once.
    public func stateDiffers(from other: IngestStatus) -> Bool {
        sourceName != other.sourceName || loading != other.loading || malformed != other.malformed
            || firstIssue != other.firstIssue || spansDropped != other.spansDropped || tracesEvicted != other.tracesEvicted
            || tracesEvictedForMemory != other.tracesEvictedForMemory || spansRefusedMemory != other.spansRefusedMemory
            || memory?.refusing != other.memory?.refusing || memory?.isHigh != other.memory?.isHigh
            || (live == nil) != (other.live == nil) || live?.listeners != other.live?.listeners
            || live?.malformed != other.live?.malformed || live?.dropped != other.live?.dropped
            || live?.kernelDropped != other.live?.kernelDropped || live?.decodeQueueDropped != other.live?.decodeQueueDropped
            || live?.recordingTo != other.live?.recordingTo || live?.addresses != other.live?.addresses
            || live?.failedListeners != other.live?.failedListeners
            || (live?.spansReceived == 0) != (other.live?.spansReceived == 0)
            || (replay == nil) != (other.replay == nil) || replay?.paused != other.replay?.paused
            || replay?.finished != other.replay?.finished || replay?.speed != other.replay?.speed
            || replay?.loops != other.replay?.loops
    }
}

/// The process's resident size against its memory limit.
public struct MemoryStatus: Sendable, Hashable {
    public var residentBytes: Int
    public var limitBytes: Int
    /// At the hard limit: new spans are refused.
    public var refusing: Bool

    public init(residentBytes: Int, limitBytes: Int, refusing: Bool) {
        self.residentBytes = residentBytes
        self.limitBytes = limitBytes
        self.refusing = refusing
    }

    /// Past 85% of the limit (the store is giving up traces): worth showing.
    public var isHigh: Bool { residentBytes > limitBytes / 100 * 85 }
}

/// A replay's side of the status bar: its clock, position and speed.
public struct ReplayStatus: Sendable, Hashable {
    /// The dump's time now playing (Unix nanoseconds), once playback started.
    public var clockUnixNano: UInt64?
    public var played = 0
    /// Spans read from the dump so far (all of them once loading finished).
    public var loaded = 0
    public var loadingFinished = false
    public var percent: Double = 0
    /// 1 is the original pace; `.infinity` as fast as possible.
    public var speed: Double = 1
    public var paused = false
    public var finished = false
    public var loops = 0

    public init() {}
}

/// What the replay keys ask of the feed.
public enum ReplayCommand: Sendable, Hashable {
    case faster, slower, togglePause, step, jump(seconds: Int)
}

/// The listeners' side of the status bar.
public struct LiveStatus: Sendable, Hashable {
    /// Listeners that are up.
    public var listeners = 0
    /// Accepted spans per second, over the last second or so.
    public var spansPerSecond: Double = 0
    public var spansReceived = 0
    /// Bad datagrams / bodies / spans, and the latest reason.
    public var malformed = 0
    public var lastMalformedReason: String? = nil
    /// Lost inside tracetty: a queue or the recorder was full.
    public var dropped = 0
    /// Datagrams the kernel dropped on the UDP sockets (receive buffer full).
    public var kernelDropped = 0
    /// UDP datagrams read but dropped waiting to be decoded (decode queue full).
    public var decodeQueueDropped = 0
    /// Dropped by the clients themselves (Jaeger client stats).
    public var clientDropped = 0
    /// Batches missing in clients' `seqNo` sequences.
    public var seqGaps = 0
    /// Where `--record` writes, if it does.
    public var recordingTo: String? = nil
    /// `listening jaeger-compact udp 127.0.0.1:6831`, shown while no trace has come.
    public var addresses: [String] = []
    /// `otlp-http: accept: Invalid argument`: listeners that stopped for good
    /// (the others keep running).
    public var failedListeners: [String] = []

    public init() {}
}
