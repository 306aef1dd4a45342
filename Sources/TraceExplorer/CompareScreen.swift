import TraceModel
import TerminalUI

/// Two traces lined up by span path (the chain of `service: operation` from
/// the root), as Jaeger's comparison does: count and total in A and in B,
/// the difference, paths only in one of them highlighted, biggest
/// differences first.
public struct CompareScreen: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case move(ListMove), swap, close
    }

    public let a: TraceSummary
    public let b: TraceSummary
    /// nil while it is being computed.
    public private(set) var comparison: TraceComparison?
    public internal(set) var scroll = ScrollSelection()

    public init(a: TraceSummary, b: TraceSummary) {
        self.a = a
        self.b = b
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        ListMove.bindings(item: "path", Action.move) + [
            KeyBinding([.char("x")], "swap A and B", hint: "swap", .swap),
            KeyBinding([.escape, .backspace, .char("=")], "close the comparison", hint: "back", .close),
        ]
    }

    enum Outcome: Equatable { case none, close, swap }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> Outcome {
        let count = comparison?.rows.count ?? 0
        let page = max(1, context.pageRows)
        switch action {
        case .move(let move): scroll.apply(move, count: count, page: page)
        case .swap: return .swap
        case .close: return .close
        }
        return .none
    }

    mutating func setComparison(_ comparison: TraceComparison) {
        self.comparison = comparison
        scroll = ScrollSelection()
    }
}

/// Draws the comparison: a summary line, column titles, one row per path.
public enum CompareView {
    static let figureWidth = 9
    /// Which figures stay when the screen is narrow, most telling first.
    static let columnPriority = [4, 2, 3, 5, 0, 1]

    public static func render(_ screen: CompareScreen, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let top = layout.traceHeader
        var x = top.x + 1
        func put(_ text: String, _ style: Style) {
            guard x < top.maxX - 1 else { return }
            x += buffer.putTruncated(text, x: x, y: top.y, style: style, maxWidth: top.maxX - 1 - x)
        }
        // The figures first: the ids and names may be cut at narrow widths.
        put("A/B ", .bold)
        if let summary = screen.comparison?.summary {
            let delta = summary.durationA == summary.durationB ? "0"
                : Formatting.offset(of: summary.durationB, from: summary.durationA)
            put("duration " + Formatting.duration(summary.durationA) + " / " + Formatting.duration(summary.durationB)
                + " (" + delta + ")", .bold)
            put("  spans \(summary.spansA) / \(summary.spansB)", .plain)
            put("  errors \(summary.errorsA) / \(summary.errorsB)", summary.errorsA + summary.errorsB > 0 ? Theme.error : .plain)
        }
        put("   A ", Theme.compareOnlyA)
        put(Formatting.traceTag(screen.a.traceID) + " " + screen.a.rootService + ": " + screen.a.rootOperation, .plain)
        put("  B ", Theme.compareOnlyB)
        put(Formatting.traceTag(screen.b.traceID) + " " + screen.b.rootService + ": " + screen.b.rootOperation, .plain)

        let header = layout.axis
        buffer.fill(header, style: Theme.header)
        // Narrow screens keep the path readable and drop the least telling figures.
        let shown = Set(columnPriority.prefix(max(1, (header.width - 26) / (figureWidth + 1))))
        let columns = (0..<6).filter { shown.contains($0) }
        let pathWidth = max(12, header.width - columns.count * (figureWidth + 1) - 2)
        buffer.put(" SPAN PATH (service: operation from the root)", x: header.x, y: header.y, style: Theme.header, maxWidth: pathWidth)
        var hx = header.x + 1 + pathWidth
        let titles = ["COUNT A", "COUNT B", "TOTAL A", "TOTAL B", "DIFF", "DIFF %"]
        for column in columns where hx + figureWidth <= header.maxX {
            let title = titles[column]
            TraceListView.rightAligned(&buffer, title, x: hx, y: header.y, width: figureWidth, style: Theme.header)
            hx += figureWidth + 1
        }

        let body = layout.waterfallBody
        guard let comparison = screen.comparison else {
            buffer.put("comparing…", x: 2, y: body.y + 1, style: Theme.dim)
            return
        }
        for line in 0..<body.height {
            let index = screen.scroll.top + line
            guard index < comparison.rows.count else { break }
            let row = comparison.rows[index]
            let y = body.y + line
            let selected = index == screen.scroll.selected
            let base: Style = selected ? Theme.selected : .plain
            if selected { buffer.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: base) }
            // Only in A / only in B: a letter in the gutter (no colour needed) and a tinted path.
            let (mark, markStyle): (String, Style) = switch row.presence {
            case .both: (" ", base)
            case .onlyA: ("A", Theme.compareOnlyA)
            case .onlyB: ("B", Theme.compareOnlyB)
            }
            buffer.put(mark, x: body.x, y: y, style: Theme.onRow(markStyle, selected: selected))
            var px = body.x + 2 + min(row.depth, pathWidth / 4) * 2
            let pathEnd = body.x + 1 + pathWidth - 1
            let service = row.service, operation = row.operation
            px += buffer.putTruncated(service, x: px, y: y, style: Theme.onRow(Theme.service(service), selected: selected), maxWidth: max(0, pathEnd - px))
            if !operation.isEmpty, px < pathEnd - 2 {
                px += buffer.put(": ", x: px, y: y, style: base)
                let style = row.presence == .both ? base : Theme.onRow(markStyle.with(.underline), selected: selected)
                buffer.putTruncated(operation, x: px, y: y, style: style, maxWidth: max(0, pathEnd - px))
            }
            var fx = body.x + 1 + pathWidth
            let percent: String = row.totalA > 0
                ? (row.difference == 0 ? "0%" : (row.difference > 0 ? "+" : "-")
                    + Formatting.percent(Double(row.difference.magnitude) / Double(row.totalA) * 100))
                : (row.totalB > 0 ? "new" : "")
            let cells = [String(row.countA), String(row.countB),
                         row.countA == 0 ? "-" : Formatting.duration(row.totalA), row.countB == 0 ? "-" : Formatting.duration(row.totalB),
                         Formatting.signedDuration(row.difference), percent]
            for i in columns where fx + figureWidth <= body.maxX {
                let text = cells[i]
                let style: Style = i >= 4 && row.difference != 0
                    ? Theme.onRow(row.difference > 0 ? Theme.slower : Theme.faster, selected: selected) : base
                TraceListView.rightAligned(&buffer, text, x: fx, y: y, width: figureWidth, style: style)
                fx += figureWidth + 1
            }
        }
    }

    /// The comparison as plain text lines: what `tracetty print --compare` writes.
    public static func plainText(_ comparison: TraceComparison, a: TraceSummary, b: TraceSummary, width: Int,
                                 rawText: Bool = false) -> [String] {
        var screen = CompareScreen(a: a, b: b)
        screen.setComparison(comparison)
        let height = comparison.rows.count + 2
        var buffer = CellBuffer(width: width, height: height, keepsRawText: rawText)
        let layout = ExplorerLayout.plain(width: width, height: height)
        render(screen, layout: layout, into: &buffer)
        // The summary line is never cut: it carries both trace ids.
        var header = CellBuffer(width: 1024, height: 1, keepsRawText: rawText)
        render(screen, layout: ExplorerLayout.plain(width: 1024, height: 1), into: &header)
        return [header.lines(trimmingTrailingSpaces: true)[0]] + buffer.lines(trimmingTrailingSpaces: true).dropFirst()
    }
}
