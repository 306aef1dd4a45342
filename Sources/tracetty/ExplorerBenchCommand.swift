import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer
import TerminalUI

/// CPU per keystroke in the trace list: the model's update plus drawing the
/// frame, as the runtime does for every key, over a store of seed-shaped traces.
struct ExplorerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explorer-bench",
        abstract: "Benchmark: CPU per keystroke in the trace list (update + render) with a filter active."
    )

    @Option(help: "Traces in the store (seed-shaped, 3 spans each).")
    var traces = 300_000

    @Option(help: "Keystrokes measured per key kind.")
    var keys = 2_000

    @Option(help: "The filter in force while keys are measured.")
    var filter = "service=server-2 dur>700ms"

    @Option(help: "Screen size, WxH.")
    var size = "120x40"

    func run() throws {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims[0] >= 40, dims[1] >= 10 else { throw ValidationError("--size wants WxH, at least 40x10") }
        let query: TraceQuery
        do { query = try TraceQuery.parse(filter) } catch {
            printError("tracetty: --filter: \(error)")
            throw ExitCode(2)
        }
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

        var model = ExplorerModel(width: dims[0], height: dims[1], title: "bench")
        model.maxSpans = traces * 3 + 1
        var started = Self.cpuNanos()
        _ = model.update(.snapshot(store.snapshot()))
        let firstSnapshot = Self.cpuNanos() - started
        started = Self.cpuNanos()
        let (ids, version) = store.withStore { s in (Set(s.traceIDs(matching: query)), s.version) }
        let filterCPU = Self.cpuNanos() - started
        // The query line's path: `/`, the text, Enter; the result comes back as a message.
        _ = model.update(.key(.char("/")))
        _ = model.update(.key(.ctrl("u")))
        var generation = 0
        for c in filter {
            for effect in model.update(.key(.char(c))) {
                if case .filterStore(_, let g) = effect { generation = g }
            }
        }
        _ = model.update(.key(.enter))
        _ = model.update(.computed(.filtered(query: query, ids: ids, version: version, generation: generation)))
        print("store: \(traces) traces, \(store.spanCount) spans; filter '\(filter)' matches \(model.list.rows.count) (\(Formatting.count(ids.count)))")
        print("first snapshot into the list: \(Self.ms(firstSnapshot)) ms CPU; filter evaluation over the store: \(Self.ms(filterCPU)) ms CPU")
        print("size \(size), plot \(model.list.showsPlot ? "on" : "off"); per keystroke, update + render, CPU time:")
        print("key        median µs   p90 µs   p99 µs   max µs")
        for (name, key) in [("j", Key.char("j")), ("k", Key.char("k")), ("PgDn", Key.pageDown), ("G/g", Key.char("G"))] {
            var samples: [UInt64] = []
            samples.reserveCapacity(keys)
            for i in 0..<keys {
                var k = key
                if name == "G/g" { k = i % 2 == 0 ? .char("G") : .char("g") }
                if name == "k", i == 0 { _ = model.update(.key(.char("G"))) }
                let t0 = Self.cpuNanos()
                _ = model.update(.key(k))
                let frame = ExplorerView.frame(model)
                let t1 = Self.cpuNanos()
                precondition(frame.buffer.width == dims[0])
                samples.append(t1 - t0)
            }
            samples.sort()
            func pct(_ p: Double) -> String { String(format: "%8.0f", Double(samples[min(samples.count - 1, Int(Double(samples.count) * p))]) / 1000) }
            print(name.padding(toLength: 8, withPad: " ", startingAt: 0) + " " + pct(0.5) + "   " + pct(0.9) + " " + pct(0.99) + " " + pct(1.0))
        }
    }

    static func cpuNanos() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func ms(_ nanos: UInt64) -> String { String(format: "%.1f", Double(nanos) / 1e6) }
}
