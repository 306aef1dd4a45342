import TraceModel
import TerminalUI

/// Where keys go: one enum, so two panes can never both think they have it.
public enum Focus: Sendable, Hashable {
    case traceList, waterfall, detail, queryLine, findBar, help
    case statistics, traceLog, compare, exportPrompt, latency, serviceGraph
}

/// Every input the explorer reacts to. The runtime turns terminal events,
/// store snapshots, ingest figures, finished background work and the clock
/// into these; `ExplorerModel.update` is the one place they are applied.
public enum ExplorerMessage: Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(width: Int, height: Int)
    case quit(QuitReason)
    /// The list's changes and (when it grew) the open trace, from one store version.
    case snapshot(StoreSnapshot)
    /// The trace asked for with `.loadTrace`.
    case traceLoaded(Trace)
    case ingest(IngestStatus)
    /// Background work finished.
    case computed(Computation)
    /// Wall-clock time: the live plot's window moves with it.
    case tick(unixNano: UInt64)

    public init(_ event: InputEvent) {
        switch event {
        case .key(let key): self = .key(key)
        case .mouse(let mouse): self = .mouse(mouse)
        case .resize(let width, let height): self = .resize(width: width, height: height)
        case .quit(let reason): self = .quit(reason)
        }
    }
}

/// The result of work the runtime did off the UI's path.
public enum Computation: Sendable {
    /// The store's traces that match `query`, as of store version `version`.
    case filtered(query: TraceQuery, ids: Set<TraceID>, version: UInt64, generation: Int)
    /// Skew and critical path of the open trace.
    case analysis(TraceAnalysis)
    /// The statistics table of a big open trace (on raw or adjusted times).
    case statistics(TraceStatistics, version: TraceVersion, rawTimes: Bool)
    /// Two stored traces compared.
    case comparison(a: TraceID, b: TraceID, TraceComparison)
    /// A compare could not start (a trace left the store).
    case comparisonFailed(a: TraceID, b: TraceID, reason: String)
    /// The latency table (the store's running index, or the traces matching `filter`) and a row's histogram.
    case latency(rows: [LatencyIndex.Row], histogram: [LatencyIndex.Bucket], key: LatencyIndex.Key?, filter: TraceQuery?)
    case latencyHistogram(key: LatencyIndex.Key, [LatencyIndex.Bucket], filter: TraceQuery?)
    /// Who calls whom, over every trace or the filtered ones.
    case serviceGraph(ServiceGraph, filter: TraceQuery?)
    /// An export was written, failed, or found its file there (not overwritten: ask).
    case exported(ExportRequest, traces: Int, spans: Int, bytes: Int)
    case exportFailed(ExportRequest, reason: String)
    case exportTargetExists(ExportRequest)
}

/// What the runtime must do after an update; the model itself stays pure.
public enum ExplorerEffect: Sendable, Equatable {
    case quit(status: Int32)
    /// Read this trace from the store and answer with `.traceLoaded`.
    case loadTrace(TraceID)
    /// Ctrl-Z: give the terminal to the shell until `fg`.
    case suspend
    /// Ctrl-L: clear the terminal and send the whole screen again.
    case repaint
    /// Evaluate `query` over the whole store off the UI's path; answer with `.computed(.filtered)`.
    case filterStore(TraceQuery, generation: Int)
    /// Analyse the open trace (skew, critical path) off the UI's path; answer with `.computed(.analysis)`.
    case analyzeOpenTrace
    /// Compute the open trace's statistics table off the UI's path; answer with `.computed(.statistics)`.
    case computeStatistics
    /// Compare two stored traces off the UI's path; answer with `.computed(.comparison)`.
    case compareTraces(a: TraceID, b: TraceID)
    /// Write traces to a file off the UI's path; answer with `.computed(.exported)` (or failed, or exists).
    case export(ExportRequest)
    /// A replay key for the feed.
    case replay(ReplayCommand)
    /// The latency table (and `key`'s histogram of `buckets` bars) off the UI's path; answer with `.computed(.latency)`.
    case computeLatency(filter: TraceQuery?, key: LatencyIndex.Key?, buckets: Int)
    /// One row's histogram; answer with `.computed(.latencyHistogram)`.
    case computeLatencyHistogram(filter: TraceQuery?, key: LatencyIndex.Key, buckets: Int)
    /// The service graph off the UI's path; answer with `.computed(.serviceGraph)`.
    case computeServiceGraph(filter: TraceQuery?)
}

