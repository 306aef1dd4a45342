import TraceModel
import TerminalUI

/// The top bar: program, sources, totals.
enum AppBarView {
    static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.appBar
        buffer.fill(rect, style: Theme.appBar)
        var x = rect.x + 1
        x += buffer.put("tracetty", x: x, y: rect.y, style: Theme.appBar)
        if !model.title.isEmpty {
            x += buffer.put("  ", x: x, y: rect.y, style: Theme.appBar)
            x += buffer.putTruncated(model.title, x: x, y: rect.y, style: Theme.appBar, maxWidth: max(0, rect.maxX - x - 30))
        }
        let totals = "\(Formatting.count(model.list.totalCount)) traces · \(Formatting.count(model.storedSpans)) spans "
        let w = DisplayWidth.of(totals)
        if rect.maxX - w > x + 1 { buffer.put(totals, x: rect.maxX - w, y: rect.y, style: Theme.appBar) }
    }
}

/// Loading progress, malformed input, the filter in force and store use.
enum StatusBarView {
    static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.statusBar
        buffer.fill(rect, style: Theme.statusBar)
        let right = rightText(model)
        let rightWidth = DisplayWidth.of(right.joined())
        let limit = rect.maxX - rightWidth - 1
        var x = rect.x + 1
        let y = rect.y
        func put(_ text: String, _ style: Style = Theme.statusBar) {
            guard x < limit else { return }
            x += buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: limit - x)
        }
        let ingest = model.ingest
        if let notice = model.notice {
            put(notice, Theme.warning.withBackground(Theme.statusBar.background))
        } else if let replay = ingest.replay {
            renderReplay(replay, model: model, put: put)
        } else if let live = ingest.live {
            renderLive(live, model: model, put: put)
        } else if ingest.loading {
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
        if ingest.live == nil {
            if ingest.malformed > 0 {
                put("  \(ingest.malformed) malformed", Theme.error.with([]).withBackground(Theme.statusBar.background))
                if let first = ingest.firstIssue { put(": " + first) }
            }
            if ingest.spansDropped > 0 || ingest.tracesEvicted > 0 {
                put("  dropped \(ingest.spansDropped) spans, evicted \(ingest.tracesEvicted) traces"
                    + (ingest.tracesEvictedForMemory > 0 ? " (\(ingest.tracesEvictedForMemory) for memory)" : ""),
                    Theme.warning.withBackground(Theme.statusBar.background))
            }
            renderMemory(ingest, put: put)
        }
        var rx = rect.maxX - rightWidth
        for (i, part) in right.enumerated() {
            let style = i == 0 && model.list.filter != nil ? Theme.queryPrompt
                : part == " PAUSED " ? Theme.warning.withBackground(.palette(52))
                : part == " FOLLOW " ? Theme.progressDone.with(.bold) : Theme.statusBar
            rx += buffer.put(part, x: rx, y: y, style: style)
        }
    }

    /// Right side: the filter and its match count, PAUSED, FOLLOW, store use, sort.
    static func rightText(_ model: ExplorerModel) -> [String] {
        var parts: [String] = []
        let list = model.list
        if let filter = list.filter {
            let text = filter.text.count > 32 ? String(filter.text.prefix(31)) + "…" : filter.text
            parts.append(" filter \(text): \(model.filterPending ? "…" : Formatting.count(list.rows.count)) of \(Formatting.count(list.totalCount)) ")
        }
        if let screen = model.trace, model.compare == nil {
            if screen.rawTimes {
                parts.append(" raw times ")
            } else if screen.shiftedSpanCount > 0 {
                parts.append(" clock skew: \(screen.shiftedSpanCount) span\(screen.shiftedSpanCount == 1 ? "" : "s") shifted ")
            }
        }
        if let marked = model.marked { parts.append(" A " + Formatting.traceTag(marked.traceID) + " ") }
        if model.paused { parts.append(" PAUSED ") }
        if list.follow && model.isLive { parts.append(" FOLLOW ") }
        if model.isLive {
            let percent = model.maxSpans > 0 ? model.storedSpans * 100 / model.maxSpans : 0
            parts.append(" store \(Formatting.count(model.storedSpans))/\(Formatting.count(model.maxSpans)) (\(percent)%) ")
        } else {
            parts.append(" store \(Formatting.count(model.storedSpans))/\(Formatting.count(model.maxSpans)) · sort \(list.sort.rawValue) \(list.descending ? "▼" : "▲") ")
        }
        return parts
    }

    /// `▶ replay x10  2026-11-27 23:22:31.139  1,234 of 36,000 spans (3%)`
    static func renderReplay(_ replay: ReplayStatus, model: ExplorerModel, put: (String, Style) -> Void) {
        let badge = Theme.progressDone.with(.bold)
        let state = replay.finished ? "■ replayed" : replay.paused ? "⏸ paused" : "▶ replay"
        put(state, replay.paused ? Theme.warning.withBackground(Theme.statusBar.background) : badge)
        put(" " + speedLabel(replay.speed), Theme.statusBar.with(.bold))
        if let clock = replay.clockUnixNano {
            put("  " + Formatting.timestamp(clock, utcOffsetSeconds: model.utcOffsetSeconds), Theme.statusBar)
        }
        let total = replay.loadingFinished ? Formatting.count(replay.loaded) : Formatting.count(replay.loaded) + "+"
        put("  \(Formatting.count(replay.played)) of \(total) spans (\(Int(replay.percent.rounded(.down)))%)", Theme.statusBar)
        if replay.loops > 0 { put("  loop \(replay.loops + 1)", Theme.statusBar) }
        if model.ingest.malformed > 0 {
            put("  \(model.ingest.malformed) malformed", Theme.error.withBackground(Theme.statusBar.background))
        }
    }

    /// `refused 120 spans (memory)  mem 230/256 MiB`: only once memory runs short.
    static func renderMemory(_ ingest: IngestStatus, put: (String, Style) -> Void) {
        let warning = Theme.warning.withBackground(Theme.statusBar.background)
        if ingest.spansRefusedMemory > 0 { put("  refused \(Formatting.count(ingest.spansRefusedMemory)) spans (memory)", warning) }
        if let memory = ingest.memory, memory.isHigh || memory.refusing {
            put("  mem \(memory.residentBytes >> 20)/\(memory.limitBytes >> 20) MiB" + (memory.refusing ? " REFUSING" : ""), warning)
        }
    }

    /// `x1`, `x0.5`, `x10`, `max`.
    static func speedLabel(_ speed: Double) -> String {
        guard speed.isFinite else { return "max" }
        return "x" + Formatting.trim(speed)
    }

    /// `● live 1.2k spans/s · 45k spans · 3 malformed: … · dropped 2 …`
    static func renderLive(_ live: LiveStatus, model: ExplorerModel, put: (String, Style) -> Void) {
        let badge = Theme.progressDone.with(.bold)
        let up = live.listeners - live.failedListeners.count
        put(up > 0 ? "● live" : "○ no listener", up > 0 ? badge : Theme.warning.withBackground(Theme.statusBar.background))
        // First, so a narrow terminal still shows it: the rest keep running.
        for failed in live.failedListeners {
            put("  FAILED " + TerminalText.sanitize(failed), Theme.error.withBackground(Theme.statusBar.background).with(.bold))
        }
        put("  \(Formatting.count(Int(live.spansPerSecond.rounded()))) spans/s  \(Formatting.count(live.spansReceived)) received", Theme.statusBar)
        if live.malformed > 0 {
            put("  \(Formatting.count(live.malformed)) malformed", Theme.error.withBackground(Theme.statusBar.background))
            if let reason = live.lastMalformedReason { put(": " + reason, Theme.statusBar) }
        }
        let warning = Theme.warning.withBackground(Theme.statusBar.background)
        let lost = live.dropped + model.ingest.spansDropped
        if lost > 0 { put("  dropped \(Formatting.count(lost))", warning) }
        if live.kernelDropped > 0 { put("  kernel dropped \(Formatting.count(live.kernelDropped)) datagrams", warning) }
        if live.decodeQueueDropped > 0 { put("  decode queue dropped \(Formatting.count(live.decodeQueueDropped)) datagrams", warning) }
        if model.ingest.tracesEvicted > 0 {
            let forMemory = model.ingest.tracesEvictedForMemory
            put("  evicted \(Formatting.count(model.ingest.tracesEvicted)) traces"
                + (forMemory > 0 ? " (\(Formatting.count(forMemory)) for memory)" : ""), warning)
        }
        renderMemory(model.ingest, put: put)
        if live.clientDropped > 0 { put("  client dropped \(Formatting.count(live.clientDropped))", warning) }
        if live.seqGaps > 0 { put("  seq gaps \(live.seqGaps)", warning) }
        if let file = live.recordingTo { put("  rec " + file, Theme.statusBar) }
    }
}

