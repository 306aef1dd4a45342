#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CNCursesW
import TerminalUI

public enum TerminalError: Error, CustomStringConvertible {
    /// Another `NCursesTerminal` is still active.
    case alreadyActive
    /// Neither stdin/stdout nor /dev/tty is a terminal.
    case notATerminal
    /// `newterm` failed, typically an unknown `TERM`.
    case cannotInitialize(term: String)

    public var description: String {
        switch self {
        case .alreadyActive: return "the terminal is already in use by another NCursesTerminal"
        case .notATerminal: return "not running in a terminal (no tty on stdin/stdout or /dev/tty)"
        case .cannotInitialize(let term): return "cannot initialize the terminal (TERM=\(term))"
        }
    }
}

/// The only code that talks to curses: draws `CellBuffer` diffs, reads keys, mouse and
/// resize events, and restores the terminal on every exit path (`restore()`, deinit,
/// `atexit`, quit signals — see `TerminalSignals`).
///
/// Use it from one thread/task only (the UI loop). It is deliberately not `Sendable`.
public final class NCursesTerminal: TerminalBackend {
    /// The colour mode in effect (the requested one, clamped to what the terminal has).
    public let colorMode: ColorMode
    /// How many distinct styles had to borrow the nearest existing colour pair because
    /// the terminal's pairs ran out.
    public private(set) var colorPairFallbacks = 0
    /// Colour pairs allocated so far (excluding pair 0).
    public var colorPairsInUse: Int { Int(nextPair) - 1 }
    /// Whether curses is running (false after `restore()`).
    public private(set) var isActive = false

    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let inputFile: UnsafeMutablePointer<FILE>
    private let outputFile: UnsafeMutablePointer<FILE>
    private let hasDefaultColors: Bool
    private let terminalColors: Int
    private let pairLimit: Int32
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var previous: CellBuffer?
    private var cursorVisible = false
    private var scratch: [wchar_t] = []

    private struct PairKey: Hashable {
        var foreground: Color
        var background: Color
    }

    /// Starts curses.
    /// - Parameters:
    ///   - colorMode: nil detects: `NO_COLOR` set and non-empty → `.none`; 256+ colours →
    ///     `.palette256`; 8+ → `.sixteen`; else `.none`. A requested mode is clamped to
    ///     what the terminal supports.
    ///   - mouse: report clicks and the wheel (the terminal's own selection then needs Shift).
    ///   - colorPairLimit: cap on colour pairs to allocate (for testing the fallback).
    public init(colorMode requested: ColorMode? = nil, mouse: Bool = true, colorPairLimit: Int? = nil) throws {
        guard TerminalSignals.active.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else {
            throw TerminalError.alreadyActive
        }
        NCursesTerminal.setUTF8Locale()

        // Draw on stdin/stdout when both are a tty, else on /dev/tty (output redirected).
        var input: UnsafeMutablePointer<FILE>?
        var output: UnsafeMutablePointer<FILE>?
        if isatty(0) == 1 && isatty(1) == 1 {
            input = fdopen(dup(0), "r")
            output = fdopen(dup(1), "w")
        } else if let tty = fopen("/dev/tty", "r+") {
            input = tty
            output = tty
        }
        guard let input, let output else {
            TerminalSignals.active.store(false, ordering: .sequentiallyConsistent)
            throw TerminalError.notATerminal
        }
        TerminalSignals.prepareEmergencyRestore(fd: fileno(output))

        guard let screen = newterm(nil, output, input) else {
            NCursesTerminal.close(input, output)
            TerminalSignals.active.store(false, ordering: .sequentiallyConsistent)
            throw TerminalError.cannotInitialize(term: getenv("TERM").map { String(cString: $0) } ?? "")
        }
        set_term(screen)
        guard let window = tracetty_stdscr() else {
            endwin()
            delscreen(screen)
            NCursesTerminal.close(input, output)
            TerminalSignals.active.store(false, ordering: .sequentiallyConsistent)
            throw TerminalError.cannotInitialize(term: getenv("TERM").map { String(cString: $0) } ?? "")
        }
        self.screen = screen
        self.window = window
        self.inputFile = input
        self.outputFile = output
        isActive = true
        TerminalSignals.registerAtexit()
        TerminalSignals.install()

        raw()
        noecho()
        nonl()
        keypad(window, true)
        intrflush(window, false)
        curs_set(0)
        set_escdelay(25)
        leaveok(window, true)

        // Colours.
        var defaults = false
        var colors = 0
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        if has_colors() && !(requested == nil && noColor) && requested != ColorMode.none {
            start_color()
            defaults = use_default_colors() == OK
            colors = Int(tracetty_colors())
        }
        let capability: ColorMode = colors >= 256 ? .palette256 : (colors >= 8 ? .sixteen : .none)
        let wanted = requested ?? (noColor ? .none : capability)
        colorMode = NCursesTerminal.rank(wanted) <= NCursesTerminal.rank(capability) ? wanted : capability
        hasDefaultColors = defaults
        terminalColors = colors
        let available = Int(tracetty_color_pairs())
        pairLimit = Int32(max(1, min(available, 65_536, (colorPairLimit ?? 65_536) + 1)))

        if mouse {
            mousemask(tracetty_mouse_wanted(), nil)
            mouseinterval(0)
        }
    }