/// What a component asks of the app.
enum AppRequest: Sendable, Equatable {
    case openTrace(TraceID), closeTrace, togglePause, openQueryLine, openFindBar
    /// Open a trace (if stored) at one of its spans: a followed reference.
    case openSpan(TraceID, SpanID)
    /// Mark (or unmark) a trace for compare.
    case mark(TraceSummary)
    /// Compare the marked trace (A) with this one (B).
    case compareWithMarked(TraceSummary)
    /// A one-line message in the status bar until the next key.
    case notice(String)
    /// Ask where to export these traces.
    case openExport(traceIDs: [TraceID], what: String, defaultName: String)
    /// The latency view, the service graph (over the filter in force).
    case openLatency, openServiceGraph
}

/// An overlay above the screens, with the keys while it is open.
public enum Overlay: Sendable {
    case help(HelpOverlay)
    case queryLine(QueryLine)
    case findBar(FindBar)
    case export(ExportPrompt)
}

/// A replay's keys, everywhere a screen does not take them for itself.
public struct ReplayKeys: ExplorerComponent, Sendable {
    public func bindings(_ context: ComponentContext) -> [KeyBinding<ReplayCommand>] {
        guard context.isReplay else { return [] }
        return [
            KeyBinding([.char("p"), .char(" ")], "pause / resume the replay", hint: "pause", .togglePause),
            KeyBinding([.char("+")], "replay faster (up to x1000)", hint: "speed", hintKeys: "+ -", .faster),
            KeyBinding([.char("-")], "replay slower (down to x0.1)", .slower),
            KeyBinding([.char(".")], "step to the next span (pauses)", hint: "step", .step),
            KeyBinding([.char(">")], "jump ahead 10 s", hint: "+10s", .jump(seconds: 10)),
        ]
    }
}

/// The keys that work everywhere.
public struct GlobalKeys: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable { case help, quit, suspend, repaint }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        [
            KeyBinding([.char("?")], "help: every key", hint: "help", .help),
            KeyBinding([.char("q"), .ctrl("c")], "quit", hint: "quit", .quit),
            KeyBinding([.ctrl("z")], "suspend to the shell (fg resumes)", .suspend),
            KeyBinding([.ctrl("l")], "repaint the whole screen", .repaint),
        ]
    }
}

/// Everything the explorer shows, and the one update function that changes it.
public struct ExplorerModel: Sendable {
    public var width: Int
    public var height: Int
    public var title: String
    public internal(set) var list = TraceListScreen()
    public internal(set) var trace: TraceScreen?
    public internal(set) var overlay: Overlay?
    /// Live: the view is frozen; spans keep being stored.
    public internal(set) var paused = false
    public var ingest = IngestStatus()
    public var storedSpans = 0
    public var maxSpans = 0
    /// Added to UTC for the clock times shown (the local zone, injected).
    public var utcOffsetSeconds = 0
    /// Wall-clock now, from ticks (0 until the first).
    public internal(set) var nowUnixNano: UInt64 = 0
    /// Queries of this session, oldest first (Up/Down in the query line).
    public internal(set) var queryHistory: [String] = []
    /// The filter evaluation in flight, if any; older answers are ignored.
    public internal(set) var filterGeneration = 0
    public internal(set) var filterPending = false
    /// The trace marked for compare (`m`).
    public internal(set) var marked: TraceSummary?
    /// Two traces compared, over everything else.
    public internal(set) var compare: CompareScreen?
    /// Across traces: latency per service and operation; who calls whom.
    public internal(set) var latency: LatencyScreen?
    public internal(set) var serviceGraph: ServiceGraphScreen?
    /// Spans arrived since the latency table was last asked for (it is refreshed each second).
    var latencyStale = false
    /// A message for the status bar, until the next key.
    public internal(set) var notice: String?
    /// Open traces with raw times (`--raw-times`); `R` toggles per trace.
    public var rawTimes = false
    /// A followed reference: select this span when its trace arrives.
    var pendingSpan: (trace: TraceID, span: SpanID)?
    /// Background work asked for, so that it is asked once.
    var analysisRequested: TraceVersion?
    var statisticsRequested: String?
    let global = GlobalKeys()
    let replayKeys = ReplayKeys()