/// The keys that work here, from the focused component's declared bindings.
enum HintBarView {
    static func render(_ model: ExplorerModel, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let rect = layout.hintBar
        buffer.fill(rect, style: Theme.hintText)
        var x = rect.x + 1
        for binding in model.activeBindings {
            guard let hint = binding.hint, !binding.liveOnly || model.isLive else { continue }
            let keys = binding.shortKeysLabel
            let need = DisplayWidth.of(keys) + 1 + DisplayWidth.of(hint) + 2
            guard x + need <= rect.maxX else { break }
            x += buffer.put(keys, x: x, y: rect.y, style: Theme.hintKey)
            x += buffer.put(" " + hint + "  ", x: x, y: rect.y, style: Theme.hintText)
        }
    }
}

/// The query line under the list, or the find bar under the waterfall:
/// a prompt, the text with the cursor, and an error row when it does not parse.
enum TextLineView {
    /// Draws the line; returns where the terminal cursor goes.
    static func render(prompt: String, field: TextField, status: String?, error: QueryError?, at rect: Rect,
                       into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        guard rect.height > 0 else { return nil }
        let line = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
        buffer.fill(line, style: Theme.queryText)
        var x = rect.x + 1
        x += buffer.put(prompt, x: x, y: rect.y, style: Theme.queryPrompt)
        let statusWidth = status.map { DisplayWidth.of($0) + 2 } ?? 0
        let textWidth = max(1, rect.maxX - x - statusWidth - 1)
        // Scroll the text so that the cursor stays in view.
        let characters = Array(TerminalText.sanitize(field.text))
        let before = String(characters.prefix(field.cursor))
        var skip = 0
        while DisplayWidth.of(String(characters[skip..<min(field.cursor, characters.count)])) >= textWidth, skip < field.cursor { skip += 1 }
        let shown = String(characters[skip...])
        buffer.putTruncated(shown, x: x, y: rect.y, style: Theme.queryText, maxWidth: textWidth)
        let cursorX = x + DisplayWidth.of(String(Array(before)[skip...]))
        if let status {
            buffer.put(status, x: rect.maxX - DisplayWidth.of(status) - 1, y: rect.y, style: Theme.queryPrompt)
        }
        if let error, rect.height > 1 {
            let errorLine = Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: 1)
            buffer.fill(errorLine, style: .plain)
            // A caret under the position the error names, when it is on screen.
            let caretX = x + error.position - 1 - skip
            if caretX >= x, caretX < rect.maxX { buffer.put("^", x: caretX, y: rect.y + 1, style: Theme.error) }
            let message = error.description
            let messageX = caretX >= x && caretX + 2 + DisplayWidth.of(message) < rect.maxX ? caretX + 2 : rect.x + 1
            buffer.putTruncated(message, x: messageX, y: rect.y + 1, style: Theme.error, maxWidth: rect.maxX - messageX - 1)
        }
        return (min(cursorX, rect.maxX - 1), rect.y)
    }
}

