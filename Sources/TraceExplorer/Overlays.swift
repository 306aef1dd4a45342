import TraceModel
import TerminalUI

/// A one-line text field: the query line and the find bar both use it.
public struct TextField: Sendable, Hashable {
    public private(set) var text: String = ""
    /// Cursor position in characters.
    public private(set) var cursor = 0
    /// Longest text taken: a query is short; this bounds what a paste can grow.
    public static let maxLength = 1024

    public init(_ text: String = "") {
        set(text)
    }

    public mutating func set(_ text: String) {
        self.text = String(text.prefix(Self.maxLength))
        cursor = self.text.count
    }

    mutating func insert(_ c: Character) {
        guard text.count < Self.maxLength else { return }
        let i = text.index(text.startIndex, offsetBy: cursor)
        text.insert(c, at: i)
        cursor += 1
    }

    mutating func deleteBackward() {
        guard cursor > 0 else { return }
        let i = text.index(text.startIndex, offsetBy: cursor - 1)
        text.remove(at: i)
        cursor -= 1
    }

    mutating func deleteForward() {
        guard cursor < text.count else { return }
        text.remove(at: text.index(text.startIndex, offsetBy: cursor))
    }

    mutating func move(by delta: Int) { cursor = min(max(0, cursor + delta), text.count) }
    mutating func moveToStart() { cursor = 0 }
    mutating func moveToEnd() { cursor = text.count }
    mutating func clear() { set("") }

    /// Editing keys shared by every text field.
    public enum Edit: Sendable, Equatable { case type, deleteBackward, deleteForward, left, right, home, end, clear }

    static func editBindings<A>(_ wrap: (Edit) -> A) -> [KeyBinding<A>] {
        [
            KeyBinding(matching: [.printable], "type", wrap(.type)),
            KeyBinding([.backspace, .ctrl("h")], "delete before the cursor", wrap(.deleteBackward)),
            KeyBinding([.delete, .ctrl("d")], "delete under the cursor", wrap(.deleteForward)),
            KeyBinding([.left, .ctrl("b")], "cursor left", wrap(.left)),
            KeyBinding([.right, .ctrl("f")], "cursor right", wrap(.right)),
            KeyBinding([.home, .ctrl("a")], "start of the line", wrap(.home)),
            KeyBinding([.end, .ctrl("e")], "end of the line", wrap(.end)),
            KeyBinding([.ctrl("u")], "clear the line", wrap(.clear)),
        ]
    }

    mutating func apply(_ edit: Edit, key: Key) {
        switch edit {
        case .type: if case .char(let c) = key { insert(c) }
        case .deleteBackward: deleteBackward()
        case .deleteForward: deleteForward()
        case .left: move(by: -1)
        case .right: move(by: 1)
        case .home: moveToStart()
        case .end: moveToEnd()
        case .clear: clear()
        }
    }
}

/// `/` in the trace list: a query, applied as it is typed whenever it parses;
/// an error shows under the line and leaves the list as it was.
public struct QueryLine: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case edit(TextField.Edit), accept, cancel, historyUp, historyDown
    }

    public var field: TextField
    /// The filter in force when the line opened: Esc goes back to it.
    public let previous: TraceQuery?
    /// The last parse error, shown under the line.
    public private(set) var error: QueryError?
    /// Earlier queries of the session, oldest first, and where Up/Down is in them.
    var history: [String]
    var historyIndex: Int

    init(previous: TraceQuery?, history: [String]) {
        field = TextField(previous?.text ?? "")
        self.previous = previous
        self.history = history
        historyIndex = history.count
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        [
            KeyBinding([.enter], "keep this filter", hint: "keep", .accept),
            KeyBinding([.escape], "drop the edit, back to the filter before", hint: "cancel", .cancel),
            KeyBinding([.up], "earlier query", hint: "history", hintKeys: "↑↓", .historyUp),
            KeyBinding([.down], "later query", .historyDown),
        ] + TextField.editBindings { .edit($0) }
    }

    /// What an action asks of the list: nothing, or a new filter (nil: every trace).
    enum Outcome: Sendable, Equatable {
        case none
        case filter(TraceQuery?)
    }

    /// Applies an action; `close` when the line goes away.
    mutating func perform(_ action: Action, key: Key) -> (close: Bool, outcome: Outcome) {
        switch action {
        case .edit(let edit):
            let before = field.text
            field.apply(edit, key: key)
            return (false, field.text == before ? .none : parse())
        case .accept:
            let parsed = parse()
            // An error stays on screen, with the line open (empty text parses: every trace).
            return parsed == .none ? (false, .none) : (true, parsed)
        case .cancel:
            error = nil
            return (true, .filter(previous))
        case .historyUp, .historyDown:
            guard !history.isEmpty else { return (false, .none) }
            historyIndex = min(max(0, historyIndex + (action == .historyUp ? -1 : 1)), history.count)
            field.set(historyIndex < history.count ? history[historyIndex] : "")
            return (false, parse())
        }
    }

    /// The text as a filter, or `.none` (and `error` set) when it does not parse.
    mutating func parse() -> Outcome {
        let text = field.text.trimmingSpaces
        guard !text.isEmpty else {
            error = nil
            return .filter(nil)
        }
        do {
            let query = try TraceQuery.parse(text)
            error = nil
            return .filter(query)
        } catch {
            self.error = error
            return .none
        }
    }
}

/// `/` in the waterfall: plain text or `{span terms}`; matches are marked and `n`/`N` step through them.
public struct FindBar: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case edit(TextField.Edit), accept, cancel
    }

    public var field: TextField
    public private(set) var error: QueryError?
    /// Over the trace log: plain text narrows the events (no span terms).
    public let filtersText: Bool

    init(text: String, filtersText: Bool = false) {
        field = TextField(text)
        self.filtersText = filtersText
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        [
            filtersText ? KeyBinding([.enter], "keep the events that contain the text", hint: "filter", .accept)
                : KeyBinding([.enter], "find; then n / N step through the matches", hint: "find", .accept),
            KeyBinding([.escape], "close the find bar", hint: "cancel", .cancel),
        ] + TextField.editBindings { .edit($0) }
    }

    /// The parsed find, or nil with `error` set.
    mutating func query() -> SpanQuery? {
        do {
            let query = try SpanQuery.parse(field.text.trimmingSpaces)
            error = nil
            return query
        } catch {
            self.error = error
            return nil
        }
    }
}

/// `?`: every key of every component, and what the waterfall's marks mean.
public struct HelpOverlay: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case close, down, up, pageDown, pageUp
    }

    public internal(set) var scroll = ScrollSelection()
    /// The component that had the focus: its keys come first.
    public let underlying: Focus

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        [
            KeyBinding([.escape, .char("?"), .char("q"), .enter, .backspace], "close this help", hint: "close", .close),
            KeyBinding([.down, .char("j")], "scroll down", hint: "scroll", hintKeys: "↑↓ j k", .down),
            KeyBinding([.up, .char("k")], "scroll up", .up),
            KeyBinding([.pageDown, .char(" ")], "page down", .pageDown),
            KeyBinding([.pageUp], "page up", .pageUp),
        ]
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
