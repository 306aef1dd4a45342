import ArgumentParser
import Foundation
import TraceModel
import TraceExplorer
import TraceFormats

@main
struct Tracetty: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracetty",
        abstract: "A terminal trace explorer: Jaeger's UI for SSH and tmux.",
        discussion: """
            With no command: `live`, listening on the Jaeger agent UDP ports (6831 compact, 6832 binary, \
            5775), the Jaeger collector (14268), OTLP/HTTP (4318) and Zipkin (9411). `record` does the same \
            with no UI. `open` explores saved dumps (OTLP JSON lines or document, Jaeger UI JSON, Zipkin v2 \
            JSON; gzip or not; - for standard input); `print` writes their waterfalls as text.
            """,
        subcommands: [LiveCommand.self, RecordCommand.self, OpenCommand.self, ListCommand.self, PrintCommand.self, GenerateCommand.self, DemoCommand.self, Server1Command.self, Server2Command.self, LoadBenchCommand.self, DecodeBenchCommand.self, EncodeBenchCommand.self, ExplorerBenchCommand.self, UDPSendBenchCommand.self, TracerBenchCommand.self, QueryBenchCommand.self, AnalysisBenchCommand.self, ReplayDumpCommand.self, StatsCommand.self, LatencyBenchCommand.self, GRPCBenchCommand.self, StoreBenchCommand.self],
        defaultSubcommand: LiveCommand.self
    )

    /// ArgumentParser's own entry, after one setting that must come before
    /// any thread allocates: fewer malloc arenas, and big buffers that go back
    /// to the system when freed (see `ProcessMemory`).
    static func main() async {
        ProcessMemory.limitArenas()
        ProcessMemory.fixMmapThreshold()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// How much the store keeps and how times are shown: `open`, `print`, `live`.
struct StoreOptions: ParsableArguments {
    @Flag(help: "Show clock times in UTC instead of the local time zone.")
    var utc = false

    @Option(help: "Keep at most this many spans; the oldest traces are evicted past it.")
    var maxSpans = 1_000_000

    @Option(help: "Keep at most this many spans per trace; more are counted and dropped.")
    var maxSpansPerTrace = 100_000

    @Flag(help: "Show span times as received: no clock-skew adjustment (R toggles it in the explorer).")
    var rawTimes = false

    @OptionGroup var memory: MemoryOption

    func validate() throws {
        guard maxSpans > 0, maxSpansPerTrace > 0 else { throw ValidationError("--max-spans and --max-spans-per-trace must be positive") }
    }

    var limits: TraceStoreLimits { TraceStoreLimits(maxSpans: maxSpans, maxSpansPerTrace: maxSpansPerTrace) }

    /// Which bound evicted: `--max-spans 6`, `--max-memory 1 GiB`, or both.
    func evictionCause(_ counters: TraceStore.Counters) -> String {
        let forMemory = counters.tracesEvictedForMemory
        let spans = "--max-spans \(maxSpans)"
        let memory = "--max-memory " + Formatting.bytes(self.memory.limitBytes)
        if forMemory == 0 { return spans }
        if forMemory == counters.tracesEvicted { return memory }
        return "\(spans) (\(forMemory) of them by \(memory))"
    }
    var utcOffsetSeconds: Int { utc ? 0 : TimeZone.current.secondsFromGMT() }
}

/// Options every command that reads dumps shares.
struct DumpOptions: ParsableArguments {
    @Argument(help: "Dump files to read (auto-detected format, gzip ok); - reads standard input.")
    var files: [String]

    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one dump file (or - for standard input)") }
    }
}