    public init(width: Int, height: Int, title: String = "tracetty") {
        self.width = width
        self.height = height
        self.title = title
    }

    /// Spans keep arriving: listeners, or a replay.
    public var isLive: Bool { ingest.live != nil || ingest.replay != nil }
    public var isReplay: Bool { ingest.replay != nil }

    public var focus: Focus {
        switch overlay {
        case .help: return .help
        case .queryLine: return .queryLine
        case .findBar: return .findBar
        case .export: return .exportPrompt
        case nil: break
        }
        return screenFocus
    }

    /// The focus under an overlay.
    public var screenFocus: Focus {
        if compare != nil { return .compare }
        if latency != nil { return .latency }
        if serviceGraph != nil { return .serviceGraph }
        guard let trace else { return .traceList }
        switch trace.panel {
        case .statistics: return .statistics
        case .log: return .traceLog
        case .waterfall: return trace.detail == .focused ? .detail : .waterfall
        }
    }

    public var layout: ExplorerLayout { ExplorerLayout(self) }

    func context(for focus: Focus) -> ComponentContext {
        let layout = self.layout
        let rows: Int
        switch focus {
        case .traceList, .queryLine: rows = layout.listBody.height
        case .waterfall, .findBar, .statistics, .traceLog, .compare, .exportPrompt, .serviceGraph: rows = layout.waterfallBody.height
        case .latency: rows = LatencyView.tableRows(in: layout.fullScreenArea)
        case .detail: rows = layout.detailBodyHeight
        case .help: rows = layout.helpBodyHeight
        }
        return ComponentContext(isLive: isLive, pageRows: max(1, rows - 1), markedTrace: marked?.traceID, isReplay: isReplay)
    }

    /// The bindings in force now: the focused component's, then the global
    /// keys it does not take for itself (a text field types `q`).
    public var activeBindings: [BindingDescription] {
        let context = self.context(for: focus)
        let own: [BindingDescription]
        switch overlay {
        case .help(let help): own = help.descriptions(context)
        case .queryLine(let line): own = line.descriptions(context)
        case .findBar(let bar): own = bar.descriptions(context)
        case .export(let prompt): own = prompt.descriptions(context)
        case nil: own = compare?.descriptions(context) ?? latency?.descriptions(context) ?? serviceGraph?.descriptions(context)
            ?? trace?.descriptions(context) ?? list.descriptions(context)
        }
        var result = own
        for var binding in replayKeys.descriptions(context) + global.descriptions(context) {
            binding.keys = binding.keys.filter { match in
                guard case .key(let key) = match else { return true }
                return !own.contains { $0.keys.contains { $0.matches(key) } }
            }
            if !binding.keys.isEmpty { result.append(binding) }
        }
        return result
    }

    // MARK: Update