    deinit {
        restore()
    }

    // MARK: - Size and drawing

    /// The terminal size in cells.
    public var size: (width: Int, height: Int) {
        guard isActive else { return (0, 0) }
        return (Int(tracetty_width(window)), Int(tracetty_height(window)))
    }

    /// Forgets the last drawn frame: the next `draw` repaints everything.
    public func invalidate() {
        previous = nil
    }

    /// Forgets the frame and what curses believes is on the terminal: the
    /// next `draw` clears the screen and sends every cell.
    public func repaintAll() {
        guard isActive else { return }
        previous = nil
        clearok(window, true)
    }

    /// Draws `buffer`, sending only the cells that changed since the last frame (all of
    /// them on the first frame, after a resize, a size change or `invalidate()`).
    /// Cells beyond the screen are skipped. `cursor` shows the cursor there (e.g. in a
    /// search field); nil hides it.
    public func draw(_ frame: CellBuffer, cursor: (x: Int, y: Int)? = nil) {
        guard isActive else { return }
        var buffer = frame
        buffer.mergeInvisibleStyleChanges()
        let (screenWidth, screenHeight) = size
        let full = previous == nil || previous?.width != buffer.width || previous?.height != buffer.height
        if full {
            werase(window)
        }
        let runs = buffer.diff(from: full ? nil : previous)
        for run in runs where run.y < screenHeight {
            let style = Self.dimAsGrey(run.style.degraded(to: colorMode), colorMode: colorMode)
            let attrs = tracetty_attrs(UInt32(style.attributes.rawValue))
            let pair = pairNumber(for: style)
            for (offset, cell) in run.cells.enumerated() where !cell.isContinuation {
                let x = run.x + offset
                guard x < screenWidth else { break }
                let wide = buffer[x + 1, run.y].isContinuation
                drawCell(cell.grapheme, x: x, y: run.y, wide: wide, fits: x + 1 < screenWidth, attrs: attrs, pair: pair)
            }
        }
        if let cursor, cursor.x >= 0, cursor.y >= 0, cursor.x < screenWidth, cursor.y < screenHeight {
            leaveok(window, false)
            wmove(window, Int32(cursor.y), Int32(cursor.x))
            if !cursorVisible { curs_set(1); cursorVisible = true }
        } else {
            leaveok(window, true)
            if cursorVisible { curs_set(0); cursorVisible = false }
        }
        wnoutrefresh(window)
        doupdate()
        previous = buffer
    }

    /// Draws one grapheme. curses can hold one spacing character plus up to four
    /// combining ones per cell and measures with libc `wcwidth`; where that disagrees
    /// with `DisplayWidth` (ZWJ sequences and flags keep only their first emoji, an
    /// unprintable character in this locale becomes "?"), the cell is padded so columns
    /// stay aligned with the buffer.
    private func drawCell(_ grapheme: String, x: Int, y: Int, wide: Bool, fits: Bool, attrs: attr_t, pair: Int32) {
        let ourWidth = wide ? 2 : 1
        let scalars = grapheme.unicodeScalars
        // A flag (two regional indicators) goes out as two 1-column cells; the terminal
        // sees the pair back to back and can still show the flag.
        if wide, fits, scalars.count == 2, scalars.allSatisfy({ (0x1F1E6...0x1F1FF).contains($0.value) }),
           let a = scalars.first, let b = scalars.last,
           tracetty_wcwidth(wchar_t(bitPattern: a.value)) == 1 {
            var first: [wchar_t] = [wchar_t(bitPattern: a.value), 0]
            var second: [wchar_t] = [wchar_t(bitPattern: b.value), 0]
            _ = first.withUnsafeMutableBufferPointer { tracetty_put_cell(window, Int32(y), Int32(x), $0.baseAddress, attrs, pair) }
            _ = second.withUnsafeMutableBufferPointer { tracetty_put_cell(window, Int32(y), Int32(x + 1), $0.baseAddress, attrs, pair) }
            return
        }
        scratch.removeAll(keepingCapacity: true)
        var first: wchar_t = 0
        for (index, scalar) in scalars.enumerated() {
            let value = wchar_t(bitPattern: scalar.value)
            if index == 0 {
                first = value
            } else if scalar.value == 0x200D || tracetty_wcwidth(value) != 0 || scratch.count >= Int(tracetty_ccharw_max()) {
                // curses keeps only non-spacing characters after the first; a ZWJ
                // sequence keeps its first emoji (a dangling ZWJ confuses terminals).
                break
            }
            scratch.append(value)
        }
        var drawnWidth = first == 0 ? -1 : Int(tracetty_wcwidth(first))
        if drawnWidth < 1 || drawnWidth > ourWidth {
            scratch = [wchar_t(UInt8(ascii: "?"))]
            drawnWidth = 1
        }
        scratch.append(0)
        let rc = scratch.withUnsafeBufferPointer { chars in
            tracetty_put_cell(window, Int32(y), Int32(x), chars.baseAddress, attrs, pair)
        }
        // rc is ERR for the bottom-right corner (drawn anyway) or a rejected cell:
        // nothing useful to do about it here.
        _ = rc
        if drawnWidth < ourWidth && fits {
            var pad: [wchar_t] = [wchar_t(UInt8(ascii: " ")), 0]
            _ = pad.withUnsafeMutableBufferPointer { chars in
                tracetty_put_cell(window, Int32(y), Int32(x + 1), chars.baseAddress, attrs, pair)
            }
        }
    }