/// `?`: every key of every component, and what the waterfall's marks mean.
enum HelpView {
    struct Line {
        var keys: String
        var text: String
        var isTitle: Bool
    }

    static func lines(for model: ExplorerModel) -> [Line] {
        let context = ComponentContext(isLive: model.isLive, pageRows: 1)
        var sections: [(Focus, String, [BindingDescription])] = [
            (.traceList, "Trace list", model.list.descriptions(context)),
            (.queryLine, "Query line (/ in the list)", QueryLine(previous: nil, history: []).descriptions(context)),
        ]
        // The trace screen's keys for both panes, whatever is open now.
        var waterfall = model.trace ?? TraceScreen(trace: Trace(traceID: TraceID(low: 1), spans: []))
        waterfall.detail = .closed
        var detail = waterfall
        detail.detail = .focused
        sections.append((.waterfall, "Waterfall", waterfall.descriptions(context)))
        sections.append((.findBar, "Find bar (/ in the waterfall)", FindBar(text: "").descriptions(context)))
        sections.append((.detail, "Span detail", detail.descriptions(context)))
        var stats = waterfall
        stats.panel = .statistics(StatisticsPanel())
        sections.append((.statistics, "Trace statistics (S in the waterfall)", stats.descriptions(context)))
        var log = waterfall
        // Its keys, not its entries: an empty trace is enough (and costs nothing on a big one).
        log.panel = .log(TraceLogPanel(trace: Trace(traceID: TraceID(low: 1), spans: [])))
        sections.append((.traceLog, "Trace logs (L in the waterfall)", log.descriptions(context)))
        sections.append((.latency, "Latency (P in the list)", LatencyScreen().descriptions(context)))
        sections.append((.serviceGraph, "Service graph (D in the list)", ServiceGraphScreen().descriptions(context)))
        sections.append((.exportPrompt, "Export (e in the list or the waterfall)",
                         ExportPrompt(traceIDs: [], what: "", defaultName: "x").descriptions(context)))
        sections.append((.compare, "Compare (m marks A, = compares)",
                         CompareScreen(a: waterfall.trace.summary, b: waterfall.trace.summary).descriptions(context)))
        let underlying: Focus
        if case .help(let help) = model.overlay { underlying = help.underlying } else { underlying = model.screenFocus }
        let ordered = sections.filter { $0.0 == underlying } + sections.filter { $0.0 != underlying }
        var result: [Line] = []
        for (_, title, bindings) in ordered {
            result.append(Line(keys: title, text: "", isTitle: true))
            for binding in bindings { result.append(Line(keys: binding.keysLabel, text: binding.help, isTitle: false)) }
            result.append(Line(keys: "", text: "", isTitle: false))
        }
        result.append(Line(keys: "Replay (tracetty replay)", text: "", isTitle: true))
        var replayContext = context
        replayContext.isReplay = true
        for binding in model.replayKeys.descriptions(replayContext) {
            result.append(Line(keys: binding.keysLabel, text: binding.help, isTitle: false))
        }
        result.append(Line(keys: "", text: "", isTitle: false))
        result.append(Line(keys: "Everywhere", text: "", isTitle: true))
        for binding in model.global.descriptions(context) {
            result.append(Line(keys: binding.keysLabel, text: binding.help, isTitle: false))
        }
        result.append(Line(keys: "mouse", text: "click selects, again opens; wheel scrolls", isTitle: false))
        result.append(Line(keys: "", text: "", isTitle: false))
        result.append(Line(keys: "Marks in the waterfall", text: "", isTitle: true))
        for (mark, meaning) in legend { result.append(Line(keys: mark, text: meaning, isTitle: false)) }
        return result
    }

