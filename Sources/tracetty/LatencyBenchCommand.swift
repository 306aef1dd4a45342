import ArgumentParser
import Foundation
import TraceFormats
import TraceModel

/// The latency view's costs over a big store: its first table (rows and the
/// selected row's histogram from the store's running index), what 1,000 new
/// spans cost the store with the index kept as they arrive, a filtered
/// table and the service graph (see BENCHMARKS.md).
struct LatencyBenchCommand: ParsableCommand {
    func measure(_ label: String, _ body: () -> Void) { BenchTiming.measure(label, runs: runs, body) }

    static let configuration = CommandConfiguration(
        commandName: "latency-bench",
        abstract: "Time the latency index and service graph over a store of synthetic traces.",
        shouldDisplay: false
    )

    @Option(help: "Spans in the store (seed-shaped traces, ~3.3 spans each).")
    var spans = 1_000_000

    @Option(help: "Runs per measurement; median, min and max are reported.")
    var runs = 7

    @Option(help: "The query for the filtered table.")
    var query = "error"

    func run() throws {
        let filter = try TraceQuery.parse(query)
        let clock = ContinuousClock()
        let start = clock.now
        // The store's bound is the span count: once full, new spans evict old traces (and leave the index).
        var generator = SyntheticTraces(seed: 7, startUnixNano: 1_795_821_746_000_000_000, wideChildren: 10, deepDepth: 20)
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: spans, maxSpansPerTrace: 100_000))
        while store.spanCount < spans - 600 { store.add(contentsOf: generator.nextTrace()) }
        store.refreshSummaries()
        let filled = clock.now - start
        print("\(ProcessInfo.processInfo.activeProcessorCount) cores, \(runs) runs; \(store.spanCount) spans, \(store.traceCount) traces, "
              + "\(store.latency.keyCount) latency keys; store filled (index kept as spans arrive) in \(String(format: "%.0f", BenchTiming.milliseconds(filled))) ms")
        print("measurement | median ms | min ms | max ms")
        measure("table: rows by operation from the running index") { _ = store.latency.rows(by: .operation) }
        measure("table: rows by service") { _ = store.latency.rows(by: .service) }
        let key = LatencyIndex.Key(service: "server-2", operation: "server-2")
        measure("histogram of one row (40 buckets)") { _ = store.latency.histogram(key, buckets: 40) }
        measure("filtered table: index of traces matching '\(query)'") { _ = store.latencyIndex(matching: filter).rows(by: .operation) }
        measure("service graph, every trace") { _ = store.serviceGraph(matching: nil) }
        // 1,000 new spans into the full store (each evicting old traces past the bound), index kept.
        var batches: [[Span]] = []
        for _ in 0..<runs {
            var batch: [Span] = []
            while batch.count < 1_000 { batch += generator.nextTrace() }
            batches.append(batch)
        }
        var times: [Double] = []
        for batch in batches {
            let t0 = clock.now
            store.add(contentsOf: batch)
            times.append(BenchTiming.milliseconds(clock.now - t0))
        }
        BenchTiming.report("1,000 new spans into the full store (evicting as many)", times)
    }
}
