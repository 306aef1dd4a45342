import Testing
@testable import TerminalUI

@Suite struct DiffTests {
    @Test func firstFrameAndSizeChangeAreFullRedraws() {
        var b = CellBuffer(width: 4, height: 2)
        b.put("ab", x: 0, y: 0, style: .bold)
        let runs = b.diff(from: nil)
        #expect(runs.map(\.width).reduce(0, +) == 8)
        #expect(runs.count == 3)  // "ab" bold, "  " plain on row 0; row 1 plain
        #expect(runs[0] == CellRun(x: 0, y: 0, style: .bold, cells: [Cell("a", style: .bold), Cell("b", style: .bold)]))
        let bigger = CellBuffer(width: 5, height: 2)
        #expect(bigger.diff(from: b).map(\.width).reduce(0, +) == 10)
    }

    @Test func identicalFramesProduceNothing() {
        var b = CellBuffer(width: 10, height: 3)
        b.put("hello 中文", x: 0, y: 1)
        #expect(b.diff(from: b).isEmpty)
    }

    @Test func onlyChangedRunsAreReported() {
        var a = CellBuffer(width: 10, height: 3)
        a.put("hello world", x: 0, y: 0)
        a.put("static", x: 0, y: 2)
        var b = a
        b.put("J", x: 0, y: 0)
        b.put("W", x: 6, y: 0, style: .fg(.red))
        b.put("o", x: 7, y: 0, style: .fg(.red))  // unchanged text, changed style
        let runs = b.diff(from: a)
        #expect(runs.map { "\($0.x),\($0.y):\($0.text)" } == ["0,0:J", "6,0:Wo"])
        #expect(runs[1].style == .fg(.red))
    }

    @Test func styleBreaksRuns() {
        let a = CellBuffer(width: 6, height: 1)
        var b = a
        b.put("ab", x: 0, y: 0, style: .bold)
        b.put("cd", x: 2, y: 0, style: .reverse)
        #expect(b.diff(from: a).map(\.text) == ["ab", "cd"])
    }

    @Test func wideCharChangesIncludeBothHalves() {
        var a = CellBuffer(width: 6, height: 1)
        a.put("中文", x: 0, y: 0)
        var b = a
        b.put("日", x: 2, y: 0)  // replaces 文: lead differs, continuation identical
        let runs = b.diff(from: a)
        #expect(runs.count == 1)
        #expect(runs[0].x == 2)
        #expect(runs[0].cells.count == 2)
        #expect(runs[0].text == "日")

        // A continuation whose style alone changed pulls its lead in: no run starts on
        // a continuation cell.
        var c = a
        c.restyle(Rect(x: 1, y: 0, width: 1, height: 1)) { $0.reversed }
        let styled = c.diff(from: a)
        #expect(styled.first?.x == 0)
        #expect(styled.allSatisfy { !$0.cells[0].isContinuation })
    }

    @Test func applyingDiffReproducesTheFrame() {
        var a = CellBuffer(width: 12, height: 3)
        a.put("one 中 two", x: 0, y: 0)
        a.put("😀 three", x: 2, y: 2, style: .fg(.green))
        var b = CellBuffer(width: 12, height: 3)
        b.put("one 文 tw0", x: 0, y: 0)
        b.put("x😀 three", x: 1, y: 2, style: .fg(.green))
        b.put("new", x: 9, y: 1, style: .bold)
        var replay = a
        for run in b.diff(from: a) {
            for (i, cell) in run.cells.enumerated() where !cell.isContinuation {
                replay.put(cell.grapheme, x: run.x + i, y: run.y, style: cell.style)
            }
        }
        #expect(replay == b)
    }

    /// A space between words of different colours takes the colour before it
    /// (nothing changes on screen, one colour change fewer goes out); a
    /// space that would show the difference keeps its style.
    @Test func blanksTakeTheirLeftNeighboursStyleOnlyWhereItLooksTheSame() {
        let red = Style(foreground: .palette(196))
        let blue = Style(foreground: .palette(21))
        let shaded = Style(background: .palette(238))
        var buffer = CellBuffer(width: 12, height: 1)
        _ = buffer.put("ab", x: 0, y: 0, style: red)
        _ = buffer.put("cd", x: 3, y: 0, style: blue)
        _ = buffer.put(" ", x: 5, y: 0, style: Style(attributes: [.underline]))
        _ = buffer.put("e", x: 6, y: 0, style: blue)
        _ = buffer.put(" ", x: 7, y: 0, style: shaded)
        _ = buffer.put("f", x: 8, y: 0, style: Style(foreground: .palette(21), attributes: [.reverse]))
        var merged = buffer
        merged.mergeInvisibleStyleChanges()
        #expect(merged.lines() == buffer.lines())
        #expect(merged[2, 0].style == red)            // plain space after red text: red
        #expect(merged[5, 0].style == buffer[5, 0].style)  // underlined: shows
        #expect(merged[7, 0].style == shaded)          // another background: shows
        #expect(merged[9, 0].style == buffer[9, 0].style)  // after reverse video: shows
        #expect(merged[10, 0].style == Style.plain)    // after the space at 9, which kept plain
        #expect(buffer.diff(from: nil).count > merged.diff(from: nil).count)
    }
}
