import Dispatch
import Synchronization
import TraceModel
import TraceFormats
import TerminalUI

/// Where the explorer's spans come from. `poll` runs on the runtime's thread
/// each turn: it may move waiting spans into the store, and says how
/// ingestion is going for the status bar.
public protocol ExplorerFeed {
    func poll(into store: SharedTraceStore) -> IngestStatus
    /// A replay key (speed, pause, step, jump); feeds that are not replays ignore it.
    func control(_ command: ReplayCommand)
}

extension ExplorerFeed {
    public func control(_ command: ReplayCommand) {}
}

/// The runtime's sense of time, injected so that tests drive it.
public protocol ExplorerClock: Sendable {
    /// Monotonic nanoseconds: throttling.
    var monotonicNanos: UInt64 { get }
    /// Wall-clock Unix nanoseconds: the live plot's window.
    var unixNanos: UInt64 { get }
}

/// A clock a test moves by hand.
public final class ManualClock: ExplorerClock {
    private let now = Mutex<(monotonic: UInt64, unix: UInt64)>((0, 0))

    public init(unixNanos: UInt64 = 0) {
        now.withLock { $0.unix = unixNanos }
    }

    public var monotonicNanos: UInt64 { now.withLock { $0.monotonic } }
    public var unixNanos: UInt64 { now.withLock { $0.unix } }

    public func advance(milliseconds: Int) {
        let nanos = UInt64(max(0, milliseconds)) * 1_000_000
        now.withLock {
            $0.monotonic += nanos
            $0.unix += nanos
        }
    }
}

/// Runs work off the UI's path and hands back the results. `inline` runs
/// each job at once on the caller's thread (tests: deterministic);
/// `background` runs jobs one at a time on a queue of their own.
public final class BackgroundWorker: Sendable {
    private let queue: DispatchQueue?
    private let done = Mutex<[Computation]>([])

    public static func inline() -> BackgroundWorker { BackgroundWorker(queue: nil) }
    public static func background() -> BackgroundWorker {
        BackgroundWorker(queue: DispatchQueue(label: "tracetty.explorer.worker", qos: .userInitiated))
    }

    private init(queue: DispatchQueue?) {
        self.queue = queue
    }

    public func submit(_ job: @escaping @Sendable () -> Computation) {
        guard let queue else {
            let result = job()
            done.withLock { $0.append(result) }
            return
        }
        queue.async {
            let result = job()
            self.done.withLock { $0.append(result) }
        }
    }

    /// Finished results, oldest first.
    public func drain() -> [Computation] {
        done.withLock { results in
            defer { results.removeAll() }
            return results
        }
    }
}

/// The one loop behind `open`, `live`, `demo` and `replay`: poll the feed,
/// take a store snapshot when the store moved (throttled), turn terminal
/// input and finished work into messages for `ExplorerModel.update`, carry
/// out its effects, and draw only when something changed.
public struct ExplorerRuntime {
    public let store: SharedTraceStore
    public let feed: any ExplorerFeed
    public let backend: any TerminalBackend
    public let clock: any ExplorerClock
    public let worker: BackgroundWorker
    public private(set) var model: ExplorerModel
    /// How long a read waits for input: the loop's pace when idle.
    public var pollMilliseconds = 33
    /// While spans keep arriving the list and the open trace take them in at
    /// most this often (the first change after a quiet spell at once): each
    /// refresh scrolls the list and repaints the old selection, which is most
    /// of the bytes a live screen sends over SSH.
    public var refreshIntervalNanos: UInt64 = ExplorerRuntime.defaultRefreshIntervalNanos
    public static let defaultRefreshIntervalNanos: UInt64 = 1_000_000_000

    public init(model: ExplorerModel, store: SharedTraceStore, feed: any ExplorerFeed, backend: any TerminalBackend,
                clock: any ExplorerClock, worker: BackgroundWorker) {
        self.model = model
        self.store = store
        self.feed = feed
        self.backend = backend
        self.clock = clock
        self.worker = worker
        let size = backend.size
        self.model.width = size.width
        self.model.height = size.height
    }

    /// Runs until the model says quit; returns the exit status.
    public mutating func run() -> Int32 {
        var seenVersion: UInt64 = .max
        var lastRefresh: UInt64 = 0
        var lastRefreshCost: UInt64 = 0
        var wasLoading = true
        var lastTickSecond: UInt64 = .max
        var needsDraw = true
        // A filter given at start (`--filter`) judges traces as they arrive.
        while true {
            let status = feed.poll(into: store)
            // Running figures (rates, counts, the replay clock) go to the screen at
            // most once a second: each redraw of the status bar is bytes over SSH.
            // A change of state (loading done, a pause, new errors) shows at once.
            let figuresDue = clock.monotonicNanos &- lastFigures >= 1_000_000_000 || lastFigures == 0
            if status != model.ingest && (figuresDue || status.stateDiffers(from: model.ingest)) {
                lastFigures = clock.monotonicNanos
                for effect in model.update(.ingest(status)) {
                    if let status = perform(effect) { return status }
                }
                needsDraw = true
            }
            let now = clock.monotonicNanos
            // A refresh merges what changed into the list; under a flood the
            // next one waits at least four times as long as this one took
            // (the loop keeps draining spans and answering keys in between).
            let interval = max(status.loading ? min(250_000_000, refreshIntervalNanos) : refreshIntervalNanos, lastRefreshCost * 4)
            if !model.paused, store.version != seenVersion,
               wasLoading != status.loading || now &- lastRefresh >= interval || seenVersion == .max {
                refresh()
                seenVersion = lastSnapshotVersion
                lastRefresh = now
                lastRefreshCost = clock.monotonicNanos &- now
                needsDraw = true
            }
            wasLoading = status.loading
            let second = clock.unixNanos / 1_000_000_000
            if second != lastTickSecond {
                lastTickSecond = second
                for effect in model.update(.tick(unixNano: clock.unixNanos)) {
                    if let status = perform(effect) { return status }
                }
                needsDraw = true
            }
            for result in worker.drain() {
                for effect in model.update(.computed(result)) {
                    if let status = perform(effect) { return status }
                }
                needsDraw = true
            }
            if needsDraw {
                let frame = ExplorerView.frame(model)
                backend.draw(frame.buffer, cursor: frame.cursor)
                needsDraw = false
            }
            guard let event = backend.readEvent(timeoutMilliseconds: pollMilliseconds) else { continue }
            needsDraw = true
            for effect in model.update(ExplorerMessage(event)) {
                if let status = perform(effect) { return status }
            }
        }
    }

