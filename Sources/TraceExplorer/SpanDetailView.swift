import TraceModel
import TerminalUI

/// Everything about the selected span: ids, kind, status, timing, tags,
/// resource, events/logs with offsets, links. Long values wrap; nothing is
/// cut: the pane scrolls.
public enum SpanDetailView {
    typealias Segment = (text: String, style: Style)

    /// A logical line: segments, and the indent its wrapped continuation takes.
    struct Line {
        var segments: [Segment]
        var hangingIndent: Int

        init(_ segments: [Segment], hangingIndent: Int = 0) {
            self.segments = segments
            self.hangingIndent = hangingIndent
        }
    }

    static func logicalLines(span: Span, node: TraceTree.Node?, trace: Trace, utcOffsetSeconds: Int,
                             criticalPathNanos: UInt64? = nil, shiftNanos: Int64 = 0, selectedLink: Int? = nil) -> [Line] {
        var lines: [Line] = []
        let keyWidth = 11
        func field(_ key: String, _ value: String, _ style: Style = .plain) {
            lines.append(Line([(pad(key, keyWidth), Theme.label), (" ", .plain), (value, style)], hangingIndent: keyWidth + 1))
        }
        let traceStart = trace.summary.startUnixNano
        field("Service", span.serviceName, Theme.service(span.serviceName))
        field("Operation", span.name, .bold)
        field("Span ID", span.spanID.hex)
        if let parent = span.parentSpanID {
            let missing = node?.marks.contains(.missingParent) == true
            field("Parent ID", parent.hex + (missing ? "  (not in this trace)" : ""), missing ? Theme.warning : .plain)
            if span.parentReference == .followsFrom {
                field("Reference", "FOLLOWS_FROM its parent (the parent does not wait for it)")
            }
        } else {
            field("Parent ID", "none (root)", Theme.dim)
        }
        field("Trace ID", span.traceID.shortHex)
        field("Kind", span.kind.name)
        switch span.status.code {
        case .unset: field("Status", "unset", Theme.dim)
        case .ok: field("Status", "ok" + (span.status.message.isEmpty ? "" : ": " + span.status.message))
        case .error: field("Status", "error" + (span.status.message.isEmpty ? "" : ": " + span.status.message), Theme.error)
        }
        if span.isError && span.status.code != .error { field("Error", "error tag set", Theme.error) }
        field("Start", Formatting.offset(of: span.startTimeUnixNano, from: traceStart) + "   "
              + Formatting.timestamp(span.startTimeUnixNano, utcOffsetSeconds: utcOffsetSeconds))
        field("Duration", Formatting.duration(span.durationNano))
        if shiftNanos != 0 {
            field("Clock skew", "moved " + Formatting.offset(shiftNanos) + " to fit its parent (R shows raw times)", Theme.shifted)
        }
        if let node {
            field("Self time", Formatting.duration(node.selfTimeNano))
            if let criticalPathNanos {
                let share = WaterfallView.percent(criticalPathNanos, of: trace.summary.durationNano)
                lines.append(Line([(pad("", keyWidth), Theme.label), (" ", .plain),
                                   ("critical path " + Formatting.duration(criticalPathNanos) + " (" + Formatting.percent(share) + " of trace)",
                                    criticalPathNanos > 0 ? Theme.criticalPath : Theme.dim)], hangingIndent: keyWidth + 1))
            }
            var notes: [String] = []
            if node.marks.contains(.duplicateID) { notes.append("span id shared with another span") }
            if node.marks.contains(.cycle) { notes.append("parent references loop; shown as a root") }
            field("Depth", String(node.depth) + (node.childCount > 0 ? "   children \(node.childCount)" : ""))
            for note in notes { field("Warning", note, Theme.warning) }
        }
        if !span.scope.name.isEmpty {
            field("Scope", span.scope.name + (span.scope.version.isEmpty ? "" : " " + span.scope.version))
        }
        if !span.traceState.isEmpty { field("Trace state", span.traceState) }

        attributeSection(&lines, title: "Tags", span.attributes, dropped: span.droppedAttributesCount)
        attributeSection(&lines, title: "Process " + span.serviceName, span.resource.attributes)

        lines.append(Line([("Logs (\(span.events.count))", Theme.section)]))
        for event in span.events.sorted(by: { $0.timeUnixNano < $1.timeUnixNano }) {
            let offset = Formatting.offset(of: event.timeUnixNano, from: span.startTimeUnixNano)
            lines.append(Line([("  " + pad(offset, 9), Theme.label), (" ", .plain), (event.name, .bold)], hangingIndent: 12))
            for attribute in event.attributes {
                lines.append(contentsOf: keyValue(attribute, indent: 12, keyWidth: 14))
            }
        }
        if !span.links.isEmpty {
            lines.append(Line([("References (\(span.links.count))", Theme.section)]))
            for (i, link) in span.links.enumerated() {
                let kind = link.referenceType ?? "link"
                let highlighted = i == selectedLink
                let place = link.traceID == trace.traceID ? "  this trace, span " + link.spanID.hex
                    : "  trace " + link.traceID.hex + " span " + link.spanID.hex
                lines.append(Line([(highlighted ? "› " : "  ", Theme.label), (kind, highlighted ? Theme.label.with(.reverse) : Theme.label),
                                   (place, .plain)], hangingIndent: 4))
                for attribute in link.attributes {
                    lines.append(contentsOf: keyValue(attribute, indent: 4, keyWidth: 14))
                }
            }
        }
        return lines
    }

