import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// The query line, the find bar and the plot over a filtered list, as text
/// and as style maps, at both sizes.
@Suite struct FindingSnapshotTests {
    static let sizes = [(80, 24), (120, 40)]

    /// Types `text` key by key, then applies the filter result as the runtime would.
    static func typeQuery(_ model: inout ExplorerModel, _ text: String, store: inout TraceStore) {
        _ = model.update(.key(.char("/")))
        var last: ExplorerEffect?
        for c in text {
            for effect in model.update(.key(.char(c))) { last = effect }
        }
        if case .filterStore(let query, let generation) = last {
            let ids = Set(store.traceIDs(matching: query))
            _ = model.update(.computed(.filtered(query: query, ids: ids, version: store.version, generation: generation)))
        }
    }

    @Test(arguments: sizes) func queryLineNarrowsTheListUnderThePlot(width: Int, height: Int) {
        var model = ExplorerFixtures.state(width: width, height: height)
        model.list.showsPlot = true
        var store = ExplorerFixtures.store()
        Self.typeQuery(&model, "service=server-2", store: &store)
        #expect(model.list.rows.count == 3)
        #expect(model.focus == .queryLine)
        let frame = ExplorerView.frame(model)
        #expect(frame.cursor != nil)
        assertSnapshot(StyleSnapshotTests.snapshot(model), named: "query-line-\(width)x\(height)")
        // Enter keeps it: the status bar says which filter and how many match.
        _ = model.update(.key(.enter))
        let status = ExplorerView.render(model).lines()[height - 2]
        #expect(status.contains("filter service=server-2: 3 of 4"))
        assertSnapshot(StyleSnapshotTests.snapshot(model), named: "filtered-list-plot-\(width)x\(height)")
    }

    @Test(arguments: sizes) func aBadQueryShowsItsPositionAndKeepsTheList(width: Int, height: Int) {
        var model = ExplorerFixtures.state(width: width, height: height)
        var store = ExplorerFixtures.store()
        // As typed, `dur` is a bare word (matching no trace); `dur>` does not parse and changes nothing.
        Self.typeQuery(&model, "dur", store: &store)
        let before = model.list.rows.map(\.traceID)
        #expect(model.update(.key(.char(">"))).isEmpty)
        #expect(model.list.rows.map(\.traceID) == before)
        #expect(model.list.filter?.text == "dur")
        let text = ExplorerView.render(model).lines().joined(separator: "\n")
        #expect(text.contains("^ position 5: expected"))
        assertSnapshot(ExplorerView.render(model).lines(), named: "query-error-\(width)x\(height)")
    }

    @Test(arguments: sizes) func findBarMarksMatchesAndCounts(width: Int, height: Int) {
        var model = ExplorerFixtures.state(width: width, height: height)
        ExplorerFixtures.openSeed(&model)
        for key in "/{kind=server}".map(Key.char) { _ = model.update(.key(key)) }
        assertSnapshot(StyleSnapshotTests.snapshot(model), named: "find-bar-typing-\(width)x\(height)")
        _ = model.update(.key(.enter))
        #expect(model.trace?.find?.position == "1/2")
        _ = model.update(.key(.char("n")))
        #expect(model.trace?.find?.position == "2/2")
        #expect(model.trace?.selectedSpanValue?.name == "server-2")
        assertSnapshot(StyleSnapshotTests.snapshot(model), named: "find-matches-\(width)x\(height)")
    }

    @Test func nExpandsCollapsedSubtreesOnTheWay() {
        var model = ExplorerFixtures.state(width: 100, height: 30)
        ExplorerFixtures.openSeed(&model)
        _ = model.update(.key(.char("C")))  // everything folded under the root
        #expect(model.trace?.visibleRows.count == 1)
        for key in "/handling".map(Key.char) + [.enter] { _ = model.update(.key(key)) }
        // The one match is server-2's log: its subtree opened to show it.
        #expect(model.trace?.find?.position == "1/1")
        #expect(model.trace?.selectedSpanValue?.name == "server-2")
        #expect(model.trace?.visibleRows.count == 3)
    }

    @Test func historyStepsThroughEarlierQueries() {
        var model = ExplorerFixtures.state(width: 100, height: 30)
        var store = ExplorerFixtures.store()
        Self.typeQuery(&model, "error", store: &store)
        _ = model.update(.key(.enter))
        Self.typeQuery(&model, "", store: &store)
        _ = model.update(.key(.ctrl("u")))
        for c in "alice" { _ = model.update(.key(.char(c))) }
        _ = model.update(.key(.enter))
        _ = model.update(.key(.char("/")))
        _ = model.update(.key(.up))
        guard case .queryLine(let line) = model.overlay else { Issue.record("no query line"); return }
        #expect(line.field.text == "alice")
        _ = model.update(.key(.up))
        guard case .queryLine(let older) = model.overlay else { return }
        #expect(older.field.text == "error")
        // Esc goes back to the filter in force before the line opened.
        _ = model.update(.key(.escape))
        #expect(model.list.filter?.text == "alice")
    }
}
