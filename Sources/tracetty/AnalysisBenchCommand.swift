import ArgumentParser
import Foundation
import TraceModel
import TraceExplorer
import TerminalUI

/// How long understanding one big trace takes: skew adjustment, critical
/// path and statistics of a 100,000-span trace, compare of two 10,000-span
/// traces, and what a keystroke costs on the UI's path while they run off
/// it (see BENCHMARKS.md).
struct AnalysisBenchCommand: ParsableCommand {
    func measure(_ label: String, _ body: () -> Void) { BenchTiming.measure(label, runs: runs, body) }

    static let configuration = CommandConfiguration(
        commandName: "analysis-bench",
        abstract: "Time critical path, statistics and clock skew on one big trace, and compare of two traces.",
        shouldDisplay: false
    )

    @Option(help: "Spans in the big trace.")
    var spans = 100_000

    @Option(help: "Spans in each compared trace.")
    var compareSpans = 10_000

    @Option(help: "Runs per measurement; median, min and max are reported.")
    var runs = 7

    @Option(help: "Seed of the trace generator.")
    var seed: UInt64 = 1

    func validate() throws {
        guard spans > 1, compareSpans > 1, runs > 0 else { throw ValidationError("--spans, --compare-spans and --runs must be positive") }
    }

    func run() throws {
        let big = Self.trace(spans: spans, seed: seed)
        let skew = ClockSkewAdjustment(trace: big)
        print("\(ProcessInfo.processInfo.activeProcessorCount) cores, \(runs) runs; trace of \(big.spans.count) spans, "
              + "depth \(big.summary.depth), \(big.summary.services.count) services, \(skew.shiftedCount) spans shifted for skew")
        print("measurement | median ms | min ms | max ms")
        measure("clock skew (adjusted trace built)") { _ = ClockSkewAdjustment(trace: big) }
        measure("critical path (adjusted times)") { _ = CriticalPath(trace: skew.trace) }
        measure("critical path (raw times)") { _ = CriticalPath(trace: big) }
        for grouping in TraceStatistics.Grouping.allCases {
            measure("statistics by \(grouping.rawValue)") { _ = TraceStatistics(trace: skew.trace, grouping: grouping) }
        }
        measure("whole analysis (skew + both critical paths)") { _ = TraceAnalysis(trace: big) }
        measure("clock skew with nothing left to move (the adjusted trace again)") { _ = ClockSkewAdjustment(trace: skew.trace) }
        let inline = Self.trace(spans: TraceAnalysis.inlineSpanLimit, seed: seed)
        measure("whole analysis of \(inline.spans.count) spans (done on the UI's path)") { _ = TraceAnalysis(trace: inline) }
        let a = Self.trace(spans: compareSpans, seed: seed &+ 1), b = Self.trace(spans: compareSpans, seed: seed &+ 2)
        measure("compare \(a.spans.count) vs \(b.spans.count) spans") { _ = TraceComparison(a: a, b: b) }
        measure("compare \(a.spans.count) spans with itself") { _ = TraceComparison(a: a, b: a) }

        // The UI's path: a key on the open big trace, update and a full frame,
        // while the analysis is (as in the app) somebody else's work.
        for (label, key) in [("c (critical path)", Key.char("c")), ("S (statistics)", .char("S")), ("R (raw times)", .char("R"))] {
            var model = ExplorerModel(width: 120, height: 40, title: "bench")
            _ = model.update(.traceLoaded(big))
            _ = model.update(.computed(.analysis(TraceAnalysis(trace: big))))
            measure("keystroke \(label): update + frame, 120x40") {
                var copy = model
                _ = copy.update(.key(key))
                _ = ExplorerView.render(copy)
            }
        }
    }


    /// A fan-out tree (3 to 8 children a span, filled level by level) over three
    /// services whose clocks disagree (+3ms, -2ms), 40 operations, a log
    /// on one span in ten: the shape of a big real request, deterministic.
    static func trace(spans count: Int, seed: UInt64) -> Trace {
        var rng = SplitMix(state: seed)
        let id = TraceID(high: 0xb16, low: seed)
        let services = [Resource(serviceName: "gateway"), Resource(serviceName: "orders"), Resource(serviceName: "inventory")]
        let clockOffset: [Int64] = [0, 3_000_000, -2_000_000]
        let t0: UInt64 = 1_795_821_746_000_000_000
        var spans: [Span] = []
        spans.reserveCapacity(count)
        // Breadth first: each span's window is split among its children.
        var queue: [(index: Int, depth: Int)] = []
        spans.append(Span(traceID: id, spanID: SpanID(1), name: "op 0", startTimeUnixNano: t0, durationNano: 2_000_000_000,
                          resource: services[0]))
        queue.append((0, 0))
        var head = 0
        var realStart: [UInt64] = [t0]
        while spans.count < count, head < queue.count {
            let (parent, depth) = queue[head]
            head += 1
            let children = depth >= 9 ? 0 : Int(3 + rng.next() % 6)
            guard children > 0 else { continue }
            let window = spans[parent].durationNano / UInt64(children)
            for c in 0..<children where spans.count < count {
                let serviceIndex = Int(rng.next() % 3)
                let start = realStart[parent] + UInt64(c) * window + window / 10
                let duration = max(1_000, window * 8 / 10)
                // The span is stamped by its own host's clock.
                let stamped = UInt64(Int64(start) + clockOffset[serviceIndex])
                let spanID = SpanID(UInt64(spans.count + 1))
                let events = rng.next() % 10 == 0
                    ? [SpanEvent(timeUnixNano: stamped + duration / 2, name: "checkpoint", attributes: [Attribute("n", .int(Int64(c)))])] : []
                spans.append(Span(traceID: id, spanID: spanID, parentSpanID: spans[parent].spanID,
                                  name: "op \(rng.next() % 40)", kind: serviceIndex == 0 ? .client : .server,
                                  startTimeUnixNano: stamped, durationNano: duration, events: events, resource: services[serviceIndex]))
                realStart.append(start)
                queue.append((spans.count - 1, depth + 1))
            }
        }
        return Trace(traceID: id, spans: spans)
    }
}

/// A small deterministic generator (splitmix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