    /// Dim default-coloured text drawn as grey where there are 256 colours:
    /// terminfo has no "dim off", so every end of a dim run was an sgr0 and a
    /// fresh start of the next style.
    static func dimAsGrey(_ style: Style, colorMode: ColorMode) -> Style {
        guard colorMode == .palette256, style.attributes.contains(.dim), style.foreground == .default else { return style }
        var grey = style
        grey.foreground = .palette(245)
        grey.attributes.remove(.dim)
        return grey
    }

    // MARK: - Colour pairs

    private func pairNumber(for style: Style) -> Int32 {
        guard colorMode != .none else { return 0 }
        let key = PairKey(foreground: style.foreground.degraded(to: colorMode), background: style.background.degraded(to: colorMode))
        // Default text gets a pair of its own rather than pair 0: going from a
        // coloured pair to pair 0 with no attributes makes ncurses send sgr0
        // and set everything again, a dozen bytes at every colour change.
        if let pair = pairs[key] { return pair }
        if nextPair < pairLimit,
           init_extended_pair(nextPair, colorNumber(key.foreground, isForeground: true), colorNumber(key.background, isForeground: false)) == OK {
            let pair = nextPair
            nextPair += 1
            pairs[key] = pair
            return pair
        }
        // Out of pairs: borrow the nearest allocated one, remember the choice.
        colorPairFallbacks += 1
        var best: Int32 = 0
        var bestDistance = Int.max
        for (candidate, pair) in pairs {
            let d = Color.distance(candidate.foreground, key.foreground) + Color.distance(candidate.background, key.background)
            if d < bestDistance { bestDistance = d; best = pair }
        }
        pairs[key] = best
        return best
    }

    private func colorNumber(_ color: Color, isForeground: Bool) -> Int32 {
        switch color {
        case .default:
            return hasDefaultColors ? -1 : (isForeground ? 7 : 0)
        case .ansi(let n):
            let index = Int32(n % 16)
            return terminalColors >= 16 ? index : index % 8
        case .palette(let n):
            return terminalColors >= 256 ? Int32(n) : Int32(Color.palette(n).nearestANSI.paletteIndex ?? 7) % Int32(max(8, min(16, terminalColors)))
        }
    }

    private static func rank(_ mode: ColorMode) -> Int {
        switch mode {
        case .none: return 0
        case .sixteen: return 1
        case .palette256: return 2
        }
    }

    // MARK: - Input

    /// The quit signal that arrived and wasn't reported yet (SIGINT, SIGTERM, SIGHUP,
    /// SIGQUIT), consuming it. `readEvent` reports it too, as `.quit(.signal(n))`.
    public static func takePendingSignal() -> Int32? {
        TerminalSignals.takePending()
    }

    /// Waits up to `timeoutMilliseconds` (negative: forever, 0: don't wait) for input.
    /// Returns nil on timeout or for keys it doesn't know. Ctrl-C (a byte in raw mode)
    /// and quit signals arrive as `.quit`. Keep the timeout short (≤ 100 ms): a signal
    /// is noticed at the latest when the wait ends.
    /// Consecutive reads that failed at once (see `readEvent`).
    private var immediateErrors = 0

