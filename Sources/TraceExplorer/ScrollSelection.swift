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

/// Moving the selection through a table: the same keys in every table
/// (statistics, logs, compare, latency, the service graph's calls).
public enum ListMove: Sendable, Equatable {
    case up, down, pageUp, pageDown, first, last

    /// `↑↓ j k`, `PgDn Ctrl-F Space` / `PgUp Ctrl-B`, `Home g` / `End G`;
    /// `item` names what first and last select (`row`, `event`…).
    static func bindings<Action: Sendable & Equatable>(item: String, _ wrap: (ListMove) -> Action) -> [KeyBinding<Action>] {
        [
            KeyBinding([.down, .char("j")], "move down", hint: "move", hintKeys: "↑↓ j k", wrap(.down)),
            KeyBinding([.up, .char("k")], "move up", wrap(.up)),
            KeyBinding([.pageDown, .ctrl("f"), .char(" ")], "page down", wrap(.pageDown)),
            KeyBinding([.pageUp, .ctrl("b")], "page up", wrap(.pageUp)),
            KeyBinding([.home, .char("g")], "first " + item, wrap(.first)),
            KeyBinding([.end, .char("G")], "last " + item, wrap(.last)),
        ]
    }
}

extension ScrollSelection {
    /// Applies a table move among `count` rows, `page` rows to a page.
    mutating func apply(_ move: ListMove, count: Int, page: Int) {
        switch move {
        case .down: self.move(by: 1, count: count)
        case .up: self.move(by: -1, count: count)
        case .pageDown: self.move(by: page, count: count)
        case .pageUp: self.move(by: -page, count: count)
        case .first: select(0, count: count)
        case .last: select(count - 1, count: count)
        }
    }
}