    static func attributeSection(_ lines: inout [Line], title: String, _ attributes: [Attribute], dropped: UInt32 = 0) {
        // Cut by the sender or past `Span.attributeCountLimit` on reading: said, not hidden.
        let cut = dropped > 0 ? "; \(dropped) more dropped" : ""
        lines.append(Line([("\(title) (\(attributes.count)\(cut))", Theme.section)]))
        let keyWidth = min(28, attributes.map { DisplayWidth.of($0.key) }.max() ?? 0)
        for attribute in attributes {
            lines.append(contentsOf: keyValue(attribute, indent: 2, keyWidth: keyWidth))
        }
    }

    /// `key  value`; a multi-line value continues under the value column.
    static func keyValue(_ attribute: Attribute, indent: Int, keyWidth: Int) -> [Line] {
        let valueStyle: Style = attribute.key == "error" ? Theme.error : .plain
        let keyText = String(repeating: " ", count: indent) + pad(attribute.key, keyWidth)
        let hanging = min(indent + keyWidth + 2, indent + 30)
        let valueLines = Formatting.value(attribute.value).split(separator: "\n", omittingEmptySubsequences: false)
        var result: [Line] = []
        for (i, piece) in valueLines.enumerated() {
            let head = i == 0 ? keyText + "  " : String(repeating: " ", count: hanging)
            result.append(Line([(head, i == 0 ? Theme.label : .plain), (String(piece), valueStyle)], hangingIndent: hanging))
        }
        return result
    }

    static func pad(_ text: String, _ width: Int) -> String {
        let w = DisplayWidth.of(TerminalText.sanitize(text))
        return w >= width ? text : text + String(repeating: " ", count: width - w)
    }

    /// Wraps logical lines to `width` columns (sanitized text, display widths).
    static func wrap(_ lines: [Line], width: Int) -> [[Segment]] {
        guard width > 4 else { return lines.map { $0.segments } }
        var out: [[Segment]] = []
        for line in lines {
            var current: [Segment] = []
            var column = 0
            let indent = min(line.hangingIndent, width / 2)
            for segment in line.segments {
                var piece = ""
                for ch in TerminalText.sanitize(segment.text) {
                    let w = DisplayWidth.of(ch)
                    if column + w > width {
                        if !piece.isEmpty { current.append((piece, segment.style)) }
                        out.append(current)
                        current = [(String(repeating: " ", count: indent), .plain)]
                        column = indent
                        piece = ""
                    }
                    piece.append(ch)
                    column += w
                }
                if !piece.isEmpty { current.append((piece, segment.style)) }
            }
            out.append(current)
        }
        return out
    }

    static func physicalLines(model: ExplorerModel, screen view: TraceScreen, width: Int) -> [[Segment]] {
        guard let span = view.selectedSpanValue else { return [] }
        let spanIndex = view.selectedRow?.spanIndex ?? -1
        let onPath = spanIndex >= 0 ? view.criticalPath.map { $0.nanosBySpan[Int(spanIndex)] } : nil
        let logical = logicalLines(span: span, node: view.selectedRow, trace: view.trace, utcOffsetSeconds: model.utcOffsetSeconds,
                                   criticalPathNanos: onPath, shiftNanos: spanIndex >= 0 ? view.shift(ofSpan: spanIndex) : 0,
                                   selectedLink: view.detail == .focused ? view.selectedLink : nil)
        return wrap(logical, width: max(1, width - 2))
    }

    public static func lineCount(model: ExplorerModel, screen: TraceScreen, width: Int) -> Int {
        physicalLines(model: model, screen: screen, width: width).count
    }

    public static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        guard let view = model.trace, view.isDetailOpen, layout.detail.height > 0 else { return }
        let rect = layout.detail
        let lines = physicalLines(model: model, screen: view, width: rect.width)
        let titleStyle = view.detail == .focused ? Theme.paneTitleFocused : Theme.paneTitle
        buffer.fill(Rect(x: rect.x, y: rect.y, width: rect.width, height: 1), style: titleStyle)
        var title = " Span detail"
        if let span = view.selectedSpanValue { title += " · " + span.serviceName + ": " + span.name }
        let position = lines.count > layout.detailBodyHeight
            ? " lines \(view.detailScroll.top + 1)-\(min(lines.count, view.detailScroll.top + layout.detailBodyHeight))/\(lines.count) " : " "
        let positionWidth = DisplayWidth.of(position)
        buffer.putTruncated(title, x: rect.x, y: rect.y, style: titleStyle, maxWidth: rect.width - positionWidth)
        buffer.put(position, x: rect.maxX - positionWidth, y: rect.y, style: titleStyle)
        for row in 0..<layout.detailBodyHeight {
            let index = view.detailScroll.top + row
            guard index < lines.count else { break }
            var x = rect.x + 1
            for segment in lines[index] {
                x += buffer.put(segment.text, x: x, y: rect.y + 1 + row, style: segment.style, maxWidth: rect.maxX - x)
            }
        }
    }
}
