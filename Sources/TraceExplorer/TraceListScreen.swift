import Synchronization
import TraceModel
import TerminalUI

public enum TraceSort: String, Sendable, Hashable, CaseIterable {
    case start, duration, spans, errors
}

/// The trace list screen: every known trace's summary, the rows that pass
/// the filter in display order, the selection, sort and follow.
public struct TraceListScreen: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case up, down, pageUp, pageDown, first, last, open, cycleSort, reverse, follow, pause, query, togglePlot
        case mark, compare, export, latency, serviceGraph
    }

    struct Entry: Sendable {
        var summary: TraceSummary
        var matches: Bool
    }

    /// Every trace the UI was told of, whether it passes the filter or not.
    private(set) var all: [TraceID: Entry] = [:]
    /// The traces that pass the filter, sorted.
    public private(set) var rows: [TraceSummary] = []
    public private(set) var selection = ScrollSelection()
    public private(set) var selectedID: TraceID?
    public private(set) var sort: TraceSort = .start
    public private(set) var descending = true
    /// Live: newest first, the newest selected as it arrives.
    public private(set) var follow = false
    /// The filter in force (nil: every trace).
    public private(set) var filter: TraceQuery?
    /// The duration plot above the list.
    public var showsPlot = true
    /// Changes whenever `rows` does (order included), unique in the process.
    public private(set) var rowsVersion = 0
    /// Changes whenever the set of rows or a row's summary does, not their
    /// order (a sort or `r` leaves it): what the duration plot's memo is keyed by.
    public private(set) var rowSetVersion = 0
    private static let versions = Atomic<Int>(0)
    /// Passes over every trace the list knows, counted: a key that only moves
    /// the selection makes none (tests assert it at a large store).
    public private(set) var passes = Passes()

    /// What `passes` counts.
    public struct Passes: Sendable, Hashable {
        /// Rows rebuilt from every entry and sorted (a new filter, a large batch of changes).
        public var rebuilds = 0
        /// Rows sorted in place (another sort key).
        public var sorts = 0
        /// Rows reversed in place (`r`: the same order as sorting the other way).
        public var reversals = 0
        /// A batch of changes merged into the sorted rows (one pass over them).
        public var merges = 0
        /// Every entry's filter flag set from a new filter's result.
        public var filterFlags = 0

        public init() {}
    }

    public init() {}

    public var totalCount: Int { all.count }
    /// The trace is known to the list (stored, whether it passes the filter or not).
    public func contains(_ id: TraceID) -> Bool { all[id] != nil }
    public var selectedIndex: Int? { selectedID == nil ? nil : selection.selected }
    public var selectedSummary: TraceSummary? {
        guard selectedID != nil, selection.selected < rows.count else { return nil }
        return rows[selection.selected]
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        [
            KeyBinding([.down, .char("j")], "move down", hint: "move", hintKeys: "↑↓ j k", .down),
            KeyBinding([.up, .char("k")], "move up", .up),
            KeyBinding([.pageDown, .ctrl("f")], "page down", .pageDown),
            KeyBinding([.pageUp, .ctrl("b")], "page up", .pageUp),
            KeyBinding([.home, .char("g")], "first trace", .first),
            KeyBinding([.end, .char("G")], "last trace", .last),
            KeyBinding([.enter, .right, .char("l")], "open the trace's waterfall", hint: "open", .open),
            KeyBinding([.char("/")], "filter: a query (service=… dur>300ms {…}); Enter keeps it, Esc drops it", hint: "filter", .query),
            KeyBinding([.char("s")], "sort by start / duration / spans / errors", hint: "sort", .cycleSort),
            KeyBinding([.char("r")], "reverse the order", .reverse),
            // Live keys early: on a narrow screen the hint bar keeps what comes first.
            KeyBinding([.char("f")], "follow: newest first, newest selected (live)", hint: "follow", liveOnly: true, .follow),
        ] + (context.isReplay ? [] : [
            KeyBinding([.char("p"), .char(" ")], "pause / resume the view (live; spans keep being stored)", hint: "pause",
                       liveOnly: true, .pause),
        ]) + (context.markedTrace != nil && context.markedTrace != selectedID ? [
            KeyBinding([.char("=")], "compare the marked trace with the selected one", hint: "compare", .compare),
        ] : []) + [
            KeyBinding([.char("P")], "latency per service and operation: p50 p90 p99, histogram (filtered traces)", hint: "latency", .latency),
            KeyBinding([.char("D")], "service graph: who calls whom (filtered traces)", hint: "graph", .serviceGraph),
            KeyBinding([.char("d")], "show / hide the duration plot", .togglePlot),
            KeyBinding([.char("m")], "mark the selected trace for compare (again: unmark)", .mark),
            KeyBinding([.char("e")], "export every trace that passes the filter to a file", .export),
        ]
    }

    /// Performs a list action; what it asks of the app comes back.
    mutating func perform(_ action: Action, _ context: ComponentContext) -> [AppRequest] {
        switch action {
        case .up, .down, .pageUp, .pageDown, .first, .last:
            // Moving by hand leaves follow mode: the selection is yours now.
            follow = false
        default:
            break
        }
        let page = max(1, context.pageRows)
        switch action {
        case .down: select(selection.selected + 1)
        case .up: select(selection.selected - 1)
        case .pageDown: select(selection.selected + page)
        case .pageUp: select(selection.selected - page)
        case .first: select(0)
        case .last: select(rows.count - 1)
        case .open:
            if let id = selectedID { return [.openTrace(id)] }
        case .cycleSort:
            follow = false
            let all = TraceSort.allCases
            setSort(all[(all.firstIndex(of: sort)! + 1) % all.count], descending: true)
        case .reverse:
            follow = false
            setSort(sort, descending: !descending)
        case .follow: setFollow(!follow)
        case .pause: return [.togglePause]
        case .query: return [.openQueryLine]
        case .togglePlot: showsPlot.toggle()
        case .mark:
            if let summary = selectedSummary { return [.mark(summary)] }
        case .compare:
            if let summary = selectedSummary { return [.compareWithMarked(summary)] }
        case .latency: return [.openLatency]
        case .serviceGraph: return [.openServiceGraph]
        case .export:
            let count = rows.count
            return [.openExport(traceIDs: rows.map(\.traceID), what: "\(Formatting.count(count)) trace\(count == 1 ? "" : "s")",
                                defaultName: "tracetty-export")]
        }
        return []
    }

    mutating func select(_ index: Int) {
        selection.select(index, count: rows.count)
        selectedID = rows.isEmpty ? nil : rows[selection.selected].traceID
    }

    public mutating func setFollow(_ on: Bool) {
        follow = on
        if on {
            setSort(.start, descending: true)
            select(0)
        }
    }

    /// The rows are always in order: the same key the other way round is a
    /// reversal (the order is total: ties fall to the start, then the trace
    /// id), the same order is nothing, and another key sorts the rows in place.
    public mutating func setSort(_ sort: TraceSort, descending: Bool) {
        guard sort != self.sort || descending != self.descending else { return }
        let reversal = sort == self.sort
        let selected = selectedID == nil ? nil : selection.selected
        self.sort = sort
        self.descending = descending
        if reversal {
            rows.reverse()
            passes.reversals += 1
        } else {
            rows.sort(by: ordering)
            passes.sorts += 1
        }
        rowsVersion = Self.nextVersion()
        if reversal, let selected, !follow {
            // The selected trace is where the reversal put it: no search.
            selection.select(rows.count - 1 - selected, count: rows.count)
        } else {
            relocateSelection()
        }
    }

    private static func nextVersion() -> Int { versions.add(1, ordering: .relaxed).newValue }

    // MARK: Data

    /// New and grown traces from the store, and evicted ones. Small changes
    /// are merged into the sorted rows; large ones re-sort everything.
    public mutating func apply(_ changes: TraceStoreChanges) {
        guard !changes.isEmpty else { return }
        for id in changes.removed { all.removeValue(forKey: id) }
        var added: [TraceSummary] = []
        for (i, summary) in changes.updated.enumerated() {
            let matches = i < changes.matches.count ? changes.matches[i] : (filter == nil)
            all[summary.traceID] = Entry(summary: summary, matches: matches)
            if matches { added.append(summary) }
        }
        if (changes.updated.count + changes.removed.count) * 8 > rows.count {
            rebuildRows()
        } else {
            let changedIDs = Set(changes.removed + changes.updated.map(\.traceID))
            // Merge in place: drop the old rows of changed traces, then insert
            // the new ones in order from the back. (Through two new arrays, a
            // live list of 1.5M traces took 300 MB more on every tick of a
            // flood, which alone could pass `--max-memory`.)
            rows.removeAll { changedIDs.contains($0.traceID) }
            let order = ordering
            added.sort(by: order)
            var i = rows.count - 1, j = added.count - 1
            rows.append(contentsOf: added)
            var k = rows.count - 1
            // A kept row comes first on a tie, as a stable merge puts it.
            while j >= 0 {
                if i >= 0, order(added[j], rows[i]) {
                    rows[k] = rows[i]; i -= 1
                } else {
                    rows[k] = added[j]; j -= 1
                }
                k -= 1
            }
            passes.merges += 1
            rowsVersion = Self.nextVersion()
            rowSetVersion = rowsVersion
            relocateSelection()
        }
    }

    /// The traces matching a new filter, as of store version `version`:
    /// traces updated after it keep the flag their own update brought.
    public mutating func applyFilter(_ query: TraceQuery?, matching ids: Set<TraceID>?, asOf version: UInt64) {
        filter = (query?.isEmpty ?? true) ? nil : query
        // In place through indices: assigning by key while iterating `all` would copy it whole.
        var index = all.startIndex
        while index != all.endIndex {
            let (id, entry) = all[index]
            if entry.summary.lastUpdate <= version {
                all.values[index].matches = filter == nil || (ids?.contains(id) ?? true)
            }
            all.formIndex(after: &index)
        }
        passes.filterFlags += 1
        rebuildRows()
    }

    /// Sets the filter without evaluating it (the caller evaluates traces as they come).
    mutating func setFilterText(_ query: TraceQuery?) {
        filter = (query?.isEmpty ?? true) ? nil : query
    }

    private mutating func rebuildRows() {
        var result: [TraceSummary] = []
        result.reserveCapacity(all.count)
        for entry in all.values where entry.matches { result.append(entry.summary) }
        result.sort(by: ordering)
        rows = result
        passes.rebuilds += 1
        rowsVersion = Self.nextVersion()
        rowSetVersion = rowsVersion
        relocateSelection()
    }

    /// After the rows changed: follow takes the newest, else the selected trace keeps its place.
    private mutating func relocateSelection() {
        if follow || selectedID == nil {
            select(0)
            return
        }
        if selection.selected < rows.count, rows[selection.selected].traceID == selectedID { return }
        if let index = rows.firstIndex(where: { $0.traceID == selectedID }) {
            selection.select(index, count: rows.count)
        } else {
            // Filtered out or evicted: stay at the same position.
            select(selection.selected)
        }
    }

    var ordering: (TraceSummary, TraceSummary) -> Bool {
        let descending = self.descending
        func order<T: Comparable>(_ key: @escaping (TraceSummary) -> T) -> (TraceSummary, TraceSummary) -> Bool {
            { a, b in
                let ka = key(a), kb = key(b)
                if ka != kb { return (ka > kb) == descending }
                if a.startUnixNano != b.startUnixNano { return (a.startUnixNano > b.startUnixNano) == descending }
                return (a.traceID > b.traceID) == descending
            }
        }
        switch sort {
        case .start: return order(\.startUnixNano)
        case .duration: return order(\.durationNano)
        case .spans: return order(\.spanCount)
        case .errors: return order(\.errorCount)
        }
    }

    mutating func clamp(rows visible: Int) {
        selection.clamp(count: rows.count, rows: visible)
    }

    /// A click on row `index` of the list body: select it, or open it when already selected.
    mutating func click(_ index: Int) -> [AppRequest] {
        guard index < rows.count else { return [] }
        follow = false
        if index == selection.selected, selectedID != nil { return [.openTrace(rows[index].traceID)] }
        select(index)
        return []
    }
}

