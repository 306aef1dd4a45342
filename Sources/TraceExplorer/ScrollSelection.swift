/// A selected row and the first row on screen, for every list and pane: the
/// trace list, the waterfall, the detail pane and the help (where the
/// selection is the top row). One type, so paging and clamping agree everywhere.
public struct ScrollSelection: Sendable, Hashable {
    public var selected = 0
    public var top = 0

    public init(selected: Int = 0, top: Int = 0) {
        self.selected = selected
        self.top = top
    }

    /// Moves the selection by `delta` rows, clamped to `0..<count`.
    public mutating func move(by delta: Int, count: Int) {
        select(selected + delta, count: count)
    }

    public mutating func select(_ index: Int, count: Int) {
        selected = count == 0 ? 0 : min(max(0, index), count - 1)
    }

    /// Keeps the selection on screen and `top` in range for `rows` visible rows.
    public mutating func clamp(count: Int, rows: Int) {
        select(selected, count: count)
        guard rows > 0, count > 0 else {
            top = 0
            return
        }
        if selected < top { top = selected }
        if selected >= top + rows { top = selected - rows + 1 }
        top = min(max(0, top), max(0, count - rows))
    }

    /// A pane without a selection scrolls by moving its top row.
    public mutating func scroll(by delta: Int, count: Int, rows: Int) {
        let limit = max(0, count - rows)
        top = min(max(0, top + delta), limit)
        selected = top
    }

    public mutating func scroll(to row: Int, count: Int, rows: Int) {
        scroll(by: row - top, count: count, rows: rows)
    }
}