    /// Marks drawn in the waterfall's gutter.
    static let legend: [(String, String)] = [
        ("!", "error: status error or tag error=true"),
        ("?", "parent not in the trace (yet)"),
        ("=", "span id shared (Zipkin shared span)"),
        ("@", "parent references loop: shown as a root"),
        ("~", "moved to undo clock skew (R shows raw times)"),
        ("⇢", "FOLLOWS_FROM: the parent does not wait for it"),
        ("◆", "a log or event, at its time on the bar"),
        ("█ ░", "with c: on / off the critical path"),
    ]

    static func render(_ model: ExplorerModel, help: HelpOverlay, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        let content = lines(for: model)
        let box = layout.helpBox
        buffer.fill(box, style: Theme.helpBox)
        buffer.put(" Keys ", x: box.x + 2, y: box.y, style: Theme.helpTitle)
        let footer = " Esc close · j/k scroll "
        buffer.put(footer, x: box.maxX - DisplayWidth.of(footer) - 1, y: box.maxY - 1, style: Theme.helpBox.with(.dim))
        let keyWidth = 19
        for row in 0..<layout.helpBodyHeight {
            let index = help.scroll.top + row
            guard index < content.count else { break }
            let line = content[index]
            let y = box.y + 1 + row
            if line.isTitle {
                buffer.put(line.keys, x: box.x + 2, y: y, style: Theme.helpTitle, maxWidth: box.width - 4)
            } else {
                buffer.putTruncated(line.keys, x: box.x + 3, y: y, style: Theme.helpKey, maxWidth: keyWidth)
                buffer.putTruncated(line.text, x: box.x + 3 + keyWidth + 1, y: y, style: Theme.helpBox, maxWidth: box.width - keyWidth - 5)
            }
        }
    }
}

