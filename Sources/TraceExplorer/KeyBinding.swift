import TraceModel
import TerminalUI

/// What a binding matches: one key, or any printable character (text fields).
public enum KeyMatch: Hashable, Sendable {
    case key(Key)
    case printable

    public func matches(_ key: Key) -> Bool {
        switch self {
        case .key(let k): return k == key
        case .printable:
            if case .char(let c) = key { return !c.isASCII || (c.asciiValue! >= 0x20 && c.asciiValue! != 0x7f) }
            return false
        }
    }

    /// How the help and the hint bar write it: `↑`, `Enter`, `Ctrl-F`, `j`.
    public var label: String {
        switch self {
        case .printable: return "text"
        case .key(let key): return key.label
        }
    }
}

extension Key {
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Backspace"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case .delete: return "Del"
        case .insert: return "Ins"
        case .function(let n): return "F\(n)"
        case .ctrl(let c): return "Ctrl-" + String(c).uppercased()
        }
    }
}

/// One binding as a value: the keys, what the help and the hint bar say, and
/// the action a component performs. Components dispatch keys only through
/// their bindings, so what is shown is what works.
public struct KeyBinding<Action: Sendable & Equatable>: Sendable {
    public var keys: [KeyMatch]
    /// What `?` says it does.
    public var help: String
    /// The short label in the hint bar; nil: only in `?` help.
    public var hint: String?
    /// Only does something with live data (left out of the hint bar for dumps).
    public var liveOnly: Bool
    /// The keys as the hint bar writes them when one hint stands for a pair
    /// of bindings (`↑↓ j k move`); nil: this binding's own first keys.
    public var hintKeys: String?
    public var action: Action

    public init(_ keys: [Key], _ help: String, hint: String? = nil, hintKeys: String? = nil, liveOnly: Bool = false,
                _ action: Action) {
        self.keys = keys.map(KeyMatch.key)
        self.help = help
        self.hint = hint
        self.hintKeys = hintKeys
        self.liveOnly = liveOnly
        self.action = action
    }

    public init(matching keys: [KeyMatch], _ help: String, hint: String? = nil, _ action: Action) {
        self.keys = keys
        self.help = help
        self.hint = hint
        self.liveOnly = false
        self.hintKeys = nil
        self.action = action
    }

    public func matches(_ key: Key) -> Bool { keys.contains { $0.matches(key) } }

    /// The same keys and words for a wrapping component's action.
    func map<Outer: Sendable & Equatable>(_ wrap: (Action) -> Outer) -> KeyBinding<Outer> {
        var outer = KeyBinding<Outer>(matching: keys, help, hint: hint, wrap(action))
        outer.liveOnly = liveOnly
        outer.hintKeys = hintKeys
        return outer
    }

    public var description: BindingDescription {
        BindingDescription(keys: keys, help: help, hint: hint, liveOnly: liveOnly, hintKeys: hintKeys)
    }
}

/// A binding without its action: what the hint bar and the help draw.
public struct BindingDescription: Hashable, Sendable {
    public var keys: [KeyMatch]
    public var help: String
    public var hint: String?
    public var liveOnly: Bool
    public var hintKeys: String?

    /// `↑ ↓ j k`: every key, so nothing that works is hidden.
    public var keysLabel: String { keys.map(\.label).joined(separator: " ") }
    /// The hint bar's shorter form: the first two keys.
    public var shortKeysLabel: String { hintKeys ?? keys.prefix(2).map(\.label).joined(separator: " ") }
}

/// A screen or an overlay: owns its state, declares its keys, and handles a
/// key only through those declarations.
public protocol ExplorerComponent {
    associatedtype Action: Sendable & Equatable
    /// The keys it takes now (they may depend on its state: a text field
    /// takes printable keys only while it is open).
    func bindings(_ context: ComponentContext) -> [KeyBinding<Action>]
}

extension ExplorerComponent {
    /// The first binding that matches `key`, if any: the one place keys turn into actions.
    public func action(for key: Key, _ context: ComponentContext) -> Action? {
        bindings(context).first { $0.matches(key) }?.action
    }

    public func descriptions(_ context: ComponentContext) -> [BindingDescription] {
        bindings(context).map(\.description)
    }
}

/// What a component may read of the app when it decides its keys or acts.
public struct ComponentContext: Sendable {
    public var isLive: Bool
    /// Rows a page moves: the height of the component's area less one.
    public var pageRows: Int
    /// A trace is marked for compare (`m`).
    public var markedTrace: TraceID?
    /// A dump is replayed: `p`/Space pause the replay, not the view.
    public var isReplay: Bool

    public init(isLive: Bool, pageRows: Int, markedTrace: TraceID? = nil, isReplay: Bool = false) {
        self.isLive = isLive
        self.pageRows = pageRows
        self.markedTrace = markedTrace
        self.isReplay = isReplay
    }
}
