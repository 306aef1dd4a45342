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
    /// Set when spans arrive from listeners rather than from files.
    public var live: LiveStatus? = nil

    public init() {}
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
    /// Dropped by the clients themselves (Jaeger client stats).
    public var clientDropped = 0
    /// Batches missing in clients' `seqNo` sequences.
    public var seqGaps = 0
    /// Where `--record` writes, if it does.
    public var recordingTo: String? = nil
    /// `listening jaeger-compact udp 127.0.0.1:6831`, shown while no trace has come.
    public var addresses: [String] = []

    public init() {}
}
