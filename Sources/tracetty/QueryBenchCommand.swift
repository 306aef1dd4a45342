import ArgumentParser
import Foundation
import TraceFormats
import TraceModel

/// How long filtering the store takes: the trace list's query line runs
/// `traceIDs(matching:)` on every keystroke, so each evaluation must stay
/// well under a frame or two (see BENCHMARKS.md).
struct QueryBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-bench",
        abstract: "Time query evaluation over a store of synthetic traces, at a quarter, half and all of --spans.",
        shouldDisplay: false
    )

    @Option(help: "Spans in the largest store (seed-shaped traces, ~3.3 spans each).")
    var spans = 1_000_000

    @Option(help: "Evaluations per query and size; median, min and max are reported.")
    var runs = 7

    @Option(name: .customLong("query"), help: "A query to time instead of the default set (repeatable).")
    var queries: [String] = []

    static let defaultQueries = [
        "service=server-2 dur>700ms",
        "{service=server-2 dur>400ms}",
        "{op=server-1_to_server-2} > {service=server-2 error}",
        "tag.http.status_code>=500 or error",
        "alice",
    ]

    func validate() throws {
        guard spans > 0, runs > 0 else { throw ValidationError("--spans and --runs must be positive") }
    }

    func run() throws {
        let parsed = try (queries.isEmpty ? Self.defaultQueries : queries).map { text in
            do {
                return (text, try TraceQuery.parse(text))
            } catch {
                throw ValidationError("\(text): \(error)")
            }
        }
        let sizes = Array(Set([spans / 4, spans / 2, spans].filter { $0 > 0 })).sorted()
        print("\(ProcessInfo.processInfo.activeProcessorCount) cores, \(runs) runs per query")
        print("spans | traces | query | median ms | min ms | max ms | matches")
        for size in sizes {
            let store = Self.store(spans: size)
            for (text, query) in parsed {
                var times: [Double] = []
                var matches = 0
                for _ in 0..<runs {
                    let clock = ContinuousClock()
                    let start = clock.now
                    matches = store.traceIDs(matching: query).count
                    let elapsed = clock.now - start
                    times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
                }
                times.sort()
                let ms = { (value: Double) in String(format: "%.1f", value) }
                print("\(store.spanCount) | \(store.traceCount) | \(text) | \(ms(times[times.count / 2])) | "
                      + "\(ms(times[0])) | \(ms(times[times.count - 1])) | \(matches)")
            }
        }
    }

    /// Seed-shaped traces (server-1 -> server-2, 1 in 20 an error), with
    /// the generator's every-50th wide and every-97th deep traces kept small
    /// (10 children, 20 levels): ~3.3 spans per trace, ~300,000 traces per
    /// million spans. Summaries are fresh, as the list keeps them.
    static func store(spans: Int) -> TraceStore {
        var generator = SyntheticTraces(seed: 7, startUnixNano: 1_795_821_746_000_000_000, wideChildren: 10, deepDepth: 20)
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: Int.max / 2, maxSpansPerTrace: Int.max / 2))
        while store.spanCount < spans { store.add(contentsOf: generator.nextTrace()) }
        store.refreshSummaries()
        return store
    }
}
