import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// Style where it carries meaning: the selected row, error marks, find
/// matches. One letter per cell beside the text, so a lost highlight fails
/// even when the words stay the same.
@Suite struct StyleSnapshotTests {
    /// `S` selected row, `E` error (red), `X` error on the selected row,
    /// `F` find match, `s` find match on the selected row, `.` anything else.
    static func meaning(_ buffer: CellBuffer) -> [String] {
        let red = Theme.error.foreground
        return (0..<buffer.height).map { y in
            String((0..<buffer.width).map { x -> Character in
                let style = buffer[x, y].style
                let selected = style.background == Theme.selected.background
                if style == Theme.findMatch { return "F" }
                if style == Theme.findMatchSelected { return "s" }
                if style.foreground == red { return selected ? "X" : "E" }
                return selected ? "S" : "."
            })
        }
    }

    static func snapshot(_ model: ExplorerModel) -> [String] {
        let buffer = ExplorerView.render(model)
        return zip(buffer.lines(), meaning(buffer)).flatMap { [$0, $1] }
    }

    @Test func theSelectedErrorTraceInTheList() {
        var model = ExplorerFixtures.state(width: 80, height: 24)
        while model.list.selectedSummary?.hasError != true { _ = model.update(.key(.down)) }
        let map = Self.meaning(ExplorerView.render(model))
        let row = ExplorerLayout(model).listBody.y + model.list.selection.selected
        // The selected row is highlighted across, its error mark red on it.
        #expect(map[row].contains("X"))
        #expect(map[row].filter { $0 == "S" }.count > 60)
        assertSnapshot(Self.snapshot(model), named: "styles-list-selected-error-80x24")
    }

    @Test func errorSpansAndTheSelectedRowInTheWaterfall() {
        var model = ExplorerFixtures.state(width: 80, height: 24)
        let store = ExplorerFixtures.store()
        model.openTrace(store.trace(TraceID(high: 0x1111, low: 0x2222))!)
        _ = model.update(.key(.down))
        let map = Self.meaning(ExplorerView.render(model))
        let body = ExplorerLayout(model).waterfallBody
        #expect(map[body.y].first == ".")        // server-1: no error, no mark
        #expect(map[body.y + 1].hasPrefix("X"))  // the hop: selected, error mark
        #expect(map[body.y + 2].hasPrefix("E"))  // server-2: error mark
        assertSnapshot(Self.snapshot(model), named: "styles-waterfall-errors-80x24")
    }
}
