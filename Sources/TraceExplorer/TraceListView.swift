import Synchronization
import TraceModel
import TerminalUI

/// One row per trace: start, root `service: operation`, duration, spans,
/// error mark, services.
public enum TraceListView {
    struct Columns {
        var start: Int
        var root: Int
        var duration = 9
        var spans = 6
        var errors = 4
        var services: Int

        init(width: Int, withDate: Bool) {
            start = withDate ? 23 : 12
            let fixed = start + duration + spans + errors + 5
            let rest = max(0, width - fixed)
            root = max(10, rest * 3 / 5)
            services = max(0, rest - root)
        }
    }

    public static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let list = model.list
        let withDate = layout.listHeader.width >= 100
        let columns = Columns(width: layout.listHeader.width, withDate: withDate)
        let arrow = list.descending ? "▼" : "▲"
        let y = layout.listHeader.y
        buffer.fill(layout.listHeader, style: Theme.header)
        var x = 1
        x += columnText(&buffer, "START" + (list.sort == .start ? " " + arrow : ""), x: x, y: y, width: columns.start, style: Theme.header)
        x += columnText(&buffer, "ROOT SERVICE: OPERATION", x: x, y: y, width: columns.root, style: Theme.header)
        x += rightAligned(&buffer, (list.sort == .duration ? arrow + " " : "") + "DURATION", x: x, y: y, width: columns.duration, style: Theme.header)
        x += rightAligned(&buffer, (list.sort == .spans ? arrow : "") + "SPANS", x: x, y: y, width: columns.spans, style: Theme.header)
        x += rightAligned(&buffer, (list.sort == .errors ? arrow : "") + "ERR", x: x, y: y, width: columns.errors, style: Theme.header)
        x += 2
        _ = columnText(&buffer, "SERVICES", x: x, y: y, width: columns.services, style: Theme.header)

