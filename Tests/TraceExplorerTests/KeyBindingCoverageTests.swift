import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// Keys reach components only through their declared bindings: every
/// declared binding does something, and a key nobody declares does nothing.
@Suite struct KeyBindingCoverageTests {
    /// Every key a terminal can send us, as the input decoder makes them.
    static let universe: [Key] = {
        var keys: [Key] = [.up, .down, .left, .right, .pageUp, .pageDown, .home, .end, .enter, .escape, .backspace,
                           .tab, .backTab, .delete, .insert]
        keys += (1...12).map(Key.function)
        keys += (0x20...0x7e).map { .char(Character(UnicodeScalar(UInt8($0)))) }
        keys += "abcdefghijklmnopqrstuvwxyz".map(Key.ctrl)
        keys += [.char("é"), .char("🙂")]
        return keys
    }()

    /// Named states of the explorer, with the focus each puts keys into.
    static func scenarios() -> [(String, ExplorerModel)] {
        var list = ExplorerFixtures.state(width: 100, height: 30)
        _ = list.update(.key(.down))
        var live = list
        var status = IngestStatus()
        status.live = LiveStatus()
        status.live?.listeners = 1
        _ = live.update(.ingest(status))

        var waterfall = ExplorerFixtures.state(width: 100, height: 30)
        ExplorerFixtures.openSeed(&waterfall)
        _ = waterfall.update(.key(.down))  // the hop: has a child, not the first or last row
        var liveWaterfall = waterfall
        _ = liveWaterfall.update(.ingest(status))
        // Folded, with a find: expand, expand all, n and N have work to do.
        var folded = waterfall
        for key in "/server".map(Key.char) + [.enter] { _ = folded.update(.key(key)) }
        _ = folded.update(.key(.char("C")))

        // Short, so that the detail has more lines than rows.
        var detail = waterfall
        _ = detail.update(.resize(width: 100, height: 14))
        _ = detail.update(.key(.enter))
        _ = detail.update(.key(.char("j")))  // scrolled: up and top have somewhere to go
        var help = waterfall
        _ = help.update(.key(.char("?")))
        _ = help.update(.key(.char("j")))
        var query = list
        query.queryHistory = ["dur>1s", "service=server-2"]
        for key in "/alice".map(Key.char) { _ = query.update(.key(key)) }
        _ = query.update(.key(.left))
        _ = query.update(.key(.up))  // in the history: both Up and Down have somewhere to go
        _ = query.update(.key(.left))
        var find = waterfall
        for key in "/serv".map(Key.char) { _ = find.update(.key(key)) }
        _ = find.update(.key(.left))
        // The understanding views, each with somewhere to go both ways.
        var marked = list
        _ = marked.update(.key(.char("m")))
        _ = marked.update(.key(.down))
        var markedWaterfall = marked
        ExplorerFixtures.openSeed(&markedWaterfall)
        var stats = waterfall
        _ = stats.update(.key(.char("S")))
        _ = stats.update(.key(.char("b")))
        _ = stats.update(.key(.char("j")))
        var log = ExplorerFixtures.state(width: 100, height: 30)
        log.openTrace(ExplorerFixtures.producerConsumerTrace())
        for key in "Lj".map(Key.char) { _ = log.update(.key(key)) }
        var filteredLog = log
        for key in "/order".map(Key.char) + [.enter] { _ = filteredLog.update(.key(key)) }
        var links = ExplorerFixtures.state(width: 100, height: 30)
        links.openTrace(ExplorerFixtures.linksTrace())
        for key in "jj".map(Key.char) + [.enter, .char("n")] { _ = links.update(.key(key)) }
        var compare = markedWaterfall
        _ = compare.update(.key(.char("=")))
        let store = ExplorerFixtures.store()
        if let a = compare.compare?.a.traceID, let b = compare.compare?.b.traceID, let ta = store.trace(a), let tb = store.trace(b) {
            _ = compare.update(.computed(.comparison(a: a, b: b, TraceComparison(a: ta, b: tb))))
        }
        _ = compare.update(.key(.char("j")))
        var export = list
        _ = export.update(.key(.char("e")))
        _ = export.update(.key(.left))  // the cursor inside the name: every editing key has work
        var confirmExport = export
        if case .export(let prompt) = confirmExport.overlay {
            _ = confirmExport.update(.computed(.exportTargetExists(ExportRequest(traceIDs: prompt.traceIDs, path: prompt.field.text,
                                                                                 format: .otlp, overwrite: false))))
        }
        // The latency view and the service graph, with their data delivered as the runtime would.
        var seedStore = ExplorerFixtures.store()
        var latencyView = list
        _ = latencyView.update(.key(.char("P")))
        let rows = seedStore.latency.rows(by: .operation)
        _ = latencyView.update(.computed(.latency(rows: rows, histogram: seedStore.latency.histogram(rows[0].key, buckets: 6),
                                                  key: rows[0].key, filter: nil)))
        _ = latencyView.update(.key(.char("j")))
        // A diamond (a -> b, a -> c, b -> d, c -> d): four edges, the second selected.
        var diamond = TraceStore()
        let id = TraceID(low: 0xd1a)
        func span(_ n: UInt64, _ parent: UInt64?, _ service: String) -> Span {
            Span(traceID: id, spanID: SpanID(n), parentSpanID: parent.map(SpanID.init), name: "op", startTimeUnixNano: 1_000 + n,
                 durationNano: 100, resource: Resource(serviceName: service))
        }
        diamond.add(contentsOf: [span(1, nil, "a"), span(2, 1, "b"), span(3, 1, "c"), span(4, 2, "d"), span(5, 3, "d")])
        var graphView = list
        _ = graphView.update(.key(.char("D")))
        _ = graphView.update(.computed(.serviceGraph(diamond.serviceGraph(matching: nil), filter: nil)))
        _ = graphView.update(.key(.char("j")))
        _ = seedStore.summaries()
        return [("latency", latencyView), ("service graph", graphView),
                ("export prompt", export), ("export confirmation", confirmExport),
                ("list", list), ("live list", live), ("marked list", marked), ("marked waterfall", markedWaterfall),
                ("statistics", stats), ("trace log", log), ("filtered trace log", filteredLog), ("detail with references", links),
                ("compare", compare), ("waterfall", waterfall), ("live waterfall", liveWaterfall),
                ("folded waterfall with a find", folded), ("detail", detail), ("help", help), ("query line", query),
                ("find bar", find)]
    }

