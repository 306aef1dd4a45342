import TraceModel

/// What the trace screen shows beyond the raw spans: the clock-skew
/// adjustment and the critical path on adjusted and on raw times. Computed
/// once per version of the open trace; off the UI's path for big traces.
public struct TraceAnalysis: Sendable {
    public let raw: Trace
    public let skew: ClockSkewAdjustment
    /// On the adjusted times.
    public let criticalPath: CriticalPath
    public let rawCriticalPath: CriticalPath

    /// Traces up to this many spans are analysed at once, on the UI's path
    /// (well under a millisecond); bigger ones by the background worker.
    public static let inlineSpanLimit = 5_000

    public init(trace: Trace) {
        raw = trace
        skew = ClockSkewAdjustment(trace: trace)
        criticalPath = CriticalPath(trace: skew.trace)
        rawCriticalPath = skew.shiftedCount == 0 ? criticalPath : CriticalPath(trace: trace)
    }

    /// Which version of which trace this is.
    public var key: TraceVersion { TraceVersion(raw) }
}

/// A trace id and the last update it had: answers for an older version are dropped.
public struct TraceVersion: Sendable, Hashable {
    public var traceID: TraceID
    public var lastUpdate: UInt64
    public var spanCount: Int

    public init(_ trace: Trace) {
        traceID = trace.traceID
        lastUpdate = trace.summary.lastUpdate
        spanCount = trace.spans.count
    }
}
