import TraceModel
import TerminalUI

/// `S` in the waterfall: Jaeger's Trace Statistics table for the open trace,
/// grouped by service, operation, or both; sortable by any column; Enter
/// finds the group's spans in the waterfall.
public struct StatisticsPanel: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case move(ListMove), group, nextColumn, previousColumn, reverse, find, close
    }

    public private(set) var grouping: TraceStatistics.Grouping
    public private(set) var column: TraceStatistics.Column = .total
    public private(set) var descending = true
    /// nil while a big trace's table is being computed.
    public private(set) var statistics: TraceStatistics?
    public internal(set) var scroll = ScrollSelection()

    public init(grouping: TraceStatistics.Grouping = .service) {
        self.grouping = grouping
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        ListMove.bindings(item: "row", Action.move) + [
            KeyBinding([.enter], "find the group's spans in the waterfall", hint: "find spans", .find),
            KeyBinding([.char("b")], "group by service / operation / service and operation", hint: "group", .group),
            KeyBinding([.char("s"), .right], "sort by the next column", hint: "sort", hintKeys: "s ←→", .nextColumn),
            KeyBinding([.char("a"), .left], "sort by the previous column", .previousColumn),
            KeyBinding([.char("r")], "reverse the order", .reverse),
            KeyBinding([.escape, .backspace, .char("S")], "back to the waterfall", hint: "back", .close),
        ]
    }

    enum Outcome: Equatable { case none, close, regroup, find(String) }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> Outcome {
        let count = statistics?.rows.count ?? 0
        let page = max(1, context.pageRows)
        let columns = TraceStatistics.Column.allCases
        switch action {
        case .move(let move): scroll.apply(move, count: count, page: page)
        case .group:
            let all = TraceStatistics.Grouping.allCases
            grouping = all[((all.firstIndex(of: grouping) ?? 0) + 1) % all.count]
            statistics = nil
            scroll = ScrollSelection()
            return .regroup
        case .nextColumn, .previousColumn:
            let i = columns.firstIndex(of: column) ?? 0
            column = columns[(i + (action == .nextColumn ? 1 : columns.count - 1)) % columns.count]
            // Names read best A to Z; figures biggest first.
            descending = column != .name
            resort()
        case .reverse:
            descending.toggle()
            resort()
        case .find:
            guard let rows = statistics?.rows, scroll.selected < rows.count else { return .none }
            return .find(Self.findText(rows[scroll.selected]))
        case .close: return .close
        }
        return .none
    }

    /// A span query that finds exactly the row's spans.
    static func findText(_ row: TraceStatistics.Row) -> String {
        spanTerms(service: row.service, operation: row.operation)
    }

    /// `{service="S" op="O"}`: the spans of a service and operation (either may be left out).
    static func spanTerms(service: String?, operation: String?) -> String {
        var terms: [String] = []
        if let service { terms.append("service=" + TraceQuery.quoted(service)) }
        if let operation { terms.append("op=" + TraceQuery.quoted(operation)) }
        return "{" + terms.joined(separator: " ") + "}"
    }

    /// The table for the current grouping arrived (or was computed at once).
    mutating func setStatistics(_ table: TraceStatistics) {
        guard table.grouping == grouping else { return }
        var table = table
        if table.sortColumn != column || table.descending != descending { table.sort(by: column, descending: descending) }
        statistics = table
        scroll.select(scroll.selected, count: table.rows.count)
    }

    /// The trace changed under a table too big to recompute at once.
    mutating func invalidate() {
        statistics = nil
    }

    mutating func resort() {
        guard var table = statistics else { return }
        let selectedName = scroll.selected < table.rows.count ? table.rows[scroll.selected].name : nil
        table.sort(by: column, descending: descending)
        statistics = table
        if let selectedName, let index = table.rows.firstIndex(where: { $0.name == selectedName }) {
            scroll.select(index, count: table.rows.count)
        }
    }
}

/// Draws the statistics table in the waterfall's place.
public enum StatisticsView {
    static let figureColumns: [(TraceStatistics.Column, String, Int)] = [
        (.count, "COUNT", 6), (.total, "TOTAL", 9), (.average, "AVG", 9), (.min, "MIN", 9), (.max, "MAX", 9),
        (.selfTotal, "SELF TOTAL", 11), (.selfAverage, "SELF AVG", 9), (.percent, "% TRACE", 8),
    ]

    /// Most telling first: what stays on a narrow screen.
    static let columnPriority: [TraceStatistics.Column] = [.total, .count, .percent, .selfTotal, .average, .max, .min, .selfAverage]

