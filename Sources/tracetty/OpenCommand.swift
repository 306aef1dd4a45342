import ArgumentParser
import Foundation
import TraceModel
import TraceExplorer
import TerminalUI
import NCursesTerminal

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Explore trace dumps in the terminal (ncurses)."
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Colours: auto (NO_COLOR and the terminal decide), always (256 colours), never.")
    var color: ColorChoice = .auto

    func run() throws {
        let query = try filter.query()
        let store = SharedTraceStore(limits: dump.store.limits)
        let memory = MemoryWatch(limitBytes: dump.store.memory.limitBytes, targets: .init(store: store))
        defer { memory.stop() }
        let loader = DumpLoader(files: dump.files, store: store)
        loader.start()
        let title = dump.files.count == 1 ? dump.files[0] : "\(dump.files.count) files"
        var explorer = ExplorerLoop(store: store, feed: MemoryReportingFeed(inner: DumpFeed(loader: loader), watch: memory, queue: nil),
                                    title: title, colorMode: color.mode, utcOffsetSeconds: dump.store.utcOffsetSeconds)
        explorer.filter = query
        explorer.rawTimes = dump.store.rawTimes
        let exit = try explorer.run()
        let errors = loader.fileErrors
        for message in loader.issueReports + errors { printError("tracetty: " + message) }
        if exit != 0 { throw ExitCode(exit) }
        if loader.isFinished, store.spanCount == 0, !errors.isEmpty { throw ExitCode(1) }
    }
}

extension ColorChoice {
    /// nil: let the terminal and NO_COLOR decide.
    var mode: ColorMode? {
        switch self {
        case .auto: return nil
        case .always: return .palette256
        case .never: return ColorMode.none
        }
    }
}

/// Dumps: a loader thread fills the store by itself.
struct DumpFeed: ExplorerFeed {
    let loader: DumpLoader

    func poll(into store: SharedTraceStore) -> IngestStatus {
        var status = loader.currentStatus
        let counters = store.counters
        status.spansDropped = counters.spansDroppedTraceFull
        status.tracesEvicted = counters.tracesEvicted
        return status
    }
}

/// The machine's clocks, for the explorer's runtime.
struct SystemClock: ExplorerClock {
    var monotonicNanos: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    var unixNanos: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// `open`, `live` and `demo`: the explorer's runtime on the real terminal.
struct ExplorerLoop {
    let store: SharedTraceStore
    let feed: any ExplorerFeed
    let title: String
    let colorMode: ColorMode?
    let utcOffsetSeconds: Int
    var follow = false
    var filter: TraceQuery?
    var rawTimes = false

    /// Returns the process exit status.
    func run() throws -> Int32 {
        let terminal = try NCursesTerminal(colorMode: colorMode)
        defer { terminal.restore() }
        var model = ExplorerModel(width: terminal.size.width, height: terminal.size.height, title: title)
        model.utcOffsetSeconds = utcOffsetSeconds
        model.rawTimes = rawTimes
        model.maxSpans = store.limits.maxSpans
        if follow { model.setFollow(true) }
        model.startFiltering(filter)
        var runtime = ExplorerRuntime(model: model, store: store, feed: feed, backend: terminal, clock: SystemClock(),
                                      worker: .background())
        return runtime.run()
    }
}

/// Runs `body` on a new thread (an 8 MiB stack, as a main thread's) and
/// returns its result: the explorer loop blocks for a whole session and must
/// not hold a cooperative thread that servers in the same process need.
/// `yieldingToIngest` lowers the thread's priority (nice +5, this thread only
/// on Linux) so that listeners and decoders win the CPU when it is short.
func runOnOwnThread<T: Sendable>(yieldingToIngest: Bool = false,
                                 _ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            #if os(Linux)
            if yieldingToIngest { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5) }
            #endif
            continuation.resume(returning: Result { try body() })
        }
        thread.name = "tracetty-ui"
        thread.stackSize = 8 << 20
        thread.start()
    }
}
