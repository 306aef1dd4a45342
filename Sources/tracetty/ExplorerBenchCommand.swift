import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer
import TerminalUI

/// CPU per keystroke in the trace list, through the explorer's runtime as
/// `open` runs it: for each key, the model's update, the loop's turn (feed
/// poll, effects, finished work) and the whole frame drawn and diffed against
/// the previous one, as the ncurses backend does before it calls curses.
struct ExplorerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explorer-bench",
        abstract: "Benchmark: CPU per keystroke in the trace list (update + frame + diff) over stores of seed-shaped traces."
    )

    @Option(help: "Traces in the store (seed-shaped, 3 spans each), comma-separated sizes.")
    var traces = "1000,100000,333334"

    @Option(help: "Keystrokes measured per moving key (j, k, PgDn, G/g).")
    var keys = 2_000

    @Option(help: "Presses measured of the keys that reorder the list (r, s).")
    var sortKeys = 12

    @Option(name: .customLong("case"), help: ArgumentHelp(
        "SORT:QUERY, repeatable: s pressed until the list is sorted by SORT (start, duration, spans, errors), then the query typed in as the filter (empty: none).",
        valueName: "sort:query"))
    var cases: [String] = ["start:", "duration:error", "duration:service=\"server-2\""]

    @Option(help: "Screen size, WxH.")
    var size = "120x40"

    func run() throws {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims[0] >= 40, dims[1] >= 10 else { throw ValidationError("--size wants WxH, at least 40x10") }
        let sizes = traces.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw ValidationError("--traces wants sizes, e.g. 1000,100000") }
        var parsed: [(sort: TraceSort, query: String)] = []
        for text in cases {
            guard let colon = text.firstIndex(of: ":"), let sort = TraceSort(rawValue: String(text[..<colon])) else {
                throw ValidationError("--case wants SORT:QUERY with SORT one of start, duration, spans, errors: \(text)")
            }
            let query = String(text[text.index(after: colon)...])
            if !query.isEmpty {
                do { _ = try TraceQuery.parse(query) } catch {
                    printError("tracetty: --case \(text): \(error)")
                    throw ExitCode(2)
                }
            }
            parsed.append((sort, query))
        }
        print("size \(size); per key: update + loop turn + frame + diff, thread CPU time (µs); r and s: \(sortKeys) presses")
        print("| traces | sort | filter (rows) | key | median µs | p90 | p99 |")
        print("|---:|---|---|---|---:|---:|---:|")
        var notes: [String] = []
        for count in sizes {
            let store = Self.store(traces: count)
            let started = BenchTerminal.cpuNanos()
            let snapshot = store.snapshot()
            var model = ExplorerModel(width: dims[0], height: dims[1])
            _ = model.update(.snapshot(snapshot))
            notes.append("\(Formatting.count(count)) traces (\(Formatting.count(store.spanCount)) spans): the store's "
                         + "changes and the first snapshot into the list take \(Self.ms(BenchTerminal.cpuNanos() - started)) ms CPU")
            for (sort, query) in parsed {
                measure(store: store, snapshot: snapshot, traces: count, sort: sort, query: query, width: dims[0], height: dims[1],
                        notes: &notes)
            }
        }
        for note in notes { print(note) }
    }

    static func ms(_ nanos: UInt64) -> String { String(format: "%.1f", Double(nanos) / 1e6) }

    static func store(traces: Int) -> SharedTraceStore {
        let store = SharedTraceStore(limits: TraceStoreLimits(maxSpans: traces * 3 + 1))
        var generator = SyntheticTraces(seed: 11, startUnixNano: 1_795_821_746_000_000_000, traceIntervalNano: 10_000_000)
        var made = 0
        var batch: [Span] = []
        while made < traces {
            let trace = generator.nextTrace()
            guard trace.count == 3 else { continue }
            batch += trace
            made += 1
            if batch.count >= 30_000 {
                store.add(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        store.add(batch)
        return store
    }

    func measure(store: SharedTraceStore, snapshot: StoreSnapshot, traces: Int, sort: TraceSort, query: String,
                 width: Int, height: Int, notes: inout [String]) {
        let terminal = BenchTerminal(width: width, height: height)
        var model = ExplorerModel(width: width, height: height, title: "bench")
        model.maxSpans = traces * 3 + 1
        _ = model.update(.snapshot(snapshot))
        var runtime = ExplorerRuntime(model: model, store: store, feed: BenchFeed(), backend: terminal, clock: SystemClock(),
                                      worker: .inline())
        // Setup, not measured: the filter typed into the query line (evaluated
        // inline when Enter is pressed), then s until the sort is reached.
        if !query.isEmpty {
            terminal.append(([.char("/")] + query.map(Key.char) + [.enter]).map { .setup($0) })
        }
        terminal.append(Array(repeating: .setup(.char("s")), count: TraceSort.allCases.firstIndex(of: sort) ?? 0))
        _ = runtime.run()
        let passes = runtime.model.list.passes, snapshots = runtime.snapshotsTaken
        // Keys that move the selection.
        terminal.append(Array(repeating: .measured("j", .char("j")), count: keys))
        terminal.append([.setup(.char("G"))] + Array(repeating: .measured("k", .char("k")), count: keys))
        terminal.append([.setup(.char("g"))] + Array(repeating: .measured("PgDn", .pageDown), count: keys))
        terminal.append((0..<keys).map { .measured("G/g", $0 % 2 == 0 ? .char("G") : .char("g")) })
        _ = runtime.run()
        // Each run starts with one snapshot (the store did not move since: it brings nothing).
        let movingWork = (passes: runtime.model.list.passes == passes ? "none" : "\(runtime.model.list.passes)",
                          snapshots: runtime.snapshotsTaken - snapshots - 1)
        // Keys that reorder the list (back to the same order after an even number of presses).
        terminal.append(Array(repeating: .measured("r", .char("r")), count: sortKeys))
        terminal.append(Array(repeating: .measured("s", .char("s")), count: sortKeys))
        _ = runtime.run()
        let rows = runtime.model.list.rows.count
        let reorder = runtime.model.list.passes
        notes.append("\(Formatting.count(traces)) \(sort.rawValue) \(query.isEmpty ? "no filter" : query): during "
                     + "\(keys * 4) moving keys, passes over the list \(movingWork.passes), store snapshots \(movingWork.snapshots); "
                     + "r and s: \(reorder.reversals - passes.reversals) reversals, \(reorder.sorts - passes.sorts) sorts, "
                     + "\(reorder.rebuilds - passes.rebuilds) rebuilds")
        let filter = query.isEmpty ? "none" : "`\(query)`"
        for label in ["j", "k", "PgDn", "G/g", "r", "s"] {
            guard var samples = terminal.samples[label], !samples.isEmpty else { continue }
            samples.sort()
            func pct(_ p: Double) -> String {
                String(format: "%.0f", Double(samples[min(samples.count - 1, Int(Double(samples.count) * p))]) / 1000)
            }
            print("| \(Formatting.count(traces)) | \(sort.rawValue) | \(filter) (\(Formatting.count(rows))) | \(label) | "
                  + "\(pct(0.5)) | \(pct(0.9)) | \(pct(0.99)) |")
        }
    }
}

/// Where the bench's runtime gets its spans: nowhere (the store is filled beforehand).
struct BenchFeed: ExplorerFeed {
    func poll(into store: SharedTraceStore) -> IngestStatus {
        var status = IngestStatus()
        status.sourceName = "bench"
        return status
    }
}

/// A terminal for the bench: frames are diffed against the previous one as
/// the ncurses backend does (without curses); keys come from a script, and
/// the CPU time from returning a measured key to the next read (the loop's
/// whole answer to it) is kept per label. An exhausted script quits.
final class BenchTerminal: TerminalBackend {
    enum Step {
        case setup(Key)
        case measured(String, Key)
    }

    let width: Int
    let height: Int
    private var script: [Step] = []
    private var next = 0
    private var previous: CellBuffer?
    private var pending: (label: String, started: UInt64)?
    private(set) var samples: [String: [UInt64]] = [:]
    private(set) var cellsChanged = 0

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    var size: (width: Int, height: Int) { (width, height) }

    func append(_ steps: [Step]) { script += steps }

    func draw(_ frame: CellBuffer, cursor: (x: Int, y: Int)?) {
        var buffer = frame
        buffer.mergeInvisibleStyleChanges()
        for run in buffer.diff(from: previous) { cellsChanged += run.width }
        previous = buffer
    }

    func readEvent(timeoutMilliseconds: Int) -> InputEvent? {
        if let pending {
            samples[pending.label, default: []].append(Self.cpuNanos() - pending.started)
            self.pending = nil
        }
        guard next < script.count else { return .quit(.controlC) }
        let step = script[next]
        next += 1
        switch step {
        case .setup(let key):
            return .key(key)
        case .measured(let label, let key):
            pending = (label, Self.cpuNanos())
            return .key(key)
        }
    }

    func suspendToShell() {}
    func repaintAll() { previous = nil }

    static func cpuNanos() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