    static func render(_ panel: StatisticsPanel, trace: Trace, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let header = layout.axis
        buffer.fill(header, style: Theme.header)
        // Narrow screens keep the name readable and drop the least telling figures.
        var shown = Set<TraceStatistics.Column>()
        var figuresWidth = 0
        for column in columnPriority {
            guard let width = figureColumns.first(where: { $0.0 == column })?.2, header.width - figuresWidth - width - 3 >= 22 else { break }
            shown.insert(column)
            figuresWidth += width + 1
        }
        let visible = figureColumns.filter { shown.contains($0.0) }
        let nameWidth = max(12, header.width - figuresWidth - 2)
        let arrow = panel.descending ? "▼" : "▲"
        let groupTitle: String
        switch panel.grouping {
        case .service: groupTitle = "SERVICE"
        case .operation: groupTitle = "OPERATION"
        case .serviceAndOperation: groupTitle = "SERVICE: OPERATION"
        }
        var x = header.x + 1
        buffer.putTruncated(groupTitle + (panel.column == .name ? " " + arrow : ""), x: x, y: header.y, style: Theme.header,
                            maxWidth: nameWidth)
        x += nameWidth
        for (column, title, width) in visible where x + width <= header.maxX {
            let text = (panel.column == column ? arrow : "") + title
            TraceListView.rightAligned(&buffer, text, x: x, y: header.y, width: width, style: Theme.header)
            x += width + 1
        }

        let body = layout.waterfallBody
        guard let table = panel.statistics else {
            buffer.put("computing statistics…", x: 2, y: body.y + 1, style: Theme.dim)
            return
        }
        for line in 0..<body.height {
            let index = panel.scroll.top + line
            guard index < table.rows.count else { break }
            let row = table.rows[index]
            let y = body.y + line
            let selected = index == panel.scroll.selected
            let base: Style = selected ? Theme.selected : .plain
            if selected { buffer.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: base) }
            var x = body.x + 1
            let nameEnd = x + nameWidth - 1
            if let service = row.service {
                x += buffer.putTruncated(service, x: x, y: y, style: Theme.onRow(Theme.service(service), selected: selected), maxWidth: nameEnd - x)
                if let operation = row.operation, x < nameEnd - 2 {
                    x += buffer.put(": ", x: x, y: y, style: base)
                    buffer.putTruncated(operation, x: x, y: y, style: base, maxWidth: nameEnd - x)
                }
            } else {
                buffer.putTruncated(row.name, x: x, y: y, style: base, maxWidth: nameEnd - x)
            }
            if row.errorCount > 0 { buffer.put("!", x: body.x, y: y, style: Theme.onRow(Theme.error, selected: selected)) }
            x = body.x + 1 + nameWidth
            for (column, _, width) in visible where x + width <= body.maxX {
                let text = figure(row, column)
                let style = column == panel.column ? base.with(.bold) : base
                TraceListView.rightAligned(&buffer, text, x: x, y: y, width: width, style: style)
                x += width + 1
            }
        }
    }

    /// The table as plain text lines: what `tracetty print --stats` writes.
    public static func plainText(_ table: TraceStatistics, trace: Trace, width: Int, utcOffsetSeconds: Int = 0,
                                 rawText: Bool = false) -> [String] {
        var panel = StatisticsPanel(grouping: table.grouping)
        panel.setStatistics(table)
        panel.scroll = ScrollSelection(selected: -1)
        let height = table.rows.count + 2
        var buffer = CellBuffer(width: width, height: height, keepsRawText: rawText)
        let layout = ExplorerLayout.plain(width: width, height: height)
        render(panel, trace: trace, layout: layout, into: &buffer)
        // The header line is never cut: it carries the trace id.
        var header = CellBuffer(width: 1024, height: 1, keepsRawText: rawText)
        WaterfallView.renderTraceHeader(trace.summary, at: Rect(x: 0, y: 0, width: 1024, height: 1), utcOffsetSeconds: utcOffsetSeconds,
                                        into: &header)
        return header.lines(trimmingTrailingSpaces: true) + buffer.lines(trimmingTrailingSpaces: true).dropFirst()
    }

    static func figure(_ row: TraceStatistics.Row, _ column: TraceStatistics.Column) -> String {
        switch column {
        case .name: return row.name
        case .count: return String(row.count)
        case .total: return Formatting.duration(row.totalNanos)
        case .average: return Formatting.duration(row.averageNanos)
        case .min: return Formatting.duration(row.minNanos)
        case .max: return Formatting.duration(row.maxNanos)
        case .selfTotal: return Formatting.duration(row.selfTotalNanos)
        case .selfAverage: return Formatting.duration(row.selfAverageNanos)
        case .percent: return Formatting.percent(row.percentOfTrace)
        }
    }
}
