import TraceModel
import TerminalUI

/// `L` in the waterfall: every event and log of the trace in time order
/// (offset, span, name, fields), narrowed by the find bar's text; Enter
/// jumps to the span.
public struct TraceLogPanel: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case move(ListMove), jump, find, clearFilter, close
    }

    /// One event: where it is in the trace, found again by index.
    public struct Entry: Sendable, Hashable {
        public var timeUnixNano: UInt64
        public var spanIndex: Int32
        public var eventIndex: Int32
    }

    /// Every entry of the trace, in time order (ties: row order, then event order).
    public private(set) var all: [Entry]
    /// The entries shown: those the filter keeps.
    public private(set) var entries: [Entry]
    /// Plain text the entries must contain (case-insensitive); empty keeps all.
    public private(set) var filter = ""
    public internal(set) var scroll = ScrollSelection()

    public init(trace: Trace) {
        all = Self.entries(of: trace)
        entries = all
    }

    static func entries(of trace: Trace) -> [Entry] {
        var result: [Entry] = []
        for node in trace.tree.rows {
            for (i, event) in trace.spans[Int(node.spanIndex)].events.enumerated() {
                result.append(Entry(timeUnixNano: event.timeUnixNano, spanIndex: node.spanIndex, eventIndex: Int32(i)))
            }
        }
        // Stable: equal times keep row order, then event order.
        return result.enumerated().sorted { a, b in
            a.element.timeUnixNano != b.element.timeUnixNano ? a.element.timeUnixNano < b.element.timeUnixNano : a.offset < b.offset
        }.map(\.element)
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        var keys: [KeyBinding<Action>] = ListMove.bindings(item: "event", Action.move) + [
            KeyBinding([.enter], "jump to the event's span in the waterfall", hint: "go to span", .jump),
            KeyBinding([.char("/")], "filter the events by text (span, name, fields)", hint: "filter", .find),
        ]
        if !filter.isEmpty { keys.append(KeyBinding([.char("x")], "clear the filter", hint: "clear filter", .clearFilter)) }
        keys.append(KeyBinding([.escape, .backspace, .char("L")], "back to the waterfall", hint: "back", .close))
        return keys
    }

    /// What the trace screen must do after an action.
    enum Outcome: Equatable { case none, close, jump(Int32), openFind }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> Outcome {
        let page = max(1, context.pageRows)
        switch action {
        case .move(let move): scroll.apply(move, count: entries.count, page: page)
        case .jump:
            guard scroll.selected < entries.count else { return .none }
            return .jump(entries[scroll.selected].spanIndex)
        case .find: return .openFind
        case .clearFilter: return .none
        case .close: return .close
        }
        return .none
    }

    /// Keeps the entries that contain `text` in their span's service or
    /// operation, their name, or a field's key or value.
    mutating func setFilter(_ text: String, trace: Trace) {
        filter = text.trimmingSpaces
        let needle = filter.lowercased()
        entries = needle.isEmpty ? all : all.filter { entry in
            let span = trace.spans[Int(entry.spanIndex)]
            let event = span.events[Int(entry.eventIndex)]
            if span.serviceName.lowercased().contains(needle) || span.name.lowercased().contains(needle)
                || event.name.lowercased().contains(needle) { return true }
            return event.attributes.contains {
                $0.key.lowercased().contains(needle) || Formatting.value($0.value).lowercased().contains(needle)
            }
        }
        scroll = ScrollSelection()
    }

    /// The same trace, newer or re-timed: entries again, the filter kept.
    mutating func refresh(trace: Trace) {
        let selected = scroll.selected < entries.count ? entries[scroll.selected] : nil
        all = Self.entries(of: trace)
        let keep = scroll
        setFilter(filter, trace: trace)
        scroll = keep
        if let selected, let index = entries.firstIndex(where: { $0.spanIndex == selected.spanIndex && $0.eventIndex == selected.eventIndex }) {
            scroll.selected = index
        }
    }
}

/// Draws the trace log panel in the waterfall's place.
public enum TraceLogView {
    static func render(_ panel: TraceLogPanel, trace: Trace, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let header = layout.axis
        buffer.fill(header, style: Theme.axis)
        let offsetWidth = 10
        let spanWidth = min(40, max(16, header.width / 3))
        let nameX = 1 + offsetWidth + 1 + spanWidth + 1
        buffer.put(" OFFSET", x: header.x, y: header.y, style: Theme.axis.with(.bold))
        buffer.put("SPAN", x: 1 + offsetWidth + 1, y: header.y, style: Theme.axis.with(.bold))
        buffer.put("EVENT  FIELDS", x: nameX, y: header.y, style: Theme.axis.with(.bold))
        let count = panel.filter.isEmpty ? "\(panel.all.count) event" + (panel.all.count == 1 ? "" : "s")
            : "\(panel.entries.count) of \(panel.all.count) events match \"\(panel.filter)\""
        let countText = " Logs · " + count + " "
        let w = DisplayWidth.of(TerminalText.sanitize(countText))
        if w < header.width - nameX - 14 { buffer.put(countText, x: header.maxX - w, y: header.y, style: Theme.axis.with(.bold)) }

        let body = layout.waterfallBody
        if panel.entries.isEmpty {
            let text = panel.all.isEmpty ? "this trace has no events or logs" : "no event matches \"\(panel.filter)\""
            buffer.put(text, x: 2, y: body.y + 1, style: Theme.dim, maxWidth: body.width - 4)
            return
        }
        let traceStart = trace.summary.startUnixNano
        for line in 0..<body.height {
            let index = panel.scroll.top + line
            guard index < panel.entries.count else { break }
            let entry = panel.entries[index]
            let span = trace.spans[Int(entry.spanIndex)]
            let event = span.events[Int(entry.eventIndex)]
            let y = body.y + line
            let selected = index == panel.scroll.selected
            let base: Style = selected ? Theme.selected : .plain
            if selected { buffer.fill(Rect(x: body.x, y: y, width: body.width, height: 1), style: base) }
            let offset = Formatting.offset(of: event.timeUnixNano, from: traceStart)
            TraceListView.rightAligned(&buffer, offset, x: 1, y: y, width: offsetWidth, style: Theme.onRow(Theme.label, selected: selected))
            var x = 1 + offsetWidth + 1
            let spanEnd = x + spanWidth
            x += buffer.putTruncated(span.serviceName, x: x, y: y, style: Theme.onRow(Theme.service(span.serviceName), selected: selected),
                                     maxWidth: spanEnd - x)
            if x < spanEnd - 2 {
                x += buffer.put(": ", x: x, y: y, style: base)
                buffer.putTruncated(span.name, x: x, y: y, style: base, maxWidth: spanEnd - x)
            }
            x = nameX
            x += buffer.putTruncated(event.name, x: x, y: y, style: base.with(.bold), maxWidth: max(0, body.maxX - x - 1))
            for attribute in event.attributes where x < body.maxX - 3 {
                x += buffer.put("  ", x: x, y: y, style: base)
                x += buffer.putTruncated(attribute.key + "=", x: x, y: y, style: Theme.onRow(Theme.label, selected: selected),
                                         maxWidth: max(0, body.maxX - x - 1))
                x += buffer.putTruncated(Formatting.value(attribute.value), x: x, y: y, style: base, maxWidth: max(0, body.maxX - x - 1))
            }
        }
    }
}
