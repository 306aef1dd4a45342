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

    public static func render(_ state: ExplorerState, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let withDate = layout.listHeader.width >= 100
        let columns = Columns(width: layout.listHeader.width, withDate: withDate)
        let arrow = state.descending ? "▼" : "▲"
        let y = layout.listHeader.y
        buffer.fill(layout.listHeader, style: Theme.header)
        var x = 1
        x += columnText(&buffer, "START" + (state.sort == .start ? " " + arrow : ""), x: x, y: y, width: columns.start, style: Theme.header)
        x += columnText(&buffer, "ROOT SERVICE: OPERATION", x: x, y: y, width: columns.root, style: Theme.header)
        x += rightAligned(&buffer, (state.sort == .duration ? arrow + " " : "") + "DURATION", x: x, y: y, width: columns.duration, style: Theme.header)
        x += rightAligned(&buffer, "SPANS", x: x, y: y, width: columns.spans, style: Theme.header)
        x += rightAligned(&buffer, "ERR", x: x, y: y, width: columns.errors, style: Theme.header)
        x += 2
        _ = columnText(&buffer, "SERVICES", x: x, y: y, width: columns.services, style: Theme.header)

        let body = layout.listBody
        if state.traces.isEmpty {
            if let live = state.ingest.live {
                let lines = ["waiting for spans: point a tracer at one of these", ""] + live.addresses.map { "  " + $0 }
                for (i, line) in lines.enumerated() where i + 1 < body.height {
                    buffer.put(line, x: 2, y: body.y + 1 + i, style: i == 0 ? .bold : Theme.dim)
                }
            } else {
                buffer.put(state.ingest.loading ? "loading…" : "no traces", x: 2, y: body.y + 1, style: Theme.dim)
            }
            return
        }
        let selected = state.selectedIndex
        for row in 0..<body.height {
            let index = state.listScrollTop + row
            guard index < state.traces.count else { break }
            let trace = state.traces[index]
            let y = body.y + row
            let isSelected = index == selected
            let base: Style = isSelected ? Theme.selected : .plain
            if isSelected { buffer.fill(Rect(x: 0, y: y, width: body.width, height: 1), style: base) }
            var x = 1
            let start = Formatting.timestamp(trace.startUnixNano, utcOffsetSeconds: state.utcOffsetSeconds, withDate: withDate)
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