extension Style {
    func withBackground(_ color: Color) -> Style {
        Style(foreground: foreground, background: color, attributes: attributes)
    }
}

/// The whole screen for a model: what the terminal shows, as cells, and
/// where its cursor goes (in the query line or find bar, else hidden).
public enum ExplorerView {
    public static func render(_ model: ExplorerModel) -> CellBuffer {
        frame(model).buffer
    }

    public static func frame(_ model: ExplorerModel) -> (buffer: CellBuffer, cursor: (x: Int, y: Int)?) {
        var buffer = CellBuffer(width: max(0, model.width), height: max(0, model.height))
        let cursor = render(model, into: &buffer)
        return (buffer, cursor)
    }

    @discardableResult
    public static func render(_ model: ExplorerModel, into buffer: inout CellBuffer) -> (x: Int, y: Int)? {
        let layout = model.layout
        if layout.tooSmall {
            let message = "terminal too small: \(model.width)x\(model.height), need \(ExplorerLayout.minimumWidth)x\(ExplorerLayout.minimumHeight)"
            let lines = [message, "enlarge it, or press q to quit"]
            for (i, line) in lines.enumerated() {
                let w = DisplayWidth.of(line)
                buffer.put(line, x: max(0, (model.width - w) / 2), y: max(0, model.height / 2 - 1 + i), style: .bold)
            }
            return nil
        }
        var cursor: (x: Int, y: Int)?
        AppBarView.render(model, layout: layout, into: &buffer)
        if let compare = model.compare {
            CompareView.render(compare, layout: layout, into: &buffer)
        } else if let latency = model.latency {
            LatencyView.render(latency, layout: layout, into: &buffer)
        } else if let graph = model.serviceGraph {
            ServiceGraphView.render(graph, layout: layout, into: &buffer)
        } else if let screen = model.trace {
            switch screen.panel {
            case .waterfall:
                WaterfallView.render(model, layout: layout, into: &buffer)
                SpanDetailView.render(model, layout: layout, into: &buffer)
            case .statistics(let stats):
                WaterfallView.renderTraceHeader(screen, at: layout.traceHeader, utcOffsetSeconds: model.utcOffsetSeconds, into: &buffer)
                StatisticsView.render(stats, trace: screen.trace, layout: layout, into: &buffer)
            case .log(let log):
                WaterfallView.renderTraceHeader(screen, at: layout.traceHeader, utcOffsetSeconds: model.utcOffsetSeconds, into: &buffer)
                TraceLogView.render(log, trace: screen.trace, layout: layout, into: &buffer)
            }
            if case .findBar(let bar) = model.overlay, bar.filtersText {
                cursor = TextLineView.render(prompt: "filter logs: ", field: bar.field, status: nil, error: nil,
                                             at: layout.findBar, into: &buffer)
            } else if case .findBar(let bar) = model.overlay {
                cursor = TextLineView.render(prompt: "find: ", field: bar.field, status: screen.find?.position, error: bar.error,
                                             at: layout.findBar, into: &buffer)
            } else if let find = screen.find {
                _ = TextLineView.render(prompt: "find: ", field: TextField(find.text), status: find.position + " · n/N",
                                        error: nil, at: layout.findBar, into: &buffer)
            }
        } else {
            if !layout.plot.isEmpty {
                TraceListView.renderPlot(model, at: layout.plot, into: &buffer)
            }
            TraceListView.render(model, layout: layout, into: &buffer)
            if case .queryLine(let line) = model.overlay {
                let count = "\(Formatting.count(model.list.rows.count)) of \(Formatting.count(model.list.totalCount))"
                cursor = TextLineView.render(prompt: "/ ", field: line.field, status: count, error: line.error,
                                             at: layout.queryLine, into: &buffer)
            }
        }
        if case .export(let prompt) = model.overlay {
            cursor = TextLineView.render(prompt: prompt.prompt, field: prompt.confirming ? TextField() : prompt.field, status: nil,
                                         error: nil, at: layout.queryLine, into: &buffer)
        }
        StatusBarView.render(model, layout: layout, into: &buffer)
        HintBarView.render(model, layout: layout, into: &buffer)
        if case .help(let help) = model.overlay {
            HelpView.render(model, help: help, layout: layout, into: &buffer)
        }
        return cursor
    }
}