        let body = layout.listBody
        if list.rows.isEmpty {
            if list.filter != nil, list.totalCount > 0 {
                buffer.put("no trace matches the filter: \(list.totalCount) traces hidden", x: 2, y: body.y + 1, style: Theme.dim, maxWidth: body.width - 4)
            } else if let live = model.ingest.live {
                let lines = ["waiting for spans: point a tracer at one of these", ""] + live.addresses.map { "  " + $0 }
                for (i, line) in lines.enumerated() where i + 1 < body.height {
                    buffer.put(line, x: 2, y: body.y + 1 + i, style: i == 0 ? .bold : Theme.dim)
                }
            } else {
                buffer.put(model.ingest.loading ? "loading…" : "no traces", x: 2, y: body.y + 1, style: Theme.dim)
            }
            return
        }
        let selected = list.selectedIndex
        for row in 0..<body.height {
            let index = list.selection.top + row
            guard index < list.rows.count else { break }
            let trace = list.rows[index]
            let y = body.y + row
            let isSelected = index == selected
            let base: Style = isSelected ? Theme.selected : .plain
            if isSelected { buffer.fill(Rect(x: 0, y: y, width: body.width, height: 1), style: base) }
            if model.marked?.traceID == trace.traceID {
                buffer.put("A", x: 0, y: y, style: Theme.onRow(Theme.compareOnlyA, selected: isSelected))
            }
            var x = 1
            let start = Formatting.timestamp(trace.startUnixNano, utcOffsetSeconds: model.utcOffsetSeconds, withDate: withDate)
            x += columnText(&buffer, start, x: x, y: y, width: columns.start, style: Theme.onRow(Theme.dim, selected: isSelected))
            // Root: service in its colour, then the operation.
            let rootX = x
            let service = trace.rootService.isEmpty ? "?" : trace.rootService
            var used = buffer.putTruncated(service, x: rootX, y: y, style: Theme.onRow(Theme.service(service), selected: isSelected), maxWidth: columns.root - 1)
            if used < columns.root - 3 {
                used += buffer.put(": ", x: rootX + used, y: y, style: base)
                buffer.putTruncated(trace.rootOperation, x: rootX + used, y: y, style: base, maxWidth: columns.root - 1 - used)
            }
            x += columns.root + 1
            x += rightAligned(&buffer, Formatting.duration(trace.durationNano), x: x, y: y, width: columns.duration, style: base)
            x += rightAligned(&buffer, String(trace.spanCount), x: x, y: y, width: columns.spans, style: base)
            let mark = trace.hasError ? "!" + (trace.errorCount > 1 ? String(trace.errorCount) : "") : (trace.isIncomplete ? "?" : "")
            x += rightAligned(&buffer, mark, x: x, y: y, width: columns.errors,
                              style: Theme.onRow(trace.hasError ? Theme.error : Theme.warning, selected: isSelected))
            x += 2
            var servicesX = x
            for (i, name) in trace.services.enumerated() {
                let remaining = columns.services - (servicesX - x)
                if remaining <= 1 { break }
                if i > 0 { servicesX += buffer.put(" ", x: servicesX, y: y, style: base) }
                let left = trace.services.count - i - 1
                let suffix = left > 0 ? " +\(left)" : ""
                if DisplayWidth.of(name) + DisplayWidth.of(suffix) > remaining - 1, left > 0 {
                    // Not enough room for this one and the rest: say how many are hidden.
                    buffer.put("+\(left + 1)", x: servicesX, y: y, style: Theme.onRow(Theme.dim, selected: isSelected), maxWidth: remaining)
                    break
                }
                servicesX += buffer.putTruncated(name, x: servicesX, y: y, style: Theme.onRow(Theme.service(name), selected: isSelected), maxWidth: remaining)
            }
        }
    }

    /// The duration plot above the list, over the rows that pass the filter.
    /// Live, the plot's window ends now and scrolls with time; a dump shows its own range.
    /// Binning every row costs O(rows): the dots are drawn once per change of
    /// the set of rows (or size, or second) and kept; a key that only moves the
    /// selection, or sorts, redraws the marker alone.
    static func renderPlot(_ model: ExplorerModel, at rect: Rect, into buffer: inout CellBuffer) {
        let now = model.nowUnixNano
        // Live, the last five minutes scroll with time; a replay fits what it has played so far (its dump may span seconds).
        let range: ClosedRange<UInt64>? = model.isLive && !model.isReplay && now > liveWindowNanos ? (now - liveWindowNanos)...now : nil
        let key = PlotMemo.Key(rows: model.list.rowSetVersion, width: rect.width, height: rect.height, range: range,
                               utcOffsetSeconds: model.utcOffsetSeconds)
        let drawn = plotMemo.value(for: key) {
            var plot = CellBuffer(width: rect.width, height: rect.height)
            let axes = DurationPlotView.render(model.list.rows, selected: nil, timeRange: range,
                                               utcOffsetSeconds: model.utcOffsetSeconds,
                                               at: Rect(width: rect.width, height: rect.height), into: &plot)
            return (plot, axes)
        }
        buffer.blit(drawn.plot, x: rect.x, y: rect.y)
        if let selected = model.list.selectedSummary, let axes = drawn.axes, let cell = axes.cell(of: selected) {
            buffer.put(DurationPlotView.selectedGlyph, x: rect.x + cell.x, y: rect.y + cell.y,
                       style: selected.hasError ? DurationPlotView.selectedErrorStyle : DurationPlotView.selectedStyle)
        }
    }

    static let plotMemo = PlotMemo()

    /// How far back the live plot looks.
    static let liveWindowNanos: UInt64 = 5 * 60 * 1_000_000_000

    @discardableResult
    static func columnText(_ buffer: inout CellBuffer, _ text: String, x: Int, y: Int, width: Int, style: Style) -> Int {
        buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: width)
        return width + 1
    }

    @discardableResult
    static func rightAligned(_ buffer: inout CellBuffer, _ text: String, x: Int, y: Int, width: Int, style: Style) -> Int {
        let w = DisplayWidth.of(text)
        buffer.putTruncated(text, x: x + max(0, width - w), y: y, style: style, maxWidth: width)
        return width + 1
    }
}

/// The last plot drawn, by what it was drawn from. Rows versions are unique
/// in the process, so a hit is always the same picture: rendering stays a
/// pure function of the model.
final class PlotMemo: Sendable {
    struct Key: Hashable {
        var rows: Int
        var width: Int
        var height: Int
        var range: ClosedRange<UInt64>?
        var utcOffsetSeconds: Int
    }

    private let last = Mutex<(key: Key, plot: CellBuffer, axes: DurationPlotView.Axes?)?>(nil)

    func value(for key: Key, _ make: () -> (CellBuffer, DurationPlotView.Axes?)) -> (plot: CellBuffer, axes: DurationPlotView.Axes?) {
        if let hit = last.withLock({ $0 }), hit.key == key { return (hit.plot, hit.axes) }
        let (plot, axes) = make()
        last.withLock { $0 = (key, plot, axes) }
        return (plot, axes)
    }
}
