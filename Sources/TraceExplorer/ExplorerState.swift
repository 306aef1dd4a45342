import TraceModel
import TerminalUI

public enum TraceSort: String, Sendable, Hashable {
    case start, duration
}

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

/// The trace currently open in the waterfall, and how the user looks at it.
public struct TraceViewState: Sendable {
    public private(set) var trace: Trace
    /// Collapsed subtrees, by span index (stable while the trace grows).
    public private(set) var collapsed: Set<Int32> = []
    /// Waterfall rows currently shown, as row indices into `trace.tree.rows`.
    public private(set) var visibleRows: [Int32] = []
    /// The selected span, by index into `trace.spans`.
    public var selectedSpan: Int32
    public var scrollTop = 0
    public var detailOpen = false
    public var detailFocused = false
    public var detailScroll = 0

    public init(trace: Trace) {
        self.trace = trace
        self.selectedSpan = trace.tree.rows.first?.spanIndex ?? 0
        recomputeVisible()
    }

    /// A newer copy of the same trace: keep the selection, collapse and scroll.
    public mutating func replaceTrace(_ newer: Trace) {
        trace = newer
        recomputeVisible()
    }

    mutating func recomputeVisible() {
        let rows = trace.tree.rows
        var visible: [Int32] = []
        visible.reserveCapacity(rows.count)
        var r = 0
        while r < rows.count {
            visible.append(Int32(r))
            r = collapsed.contains(rows[r].spanIndex) ? Int(rows[r].subtreeEnd) : r + 1
        }
        visibleRows = visible
    }

    /// Position of the selected span among the visible rows (its nearest
    /// visible ancestor when hidden).
    public var selectedVisibleIndex: Int {
        let tree = trace.tree
        guard Int(selectedSpan) < tree.rowOfSpan.count else { return 0 }
        var row = tree.rowOfSpan[Int(selectedSpan)]
        while row >= 0 {
            if let index = binarySearch(visibleRows, row) { return index }
            row = tree.rows[Int(row)].parentRow
        }
        return 0
    }

    public var selectedRow: TraceTree.Node? {
        let index = selectedVisibleIndex
        guard index < visibleRows.count else { return nil }
        return trace.tree.rows[Int(visibleRows[index])]
    }

    public var selectedSpanValue: Span? {
        guard let node = selectedRow else { return nil }
        return trace.spans[Int(node.spanIndex)]
    }

    mutating func select(visibleIndex: Int) {
        guard !visibleRows.isEmpty else { return }
        let clamped = min(max(0, visibleIndex), visibleRows.count - 1)
        selectedSpan = trace.tree.rows[Int(visibleRows[clamped])].spanIndex
        detailScroll = 0
    }

    mutating func setCollapsed(_ spanIndex: Int32, _ isCollapsed: Bool) {
        if isCollapsed { collapsed.insert(spanIndex) } else { collapsed.remove(spanIndex) }
        recomputeVisible()
    }

    mutating func collapseAll() {
        collapsed = Set(trace.tree.rows.filter { $0.childCount > 0 }.map { $0.spanIndex })
        recomputeVisible()
    }

    mutating func expandAll() {
        collapsed = []
        recomputeVisible()
    }

    private func binarySearch(_ sorted: [Int32], _ value: Int32) -> Int? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == value ? lo : nil
    }
}

/// Everything the explorer shows. One event loop owns it; views only read it.
public struct ExplorerState: Sendable {
    public var width: Int
    public var height: Int
    public var title: String
    /// Summaries in display order (sorted).
    public private(set) var traces: [TraceSummary] = []
    public private(set) var selectedTraceID: TraceID?
    public var listScrollTop = 0
    public internal(set) var sort: TraceSort = .start
    public internal(set) var descending = true
    public var traceView: TraceViewState?
    public var showHelp = false
    public var helpScroll = 0
    /// Live: newest trace first and selected as it arrives.
    public internal(set) var follow = false
    /// Live: the view is frozen; spans keep being stored.
    public internal(set) var paused = false
    public var ingest = IngestStatus()
    public var storedSpans = 0
    public var maxSpans = 0
    /// Added to UTC for the clock times shown (the local zone, injected).
    public var utcOffsetSeconds = 0
    public var colorMode: ColorMode = .palette256

    public init(width: Int, height: Int, title: String = "tracetty") {
        self.width = width
        self.height = height
        self.title = title
    }

    public var context: KeyContext {
        showHelp ? .help : underlyingContext
    }

    /// The pane under the help overlay.
    public var underlyingContext: KeyContext {
        guard let view = traceView else { return .traceList }
        return view.detailOpen && view.detailFocused ? .detail : .waterfall
    }

    public var selectedIndex: Int? {
        guard let id = selectedTraceID else { return nil }
        return traces.firstIndex { $0.traceID == id }
    }

    /// New summaries from the store: re-sort, keep the selected trace selected.
    public mutating func setTraces(_ summaries: [TraceSummary]) {
        traces = summaries
        sortTraces()
        if follow || selectedTraceID == nil || selectedIndex == nil {
            selectedTraceID = traces.first?.traceID
        }
    }

    /// Follow: newest first, the newest trace selected as each arrives.
    public mutating func setFollow(_ on: Bool) {
        follow = on
        if on {
            paused = false
            sort = .start
            descending = true
            sortTraces()
            selectedTraceID = traces.first?.traceID
        }
    }

    public mutating func setPaused(_ on: Bool) {
        paused = on
    }

    mutating func sortTraces() {
        let descending = self.descending
        switch sort {
        case .start:
            traces.sort { a, b in
                if a.startUnixNano != b.startUnixNano { return (a.startUnixNano > b.startUnixNano) == descending }
                return (a.traceID > b.traceID) == descending
            }
        case .duration:
            traces.sort { a, b in
                if a.durationNano != b.durationNano { return (a.durationNano > b.durationNano) == descending }
                return (a.traceID > b.traceID) == descending
            }
        }
    }

    public mutating func selectTrace(at index: Int) {
        guard !traces.isEmpty else { return }
        selectedTraceID = traces[min(max(0, index), traces.count - 1)].traceID
    }
}

/// What the loop must do after an event; the state itself stays pure.
public enum ExplorerEffect: Sendable, Equatable {
    case quit
    /// Fetch this trace from the store and call `openTrace`.
    case loadTrace(TraceID)
}
