import TraceModel
import TerminalUI

extension ExplorerLayout {
    /// Where a full-screen view (latency, service graph) draws: every row
    /// between the app bar and the status bar (`traceHeader.y ... statusBar.y - 1`),
    /// full width. An open query line or find bar is not left room: those
    /// belong to the list and the waterfall.
    public var fullScreenArea: Rect {
        Rect(x: 0, y: traceHeader.y, width: appBar.width, height: max(0, statusBar.y - traceHeader.y))
    }
}

/// The latency view: one row per service and per operation (count, errors,
/// error rate, p50, p90, p99, max), straight from the store's `LatencyIndex`,
/// so it costs no scan however many traces are held. Each service's summary
/// row comes first with its operations indented under it, and every sort
/// keeps that grouping (services by their summary rows, operations within
/// their service): a table of mixed services and operations sorted flat
/// reads as noise. The selected row's latency histogram is drawn below.
public struct LatencyScreen: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case move(ListMove), nextColumn, previousColumn, reverse, slowest, close
    }

    /// The sortable columns, in the order `s` / `→` steps through them.
    public enum Column: Sendable, Hashable, CaseIterable {
        case name, count, errors, errorRate, p50, p90, p99, max
    }

    /// What a key did that the app has to act on.
    enum Outcome: Sendable, Equatable {
        case none, close
        /// The selection moved to another row: fetch its histogram (`setHistogram`).
        case selected(LatencyIndex.Key)
        /// Enter: list this operation's slowest traces (`operation` nil: the whole service's).
        case slowestTraces(service: String, operation: String?)
    }

    public private(set) var column: Column = .name
    public private(set) var descending = false
    /// In display order (grouped and sorted).
    public private(set) var rows: [LatencyIndex.Row] = []
    /// The buckets of `histogramKey`'s durations; drawn only while that is the selected key.
    public private(set) var histogram: [LatencyIndex.Bucket] = []
    public private(set) var histogramKey: LatencyIndex.Key?
    /// What the figures cover, shown in the title: `all traces`, `filter: service=x`.
    public var scope: String
    /// The rows are being (re)computed off the UI's path: the title says `computing…`.
    public var computing = false
    public internal(set) var scroll = ScrollSelection()

    public init(scope: String = "all traces") {
        self.scope = scope
    }

    /// The selected row's key, for the app to fetch its histogram; nil without rows.
    public var selectedKey: LatencyIndex.Key? {
        scroll.selected < rows.count ? rows[scroll.selected].key : nil
    }

    public var selectedRow: LatencyIndex.Row? {
        scroll.selected < rows.count ? rows[scroll.selected] : nil
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        ListMove.bindings(item: "row", Action.move) + [
            KeyBinding([.enter], "list the slowest traces of the service or operation", hint: "slowest", .slowest),
            KeyBinding([.char("s"), .right], "sort by the next column", hint: "sort", hintKeys: "s ←→", .nextColumn),
            KeyBinding([.char("a"), .left], "sort by the previous column", .previousColumn),
            KeyBinding([.char("r")], "reverse the order", hint: "reverse", .reverse),
            KeyBinding([.escape, .backspace, .char("P")], "close the latency view", hint: "back", .close),
        ]
    }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> Outcome {
        let before = selectedKey
        let count = rows.count
        let page = max(1, context.pageRows)
        switch action {
        case .move(let move): scroll.apply(move, count: count, page: page)
        case .nextColumn, .previousColumn:
            let all = Column.allCases
            let i = all.firstIndex(of: column) ?? 0
            column = all[(i + (action == .nextColumn ? 1 : all.count - 1)) % all.count]
            // Names read best A to Z; figures biggest first.
            descending = column != .name
            resort()
        case .reverse:
            descending.toggle()
            resort()
        case .slowest:
            guard let key = selectedKey else { return .none }
            return .slowestTraces(service: key.service, operation: key.operation)
        case .close: return .close
        }
        if let after = selectedKey, after != before { return .selected(after) }
        return .none
    }

    /// New figures (the app calls this as spans arrive). `histogram` is for
    /// the key that was selected when the app asked for it (`selectedKey`
    /// before this call). The selection stays on the same key; when that
    /// key is gone it stays at the same place.
    /// - Returns: the key whose histogram to fetch when the selected key
    ///   changed (the old one vanished, or these are the first rows); nil otherwise.
    @discardableResult
    public mutating func setRows(_ newRows: [LatencyIndex.Row], histogram buckets: [LatencyIndex.Bucket]) -> LatencyIndex.Key? {
        let before = selectedKey
        rows = Self.sorted(newRows, by: column, descending: descending)
        if let before, let index = rows.firstIndex(where: { $0.key == before }) {
            scroll.select(index, count: rows.count)
        } else {
            scroll.select(scroll.selected, count: rows.count)
        }
        computing = false
        let after = selectedKey
        if after == before, let before {
            histogram = buckets
            histogramKey = before
            return nil
        }
        histogram = []
        histogramKey = nil
        return after
    }

    /// A histogram computed for `key`: dropped when the selection has moved on since.
    public mutating func setHistogram(_ buckets: [LatencyIndex.Bucket], for key: LatencyIndex.Key) {
        guard key == selectedKey else { return }
        histogram = buckets
        histogramKey = key
    }

    /// Keeps the selection on screen for the table rows `area` leaves (the app calls it on resize).
    public mutating func clamp(area: Rect) {
        scroll.clamp(count: rows.count, rows: LatencyView.tableRows(in: area))
    }

    mutating func resort() {
        let key = selectedKey
        rows = Self.sorted(rows, by: column, descending: descending)
        if let key, let index = rows.firstIndex(where: { $0.key == key }) {
            scroll.select(index, count: rows.count)
        }
    }

    /// Sorted with services kept together: the service groups by their
    /// summary rows, the operations within each group, the summary row
    /// first. Ties go by name, so equal figures keep a stable order.
    public static func sorted(_ rows: [LatencyIndex.Row], by column: Column, descending: Bool) -> [LatencyIndex.Row] {
        var order: [String] = []
        var summaries: [String: LatencyIndex.Row] = [:]
        var operations: [String: [LatencyIndex.Row]] = [:]
        for row in rows {
            if summaries[row.key.service] == nil, operations[row.key.service] == nil { order.append(row.key.service) }
            if row.key.operation == nil {
                summaries[row.key.service] = row
            } else {
                operations[row.key.service, default: []].append(row)
            }
        }
        let before = { (a: LatencyIndex.Row, b: LatencyIndex.Row) -> Bool in
            let c = compare(a, b, column)
            if c != 0 { return descending ? c > 0 : c < 0 }
            return compare(a, b, .name) < 0
        }
        // A service without a summary row (not from `LatencyIndex.rows`) sorts by its first operation.
        let groups = order.map { service -> (LatencyIndex.Row?, [LatencyIndex.Row]) in
            (summaries[service], (operations[service] ?? []).sorted(by: before))
        }.sorted { a, b in
            guard let ra = a.0 ?? a.1.first, let rb = b.0 ?? b.1.first else { return false }
            return before(ra, rb)
        }
        var out: [LatencyIndex.Row] = []
        out.reserveCapacity(rows.count)
        for (summary, ops) in groups {
            if let summary { out.append(summary) }
            out.append(contentsOf: ops)
        }
        return out
    }

    /// -1, 0, 1. Names compare A to Z with the index's "(other)" rows last.
    static func compare(_ a: LatencyIndex.Row, _ b: LatencyIndex.Row, _ column: Column) -> Int {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch column {
        case .name:
            let na = a.key.operation ?? a.key.service, nb = b.key.operation ?? b.key.service
            let oa = na == LatencyIndex.otherOperation, ob = nb == LatencyIndex.otherOperation
            if oa != ob { return oa ? 1 : -1 }
            return sign(na, nb)
        case .count: return sign(a.count, b.count)
        case .errors: return sign(a.errors, b.errors)
        case .errorRate: return sign(a.errorRate, b.errorRate)
        case .p50: return sign(a.p50, b.p50)
        case .p90: return sign(a.p90, b.p90)
        case .p99: return sign(a.p99, b.p99)
        case .max: return sign(a.max, b.max)
        }
    }
}

