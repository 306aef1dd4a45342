/// A horizontal run of cells with one style, to be drawn starting at (x, y).
/// `cells` may contain continuation cells (right halves of wide characters) which a
/// backend skips: drawing the wide character covers them.
public struct CellRun: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var style: Style
    public var cells: [Cell]

    public init(x: Int, y: Int, style: Style, cells: [Cell]) {
        self.x = x
        self.y = y
        self.style = style
        self.cells = cells
    }

    /// Columns covered.
    public var width: Int { cells.count }
    /// The run's text (continuations contribute nothing).
    public var text: String { cells.map(\.grapheme).joined() }
}

extension CellBuffer {
    /// Runs of changed cells, row by row, left to right, each with a single style.
    /// When `previous` is nil or has another size, every cell is included (full redraw).
    /// A changed half of a wide character always brings the other half along, so a run
    /// never starts on a continuation cell.
    public func diff(from previous: CellBuffer?) -> [CellRun] {
        let full = previous.map { $0.width != width || $0.height != height } ?? true
        var runs: [CellRun] = []
        guard width > 0 else { return runs }
        var changed = [Bool](repeating: false, count: width)
        for y in 0..<height {
            let row = y * width
            var any = false
            for x in 0..<width {
                let c = full || cells[row + x] != previous?.cells[row + x]
                changed[x] = c
                any = any || c
            }
            guard any else { continue }
            // Pull in the other half of wide characters.
            for x in 0..<width where changed[x] {
                if cells[row + x].isContinuation, x > 0 { changed[x - 1] = true }
                if x + 1 < width, cells[row + x + 1].isContinuation { changed[x + 1] = true }
            }
            var x = 0
            while x < width {
                guard changed[x] else { x += 1; continue }
                let style = cells[row + x].style
                var run = CellRun(x: x, y: y, style: style, cells: [cells[row + x]])
                x += 1
                while x < width, changed[x] {
                    let cell = cells[row + x]
                    if !cell.isContinuation && cell.style != style { break }
                    run.cells.append(cell)
                    x += 1
                }
                runs.append(run)
            }
        }
        return runs
    }
}
