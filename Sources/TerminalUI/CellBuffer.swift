/// A grid of cells that views render into; the backend draws it (or its diff against the
/// previous frame). Value type: copying a frame to keep it as "previous" is cheap (CoW).
///
/// Invariants kept by every mutating method: a continuation cell (empty grapheme) is
/// always directly right of a cell holding a width-2 grapheme and vice versa; no cell
/// holds a control character (text is sanitized on the way in), unless the buffer
/// keeps raw text.
public struct CellBuffer: Hashable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Row-major: the cell at (x, y) is `cells[y * width + x]`.
    public private(set) var cells: [Cell]
    /// Text goes in as received, not sanitized: controls, escape sequences, bidi and
    /// invisible characters each take a column of their own. Only for plain text
    /// written to a pipe (`print --raw`), never for a buffer drawn on a terminal.
    public let keepsRawText: Bool

    public init(width: Int, height: Int, style: Style = .plain, keepsRawText: Bool = false) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.keepsRawText = keepsRawText
        self.cells = Array(repeating: Cell.blank(style), count: self.width * self.height)
    }

    /// The whole buffer as a rect.
    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// The cell at column `x`, row `y`; a blank cell outside the buffer.
    public subscript(_ x: Int, _ y: Int) -> Cell {
        guard x >= 0, x < width, y >= 0, y < height else { return .blank }
        return cells[y * width + x]
    }

    /// For drawing only: a blank that would look the same in its left
    /// neighbour's style (same background, no underline or reverse on
    /// either) takes that style, so a backend sends no colour change for
    /// the space between two words of different colours.
    public mutating func mergeInvisibleStyleChanges() {
        let visibleOnBlank: TextAttributes = [.underline, .reverse]
        for y in 0..<height {
            let row = y * width
            for x in 1..<max(width, 1) {
                let cell = cells[row + x]
                guard cell.grapheme == " " else { continue }
                let left = cells[row + x - 1].style
                guard left != cell.style, left.background == cell.style.background,
                      cell.style.attributes.isDisjoint(with: visibleOnBlank),
                      left.attributes.isDisjoint(with: visibleOnBlank) else { continue }
                cells[row + x].style = left
            }
        }
    }

    // MARK: - Writing

    /// Fills `rect` (clipped to the buffer) with blanks of `style`.
    public mutating func fill(_ rect: Rect, style: Style) {
        fill(rect, with: " ", style: style)
    }

    /// Fills `rect` (clipped) with a width-1 grapheme, e.g. "─" for a rule. Wide or
    /// zero-width graphemes are replaced by a space.
    public mutating func fill(_ rect: Rect, with grapheme: Character, style: Style) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        var g = String(TerminalText.sanitize(String(grapheme)).first ?? " ")
        if g.count != 1 || DisplayWidth.of(Character(g)) != 1 { g = " " }
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX {
                write(Cell(g, style: style), width: 1, x: x, y: y)
            }
        }
    }

    /// Changes the style of the cells in `rect` (clipped), keeping their text. A wide
    /// character cut by the rect's edge is restyled as a whole.
    public mutating func restyle(_ rect: Rect, _ transform: (Style) -> Style) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            var x0 = r.x
            if cells[y * width + x0].isContinuation, x0 > 0 { x0 -= 1 }
            var x1 = r.maxX
            if x1 < width, cells[y * width + x1].isContinuation { x1 += 1 }
            for x in x0..<x1 {
                cells[y * width + x].style = transform(cells[y * width + x].style)
            }
        }
    }

    /// Sets the style of the cells in `rect`, keeping their text.
    public mutating func setStyle(_ rect: Rect, _ style: Style) {
        restyle(rect) { _ in style }
    }

    /// Writes `text` (sanitized first) from column `x` on row `y`, clipped at the buffer
    /// edges and after `maxWidth` columns. Grapheme clusters are never split; a wide
    /// character that doesn't fit in the last available column becomes a space; a wide
    /// character cut by the left edge leaves a space. Zero-width clusters (a lone
    /// combining mark…) are dropped (kept as a column of their own when the buffer keeps
    /// raw text). Overwriting half of a wide character blanks its other half.
    ///
    /// - Returns: the number of columns written inside the buffer (including such a
    ///   filler space). To learn whether text was cut, compare with
    ///   `DisplayWidth.of(TerminalText.sanitize(text))`, or use `putTruncated`.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = maxWidth.map { $0 <= 0 ? x : min(width, x + $0) } ?? width
        guard limit > x, limit > 0 else { return 0 }
        let text = keepsRawText ? text : TerminalText.sanitize(text)
        var column = x
        var written = 0
        for ch in text {
            if column >= limit { break }
            let w = columnsTaken(by: ch)
            if w == 0 { continue }
            if column < 0 {
                // Off the left edge: skip; a wide char straddling column 0 leaves a space.
                if column + w > 0 {
                    write(Cell(" ", style: style), width: 1, x: 0, y: y)
                    written += 1
                }
                column += w
                continue
            }
            if column + w > limit {
                write(Cell(" ", style: style), width: 1, x: column, y: y)
                written += 1
                break
            }
            write(Cell(String(ch), style: style), width: w, x: column, y: y)
            column += w
            written += w
        }
        return written
    }

    /// Like `put`, but when the text doesn't fit in `maxWidth` columns (and the buffer
    /// edge) it is cut one column early and ends with `…`, so nothing is cut silently.
    /// - Returns: the number of columns written.
    @discardableResult
    public mutating func putTruncated(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let available = min(maxWidth ?? Int.max, width - x)
        guard available > 0 else { return 0 }
        let text = keepsRawText ? text : TerminalText.sanitize(text)
        if text.reduce(0, { $0 + columnsTaken(by: $1) }) <= available {
            return put(text, x: x, y: y, style: style, maxWidth: available)
        }
        let written = put(text, x: x, y: y, style: style, maxWidth: available - 1)
        return written + put("…", x: x + written, y: y, style: style, maxWidth: 1)
    }

    /// Writes `text` truncated (with `…`) or padded with spaces of `style` so that exactly
    /// `width` columns from `x` are covered (clipped at the buffer edge). Handy for rows
    /// and table cells. Returns the columns covered.
    @discardableResult
    public mutating func putPadded(_ text: String, x: Int, y: Int, width columns: Int, style: Style = .plain) -> Int {
        guard columns > 0 else { return 0 }
        let written = putTruncated(text, x: x, y: y, style: style, maxWidth: columns)
        if written < columns {
            fill(Rect(x: x + written, y: y, width: columns - written, height: 1), style: style)
        }
        return min(columns, width - x)
    }

    /// The columns `put` gives a grapheme: its display width, and 1 for a zero-width one
    /// kept as raw text.
    @inline(__always)
    func columnsTaken(by ch: Character) -> Int {
        let w = DisplayWidth.of(ch)
        return w == 0 && keepsRawText ? 1 : w
    }

    /// Copies another buffer in at (x, y), clipped; wide characters cut by an edge become
    /// spaces.
    public mutating func blit(_ other: CellBuffer, x: Int, y: Int) {
        for oy in 0..<other.height {
            let ty = y + oy
            guard ty >= 0, ty < height else { continue }
            var ox = 0
            while ox < other.width {
                let cell = other.cells[oy * other.width + ox]
                let tx = x + ox
                if cell.isContinuation { ox += 1; continue }
                let w = (ox + 1 < other.width && other.cells[oy * other.width + ox + 1].isContinuation) ? 2 : 1
                if tx >= 0, tx + w <= width {
                    write(cell, width: w, x: tx, y: ty)
                } else if tx >= 0, tx < width {
                    write(Cell(" ", style: cell.style), width: 1, x: tx, y: ty)
                } else if w == 2, tx + 1 == 0, width > 0 {
                    write(Cell(" ", style: cell.style), width: 1, x: 0, y: ty)
                }
                ox += w
            }
        }
    }

    /// Writes one cell of width 1 or 2 at (x, y) (caller guarantees it fits), first
    /// blanking the orphaned half of any wide character it partly covers.
    mutating func write(_ cell: Cell, width w: Int, x: Int, y: Int) {
        let row = y * width
        // Left neighbour: if (x) is a continuation, the wide char at x-1 loses its tail.
        if cells[row + x].isContinuation, x > 0 {
            cells[row + x - 1] = Cell(" ", style: cells[row + x - 1].style)
        }
        // Right neighbour: if the last covered column is a wide lead, its continuation
        // right after us is orphaned.
        let last = x + w - 1
        if last + 1 < width, cells[row + last + 1].isContinuation {
            cells[row + last + 1] = Cell(" ", style: cells[row + last + 1].style)
        }
        cells[row + x] = cell
        if w == 2 {
            cells[row + x + 1] = .continuation(cell.style)
        }
    }

    // MARK: - Reading

    /// Plain-text rows for snapshots. Continuation cells emit nothing, so a wide
    /// character shows as itself and every row is exactly `width` columns wide
    /// (trailing spaces are KEPT unless `trimmingTrailingSpaces`).
    public func lines(trimmingTrailingSpaces: Bool = false) -> [String] {
        (0..<height).map { line($0, trimmingTrailingSpaces: trimmingTrailingSpaces) }
    }

    public func line(_ y: Int, trimmingTrailingSpaces: Bool = false) -> String {
        guard y >= 0, y < height else { return "" }
        var s = ""
        for x in 0..<width { s += cells[y * width + x].grapheme }
        if trimmingTrailingSpaces {
            while s.last == " " { s.removeLast() }
        }
        return s
    }

    /// The plain text of the whole buffer, rows joined by "\n".
    public var text: String { lines().joined(separator: "\n") }

    /// One character per *cell* (so rows are `width` characters, continuation cells
    /// included) naming each cell's style through `legend`; styles not in the legend
    /// show as `unknown`. E.g. `[.plain: ".", .reverse: "R"]`.
    public func styleMap(_ legend: [Style: Character], unknown: Character = "?") -> [String] {
        (0..<height).map { y in
            String((0..<width).map { legend[cells[y * width + $0].style] ?? unknown })
        }
    }

    /// Rows with style changes marked inline, for debugging and style snapshots:
    /// `[fg=…]text` runs. Continuation cells are skipped.
    public func styledLines() -> [String] {
        (0..<height).map { y in
            var s = ""
            var current: Style?
            for x in 0..<width {
                let cell = cells[y * width + x]
                if cell.isContinuation { continue }
                if cell.style != current {
                    s += "[" + CellBuffer.describe(cell.style) + "]"
                    current = cell.style
                }
                s += cell.grapheme
            }
            return s
        }
    }

    static func describe(_ style: Style) -> String {
        var parts: [String] = []
        func color(_ c: Color) -> String {
            switch c {
            case .default: return "default"
            case .ansi(let n): return "a\(n)"
            case .palette(let n): return "p\(n)"
            }
        }
        if style.foreground != .default { parts.append("fg=" + color(style.foreground)) }
        if style.background != .default { parts.append("bg=" + color(style.background)) }
        let names: [(TextAttributes, String)] = [(.bold, "bold"), (.dim, "dim"), (.italic, "italic"), (.underline, "underline"), (.reverse, "reverse")]
        for (a, n) in names where style.attributes.contains(a) { parts.append(n) }
        return parts.isEmpty ? "plain" : parts.joined(separator: " ")
    }
}
