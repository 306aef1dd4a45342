import TerminalUI

/// Where the user is; decides which keys work and what the hint bar says.
public enum KeyContext: Sendable, Hashable, CaseIterable {
    case traceList, waterfall, detail, help
}

/// One binding: the keys as the help shows them, and what they do.
public struct KeyBinding: Sendable, Hashable {
    public var keys: String
    public var action: String
    /// The short label in the one-line hint bar; nil: only in `?` help.
    public var hint: String?
    /// Only does something with live data (not shown in the hint bar for dumps).
    public var liveOnly: Bool

    public init(_ keys: String, _ action: String, hint: String? = nil, liveOnly: Bool = false) {
        self.keys = keys
        self.action = action
        self.hint = hint
        self.liveOnly = liveOnly
    }
}

/// The keys of each context. The hint bar and the help overlay are built from
/// this table, so they cannot drift from what `ExplorerState.handle` does.
public enum Keymap {
    public static func bindings(_ context: KeyContext) -> [KeyBinding] {
        switch context {
        case .traceList:
            return [
                KeyBinding("↑↓ j k", "move", hint: "move"),
                KeyBinding("PgUp PgDn", "page up / down"),
                KeyBinding("g G Home End", "first / last trace"),
                KeyBinding("Enter →", "open the trace's waterfall", hint: "open"),
                KeyBinding("s", "sort by start / duration", hint: "sort"),
                KeyBinding("r", "reverse the order"),
                KeyBinding("f", "follow: newest first, newest selected (live)", hint: "follow", liveOnly: true),
                KeyBinding("p Space", "pause / resume the view (live; spans keep being stored)", hint: "pause", liveOnly: true),
            ] + global
        case .waterfall:
            return [
                KeyBinding("↑↓ j k", "move between spans", hint: "move"),
                KeyBinding("PgUp PgDn g G", "page / first / last span"),
                KeyBinding("Enter", "open the span's detail", hint: "detail"),
                KeyBinding("Space", "collapse / expand the subtree", hint: "fold"),
                KeyBinding("← h", "collapse, or go to the parent"),
                KeyBinding("→ l", "expand"),
                KeyBinding("C E", "collapse all / expand all", hint: "fold all"),
                KeyBinding("u", "go up to the parent span"),
                KeyBinding("p", "pause / resume the view (live)", liveOnly: true),
                KeyBinding("Tab", "switch to the detail pane"),
                KeyBinding("Esc Backspace", "back to the trace list", hint: "back"),
            ] + global
        case .detail:
            return [
                KeyBinding("↑↓ j k", "scroll", hint: "scroll"),
                KeyBinding("PgUp PgDn g G", "page / top / bottom"),
                KeyBinding("[ ]", "previous / next span", hint: "span"),
                KeyBinding("Tab", "switch to the waterfall", hint: "waterfall"),
                KeyBinding("Esc Backspace", "close the detail", hint: "close"),
            ] + global
        case .help:
            return [KeyBinding("Esc ? q", "close this help", hint: "close")]
        }
    }

    static let global = [
        KeyBinding("?", "help: every key", hint: "help"),
        KeyBinding("q Ctrl-C", "quit", hint: "quit"),
        KeyBinding("Ctrl-Z", "suspend to the shell (fg resumes)"),
        KeyBinding("mouse", "click selects, again opens; wheel scrolls"),
    ]

    /// Marks drawn in the waterfall's gutter, explained in the help.
    public static let legend: [(String, String)] = [
        ("!", "error: status error or tag error=true"),
        ("?", "parent not in the trace (yet)"),
        ("=", "span id shared (Zipkin shared span)"),
        ("@", "parent references loop: shown as a root"),
    ]
}