    /// Applies one message; returns what the runtime must do.
    public mutating func update(_ message: ExplorerMessage) -> [ExplorerEffect] {
        var effects: [ExplorerEffect] = []
        switch message {
        case .key(let key):
            notice = nil
            effects = handle(key)
        case .mouse(let mouse):
            effects = handle(mouse)
        case .resize(let width, let height):
            self.width = width
            self.height = height
        case .quit(let reason):
            return [.quit(status: reason.exitStatus)]
        case .snapshot(let snapshot):
            list.apply(snapshot.changes)
            if snapshot.spanCount != storedSpans || !snapshot.changes.updated.isEmpty { latencyStale = true }
            storedSpans = snapshot.spanCount
            if let newer = snapshot.openTrace, trace?.trace.traceID == newer.traceID { trace?.replaceTrace(newer) }
        case .traceLoaded(let loaded):
            var screen = TraceScreen(trace: loaded, rawTimes: rawTimes)
            if let pending = pendingSpan, pending.trace == loaded.traceID {
                if !screen.select(spanID: pending.span) { notice = "span \(pending.span.hex) is not in trace \(loaded.traceID.shortHex)" }
                screen.detail = .open
            }
            pendingSpan = nil
            trace = screen
            if let marked, marked.traceID != loaded.traceID {
                notice = "= compares with the marked trace \(marked.rootService): \(marked.rootOperation) \(marked.traceID.shortHex)"
            }
        case .ingest(let status):
            ingest = status
            // A replay's plot window follows the dump's time, not the wall clock.
            if let clock = status.replay?.clockUnixNano { nowUnixNano = clock }
        case .computed(.filtered(let query, let ids, let version, let generation)):
            guard generation == filterGeneration, list.filter == query else { break }
            filterPending = false
            list.applyFilter(query, matching: ids, asOf: version)
        case .computed(.analysis(let result)):
            trace?.setAnalysis(result)
        case .computed(.statistics(let table, let version, let raw)):
            trace?.setStatistics(table, for: version, rawTimes: raw)
        case .computed(.comparison(let a, let b, let result)):
            if compare?.a.traceID == a, compare?.b.traceID == b { compare?.setComparison(result) }
        case .computed(.latency(let rows, let histogram, let key, let filter)):
            guard var screen = latency, filter == list.filter else { break }
            screen.computing = false
            let before = screen.selectedKey
            // The histogram came for `key`: it is the one to keep when that is (or becomes) the selection.
            let next = screen.setRows(rows, histogram: key != nil && key == before ? histogram : screen.histogram)
            if let next {
                if next == key {
                    screen.setHistogram(histogram, for: next)
                } else {
                    effects.append(.computeLatencyHistogram(filter: filter, key: next,
                                                            buckets: LatencyView.histogramBuckets(in: layout.fullScreenArea)))
                }
            }
            latency = screen
        case .computed(.latencyHistogram(let key, let buckets, let filter)):
            if filter == list.filter { latency?.setHistogram(buckets, for: key) }
        case .computed(.serviceGraph(let graph, let filter)):
            guard filter == list.filter else { break }
            serviceGraph?.computing = false
            serviceGraph?.setGraph(graph)
        case .computed(.exported(let request, let traces, let spans, let bytes)):
            if case .export = overlay { overlay = nil }
            notice = "exported \(Formatting.count(traces)) trace\(traces == 1 ? "" : "s") (\(Formatting.count(spans)) spans, "
                + "\(Formatting.bytes(bytes))) to \(request.path)"
        case .computed(.exportFailed(_, let reason)):
            notice = "export failed: " + reason
        case .computed(.exportTargetExists(let request)):
            if case .export(var prompt) = overlay, prompt.traceIDs == request.traceIDs {
                prompt.askToOverwrite()
                overlay = .export(prompt)
            }
        case .computed(.comparisonFailed(let a, let b, let reason)):
            if compare?.a.traceID == a, compare?.b.traceID == b {
                compare = nil
                notice = reason
            }
        case .tick(let now):
            nowUnixNano = ingest.replay?.clockUnixNano ?? now
            // Live figures: the table again once a second while spans arrive (every
            // fifth second with a filter: that rescans the matching traces under the store's lock).
            if let screen = latency, latencyStale, !screen.computing, list.filter == nil || (now / 1_000_000_000) % 5 == 0 {
                latencyStale = false
                latency?.computing = true
                effects.append(.computeLatency(filter: list.filter, key: screen.selectedKey,
                                               buckets: LatencyView.histogramBuckets(in: layout.fullScreenArea)))
            }
        }
        clampScrolling()
        return effects + backgroundWork()
    }

