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

    @Option(help: "Colours: auto (NO_COLOR and the terminal decide), always (256 colours), never.")
    var color: ColorChoice = .auto

    func run() throws {
        let store = SharedTraceStore(limits: dump.store.limits)
        let loader = DumpLoader(files: dump.files, store: store)
        loader.start()
        let title = dump.files.count == 1 ? dump.files[0] : "\(dump.files.count) files"
        let exit = try ExplorerLoop(store: store, feed: DumpFeed(loader: loader), title: title,
                                    colorMode: color.mode, utcOffsetSeconds: dump.store.utcOffsetSeconds).run()
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

/// Where the explorer's spans come from. `poll` runs on the loop's thread
/// each tick: it may move waiting spans into the store, and says how
/// ingestion is going for the status bar.
protocol ExplorerFeed {
    func poll(into store: SharedTraceStore) -> IngestStatus
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

/// The one loop that owns the terminal and the explorer state: read an
/// event, apply it, pull what changed from the store, redraw (at most ~30
/// times a second, only when something changed).
struct ExplorerLoop {
    let store: SharedTraceStore
    let feed: any ExplorerFeed
    let title: String
    let colorMode: ColorMode?
    let utcOffsetSeconds: Int
    var follow = false

    /// Returns the process exit status.
    func run() throws -> Int32 {
        let terminal = try NCursesTerminal(colorMode: colorMode)
        defer { terminal.restore() }
        let size = terminal.size
        var state = ExplorerState(width: size.width, height: size.height, title: title)
        state.utcOffsetSeconds = utcOffsetSeconds
        state.maxSpans = store.limits.maxSpans
        if follow { state.setFollow(true) }
        var seenVersion: UInt64 = .max
        var lastRefresh = ContinuousClock.now
        var lastRefreshCost: Duration = .zero
        var lastDrawn: ExplorerRenderKey?
        var wasLoading = true
        while true {
            let ingest = feed.poll(into: store)
            // Pull new data, unless paused: at most 4 times a second while a
            // dump loads (sorting a million-trace list is not free), else at
            // most every 100 ms.
            let now = ContinuousClock.now
            let version = store.version
            // A refresh re-derives and re-sorts the whole list: with a million
            // traces that is not free, so the next one waits at least four
            // times as long as this one took (the loop keeps draining spans
            // and answering keys in between).
            let interval = max(ingest.loading ? .milliseconds(250) : .milliseconds(100), lastRefreshCost * 4)
            if !state.paused, version != seenVersion,
               wasLoading != ingest.loading || now - lastRefresh >= interval {
                seenVersion = version
                lastRefresh = now
                state.setTraces(store.summaries())
                if let open = state.traceView?.trace, store.lastUpdate(of: open.traceID) != open.summary.lastUpdate,
                   let newer = store.trace(open.traceID) {
                    state.updateOpenTrace(newer)
                }
                lastRefreshCost = ContinuousClock.now - now
            }
            state.storedSpans = store.spanCount
            wasLoading = ingest.loading
            state.ingest = ingest
            let key = ExplorerRenderKey(state: state, version: seenVersion)
            if key != lastDrawn {
                terminal.draw(ExplorerView.render(state))
                lastDrawn = key
            }
            guard let event = terminal.readEvent(timeoutMilliseconds: 33) else { continue }
            switch event {
            case .quit(.controlC): return 0
            case .quit(let reason): return reason.exitStatus
            case .key(.ctrl("z")):
                terminal.suspendToShell()
                lastDrawn = nil
                continue
            default: break
            }
            for effect in state.handle(event) {
                switch effect {
                case .quit:
                    return 0
                case .loadTrace(let id):
                    if let trace = store.trace(id) { state.openTrace(trace) }
                }
            }
            lastDrawn = nil
        }
    }
}

/// What decides whether a redraw is needed when no input came.
struct ExplorerRenderKey: Equatable {
    var ingest: IngestStatus
    var version: UInt64
    var stored: Int
    var width: Int
    var height: Int

    init(state: ExplorerState, version: UInt64) {
        ingest = state.ingest
        self.version = version
        stored = state.storedSpans
        width = state.width
        height = state.height
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
