import TraceModel
import TerminalUI

/// One row per span: a tree of `service operation` on the left, a bar on a
/// shared time axis on the right. Only the visible rows are drawn, so a
/// 100,000-span trace costs what a 30-span one does.
public enum WaterfallView {
    /// Columns of the name tree and of the bars for a given width.
    public struct Geometry: Equatable, Sendable {
        public var nameWidth: Int
        public var barX: Int
        public var barWidth: Int

        public init(width: Int) {
            nameWidth = min(max(20, width * 2 / 5), 64)
            barX = nameWidth + 1
            barWidth = max(1, width - barX - 1)
        }

        /// The bar's first and last column (inclusive) for a span, at least one cell.
        func barColumns(start: UInt64, duration: UInt64, traceStart: UInt64, traceDuration: UInt64) -> (Int, Int) {
            let total = Double(max(1, traceDuration))
            let offset = Double(start >= traceStart ? start - traceStart : 0)
            // Clamped before converting: an event (or a span) far outside a
            // short trace lands billions of bar widths away, past what `Int` holds.
            func column(_ fraction: Double, _ rule: FloatingPointRoundingRule) -> Int {
                Int(min(fraction * Double(barWidth), Double(barWidth)).rounded(rule))
            }
            let first = min(barWidth - 1, column(offset / total, .down))
            let end = column((offset + Double(duration)) / total, .up)
            let last = min(barWidth - 1, max(first, end - 1))
            return (first, last)
        }

        /// The times a bar column stands for: [lo, hi).
        func columnTimes(_ column: Int, traceStart: UInt64, traceDuration: UInt64) -> (UInt64, UInt64) {
            // Fractions of the duration, converted only below 2^63: a hostile
            // trace lasting near UInt64.max must not trap the conversion.
            let total = Double(max(1, traceDuration))
            func offset(_ c: Int) -> UInt64 { UInt64(min(Double(c) / Double(barWidth) * total, 9.2e18)) }
            let lo = traceStart &+ offset(column)
            let hi = traceStart &+ offset(column + 1)
            return (lo, lo == .max ? lo : max(hi, lo + 1))
        }
    }

