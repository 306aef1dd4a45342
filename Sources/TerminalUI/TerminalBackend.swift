/// What an app's runtime needs of a terminal: its size, a frame drawn, the
/// next input, and Ctrl-Z. ncurses is the one real backend; `BufferTerminal`
/// is the test one.
public protocol TerminalBackend: AnyObject {
    var size: (width: Int, height: Int) { get }
    /// Shows `buffer`; `cursor` places the terminal's cursor (a text field), nil hides it.
    func draw(_ buffer: CellBuffer, cursor: (x: Int, y: Int)?)
    /// The next input, or nil when none came within the timeout.
    func readEvent(timeoutMilliseconds: Int) -> InputEvent?
    /// Gives the terminal back to the shell until `fg`.
    func suspendToShell()
    /// Ctrl-L: the next `draw` clears the terminal and sends every cell (a
    /// screen garbled by another program's output, a lost byte over SSH).
    func repaintAll()
}

/// A terminal in memory: frames land in a `CellBuffer`, input comes from a
/// script. When the script has nothing ready, `readEvent` reports the wait to
/// `onIdle` (tests advance their clock there) and returns nil.
public final class BufferTerminal: TerminalBackend {
    public private(set) var width: Int
    public private(set) var height: Int
    /// The last frame drawn.
    public private(set) var screen: CellBuffer
    public private(set) var cursor: (x: Int, y: Int)?
    public private(set) var framesDrawn = 0
    public private(set) var suspensions = 0
    /// Steps still to play: an event, or a wait of so many idle reads.
    public enum Step: Sendable {
        case event(InputEvent)
        /// Reads that time out before the next event (the clock moves meanwhile).
        case idle(Int)
    }
    private var script: [Step]
    private var next = 0
    /// Called with the timeout of every read that returns nothing.
    public var onIdle: (Int) -> Void = { _ in }
    /// Once the script is played out: this event ends the app (default Ctrl-C as `.quit`).
    public var whenScriptEnds: InputEvent? = .quit(.controlC)

    public init(width: Int, height: Int, script: [Step] = []) {
        self.width = width
        self.height = height
        self.screen = CellBuffer(width: width, height: height)
        self.script = script
    }

    public var size: (width: Int, height: Int) { (width, height) }

    public func append(_ steps: [Step]) { script.append(contentsOf: steps) }

    /// Takes a new size and queues the resize event a terminal would send.
    public func resize(width: Int, height: Int) {
        self.width = width
        self.height = height
        script.insert(.event(.resize(width: width, height: height)), at: next)
    }

    public func draw(_ buffer: CellBuffer, cursor: (x: Int, y: Int)?) {
        screen = buffer
        self.cursor = cursor
        framesDrawn += 1
    }

    public func readEvent(timeoutMilliseconds: Int) -> InputEvent? {
        guard next < script.count else {
            onIdle(timeoutMilliseconds)
            return whenScriptEnds
        }
        switch script[next] {
        case .event(let event):
            next += 1
            return event
        case .idle(let reads):
            if reads <= 1 { next += 1 } else { script[next] = .idle(reads - 1) }
            onIdle(timeoutMilliseconds)
            return nil
        }
    }

    public func suspendToShell() { suspensions += 1 }

    public private(set) var repaints = 0
    public func repaintAll() { repaints += 1 }

    /// The screen as text lines, for assertions.
    public var lines: [String] { screen.lines() }
}
