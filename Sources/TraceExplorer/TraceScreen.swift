import TraceModel
import TerminalUI

/// The trace screen: the open trace's waterfall and the selected span's
/// detail pane, with fold state and find matches. Keys go to the waterfall
/// or to the detail, whichever has the focus.
public struct TraceScreen: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        // Waterfall
        case up, down, pageUp, pageDown, first, last
        case openDetail, focusDetail, fold, collapseOrParent, expand, parent, collapseAll, expandAll
        case find, nextMatch, previousMatch, pause, back
        // Detail
        case scrollUp, scrollDown, scrollPageUp, scrollPageDown, scrollTop, scrollBottom
        case nextSpan, previousSpan, focusWaterfall, closeDetail
        case nextLink, previousLink, followLink
        // Understanding the trace
        case toggleCriticalPath, toggleRawTimes, openStatistics, openLog, mark, compare, export
        case statistics(StatisticsPanel.Action)
        case log(TraceLogPanel.Action)
    }

    /// What fills the screen below the trace header: the waterfall (with the
    /// detail pane), or a table about the whole trace.
    public enum Panel: Sendable {
        case waterfall
        case statistics(StatisticsPanel)
        case log(TraceLogPanel)
    }

    /// The detail pane: closed, open beside the focused waterfall, or focused.
    public enum Detail: Sendable, Hashable {
        case closed, open, focused
    }

    /// The trace as shown: clock-skew adjusted unless `rawTimes`.
    public private(set) var trace: Trace
    /// The trace as stored.
    public private(set) var rawTrace: Trace
    /// Skew and critical path for `rawTrace` (nil until computed, or stale).
    public private(set) var analysis: TraceAnalysis?
    public internal(set) var rawTimes: Bool
    /// Which version of the stored trace `trace` shows.
    private var shownVersion: TraceVersion
    public internal(set) var showsCriticalPath = false
    public internal(set) var panel: Panel = .waterfall
    /// The reference highlighted in the detail pane (Enter follows it).
    public internal(set) var selectedLink = 0
    /// Collapsed subtrees, by span index (stable while the trace grows).
    public private(set) var collapsed: Set<Int32> = []
    /// Waterfall rows shown, as row indices into `trace.tree.rows`.
    public private(set) var visibleRows: [Int32] = []
    /// The selected span, by index into `trace.spans`.
    public private(set) var selectedSpan: Int32
    /// Waterfall scrolling (its `selected` follows `selectedSpan`).
    public private(set) var waterfall = ScrollSelection()
    public internal(set) var detail: Detail = .closed
    public internal(set) var detailScroll = ScrollSelection()
    /// The last find: its text and matching spans in row order.
    public internal(set) var find: FindResult?

    public init(trace: Trace, rawTimes: Bool = false) {
        self.trace = trace
        self.rawTrace = trace
        self.rawTimes = rawTimes
        self.shownVersion = TraceVersion(trace)
        self.selectedSpan = trace.tree.rows.first?.spanIndex ?? 0
        if trace.spans.count <= TraceAnalysis.inlineSpanLimit { analysis = TraceAnalysis(trace: trace) }
        applyTimes()
        selectedSpan = self.trace.tree.rows.first?.spanIndex ?? 0
    }

    // MARK: Analysis

    /// The analysis of the trace as it is now, if there is one.
    public var currentAnalysis: TraceAnalysis? {
        guard let analysis, analysis.key == TraceVersion(rawTrace) else { return nil }
        return analysis
    }

    /// The open trace needs analysing off the UI's path.
    public var needsAnalysis: Bool { currentAnalysis == nil }

    /// The analysis of the version on screen (it lags `rawTrace` while a big
    /// live trace's newer version is analysed: the screen keeps the adjusted
    /// times it has rather than flicker to raw ones).
    var shownAnalysis: TraceAnalysis? {
        guard let analysis, analysis.key == shownVersion else { return nil }
        return analysis
    }

    public var criticalPath: CriticalPath? {
        guard let analysis = shownAnalysis else { return nil }
        return rawTimes ? analysis.rawCriticalPath : analysis.criticalPath
    }

    /// How far a span was moved to undo clock skew (0 with raw times).
    public func shift(ofSpan span: Int32) -> Int64 {
        guard !rawTimes, let skew = shownAnalysis?.skew, Int(span) < skew.shiftBySpan.count else { return 0 }
        return skew.shiftBySpan[Int(span)]
    }

    public var shiftedSpanCount: Int { shownAnalysis?.skew.shiftedCount ?? 0 }

    mutating func setAnalysis(_ result: TraceAnalysis) {
        guard result.key == TraceVersion(rawTrace) else { return }
        analysis = result
        applyTimes()
    }

    /// Shows raw or adjusted times; selection, folds and the find carry over
    /// (they are kept by span index, the same in both).
    mutating func applyTimes() {
        let shown = rawTimes ? rawTrace : (currentAnalysis?.skew.trace ?? rawTrace)
        shownVersion = TraceVersion(rawTrace)
        trace = shown
        recomputeVisible()
        if let find { self.find = FindResult(text: find.text, query: find.query, trace: shown, current: find.currentSpan) }
        switch panel {
        case .waterfall: break
        case .log(var log):
            log.refresh(trace: shown)
            panel = .log(log)
        case .statistics(var stats):
            if shown.spans.count <= TraceAnalysis.inlineSpanLimit {
                stats.setStatistics(TraceStatistics(trace: shown, grouping: stats.grouping))
            } else {
                stats.invalidate()  // asked again of the worker for these times
            }
            panel = .statistics(stats)
        }
    }

    /// The statistics table for a big trace arrived.
    mutating func setStatistics(_ table: TraceStatistics, for version: TraceVersion, rawTimes: Bool) {
        guard version == TraceVersion(rawTrace), rawTimes == self.rawTimes, case .statistics(var stats) = panel else { return }
        stats.setStatistics(table)
        panel = .statistics(stats)
    }

    /// The statistics panel waits for a table of this grouping.
    public var pendingStatistics: TraceStatistics.Grouping? {
        guard case .statistics(let stats) = panel, stats.statistics == nil else { return nil }
        return stats.grouping
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        switch panel {
        case .statistics(let stats): return stats.bindings(context).map { $0.map(Action.statistics) }
        case .log(let log): return log.bindings(context).map { $0.map(Action.log) }
        case .waterfall: break
        }
        if detail == .focused {
            var keys: [KeyBinding<Action>] = []
            if let links = selectedSpanValue?.links, !links.isEmpty {
                keys.append(KeyBinding([.enter], "follow the highlighted reference (this trace, another stored trace)",
                                       hint: "follow ref", .followLink))
                if links.count > 1 {
                    keys.append(KeyBinding([.char("n")], "highlight the next reference", hint: "ref", hintKeys: "n N", .nextLink))
                    keys.append(KeyBinding([.char("N")], "highlight the previous reference", .previousLink))
                }
            }
            return keys + [
                KeyBinding([.down, .char("j")], "scroll down", hint: "scroll", hintKeys: "↑↓ j k", .scrollDown),
                KeyBinding([.up, .char("k")], "scroll up", .scrollUp),
                KeyBinding([.pageDown, .ctrl("f"), .char(" ")], "page down", .scrollPageDown),
                KeyBinding([.pageUp, .ctrl("b")], "page up", .scrollPageUp),
                KeyBinding([.home, .char("g")], "top", .scrollTop),
                KeyBinding([.end, .char("G")], "bottom", .scrollBottom),
                KeyBinding([.char("]")], "next span", hint: "span", hintKeys: "[ ]", .nextSpan),
                KeyBinding([.char("[")], "previous span", .previousSpan),
                KeyBinding([.tab], "switch to the waterfall", hint: "waterfall", .focusWaterfall),
                KeyBinding([.escape, .backspace], "close the detail", hint: "close", .closeDetail),
            ]
        }
        var keys: [KeyBinding<Action>] = [
            KeyBinding([.down, .char("j")], "move down", hint: "move", hintKeys: "↑↓ j k", .down),
            KeyBinding([.up, .char("k")], "move up", .up),
            KeyBinding([.pageDown, .ctrl("f")], "page down", .pageDown),
            KeyBinding([.pageUp, .ctrl("b")], "page up", .pageUp),
            KeyBinding([.home, .char("g")], "first span", .first),
            KeyBinding([.end, .char("G")], "last span", .last),
            KeyBinding([.enter], "open the span's detail", hint: "detail", .openDetail),
            KeyBinding([.tab], "switch to the detail pane", .focusDetail),
            KeyBinding([.char(" ")], "collapse / expand the subtree", hint: "fold", .fold),
            KeyBinding([.left, .char("h")], "collapse, or go to the parent", .collapseOrParent),
            KeyBinding([.right, .char("l")], "expand", .expand),
            KeyBinding([.char("u")], "go up to the parent span", .parent),
            KeyBinding([.char("C")], "collapse all", hint: "fold all", hintKeys: "C E", .collapseAll),
            KeyBinding([.char("E")], "expand all", .expandAll),
            KeyBinding([.char("/")], "find spans: text, or span terms like {dur>100ms error}", hint: "find", .find),
            KeyBinding([.char("c")], "show / hide the critical path (where the latency flows)", hint: "critical path", .toggleCriticalPath),
            KeyBinding([.char("S")], "trace statistics by service / operation", hint: "stats", .openStatistics),
            KeyBinding([.char("L")], "every log and event of the trace, in time order", hint: "logs", .openLog),
            KeyBinding([.char("R")], "raw times / clock-skew adjusted times", .toggleRawTimes),
            KeyBinding([.char("m")], "mark this trace for compare", .mark),
            KeyBinding([.char("e")], "export this trace to a file", .export),
        ]
        if let marked = context.markedTrace, marked != trace.traceID {
            keys.append(KeyBinding([.char("=")], "compare with the marked trace", hint: "compare", .compare))
        }
        keys.append(KeyBinding([.char("n")], "next match of the find (expands collapsed subtrees)", hint: find == nil ? nil : "next", .nextMatch))
        keys.append(KeyBinding([.char("N")], "previous match of the find", .previousMatch))
        if !context.isReplay { keys.append(KeyBinding([.char("p")], "pause / resume the view (live)", liveOnly: true, .pause)) }
        keys.append(KeyBinding([.escape, .backspace], find != nil ? "clear the find, then back to the list" : "back to the trace list",
                               hint: "back", .back))
        return keys
    }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> [AppRequest] {
        let page = max(1, context.pageRows)
        let index = selectedVisibleIndex
        switch action {
        case .down: select(visibleIndex: index + 1)
        case .up: select(visibleIndex: index - 1)
        case .pageDown: select(visibleIndex: index + page)
        case .pageUp: select(visibleIndex: index - page)
        case .first: select(visibleIndex: 0)
        case .last: select(visibleIndex: visibleRows.count - 1)
        case .openDetail:
            detail = .focused
            detailScroll = ScrollSelection()
        case .focusDetail: detail = .focused
        case .fold:
            if let node = selectedRow, node.childCount > 0 {
                setCollapsed(node.spanIndex, !collapsed.contains(node.spanIndex))
            }
        case .collapseOrParent:
            if let node = selectedRow {
                if node.childCount > 0 && !collapsed.contains(node.spanIndex) {
                    setCollapsed(node.spanIndex, true)
                } else if node.parentRow >= 0 {
                    selectedSpan = trace.tree.rows[Int(node.parentRow)].spanIndex
                }
            }
        case .expand:
            if let node = selectedRow, collapsed.contains(node.spanIndex) { setCollapsed(node.spanIndex, false) }
        case .parent:
            if let node = selectedRow, node.parentRow >= 0 { selectedSpan = trace.tree.rows[Int(node.parentRow)].spanIndex }
        case .collapseAll:
            collapsed = Set(trace.tree.rows.filter { $0.childCount > 0 }.map { $0.spanIndex })
            recomputeVisible()
        case .expandAll:
            collapsed = []
            recomputeVisible()
        case .find: return [.openFindBar]
        case .nextMatch: jumpToMatch(forward: true)
        case .previousMatch: jumpToMatch(forward: false)
        case .pause: return [.togglePause]
        case .back:
            if detail != .closed {
                detail = .closed
            } else if find != nil {
                find = nil
            } else {
                return [.closeTrace]
            }
        case .scrollDown: detailScroll.scroll(by: 1, count: .max / 2, rows: 0)
        case .scrollUp: detailScroll.scroll(by: -1, count: .max / 2, rows: 0)
        case .scrollPageDown: detailScroll.scroll(by: page, count: .max / 2, rows: 0)
        case .scrollPageUp: detailScroll.scroll(by: -page, count: .max / 2, rows: 0)
        case .scrollTop: detailScroll = ScrollSelection()
        case .scrollBottom: detailScroll.scroll(to: .max / 2, count: .max / 2, rows: 0)
        case .nextSpan: select(visibleIndex: index + 1)
        case .previousSpan: select(visibleIndex: index - 1)
        case .focusWaterfall: detail = .open
        case .closeDetail: detail = .closed
        case .nextLink, .previousLink:
            let count = selectedSpanValue?.links.count ?? 0
            guard count > 0 else { break }
            selectedLink = (selectedLink + (action == .nextLink ? 1 : count - 1)) % count
        case .followLink:
            guard let links = selectedSpanValue?.links, !links.isEmpty else { break }
            return follow(links[min(selectedLink, links.count - 1)])
        case .toggleCriticalPath: showsCriticalPath.toggle()
        case .toggleRawTimes:
            rawTimes.toggle()
            applyTimes()
        case .openStatistics:
            var stats = StatisticsPanel()
            if trace.spans.count <= TraceAnalysis.inlineSpanLimit {
                stats.setStatistics(TraceStatistics(trace: trace, grouping: stats.grouping))
            }
            panel = .statistics(stats)
        case .openLog: panel = .log(TraceLogPanel(trace: trace))
        case .mark: return [.mark(trace.summary)]
        case .compare: return [.compareWithMarked(trace.summary)]
        case .export:
            return [.openExport(traceIDs: [trace.traceID], what: "trace " + Formatting.traceTag(trace.traceID),
                                defaultName: "trace-" + Formatting.traceTag(trace.traceID))]
        case .statistics(let inner):
            guard case .statistics(var stats) = panel else { break }
            switch stats.perform(inner, context) {
            case .none: panel = .statistics(stats)
            case .close: panel = .waterfall
            case .regroup:
                if trace.spans.count <= TraceAnalysis.inlineSpanLimit {
                    stats.setStatistics(TraceStatistics(trace: trace, grouping: stats.grouping))
                }
                panel = .statistics(stats)
            case .find(let text):
                panel = .waterfall
                if let query = try? SpanQuery.parse(text) { setFind(text: text, query: query) }
            }
        case .log(let inner):
            guard case .log(var log) = panel else { break }
            switch log.perform(inner, context) {
            case .none: panel = .log(log)
            case .close: panel = .waterfall
            case .jump(let span):
                panel = .waterfall
                reveal(span: span)
            case .openFind:
                panel = .log(log)
                return [.openFindBar]
            }
            if inner == .clearFilter, case .log(var log) = panel {
                log.setFilter("", trace: trace)
                panel = .log(log)
            }
        }
        return []
    }

    /// Follows a reference: a span of this trace is selected at once;
    /// another trace is opened if the store has it.
    mutating func follow(_ link: SpanLink) -> [AppRequest] {
        guard link.traceID == trace.traceID else { return [.openSpan(link.traceID, link.spanID)] }
        guard let index = trace.spans.firstIndex(where: { $0.spanID == link.spanID }) else {
            return [.notice("span \(link.spanID.hex) is not in this trace")]
        }
        reveal(span: Int32(index))
        detail = .open
        return []
    }

    /// Selects a span by id (a followed reference into this trace).
    mutating func select(spanID: SpanID) -> Bool {
        guard let index = trace.spans.firstIndex(where: { $0.spanID == spanID }) else { return false }
        reveal(span: Int32(index))
        return true
    }

    /// The log panel's filter, from the find bar.
    mutating func setLogFilter(_ text: String) {
        guard case .log(var log) = panel else { return }
        log.setFilter(text, trace: trace)
        panel = .log(log)
    }

    public var isLogOpen: Bool {
        if case .log = panel { return true }
        return false
    }

    // MARK: Rows and selection

    /// A newer copy of the same trace: keep the selection, folds and scroll.
    public mutating func replaceTrace(_ newer: Trace) {
        // A big trace keeps its adjusted times on screen until the newer
        // version's analysis arrives (then `setAnalysis` shows it).
        let keepShowing = newer.spans.count > TraceAnalysis.inlineSpanLimit && !rawTimes && shownAnalysis != nil
        rawTrace = newer
        if newer.spans.count <= TraceAnalysis.inlineSpanLimit { analysis = TraceAnalysis(trace: newer) }
        if !keepShowing { applyTimes() }
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
            if let index = Self.binarySearch(visibleRows, row) { return index }
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

    public var isDetailOpen: Bool { detail != .closed }

    mutating func select(visibleIndex: Int) {
        guard !visibleRows.isEmpty else { return }
        let clamped = min(max(0, visibleIndex), visibleRows.count - 1)
        selectedSpan = trace.tree.rows[Int(visibleRows[clamped])].spanIndex
        detailScroll = ScrollSelection()
        selectedLink = 0
    }

    /// Selects a span, expanding collapsed ancestors so that it shows.
    mutating func reveal(span: Int32) {
        guard Int(span) < trace.tree.rowOfSpan.count else { return }
        var row = trace.tree.rows[Int(trace.tree.rowOfSpan[Int(span)])].parentRow
        var changed = false
        while row >= 0 {
            let ancestor = trace.tree.rows[Int(row)].spanIndex
            if collapsed.remove(ancestor) != nil { changed = true }
            row = trace.tree.rows[Int(row)].parentRow
        }
        if changed { recomputeVisible() }
        selectedSpan = span
        detailScroll = ScrollSelection()
        selectedLink = 0
    }

    mutating func setCollapsed(_ spanIndex: Int32, _ isCollapsed: Bool) {
        if isCollapsed { collapsed.insert(spanIndex) } else { collapsed.remove(spanIndex) }
        recomputeVisible()
    }

    // MARK: Find

    /// Applies a find: marks the matches and jumps to the first at or after the selection.
    mutating func setFind(text: String, query: SpanQuery) {
        var result = FindResult(text: text, query: query, trace: trace, current: nil)
        let here = trace.tree.rowOfSpan[Int(selectedSpan)]
        result.current = result.spans.firstIndex { trace.tree.rowOfSpan[Int($0)] >= here } ?? (result.spans.isEmpty ? nil : 0)
        find = result
        if let span = result.currentSpan { reveal(span: span) }
    }

    mutating func jumpToMatch(forward: Bool) {
        guard var result = find, !result.spans.isEmpty else { return }
        let count = result.spans.count
        if let current = result.current, result.spans[current] == selectedSpan {
            result.current = (current + (forward ? 1 : count - 1)) % count
        } else {
            // Moved away since: the next match after (or before) the selection.
            let here = trace.tree.rowOfSpan[Int(selectedSpan)]
            let rows = result.spans.map { trace.tree.rowOfSpan[Int($0)] }
            if forward {
                result.current = rows.firstIndex { $0 > here } ?? 0
            } else {
                result.current = rows.lastIndex { $0 < here } ?? count - 1
            }
        }
        find = result
        if let span = result.currentSpan { reveal(span: span) }
    }

    // MARK: Layout-driven

    /// Keeps the selection on screen and the detail scroll in range.
    mutating func clamp(waterfallRows: Int, detailLines: Int, detailRows: Int) {
        waterfall.selected = selectedVisibleIndex
        waterfall.clamp(count: visibleRows.count, rows: waterfallRows)
        if detail != .closed {
            detailScroll.scroll(by: 0, count: detailLines, rows: detailRows)
        } else {
            detailScroll = ScrollSelection()
        }
    }

    /// A click on line `line` of the body: a row of the panel on show.
    mutating func click(line: Int) {
        switch panel {
        case .waterfall: click(waterfall.top + line)
        case .statistics(var stats):
            stats.scroll.select(stats.scroll.top + line, count: stats.statistics?.rows.count ?? 0)
            panel = .statistics(stats)
        case .log(var log):
            log.scroll.select(log.scroll.top + line, count: log.entries.count)
            panel = .log(log)
        }
    }

    /// A click on row `index` of the waterfall body: select it, or open its detail when already selected.
    mutating func click(_ index: Int) {
        guard index < visibleRows.count else { return }
        if index == selectedVisibleIndex {
            detail = .open
        } else {
            select(visibleIndex: index)
            if detail == .focused { detail = .open }
        }
    }

    static func binarySearch(_ sorted: [Int32], _ value: Int32) -> Int? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == value ? lo : nil
    }
}

/// The spans a find matched, in waterfall row order, and which one is current.
public struct FindResult: Sendable {
    public var text: String
    public var query: SpanQuery
    public var spans: [Int32]
    /// Index into `spans`.
    public var current: Int?
    let matched: Set<Int32>

    init(text: String, query: SpanQuery, trace: Trace, current span: Int32?) {
        self.text = text
        self.query = query
        spans = query.matchingSpans(in: trace)
        matched = Set(spans)
        current = span.flatMap { s in spans.firstIndex(of: s) }
    }

    public var currentSpan: Int32? { current.map { spans[$0] } }
    public func contains(_ span: Int32) -> Bool { matched.contains(span) }
    /// `3/17`, or `0/0`.
    public var position: String { "\(current.map { $0 + 1 } ?? 0)/\(spans.count)" }
}
