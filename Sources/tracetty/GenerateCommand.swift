import ArgumentParser
import Foundation
import TraceModel
import TraceFormats

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic OTLP JSON lines dump of seed-shaped traces (plus some wide and deep ones)."
    )

    @Option(name: .shortAndLong, help: "Output file.")
    var output: String

    @Option(help: "Write at least this many spans.")
    var spans = 1_000

    @Option(help: "Seed of the generator: the same seed gives the same file.")
    var seed: UInt64 = 1

    @Option(help: "Start time of the first trace, Unix seconds.")
    var start: UInt64 = 1_795_821_746

    @Option(help: "Milliseconds between the starts of consecutive traces.")
    var intervalMs: UInt64 = 1000

    @Flag(help: "Only the seed's 3-span traces (no wide or deep ones).")
    var seedShapedOnly = false

    @Option(help: "Spans per line (one TracesData object per line).")
    var spansPerLine = 100

    func run() throws {
        var generator = SyntheticTraces(seed: seed, startUnixNano: start * 1_000_000_000, traceIntervalNano: intervalMs * 1_000_000)
        let writer = try DumpWriter(path: output)
        var written = 0
        var pending: [Span] = []
        while written < spans {
            let trace = generator.nextTrace()
            if seedShapedOnly && trace.count != 3 { continue }
            pending.append(contentsOf: trace)
            written += trace.count
            if pending.count >= spansPerLine {
                try writer.write(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        if !pending.isEmpty { try writer.write(pending) }
        try writer.close()
        printError("wrote \(written) spans to \(output)")
    }
}

struct LoadBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-bench",
        abstract: "Load and assemble dumps without a UI; print throughput and peak memory (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Argument var files: [String]

    @Option(help: "Repeat the load this many times and report each run.")
    var runs = 1

    @Option(help: "Threads decoding lines (0: one per core this process may use).")
    var decodeThreads = 0

    @Flag(help: "Also print where the store's memory goes.")
    var breakdown = false

    /// Current and peak RSS, MiB.
    static func memoryNow() -> String {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return "RSS \(pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576) MiB, peak \(Int(usage.ru_maxrss) / 1024) MiB"
    }

    func run() throws {
        for run in 1...max(1, runs) {
            let store = SharedTraceStore(limits: TraceStoreLimits(maxSpans: Int.max / 2, maxSpansPerTrace: Int.max / 2))
            let clock = ContinuousClock()
            var bytes = 0
            var spans = 0
            var issues = 0
            let elapsed = try clock.measure {
                for file in files {
                    var fileBytes = 0
                    let summary = try DumpReader(path: file, limits: DumpLimits(decodeThreads: decodeThreads)).read(
                        onPacked: { store.add($0) }, onProgress: { fileBytes = $0.bytesRead })
                    bytes += fileBytes
                    spans += summary.spans
                    issues += summary.issueCount
                }
                if breakdown { print("  after reading: " + Self.memoryNow()) }
                // Assemble: every trace's tree and summary, kept packed in the
                // store, where the explorer takes them a chunk at a time.
                store.withStore { $0.refreshSummaries() }
                if breakdown { print("  after summaries: " + Self.memoryNow()) }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            let peakBytes = Int(usage.ru_maxrss) * 1024
            if breakdown {
                for (part, bytes) in store.withStore({ $0.memoryFootprint() }) {
                    print("  \(part): \(bytes / 1_048_576) MiB = \(spans > 0 ? bytes / spans : 0) B/span")
                }
                let held = store.bytesHeld
                print("  the store's own count (bytesHeld, what --max-memory budgets): \(held / 1_048_576) MiB = \(spans > 0 ? held / spans : 0) B/span")
                // After the figure above: the peak only grows.
                let all = store.summaries()
                print("  with every summary in one list too (\(all.count) of \(MemoryLayout<TraceSummary>.stride) B, as list takes them): "
                      + Self.memoryNow())
            }
            let threads = decodeThreads > 0 ? decodeThreads : ProcessorCount.available
            print("run \(run): \(threads) decode thread\(threads == 1 ? "" : "s"), \(bytes) bytes, \(spans) spans (\(issues) malformed skipped), \(store.traceCount) traces in \(String(format: "%.3f", seconds)) s: "
                  + "\(String(format: "%.1f", Double(bytes) / seconds / 1e6)) MB/s, \(String(format: "%.0f", Double(spans) / seconds)) spans/s, "
                  + "peak RSS \(peakBytes / 1_048_576) MiB = \(spans > 0 ? peakBytes / spans : 0) B/span")
        }
    }
}