/// Draws the latency view into a full-screen area (`ExplorerLayout.fullScreenArea`):
/// a title row, the column titles, the table, and the selected row's histogram
/// in the lower part. Only the rows on screen are drawn.
public enum LatencyView {
    static let figureColumns: [(LatencyScreen.Column, String, Int)] = [
        (.count, "COUNT", 7), (.errors, "ERRORS", 7), (.errorRate, "ERR %", 6),
        (.p50, "P50", 8), (.p90, "P90", 8), (.p99, "P99", 8), (.max, "MAX", 8),
    ]
    /// Most telling first: what stays on a narrow screen.
    static let columnPriority: [LatencyScreen.Column] = [.p99, .count, .p50, .errorRate, .max, .p90, .errors]
    static let minimumNameWidth = 22

    /// Rows the histogram takes (its title and its bars): about two fifths of
    /// the area, none when the area is too short for both a table and bars.
    public static func histogramHeight(in area: Rect) -> Int {
        guard area.height >= 12 else { return 0 }
        return min(17, max(4, (area.height - 2) * 2 / 5))
    }

    /// How many buckets to ask `LatencyIndex.histogram(_:buckets:)` for: one a row.
    public static func histogramBuckets(in area: Rect) -> Int {
        max(0, histogramHeight(in: area) - 1)
    }