    /// Heavy work the open trace still needs, asked for once per version.
    mutating func backgroundWork() -> [ExplorerEffect] {
        guard let screen = trace else {
            analysisRequested = nil
            statisticsRequested = nil
            return []
        }
        var effects: [ExplorerEffect] = []
        let version = TraceVersion(screen.rawTrace)
        if screen.needsAnalysis, analysisRequested != version {
            analysisRequested = version
            effects.append(.analyzeOpenTrace)
        }
        if screen.pendingStatistics == nil { statisticsRequested = nil }
        if let grouping = screen.pendingStatistics {
            let key = "\(version.traceID.hex)/\(version.lastUpdate)/\(version.spanCount)/\(grouping.rawValue)/\(screen.rawTimes)/\(screen.needsAnalysis)"
            // Adjusted times wait for the analysis that gives them.
            if statisticsRequested != key, screen.rawTimes || !screen.needsAnalysis {
                statisticsRequested = key
                effects.append(.computeStatistics)
            }
        }
        return effects
    }

    mutating func handle(_ key: Key) -> [ExplorerEffect] {
        // Overlays first: a text field takes printable keys, so `q` types.
        switch overlay {
        case .help(var help):
            if let action = help.action(for: key, context(for: .help)) {
                let rows = layout.helpBodyHeight
                let count = HelpView.lines(for: self).count
                switch action {
                case .close: overlay = nil; return []
                case .down: help.scroll.scroll(by: 1, count: count, rows: rows)
                case .up: help.scroll.scroll(by: -1, count: count, rows: rows)
                case .pageDown: help.scroll.scroll(by: max(1, rows - 1), count: count, rows: rows)
                case .pageUp: help.scroll.scroll(by: -max(1, rows - 1), count: count, rows: rows)
                }
                overlay = .help(help)
                return []
            }
        case .queryLine(var line):
            if let action = line.action(for: key, context(for: .queryLine)) {
                let (close, outcome) = line.perform(action, key: key)
                overlay = close ? nil : .queryLine(line)
                if close, action == .accept { remember(line.field.text) }
                if case .filter(let query) = outcome { return setFilter(query) }
                return []
            }
        case .export(var prompt):
            if let action = prompt.action(for: key, context(for: .exportPrompt)) {
                switch prompt.perform(action, key: key) {
                case .none: overlay = .export(prompt)
                case .close: overlay = nil
                case .write(let request):
                    overlay = .export(prompt)
                    notice = "writing \(request.path)…"
                    return [.export(request)]
                }
                return []
            }
        case .findBar(var bar):
            if let action = bar.action(for: key, context(for: .findBar)) {
                switch action {
                case .edit(let edit):
                    bar.field.apply(edit, key: key)
                    overlay = .findBar(bar)
                case .accept:
                    if trace?.isLogOpen == true {
                        trace?.setLogFilter(bar.field.text)
                        overlay = nil
                    } else if bar.field.text.trimmingSpaces.isEmpty {
                        trace?.find = nil
                        overlay = nil
                    } else if let query = bar.query() {
                        trace?.setFind(text: bar.field.text, query: query)
                        overlay = nil
                    } else {
                        overlay = .findBar(bar)
                    }
                case .cancel:
                    overlay = nil
                }
                return []
            }
        case nil:
            break
        }
        // Then the screen with the focus.
        if overlay == nil {
            let focus = self.focus
            var requests: [AppRequest]?
            if var screen = latency {
                if let action = screen.action(for: key, context(for: focus)) {
                    switch screen.perform(action, context(for: focus)) {
                    case .none: latency = screen
                    case .close: latency = nil
                    case .selected(let key):
                        latency = screen
                        return [.computeLatencyHistogram(filter: list.filter, key: key,
                                                         buckets: LatencyView.histogramBuckets(in: layout.fullScreenArea))]
                    case .slowestTraces(let service, let operation):
                        latency = nil
                        let text = StatisticsPanel.spanTerms(service: service, operation: operation)
                        list.setSort(.duration, descending: true)
                        if let query = try? TraceQuery.parse(text) {
                            remember(text)
                            return setFilter(query)
                        }
                    }
                    return []
                }
            } else if var screen = serviceGraph {
                if let action = screen.action(for: key, context(for: focus)) {
                    switch screen.perform(action, context(for: focus)) {
                    case .none: serviceGraph = screen
                    case .close: serviceGraph = nil
                    case .filter(let text):
                        serviceGraph = nil
                        if let query = try? TraceQuery.parse(text) {
                            remember(text)
                            return setFilter(query)
                        }
                    }
                    return []
                }
            } else if var screen = compare {
                if let action = screen.action(for: key, context(for: focus)) {
                    switch screen.perform(action, context(for: focus)) {
                    case .none: compare = screen
                    case .close: compare = nil
                    case .swap:
                        let swapped = CompareScreen(a: screen.b, b: screen.a)
                        compare = swapped
                        return [.compareTraces(a: swapped.a.traceID, b: swapped.b.traceID)]
                    }
                    return []
                }
            } else if var screen = trace {
                if let action = screen.action(for: key, context(for: focus)) {
                    requests = screen.perform(action, context(for: focus))
                    trace = screen
                }
            } else if let action = list.action(for: key, context(for: focus)) {
                requests = list.perform(action, context(for: focus))
            }
            if let requests { return perform(requests) }
        }
        // Then a replay's keys, then the keys that work everywhere.
        if overlay == nil, let command = replayKeys.action(for: key, context(for: focus)) {
            return [.replay(command)]
        }
        if let action = global.action(for: key, context(for: focus)) {
            switch action {
            case .help: overlay = .help(HelpOverlay(underlying: screenFocus))
            case .quit: return [.quit(status: 0)]
            case .suspend: return [.suspend]
            case .repaint: return [.repaint]
            }
        }
        return []
    }