    /// What a person sees after `key`: the screen with its styles and the cursor, and what the runtime is asked to do.
    static func outcome(_ model: ExplorerModel, _ key: Key) -> (frame: [String], effects: [ExplorerEffect], focus: Focus) {
        var copy = model
        let effects = copy.update(.key(key))
        let frame = ExplorerView.frame(copy)
        let cursor = frame.cursor.map { "cursor \($0.x),\($0.y)" } ?? "no cursor"
        return (frame.buffer.styledLines() + frame.buffer.lines() + [cursor], effects, copy.focus)
    }

    @Test func everyDeclaredBindingDoesSomethingInSomeState() {
        var effective: [Focus: Set<String>] = [:]
        var declared: [Focus: [String: BindingDescription]] = [:]
        for (_, model) in Self.scenarios() {
            let before = Self.outcome(model, .function(12)).frame  // F12: declared nowhere, changes nothing
            for binding in model.activeBindings {
                let id = binding.help + "|" + binding.keysLabel
                declared[model.focus, default: [:]][id] = binding
                // Live-only keys are checked in the live scenarios.
                if binding.liveOnly && !model.isLive { continue }
                for case .key(let key) in binding.keys {
                    let after = Self.outcome(model, key)
                    if after.frame != before || !after.effects.isEmpty {
                        effective[model.focus, default: []].insert(id + "|" + key.label)
                    }
                }
                if binding.keys.contains(.printable) {
                    let after = Self.outcome(model, .char("x"))
                    if after.frame != before { effective[model.focus, default: []].insert(id + "|x") }
                }
            }
        }
        for (focus, bindings) in declared {
            for (id, binding) in bindings {
                let keys = binding.keys.map { $0 == .printable ? "x" : $0.label }
                for key in keys {
                    #expect(effective[focus, default: []].contains(id + "|" + key),
                            "\(focus): key \(key) of '\(binding.help)' is declared but did nothing in any state")
                }
            }
        }
    }

    @Test func aKeyNobodyDeclaresChangesNothing() {
        for (name, model) in Self.scenarios() {
            let declared = model.activeBindings
            let before = Self.outcome(model, .function(12))
            for key in Self.universe where !declared.contains(where: { b in b.keys.contains { $0.matches(key) } }) {
                let after = Self.outcome(model, key)
                #expect(after.frame == before.frame && after.effects.isEmpty && after.focus == model.focus,
                        "\(name): \(key.label) is handled but declared nowhere")
            }
        }
    }

    @Test func theHintBarAndHelpAreBuiltFromTheDeclarations() {
        var model = ExplorerFixtures.state(width: 200, height: 60)
        let hint = ExplorerView.render(model).lines().last ?? ""
        for binding in model.activeBindings where binding.hint != nil && !binding.liveOnly {
            #expect(hint.contains(binding.shortKeysLabel + " " + binding.hint!), "hint bar lacks \(binding.hint!)")
        }
        // Ctrl-F / Ctrl-B paging and Space in the detail are in the help, as the issue asked.
        _ = model.update(.key(.char("?")))
        let lines = HelpView.lines(for: model).map { $0.keys + " " + $0.text }
        #expect(lines.contains("PgDn Ctrl-F page down"))
        #expect(lines.contains("PgDn Ctrl-F Space page down"))
        #expect(lines.contains("Enter → l open the trace's waterfall"))
    }
}
