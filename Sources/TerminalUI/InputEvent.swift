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

    /// 0 for a stop that was asked for: Ctrl-C, SIGINT, SIGTERM and SIGHUP (the
    /// SSH session dropped) end the session normally, after what was accepted
    /// is flushed. SIGQUIT (and any other) keeps the convention, 128 + n.
    public var exitStatus: Int32 {
        switch self {
        case .controlC: return 0
        case .signal(let n): return Self.orderlyStops.contains(n) ? 0 : 128 + n
        }
    }

    /// SIGHUP, SIGINT, SIGTERM (the same numbers on Linux and Darwin).
    static let orderlyStops: Set<Int32> = [1, 2, 15]
}

public enum InputEvent: Hashable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    /// The terminal now has this size; redraw everything at it.
    case resize(width: Int, height: Int)
    /// Leave now: restore the terminal and exit with `reason.exitStatus`.
    case quit(QuitReason)
}

/// What the terminal library read, as events: pure, so it is tested and
/// fuzzed without a terminal. (Escape sequences are decoded by curses; its
/// key codes are mapped in `NCursesTerminal`.)
public enum InputDecoding {
    /// A character code read in raw mode: Ctrl-C quits; Tab, Enter, Escape,
    /// Backspace and the other C0 controls become keys; any other Unicode
    /// scalar is a character. nil for a value that is not a Unicode scalar.
    public static func character(_ value: UInt32) -> InputEvent? {
        switch value {
        case 3: return .quit(.controlC)
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        case 0: return .key(.ctrl(" "))
        case 1...26: return .key(.ctrl(Character(Unicode.Scalar(UInt8(value) + 0x60))))
        case 28: return .key(.ctrl("\\"))
        case 29: return .key(.ctrl("]"))
        case 30: return .key(.ctrl("^"))
        case 31: return .key(.ctrl("_"))
        default:
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return .key(.char(Character(scalar)))
        }
    }
}