    mutating func perform(_ requests: [AppRequest]) -> [ExplorerEffect] {
        var effects: [ExplorerEffect] = []
        for request in requests {
            switch request {
            case .openTrace(let id): effects.append(.loadTrace(id))
            case .closeTrace: trace = nil
            case .togglePause: paused.toggle()
            case .openQueryLine: overlay = .queryLine(QueryLine(previous: list.filter, history: queryHistory))
            case .openFindBar:
                if case .log(let log) = trace?.panel {
                    overlay = .findBar(FindBar(text: log.filter, filtersText: true))
                } else {
                    overlay = .findBar(FindBar(text: trace?.find?.text ?? ""))
                }
            case .openSpan(let traceID, let spanID):
                if list.contains(traceID) {
                    pendingSpan = (traceID, spanID)
                    effects.append(.loadTrace(traceID))
                } else {
                    notice = "trace \(traceID.hex) is not in the store"
                }
            case .mark(let summary):
                if marked?.traceID == summary.traceID {
                    marked = nil
                    notice = "unmarked trace \(summary.traceID.shortHex)"
                } else {
                    marked = summary
                    notice = "marked trace \(summary.traceID.shortHex) as A: open another trace and press = to compare"
                }
            case .compareWithMarked(let summary):
                guard let marked, marked.traceID != summary.traceID else { break }
                compare = CompareScreen(a: marked, b: summary)
                effects.append(.compareTraces(a: marked.traceID, b: summary.traceID))
            case .notice(let text):
                notice = text
            case .openLatency:
                var screen = LatencyScreen(scope: list.filter.map { "filter: " + $0.text } ?? "all traces")
                screen.computing = true
                latency = screen
                latencyStale = false
                effects.append(.computeLatency(filter: list.filter, key: nil, buckets: LatencyView.histogramBuckets(in: layout.fullScreenArea)))
            case .openServiceGraph:
                var screen = ServiceGraphScreen(scope: list.filter.map { "filter: " + $0.text } ?? "all traces")
                screen.computing = true
                serviceGraph = screen
                effects.append(.computeServiceGraph(filter: list.filter))
            case .openExport(let ids, let what, let name):
                guard !ids.isEmpty else {
                    notice = "nothing to export: no trace passes the filter"
                    break
                }
                overlay = .export(ExportPrompt(traceIDs: ids, what: what, defaultName: name))
            }
        }
        return effects
    }

