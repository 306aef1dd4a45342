import TraceModel
import TerminalUI

/// The top bar: program, sources, totals.
enum AppBarView {
    static func render(_ state: ExplorerState, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.appBar
        buffer.fill(rect, style: Theme.appBar)
        var x = rect.x + 1
        x += buffer.put("tracetty", x: x, y: rect.y, style: Theme.appBar)
        if !state.title.isEmpty {
            x += buffer.put("  ", x: x, y: rect.y, style: Theme.appBar)
            x += buffer.putTruncated(state.title, x: x, y: rect.y, style: Theme.appBar, maxWidth: max(0, rect.maxX - x - 30))
        }
        let totals = "\(Formatting.count(state.traces.count)) traces · \(Formatting.count(state.storedSpans)) spans "
        let w = DisplayWidth.of(totals)
        if rect.maxX - w > x + 1 { buffer.put(totals, x: rect.maxX - w, y: rect.y, style: Theme.appBar) }
    }
}

/// Loading progress, malformed input and store use.
enum StatusBarView {
    static func render(_ state: ExplorerState, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.statusBar
        buffer.fill(rect, style: Theme.statusBar)
        let ingest = state.ingest
        var x = rect.x + 1
        let y = rect.y
        func put(_ text: String, _ style: Style = Theme.statusBar) {
            guard x < rect.maxX - 1 else { return }
            x += buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: rect.maxX - 1 - x)
        }
        if let live = ingest.live {
            renderLive(live, state: state, rect: rect, into: &buffer)
            return
        }
        if ingest.loading {
            put("loading ")
            if let total = ingest.totalBytes, total > 0 {
                let fraction = min(1, Double(ingest.bytesRead) / Double(total))
                let barWidth = max(5, min(20, rect.width / 8))
                let filled = Int((fraction * Double(barWidth)).rounded(.down))
                put(String(repeating: "█", count: filled), Theme.progressDone)
                put(String(repeating: "░", count: barWidth - filled))
                put(" \(Int(fraction * 100))%  \(Formatting.bytes(ingest.bytesRead))/\(Formatting.bytes(total))")
            } else {
                put(Formatting.bytes(ingest.bytesRead))
            }
            put("  \(Formatting.count(ingest.spansRead)) spans  \(Formatting.trim(ingest.bytesPerSecond / 1e6)) MB/s")
        } else if !ingest.sourceName.isEmpty {
            put("loaded \(Formatting.count(ingest.spansRead)) spans from \(ingest.sourceName)")
        }
        if ingest.malformed > 0 {
            put("  \(ingest.malformed) malformed", Theme.error.with([]).withBackground(Theme.statusBar.background))
            if let first = ingest.firstIssue { put(": " + first) }
        }
        if ingest.spansDropped > 0 || ingest.tracesEvicted > 0 {
            put("  dropped \(ingest.spansDropped) spans, evicted \(ingest.tracesEvicted) traces",
                Theme.warning.withBackground(Theme.statusBar.background))
        }
        let right = " store \(Formatting.count(state.storedSpans))/\(Formatting.count(state.maxSpans)) · sort \(state.sort.rawValue) \(state.descending ? "▼" : "▲") "
        let w = DisplayWidth.of(right)
        if rect.maxX - w > x + 1 { buffer.put(right, x: rect.maxX - w, y: y, style: Theme.statusBar) }
    }
}

extension StatusBarView {
    /// `● live 1.2k spans/s · 45k spans · 3 malformed: … · dropped 2 …   FOLLOW store 45k/1M`
    static func renderLive(_ live: LiveStatus, state: ExplorerState, rect: Rect, into buffer: inout CellBuffer) {
        let y = rect.y
        var right = ""
        if state.paused { right += " PAUSED " }
        if state.follow { right += " FOLLOW " }
        let percent = state.maxSpans > 0 ? state.storedSpans * 100 / state.maxSpans : 0
        right += " store \(Formatting.count(state.storedSpans))/\(Formatting.count(state.maxSpans)) (\(percent)%) "
        let rightWidth = DisplayWidth.of(right)
        let limit = rect.maxX - rightWidth - 1
        var x = rect.x + 1
        func put(_ text: String, _ style: Style = Theme.statusBar) {
            guard x < limit else { return }
            x += buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: limit - x)
        }
        let badge = Theme.progressDone.with(.bold)
        put(live.listeners > 0 ? "● live" : "○ no listener", live.listeners > 0 ? badge : Theme.warning.withBackground(Theme.statusBar.background))
        put("  \(Formatting.count(Int(live.spansPerSecond.rounded()))) spans/s  \(Formatting.count(live.spansReceived)) received")
        if live.malformed > 0 {
            put("  \(Formatting.count(live.malformed)) malformed", Theme.error.withBackground(Theme.statusBar.background))
            if let reason = live.lastMalformedReason { put(": " + reason) }
        }
        let lost = live.dropped + state.ingest.spansDropped
        if lost > 0 { put("  dropped \(Formatting.count(lost))", Theme.warning.withBackground(Theme.statusBar.background)) }
        if state.ingest.tracesEvicted > 0 { put("  evicted \(Formatting.count(state.ingest.tracesEvicted)) traces", Theme.warning.withBackground(Theme.statusBar.background)) }
        if live.clientDropped > 0 { put("  client dropped \(Formatting.count(live.clientDropped))", Theme.warning.withBackground(Theme.statusBar.background)) }
        if live.seqGaps > 0 { put("  seq gaps \(live.seqGaps)", Theme.warning.withBackground(Theme.statusBar.background)) }
        if let file = live.recordingTo { put("  rec " + file) }
        var rx = rect.maxX - rightWidth
        if state.paused {
            rx += buffer.put(" PAUSED ", x: rx, y: y, style: Theme.warning.withBackground(.palette(52)))
        }
        if state.follow {
            rx += buffer.put(" FOLLOW ", x: rx, y: y, style: badge)
        }
        buffer.put(" store \(Formatting.count(state.storedSpans))/\(Formatting.count(state.maxSpans)) (\(percent)%) ", x: rx, y: y, style: Theme.statusBar)
    }
}