    /// Table rows on screen: also the page size for PgUp / PgDn.
    public static func tableRows(in area: Rect) -> Int {
        max(0, area.height - 2 - histogramHeight(in: area))
    }

    public static func render(_ screen: LatencyScreen, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        render(screen, area: layout.fullScreenArea, into: &buffer)
    }

    public static func render(_ screen: LatencyScreen, area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0, area.width > 0 else { return }
        buffer.fill(area, style: .plain)
        // Title: what the figures cover first; counts after, cut first.
        var x = area.x + 1
        func put(_ text: String, _ style: Style) {
            guard x < area.maxX - 1 else { return }
            x += buffer.putTruncated(text, x: x, y: area.y, style: style, maxWidth: area.maxX - 1 - x)
        }
        put("Latency", .bold)
        put(" · " + screen.scope, .plain)
        if screen.computing {
            put("  computing…", Theme.dim)
        } else {
            let services = screen.rows.lazy.filter { $0.key.operation == nil }.count
            put("  \(services) service" + (services == 1 ? "" : "s") + ", \(screen.rows.count - services) operation"
                + (screen.rows.count - services == 1 ? "" : "s"), Theme.dim)
        }
        let histogramRows = histogramHeight(in: area)
        let table = Rect(x: area.x, y: area.y + 1, width: area.width, height: max(0, area.height - 1 - histogramRows))
        var scroll = screen.scroll
        scroll.clamp(count: screen.rows.count, rows: max(0, table.height - 1))
        drawTable(screen.rows, column: screen.column, descending: screen.descending, scroll: scroll, area: table, into: &buffer)
        if screen.rows.isEmpty, table.height > 2 {
            buffer.put(screen.computing ? "computing…" : "no spans yet", x: area.x + 2, y: table.y + 2, style: Theme.dim)
        }
        guard histogramRows > 0 else { return }
        drawHistogram(screen, area: Rect(x: area.x, y: table.maxY, width: area.width, height: histogramRows), into: &buffer)
    }

