/// A decoded key press. Letters typed with Ctrl arrive as `.ctrl` with the lowercase
/// letter (`.ctrl("a")`); Tab, Enter, Backspace and Escape have their own cases.
public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, backspace, tab, backTab, delete, insert
    /// F1 = `.function(1)` …
    case function(Int)
    case ctrl(Character)
}

public enum MouseButton: Hashable, Sendable {
    case left, middle, right
}

/// A mouse event at cell coordinates (0-based).
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case press(MouseButton)
        case release(MouseButton)
        case wheelUp
        case wheelDown
    }

    public var kind: Kind
    public var x: Int
    public var y: Int

    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// Why the terminal asks the app to quit.
public enum QuitReason: Hashable, Sendable {
    /// Ctrl-C typed (a byte in raw mode, not a signal).
    case controlC
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived.
    case signal(Int32)

    /// The conventional exit status: 128 + signal number (Ctrl-C counts as SIGINT = 2).
    public var exitStatus: Int32 {
        switch self {
        case .controlC: return 130
        case .signal(let n): return 128 + n
        }
    }
}

public enum InputEvent: Hashable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    /// The terminal now has this size; redraw everything at it.
    case resize(width: Int, height: Int)
    /// Leave now: restore the terminal and exit with `reason.exitStatus`.
    case quit(QuitReason)
}