    private var lastSnapshotVersion: UInt64 = 0
    /// Store snapshots taken (each asks the store for its changes): only
    /// when the store moved, never for a key.
    public private(set) var snapshotsTaken = 0
    /// When the status bar's running figures were last taken (0: take the next ones at once).
    private var lastFigures: UInt64 = 0

    /// Takes the store's changes and the open trace from one version.
    mutating func refresh() {
        let open = model.trace.map { (id: $0.trace.traceID, lastUpdate: $0.trace.summary.lastUpdate) }
        var matching: (@Sendable (TraceStore, TraceID) -> Bool)?
        if let filter = model.list.filter {
            matching = { store, id in store.matches(filter, traceID: id) }
        }
        let snapshot = store.snapshot(open: open, matching: matching)
        snapshotsTaken += 1
        lastSnapshotVersion = snapshot.version
        for effect in model.update(.snapshot(snapshot)) { _ = perform(effect) }
    }

    /// Carries out one effect; a status when the app must end.
    mutating func perform(_ effect: ExplorerEffect) -> Int32? {
        switch effect {
        case .quit(let status):
            return status
        case .loadTrace(let id):
            if let trace = store.trace(id) {
                for effect in model.update(.traceLoaded(trace)) { _ = perform(effect) }
            }
        case .suspend:
            backend.suspendToShell()
        case .repaint:
            backend.repaintAll()
        case .filterStore(let query, let generation):
            let store = self.store
            worker.submit {
                let (ids, version) = store.withStore { s in (Set(s.traceIDs(matching: query)), s.version) }
                return .filtered(query: query, ids: ids, version: version, generation: generation)
            }
        case .replay(let command):
            feed.control(command)
            lastFigures = 0  // a replay key's effect shows at once
        case .computeLatency(let filter, let key, let buckets):
            let store = self.store
            worker.submit {
                // The running index is copied under the lock (copy on write) and read outside it.
                let index = store.withStore { s in filter.map { s.latencyIndex(matching: $0) } ?? s.latency }
                let rows = index.rows(by: .operation)
                let selected = key ?? rows.first?.key
                return .latency(rows: rows, histogram: selected.map { index.histogram($0, buckets: buckets) } ?? [], key: selected,
                                filter: filter)
            }
        case .computeLatencyHistogram(let filter, let key, let buckets):
            let store = self.store
            worker.submit {
                let index = store.withStore { s in filter.map { s.latencyIndex(matching: $0) } ?? s.latency }
                return .latencyHistogram(key: key, index.histogram(key, buckets: buckets), filter: filter)
            }
        case .computeServiceGraph(let filter):
            let store = self.store
            worker.submit { .serviceGraph(store.withStore { $0.serviceGraph(matching: filter) }, filter: filter) }
        case .analyzeOpenTrace:
            guard let raw = model.trace?.rawTrace else { break }
            worker.submit { .analysis(TraceAnalysis(trace: raw)) }
        case .computeStatistics:
            guard let screen = model.trace, let grouping = screen.pendingStatistics else { break }
            let shown = screen.trace, version = TraceVersion(screen.rawTrace), raw = screen.rawTimes
            worker.submit { .statistics(TraceStatistics(trace: shown, grouping: grouping), version: version, rawTimes: raw) }
        case .compareTraces(let a, let b):
            let store = self.store
            worker.submit {
                guard let traceA = store.trace(a) else { return .comparisonFailed(a: a, b: b, reason: "trace \(a.hex) is not in the store") }
                guard let traceB = store.trace(b) else { return .comparisonFailed(a: a, b: b, reason: "trace \(b.hex) is not in the store") }
                return .comparison(a: a, b: b, TraceComparison(a: traceA, b: traceB))
            }
        case .export(let request):
            let store = self.store
            worker.submit {
                let traces = store.withStore { s in request.traceIDs.compactMap { s.traceSpans($0) } }
                guard !traces.isEmpty else { return .exportFailed(request, reason: "the traces are no longer in the store") }
                do throws(ExportError) {
                    let summary = try ExportWriter.write(traces: traces, format: request.format, to: request.path,
                                                         overwrite: request.overwrite)
                    return .exported(request, traces: summary.traces, spans: summary.spans, bytes: summary.bytes)
                } catch .exists {
                    return .exportTargetExists(request)
                } catch {
                    return .exportFailed(request, reason: "\(error)")
                }
            }
        }
        return nil
    }
}