    /// A new filter from the query line: nil shows every trace at once; a
    /// query is evaluated over the store off the UI's path.
    mutating func setFilter(_ query: TraceQuery?) -> [ExplorerEffect] {
        guard query != list.filter else { return [] }
        filterGeneration += 1
        guard let query, !query.isEmpty else {
            filterPending = false
            list.applyFilter(nil, matching: nil, asOf: .max)
            return []
        }
        filterPending = true
        // Traces that arrive from now on are judged by the new filter as they come.
        list.setFilterText(query)
        return [.filterStore(query, generation: filterGeneration)]
    }

    /// Sets a filter at start (`--filter`), before any trace is known.
    public mutating func startFiltering(_ query: TraceQuery?) {
        list.setFilterText(query)
        if let query, !query.isEmpty { remember(query.text) }
    }

    mutating func remember(_ text: String) {
        let text = text.trimmingSpaces
        guard !text.isEmpty else { return }
        queryHistory.removeAll { $0 == text }
        queryHistory.append(text)
        if queryHistory.count > 100 { queryHistory.removeFirst(queryHistory.count - 100) }
    }

    public mutating func setFollow(_ on: Bool) { list.setFollow(on) }

    // MARK: Mouse

    /// Wheel scrolls what is under the pointer; a click selects the row under
    /// it, and a click on the selected row opens it (trace -> waterfall -> detail).
    mutating func handle(_ mouse: MouseEvent) -> [ExplorerEffect] {
        guard overlay == nil, compare == nil, latency == nil, serviceGraph == nil else { return [] }
        let layout = self.layout
        let overDetail = trace?.isDetailOpen == true && layout.detail.contains(x: mouse.x, y: mouse.y)
        switch mouse.kind {
        case .wheelDown, .wheelUp:
            let key: Key = mouse.kind == .wheelDown ? .down : .up
            if var screen = trace {
                screen.detail = overDetail ? .focused : (screen.isDetailOpen ? .open : .closed)
                trace = screen
            }
            return handle(key)
        case .press(.left):
            if var screen = trace {
                if overDetail {
                    screen.detail = .focused
                } else if layout.waterfallBody.contains(x: mouse.x, y: mouse.y) {
                    // A table in the waterfall's place takes the click for its own rows.
                    screen.click(line: mouse.y - layout.waterfallBody.y)
                }
                trace = screen
                return []
            }
            guard layout.listBody.contains(x: mouse.x, y: mouse.y) else { return [] }
            return perform(list.click(list.selection.top + (mouse.y - layout.listBody.y)))
        default:
            return []
        }
    }

    /// Keeps every selection on screen and every scroll offset in range.
    mutating func clampScrolling() {
        let layout = self.layout
        list.clamp(rows: layout.listBody.height)
        latency?.clamp(area: layout.fullScreenArea)
        serviceGraph?.clamp(area: layout.fullScreenArea)
        if var screen = trace {
            let detailLines = screen.isDetailOpen
                ? SpanDetailView.lineCount(model: self, screen: screen, width: layout.detail.width) : 0
            screen.clamp(waterfallRows: layout.waterfallBody.height, detailLines: detailLines, detailRows: layout.detailBodyHeight)
            trace = screen
        }
        if case .help(var help) = overlay {
            help.scroll.scroll(by: 0, count: HelpView.lines(for: self).count, rows: layout.helpBodyHeight)
            overlay = .help(help)
        }
    }
}