    /// `server-1: server-1  751ms  3 spans  2 services  depth 3  trace 8777…`
    public static func renderTraceHeader(_ summary: TraceSummary, at rect: Rect, utcOffsetSeconds: Int, into buffer: inout CellBuffer) {
        var x = rect.x + 1
        let y = rect.y
        let limit = rect.maxX - 1
        func put(_ text: String, _ style: Style) {
            guard x < limit else { return }
            x += buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: limit - x)
        }
        put(summary.rootService, Theme.service(summary.rootService).with(.bold))
        put(": ", .bold)
        put(summary.rootOperation, .bold)
        put("  " + Formatting.duration(summary.durationNano), .bold)
        put("  \(summary.spanCount) span" + (summary.spanCount == 1 ? "" : "s"), .plain)
        put("  \(summary.services.count) service" + (summary.services.count == 1 ? "" : "s"), .plain)
        put("  depth \(summary.depth)", .plain)
        if summary.hasError { put("  \(summary.errorCount) error" + (summary.errorCount == 1 ? "" : "s"), Theme.error) }
        if summary.isIncomplete { put("  incomplete", Theme.warning) }
        put("  trace " + summary.traceID.shortHex, Theme.dim)
        put("  " + Formatting.timestamp(summary.startUnixNano, utcOffsetSeconds: utcOffsetSeconds), Theme.dim)
    }

    /// The open trace's header, with the critical path's length when it is shown.
    static func renderTraceHeader(_ screen: TraceScreen, at rect: Rect, utcOffsetSeconds: Int, into buffer: inout CellBuffer) {
        var summaryRect = rect
        var note = ""
        if screen.showsCriticalPath {
            if let path = screen.criticalPath {
                note = " critical path " + Formatting.duration(path.totalNanos) + " ("
                    + Formatting.percent(percent(path.totalNanos, of: screen.trace.summary.durationNano)) + ")"
                    + (path.rootCount > 1 ? " under \(path.rootCount) roots " : " ")
            } else {
                note = " critical path… "
            }
        }
        let w = DisplayWidth.of(note)
        if w > 0, w < rect.width / 2 {
            summaryRect.width -= w
            buffer.put(note, x: rect.maxX - w, y: rect.y, style: Theme.criticalPath)
        }
        renderTraceHeader(screen.trace.summary, at: summaryRect, utcOffsetSeconds: utcOffsetSeconds, into: &buffer)
    }

    static func percent(_ part: UInt64, of whole: UInt64) -> Double {
        whole == 0 ? 0 : Double(part) / Double(whole) * 100
    }

    /// Tick labels at 0, ¼, ½, ¾ and the end of the trace.
    public static func renderAxis(_ summary: TraceSummary, geometry: Geometry, at rect: Rect, into buffer: inout CellBuffer) {
        let y = rect.y
        buffer.fill(rect, style: Theme.axis)
        buffer.put(" SERVICE OPERATION", x: rect.x, y: y, style: Theme.axis.with(.bold), maxWidth: geometry.nameWidth)
        buffer.put("│", x: rect.x + geometry.nameWidth, y: y, style: Theme.axis)
        let ticks = geometry.barWidth >= 40 ? 4 : geometry.barWidth >= 20 ? 2 : 1
        var lastEnd = rect.x + geometry.barX - 1
        for i in 0...ticks {
            let label = i == 0 ? "0" : Formatting.duration(summary.durationNano / UInt64(ticks) * UInt64(i))
            let w = DisplayWidth.of(label)
            let column = rect.x + geometry.barX + (geometry.barWidth - 1) * i / ticks
            // Label left of its tick at the end, centred-left elsewhere.
            var x = i == 0 ? column : i == ticks ? column - w + 1 : column
            x = max(x, lastEnd + 1)
            guard x + w <= rect.x + geometry.barX + geometry.barWidth else { continue }
            buffer.put(label, x: x, y: y, style: Theme.axis)
            lastEnd = x + w
        }
    }

    /// Draws one waterfall row.
    public static func renderRow(
        trace: Trace, row: Int, geometry: Geometry, at rect: Rect, selected: Bool, collapsed: Bool,
        matched: Bool = false, pathSections: [(start: UInt64, end: UInt64)]? = nil, shifted: Bool = false,
        into buffer: inout CellBuffer
    ) {
        let node = trace.tree.rows[row]
        let span = trace.spans[Int(node.spanIndex)]
        let y = rect.y
        let base: Style = selected ? Theme.selected : .plain
        if selected { buffer.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: base) }

        // Gutter mark: error first, then structural warnings, then a skew shift.
        let mark: (String, Style)? =
            span.isError ? ("!", Theme.error)
            : node.marks.contains(.missingParent) ? ("?", Theme.warning)
            : shifted ? ("~", Theme.shifted)
            : node.marks.contains(.cycle) ? ("@", Theme.warning)
            : node.marks.contains(.duplicateID) ? ("=", Theme.warning) : nil
        if let mark { buffer.put(mark.0, x: rect.x, y: y, style: Theme.onRow(mark.1, selected: selected)) }

        // Deep trees: indentation stops growing at half the column; the depth
        // is in the detail pane.
        let maxIndent = max(0, (geometry.nameWidth / 2) / 2)
        var x = rect.x + 1 + min(Int(node.depth), maxIndent) * 2
        var nameEnd = rect.x + geometry.nameWidth - 1
        // With the critical path shown, the span's time on it closes the name column.
        if let pathSections {
            let onPath = pathSections.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }
            let text = onPath > 0 ? Formatting.duration(onPath) : "·"
            let w = DisplayWidth.of(text)
            if nameEnd - w - 1 > x + 6 {
                buffer.put(text, x: nameEnd - w, y: y, style: Theme.onRow(onPath > 0 ? Theme.criticalPath : Theme.dim, selected: selected))
                nameEnd -= w + 1
            }
        }
        let twisty = node.childCount == 0 ? " " : collapsed ? "▸" : "▾"
        x += buffer.put(twisty + " ", x: x, y: y, style: base, maxWidth: max(0, nameEnd - x))
        // A FOLLOWS_FROM edge: the parent does not wait for this span.
        if node.marks.contains(.followsFrom), x < nameEnd - 2 {
            x += buffer.put("⇢ ", x: x, y: y, style: Theme.onRow(Theme.dim, selected: selected))
        }
        if x < nameEnd {
            x += buffer.putTruncated(span.serviceName, x: x, y: y, style: Theme.onRow(Theme.service(span.serviceName), selected: selected), maxWidth: nameEnd - x)
        }
        if x < nameEnd - 1 {
            x += buffer.put(" ", x: x, y: y, style: base)
            var name = span.name
            if collapsed { name += " (+\(Int(node.subtreeEnd) - row - 1))" }
            // A find match: highlighted, and underlined so it shows without colour.
            buffer.putTruncated(name, x: x, y: y, style: matched ? (selected ? Theme.findMatchSelected : Theme.findMatch) : base,
                                maxWidth: nameEnd - x)
        }
        buffer.put("│", x: rect.x + geometry.nameWidth, y: y, style: Theme.onRow(Theme.axis, selected: selected))

        // The bar, then its duration beside it (after it if there is room, else before).
        let summary = trace.summary
        let (first, last) = geometry.barColumns(
            start: span.startTimeUnixNano, duration: span.durationNano,
            traceStart: summary.startUnixNano, traceDuration: summary.durationNano)
        // Bars keep their service's colour so the trace's shape reads at a
        // glance; an error shows in the gutter mark and a red duration.
        let barStyle = Style(foreground: Theme.serviceColor(span.serviceName), background: base.background)
        let labelStyle = Theme.onRow(span.isError ? Theme.error : Theme.dim, selected: selected)
        let barLeft = rect.x + geometry.barX + first
        buffer.fill(Rect(x: barLeft, y: y, width: last - first + 1, height: 1), with: "█", style: barStyle)
        if let pathSections {
            // Off the critical path the bar is shaded; on it, solid (and bold):
            // the difference reads without colour.
            let offPath = Style(foreground: Theme.serviceColor(span.serviceName), background: base.background, attributes: [.dim])
            for column in first...last {
                let (lo, hi) = geometry.columnTimes(column, traceStart: summary.startUnixNano, traceDuration: summary.durationNano)
                let onPath = pathSections.contains { $0.start < hi && $0.end > lo }
                if !onPath { buffer.put("░", x: rect.x + geometry.barX + column, y: y, style: offPath) }
            }
        }
        // Logs and events: a marker on the bar at each one's time (one per column).
        var marked = Set<Int>()
        for event in span.events {
            let (column, _) = geometry.barColumns(start: event.timeUnixNano, duration: 0,
                                                  traceStart: summary.startUnixNano, traceDuration: summary.durationNano)
            guard marked.insert(column).inserted else { continue }
            let onBar = column >= first && column <= last
            let style = onBar ? Style(foreground: .palette(16), background: Theme.serviceColor(span.serviceName), attributes: [.bold])
                : Theme.onRow(Theme.service(span.serviceName), selected: selected)
            buffer.put("◆", x: rect.x + geometry.barX + column, y: y, style: style)
        }
        let label = Formatting.duration(span.durationNano)
        let w = DisplayWidth.of(label)
        let barAreaEnd = rect.x + geometry.barX + geometry.barWidth
        if barLeft + (last - first + 1) + 1 + w <= barAreaEnd {
            buffer.put(label, x: barLeft + (last - first + 1) + 1, y: y, style: labelStyle)
        } else if barLeft - 1 - w >= rect.x + geometry.barX {
            buffer.put(label, x: barLeft - 1 - w, y: y, style: labelStyle)
        } else if last - first + 1 >= w + 2 {
            // A bar that spans the trace: the duration goes inside its right end.
            let inside = Style(foreground: .palette(16), background: Theme.serviceColor(span.serviceName),
                               attributes: span.isError ? [.bold] : [])
            buffer.put(label, x: barLeft + (last - first + 1) - w - 1, y: y, style: inside)
        }
    }

    public static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        guard let view = model.trace else { return }
        let geometry = Geometry(width: layout.waterfallBody.width)
        renderTraceHeader(view, at: layout.traceHeader, utcOffsetSeconds: model.utcOffsetSeconds, into: &buffer)
        let path = view.showsCriticalPath ? view.criticalPath : nil
        renderAxis(view.trace.summary, geometry: geometry, at: layout.axis, into: &buffer)
        let body = layout.waterfallBody
        let selected = view.selectedVisibleIndex
        for line in 0..<body.height {
            let index = view.waterfall.top + line
            guard index < view.visibleRows.count else { break }
            let row = Int(view.visibleRows[index])
            let spanIndex = view.trace.tree.rows[row].spanIndex
            renderRow(trace: view.trace, row: row, geometry: geometry,
                      at: Rect(x: body.x, y: body.y + line, width: body.width, height: 1),
                      selected: index == selected,
                      collapsed: view.collapsed.contains(spanIndex),
                      matched: view.find?.contains(spanIndex) ?? false,
                      pathSections: path.map { p in p.sections(ofSpan: spanIndex).map { ($0.startUnixNano, $0.endUnixNano) } },
                      shifted: view.shift(ofSpan: spanIndex) != 0, into: &buffer)
        }
        // A scroll position marker when not everything fits.
        if view.visibleRows.count > body.height, body.height > 0 {
            let text = " \(selected + 1)/\(view.visibleRows.count) "
            buffer.put(text, x: body.maxX - DisplayWidth.of(text), y: layout.axis.y, style: Theme.axis.with(.bold))
        }
    }

    /// The whole trace as plain text lines (header, axis, every span): what
    /// `tracetty print` writes. Same drawing code as the explorer.
    /// With `criticalPath`, bars are solid on it and shaded off it, with each
    /// span's time on it; with `shifts`, spans moved for clock skew carry `~`.
    /// `rawText`: names as received, escape sequences and all (`print --raw`).
    public static func plainText(_ trace: Trace, width: Int, utcOffsetSeconds: Int = 0, criticalPath: CriticalPath? = nil,
                                 shifts: [Int64]? = nil, rawText: Bool = false) -> [String] {
        let rows = trace.tree.rows.count
        // The header line is never cut: it carries the trace id.
        var header = CellBuffer(width: 1024, height: 1, keepsRawText: rawText)
        renderTraceHeader(trace.summary, at: Rect(x: 0, y: 0, width: 1024, height: 1), utcOffsetSeconds: utcOffsetSeconds, into: &header)
        let geometry = Geometry(width: width)
        var axis = CellBuffer(width: width, height: 1, keepsRawText: rawText)
        renderAxis(trace.summary, geometry: geometry, at: Rect(x: 0, y: 0, width: width, height: 1), into: &axis)
        var body = axis.lines(trimmingTrailingSpaces: true)
        body.reserveCapacity(rows + 1)
        // Rows are drawn a slice at a time: one buffer for a 100,000-span
        // trace would hold width x 100,000 cells (~300 MB at 100 columns).
        let slice = 1024
        for first in stride(from: 0, to: rows, by: slice) {
            let count = min(slice, rows - first)
            var buffer = CellBuffer(width: width, height: count, keepsRawText: rawText)
            for row in first..<(first + count) {
                let spanIndex = trace.tree.rows[row].spanIndex
                let shifted = shifts.map { Int(spanIndex) < $0.count && $0[Int(spanIndex)] != 0 } ?? false
                renderRow(trace: trace, row: row, geometry: geometry, at: Rect(x: 0, y: row - first, width: width, height: 1),
                          selected: false, collapsed: false,
                          pathSections: criticalPath.map { p in p.sections(ofSpan: spanIndex).map { ($0.startUnixNano, $0.endUnixNano) } },
                          shifted: shifted, into: &buffer)
            }
            body += buffer.lines(trimmingTrailingSpaces: true)
        }
        var headerLines = header.lines(trimmingTrailingSpaces: true)
        if let criticalPath, !headerLines.isEmpty {
            headerLines[0] += "  critical path " + Formatting.duration(criticalPath.totalNanos) + " ("
                + Formatting.percent(percent(criticalPath.totalNanos, of: trace.summary.durationNano)) + " of trace)"
                + (criticalPath.rootCount > 1 ? " under \(criticalPath.rootCount) roots" : "")
        }
        return headerLines + body
    }
}

extension Style {
    func with(_ extra: TextAttributes) -> Style {
        Style(foreground: foreground, background: background, attributes: attributes.union(extra))
    }
}