    /// The columns that fit: the name keeps `minimumNameWidth`, the least telling figures go.
    static func visibleColumns(width: Int) -> (columns: [(LatencyScreen.Column, String, Int)], nameWidth: Int) {
        var shown = Set<LatencyScreen.Column>()
        var figuresWidth = 0
        for column in columnPriority {
            guard let w = figureColumns.first(where: { $0.0 == column })?.2, width - figuresWidth - w - 3 >= minimumNameWidth else { break }
            shown.insert(column)
            figuresWidth += w + 1
        }
        return (figureColumns.filter { shown.contains($0.0) }, max(12, width - figuresWidth - 2))
    }

    /// Column titles on the first row of `area`, rows from `scroll.top` below.
    /// `column` nil: no sort mark (plain text, where the order is the index's).
    static func drawTable(_ rows: [LatencyIndex.Row], column: LatencyScreen.Column?, descending: Bool, scroll: ScrollSelection,
                          area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0 else { return }
        let (visible, nameWidth) = visibleColumns(width: area.width)
        let arrow = descending ? "▼" : "▲"
        buffer.fill(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: Theme.header)
        buffer.putTruncated("SERVICE / OPERATION" + (column == .name ? " " + arrow : ""), x: area.x + 1, y: area.y,
                            style: Theme.header, maxWidth: nameWidth)
        var x = area.x + 1 + nameWidth
        for (c, title, width) in visible where x + width <= area.maxX {
            buffer.putPadded(String(repeating: " ", count: max(0, width - DisplayWidth.of((c == column ? arrow : "") + title)))
                             + (c == column ? arrow : "") + title, x: x, y: area.y, width: width, style: Theme.header)
            x += width + 1
        }
        for line in 0..<(area.height - 1) {
            let index = scroll.top + line
            guard index < rows.count else { break }
            let row = rows[index]
            let y = area.y + 1 + line
            let selected = index == scroll.selected
            let base: Style = selected ? Theme.selected : .plain
            if selected { buffer.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: base) }
            if row.errors > 0 { buffer.put("!", x: area.x, y: y, style: Theme.onRow(Theme.error, selected: selected)) }
            let nameX = area.x + 1
            if let operation = row.key.operation {
                buffer.putTruncated(operation, x: nameX + 2, y: y, style: base, maxWidth: nameWidth - 3)
            } else {
                buffer.putTruncated(row.key.service, x: nameX, y: y,
                                    style: Theme.onRow(Theme.service(row.key.service).with(.bold), selected: selected),
                                    maxWidth: nameWidth - 1)
            }
            var fx = area.x + 1 + nameWidth
            for (c, _, width) in visible where fx + width <= area.maxX {
                let text = figure(row, c)
                var style = c == column ? base.with(.bold) : base
                if c == .errors || c == .errorRate, row.errors > 0 { style = Theme.onRow(Theme.error, selected: selected) }
                if row.key.operation == nil { style = style.with(.bold) }
                TraceListView.rightAligned(&buffer, text, x: fx, y: y, width: width, style: style)
                fx += width + 1
            }
        }
    }

    static func figure(_ row: LatencyIndex.Row, _ column: LatencyScreen.Column) -> String {
        switch column {
        case .name: return row.key.operation ?? row.key.service
        case .count: return Formatting.count(row.count)
        case .errors: return Formatting.count(row.errors)
        case .errorRate: return row.errors == 0 ? "0%" : Formatting.percent(row.errorRate * 100)
        case .p50: return Formatting.duration(row.p50)
        case .p90: return Formatting.duration(row.p90)
        case .p99: return Formatting.duration(row.p99)
        case .max: return Formatting.duration(row.max)
        }
    }

    /// The selected row's durations as horizontal bars on log-scale buckets:
    /// range, a bar scaled to the largest bucket, the count, and the
    /// percentiles marked on the buckets that hold them (text, not colour,
    /// so it reads in a monochrome terminal and in `tmux capture-pane`).
    static func drawHistogram(_ screen: LatencyScreen, area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0, let row = screen.selectedRow else { return }
        var x = area.x + 1
        func put(_ text: String, _ style: Style) {
            guard x < area.maxX - 1 else { return }
            x += buffer.putTruncated(text, x: x, y: area.y, style: style, maxWidth: area.maxX - 1 - x)
        }
        put("Histogram ", Theme.section)
        put(row.key.service, Theme.service(row.key.service))
        if let operation = row.key.operation { put(": " + operation, .plain) }
        put("  \(row.count) span" + (row.count == 1 ? "" : "s") + ", log scale", Theme.dim)
        let buckets = screen.histogramKey == row.key ? screen.histogram : []
        guard !buckets.isEmpty else {
            if area.height > 1 { buffer.put("…", x: area.x + 2, y: area.y + 1, style: Theme.dim) }
            return
        }
        let shown = buckets.prefix(area.height - 1)
        let labels = shown.map { Formatting.duration($0.lower) + " – " + Formatting.duration($0.upper) }
        let labelWidth = labels.map(DisplayWidth.of).max() ?? 0
        let top = shown.map(\.count).max() ?? 0
        let countWidth = max(1, shown.map { DisplayWidth.of(Formatting.count($0.count)) }.max() ?? 1)
        let marks = percentileMarks(row, buckets: Array(shown))
        let markWidth = marks.values.map { DisplayWidth.of($0) }.max().map { $0 + 2 } ?? 0
        let barWidth = max(1, area.width - 2 - labelWidth - 2 - 1 - countWidth - markWidth - 1)
        for (i, bucket) in shown.enumerated() {
            let y = area.y + 1 + i
            let label = labels[i]
            var bx = area.x + 1 + labelWidth - DisplayWidth.of(label)
            bx += buffer.put(label, x: bx, y: y, style: Theme.axis)
            bx += 2
            // At least one block for any non-empty bucket: a lone slow span stays visible.
            let length = top == 0 || bucket.count == 0 ? 0 : max(1, (bucket.count * barWidth + top / 2) / top)
            buffer.put(String(repeating: "█", count: length), x: bx, y: y, style: .plain)
            bx += barWidth + 1
            let count = Formatting.count(bucket.count)
            bx += buffer.put(String(repeating: " ", count: countWidth - DisplayWidth.of(count)) + count, x: bx, y: y,
                             style: bucket.count == 0 ? Theme.dim : .plain)
            if let mark = marks[i] { buffer.put("  " + mark, x: bx, y: y, style: Theme.section) }
        }
    }

    /// `◀ p50 p90` on the bucket that holds each percentile (the last bucket
    /// whose lower bound is at or below it, so a value between buckets still lands).
    static func percentileMarks(_ row: LatencyIndex.Row, buckets: [LatencyIndex.Bucket]) -> [Int: String] {
        var names: [Int: [String]] = [:]
        for (name, value) in [("p50", row.p50), ("p90", row.p90), ("p99", row.p99)] {
            guard let index = buckets.lastIndex(where: { $0.lower <= value }) ?? (buckets.isEmpty ? nil : 0) else { continue }
            names[index, default: []].append(name)
        }
        return names.mapValues { "◀ " + $0.joined(separator: " ") }
    }

    /// The table as plain text lines (column titles, then every row; no
    /// histogram): what `tracetty stats` writes.
    public static func plainText(rows: [LatencyIndex.Row], width: Int) -> [String] {
        let area = Rect(x: 0, y: 0, width: width, height: rows.count + 1)
        var buffer = CellBuffer(width: width, height: area.height)
        drawTable(rows, column: nil, descending: false, scroll: ScrollSelection(selected: -1), area: area, into: &buffer)
        return buffer.lines(trimmingTrailingSpaces: true)
    }
}