/// The keys that work here, from the keymap.
enum HintBarView {
    static func render(_ state: ExplorerState, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.hintBar
        buffer.fill(rect, style: Theme.hintText)
        var x = rect.x + 1
        for binding in Keymap.bindings(state.context) {
            guard let hint = binding.hint, !binding.liveOnly || state.ingest.live != nil else { continue }
            let need = DisplayWidth.of(binding.keys) + 1 + DisplayWidth.of(hint) + 2
            guard x + need <= rect.maxX else { break }
            x += buffer.put(binding.keys, x: x, y: rect.y, style: Theme.hintKey)
            x += buffer.put(" " + hint + "  ", x: x, y: rect.y, style: Theme.hintText)
        }
    }
}

/// `?`: every key of every pane, and what the waterfall's marks mean.
enum HelpView {
    static func lines(current: KeyContext) -> [(String, String, Bool)] {
        var result: [(String, String, Bool)] = []
        let order: [(KeyContext, String)] = [(.traceList, "Trace list"), (.waterfall, "Waterfall"), (.detail, "Span detail")]
        let underlying = current == .help ? KeyContext.traceList : current
        let sorted = order.filter { $0.0 == underlying } + order.filter { $0.0 != underlying }
        for (context, title) in sorted {
            result.append((title, "", true))
            for binding in Keymap.bindings(context) where !Keymap.global.contains(binding) {
                result.append((binding.keys, binding.action, false))
            }
            result.append(("", "", false))
        }
        result.append(("Everywhere", "", true))
        for binding in Keymap.global { result.append((binding.keys, binding.action, false)) }
        result.append(("", "", false))
        result.append(("Marks in the waterfall", "", true))
        for (mark, meaning) in Keymap.legend { result.append((mark, meaning, false)) }
        return result
    }

    static func render(_ state: ExplorerState, underlying: KeyContext, into buffer: inout CellBuffer) {
        let content = lines(current: underlying)
        let boxWidth = min(state.width - 4, 64)
        let boxHeight = min(state.height - 2, content.count + 3)
        let box = Rect(x: (state.width - boxWidth) / 2, y: (state.height - boxHeight) / 2, width: boxWidth, height: boxHeight)
        buffer.fill(box, style: Theme.helpBox)
        buffer.put(" Keys ", x: box.x + 2, y: box.y, style: Theme.helpTitle)
        let footer = " Esc close · j/k scroll "
        buffer.put(footer, x: box.maxX - DisplayWidth.of(footer) - 1, y: box.maxY - 1, style: Theme.helpBox.with(.dim))
        let bodyHeight = boxHeight - 3
        let scroll = min(state.helpScroll, max(0, content.count - bodyHeight))
        let keyWidth = 15
        for row in 0..<max(0, bodyHeight) {
            let index = scroll + row
            guard index < content.count else { break }
            let (keys, action, isTitle) = content[index]
            let y = box.y + 1 + row
            if isTitle {
                buffer.put(keys, x: box.x + 2, y: y, style: Theme.helpTitle, maxWidth: boxWidth - 4)
            } else {
                buffer.put(keys, x: box.x + 4, y: y, style: Theme.helpKey, maxWidth: keyWidth)
                buffer.putTruncated(action, x: box.x + 4 + keyWidth + 1, y: y, style: Theme.helpBox, maxWidth: boxWidth - keyWidth - 6)
            }
        }
    }
}

extension Style {
    func withBackground(_ color: Color) -> Style {
        Style(foreground: foreground, background: color, attributes: attributes)
    }
}

/// The whole screen for a state: what the terminal shows, as cells.
public enum ExplorerView {
    public static func render(_ state: ExplorerState) -> CellBuffer {
        var buffer = CellBuffer(width: max(0, state.width), height: max(0, state.height))
        render(state, into: &buffer)
        return buffer
    }

    public static func render(_ state: ExplorerState, into buffer: inout CellBuffer) {
        let layout = ExplorerLayout(state)
        if layout.tooSmall {
            let message = "terminal too small: \(state.width)x\(state.height), need \(ExplorerLayout.minimumWidth)x\(ExplorerLayout.minimumHeight)"
            let lines = [message, "enlarge it, or press q to quit"]
            for (i, line) in lines.enumerated() {
                let w = DisplayWidth.of(line)
                buffer.put(line, x: max(0, (state.width - w) / 2), y: max(0, state.height / 2 - 1 + i), style: .bold)
            }
            return
        }
        AppBarView.render(state, layout: layout, into: &buffer)
        if state.traceView != nil {
            WaterfallView.render(state, layout: layout, into: &buffer)
            SpanDetailView.render(state, layout: layout, into: &buffer)
        } else {
            TraceListView.render(state, layout: layout, into: &buffer)
        }
        StatusBarView.render(state, layout: layout, into: &buffer)
        HintBarView.render(state, layout: layout, into: &buffer)
        if state.showHelp {
            HelpView.render(state, underlying: state.underlyingContext, into: &buffer)
        }
    }
}
