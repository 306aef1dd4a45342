#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import CNCursesW

/// State shared between `NCursesTerminal` and the signal handler.
///
/// Design: SIGINT, SIGTERM, SIGHUP and SIGQUIT only set `pending` (an atomic store is
/// async-signal-safe); `NCursesTerminal.readEvent` reports it as `.quit(.signal(n))`
/// and the app quits cleanly (restore, exit 128+n). The handler is installed without
/// SA_RESTART so a blocking read is interrupted. If a second quit signal arrives while
/// one is still unconsumed, or after one was already reported (the app seems stuck),
/// the handler does the async-signal-safe minimum itself — write(2) a fixed reset
/// sequence and tcsetattr(3) the termios saved before curses started — then `_exit`s
/// with 128+n.
enum TerminalSignals {
    static let quitSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// The first unconsumed quit signal, 0 if none.
    static let pending = Atomic<Int32>(0)
    /// Set once a signal was reported to the app.
    static let delivered = Atomic<Bool>(false)
    /// Curses is running (between newterm and endwin). Also guards single-instance use.
    static let active = Atomic<Bool>(false)
    static let atexitRegistered = Atomic<Bool>(false)

    /// Leaves the alternate screen, shows the cursor, resets attributes, turns mouse
    /// reporting and keypad-transmit mode off (xterm-compatible terminals, tmux, screen).
    static let resetSequence: [UInt8] = Array(
        "\u{1b}[0m\u{1b}[?1000l\u{1b}[?1002l\u{1b}[?1003l\u{1b}[?1006l\u{1b}[?1l\u{1b}>\u{1b}[?25h\u{1b}[?1049l\r\n".utf8
    )

    // The emergency path needs the saved terminal state from inside the handler.
    // These are written only by `prepareEmergencyRestore` while no handler of ours is
    // installed (`NCursesTerminal.init` calls it before `install`, and only one terminal
    // can be active: `active` is claimed with a compare-exchange first). After that they
    // are only read — by the handler and the main thread — so there is no data race.
    nonisolated(unsafe) static var emergencyFD: Int32 = -1
    nonisolated(unsafe) static var savedTermios = termios()
    nonisolated(unsafe) static var hasSavedTermios = false
    nonisolated(unsafe) static var previousActions: [Int32: sigaction] = [:]

    static func prepareEmergencyRestore(fd: Int32) {
        emergencyFD = fd
        hasSavedTermios = tcgetattr(fd, &savedTermios) == 0
        // Touch the lazily initialised globals now, so the handler never runs their
        // one-time initialisation.
        _ = resetSequence.count
        _ = pending.load(ordering: .relaxed)
        _ = delivered.load(ordering: .relaxed)
    }

    static func install() {
        // A parent may have started us with these signals blocked (a test
        // runner's thread, some supervisors): they would stay pending forever.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in quitSignals { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        pending.store(0, ordering: .sequentiallyConsistent)
        delivered.store(false, ordering: .sequentiallyConsistent)
        var handlers: [Int32: sigaction] = [:]
        for sig in quitSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in TerminalSignals.handle(sig) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: interrupt a blocking read
            var old = sigaction()
            if sigaction(sig, &action, &old) == 0 {
                handlers[sig] = old
            }
        }
        previousActions = handlers
    }

    /// Puts back the handlers that were there before `install` (called after endwin).
    static func uninstall() {
        for (sig, old) in previousActions {
            var action = old
            sigaction(sig, &action, nil)
        }
    }

    /// Runs inside the signal handler: async-signal-safe operations only.
    static func handle(_ sig: Int32) {
        let previous = pending.exchange(sig, ordering: .sequentiallyConsistent)
        if previous != 0 || delivered.load(ordering: .sequentiallyConsistent) {
            emergencyExit(sig)
        }
    }

    static func emergencyExit(_ sig: Int32) -> Never {
        if active.load(ordering: .sequentiallyConsistent), emergencyFD >= 0 {
            resetSequence.withUnsafeBufferPointer { bytes in
                _ = write(emergencyFD, bytes.baseAddress, bytes.count)
            }
            if hasSavedTermios {
                _ = tcsetattr(emergencyFD, TCSANOW, &savedTermios)
            }
        }
        _exit(128 + sig)
    }

    /// Takes the pending quit signal, if any, and marks it delivered.
    static func takePending() -> Int32? {
        let sig = pending.exchange(0, ordering: .sequentiallyConsistent)
        guard sig != 0 else { return nil }
        delivered.store(true, ordering: .sequentiallyConsistent)
        return sig
    }

    /// Registered once: an `exit()` anywhere still restores the terminal.
    static func registerAtexit() {
        guard atexitRegistered.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
        atexit {
            if TerminalSignals.active.exchange(false, ordering: .sequentiallyConsistent) {
                endwin()
            }
        }
    }
}