    public func readEvent(timeoutMilliseconds: Int) -> InputEvent? {
        if let sig = TerminalSignals.takePending() { return .quit(.signal(sig)) }
        guard isActive else { return nil }
        wtimeout(window, Int32(clamping: timeoutMilliseconds))
        var ch: wint_t = 0
        let started = ContinuousClock.now
        let rc = wget_wch(window, &ch)
        if let sig = TerminalSignals.takePending() { return .quit(.signal(sig)) }
        if rc == ERR, timeoutMilliseconds > 0, ContinuousClock.now - started < .milliseconds(timeoutMilliseconds / 2) {
            // ERR long before the timeout, again and again: the terminal is
            // gone (hung up). Quit instead of spinning.
            immediateErrors += 1
            if immediateErrors >= 50 { return .quit(.signal(SIGHUP)) }
        } else {
            immediateErrors = 0
        }
        switch rc {
        case KEY_CODE_YES:
            return functionKey(Int32(bitPattern: ch))
        case OK:
            return InputDecoding.character(UInt32(ch))
        default:
            return nil
        }
    }

    private func functionKey(_ code: Int32) -> InputEvent? {
        switch code {
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_HOME, KEY_FIND, KEY_A1: return .key(.home)
        case KEY_END, KEY_SELECT, KEY_C1: return .key(.end)
        case KEY_ENTER: return .key(.enter)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_BTAB: return .key(.backTab)
        case KEY_DC: return .key(.delete)
        case KEY_IC: return .key(.insert)
        case KEY_RESIZE:
            previous = nil
            let (w, h) = size
            return .resize(width: w, height: h)
        case KEY_MOUSE:
            return mouseEvent()
        default:
            let f0 = tracetty_key_f0()
            if code > f0 && code <= f0 + 63 { return .key(.function(Int(code - f0))) }
            return nil
        }
    }

    private func mouseEvent() -> InputEvent? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let x = Int(event.x), y = Int(event.y)
        switch tracetty_mouse_kind(event.bstate) {
        case 1: return .mouse(MouseEvent(.press(.left), x: x, y: y))
        case 2: return .mouse(MouseEvent(.press(.middle), x: x, y: y))
        case 3: return .mouse(MouseEvent(.press(.right), x: x, y: y))
        case 11: return .mouse(MouseEvent(.release(.left), x: x, y: y))
        case 12: return .mouse(MouseEvent(.release(.middle), x: x, y: y))
        case 13: return .mouse(MouseEvent(.release(.right), x: x, y: y))
        case 4: return .mouse(MouseEvent(.wheelUp, x: x, y: y))
        case 5: return .mouse(MouseEvent(.wheelDown, x: x, y: y))
        default: return nil
        }
    }

    // MARK: - Leaving

    /// Ends curses and puts the terminal back as it was (idempotent). The object can't
    /// draw afterwards. Call before printing a final error and exiting.
    public func restore() {
        guard isActive else { return }
        isActive = false
        if cursorVisible { curs_set(1) }
        mousemask(0, nil)
        endwin()
        fflush(outputFile)
        TerminalSignals.uninstall()
        delscreen(screen)
        NCursesTerminal.close(inputFile, outputFile)
        TerminalSignals.active.store(false, ordering: .sequentiallyConsistent)
    }

    /// Leaves curses temporarily (normal screen, cooked mode) to run `body` — e.g. to
    /// print an error or run a pager — then resumes and repaints on the next `draw`.
    public func withSuspended<T>(_ body: () throws -> T) rethrows -> T {
        guard isActive else { return try body() }
        def_prog_mode()
        endwin()
        fflush(outputFile)
        defer {
            fflush(nil)  // what body printed reaches the screen before curses repaints
            reset_prog_mode()
            clearok(window, true)
            previous = nil
            wrefresh(window)
        }
        return try body()
    }

    /// Ctrl-Z: give the shell the terminal (SIGSTOP), repaint when continued.
    /// Raw mode delivers Ctrl-Z as `.key(.ctrl("z"))`; the app decides to call this.
    public func suspendToShell() {
        withSuspended {
            _ = kill(getpid(), SIGSTOP)
        }
    }

    // MARK: - Helpers

    private static func close(_ input: UnsafeMutablePointer<FILE>, _ output: UnsafeMutablePointer<FILE>) {
        if input == output {
            fclose(input)
        } else {
            fclose(input)
            fclose(output)
        }
    }

    /// `setlocale(LC_ALL, "")`; when that isn't UTF-8, try C.UTF-8 for LC_CTYPE so wide
    /// characters can be drawn at all (the terminal is assumed to be UTF-8).
    private static func setUTF8Locale() {
        setlocale(LC_ALL, "")
        if let codeset = nl_langinfo(Int32(CODESET)), String(cString: codeset).uppercased().filter({ $0 != "-" }) == "UTF8" {
            return
        }
        if setlocale(LC_CTYPE, "C.UTF-8") == nil {
            _ = setlocale(LC_CTYPE, "C.utf8")
        }
    }
}
