import ArgumentParser
import Foundation
import TraceModel
import TraceFormats

/// What the thread that owns the store spends per span in `live`: spans
/// decoded from Jaeger compact datagrams as a UDP listener hands them over
/// (a batch per datagram) go into a store with the default limits, and every
/// `--tick` spans the changes are taken as the UI takes them (summaries of
/// new and grown traces). `spans`: batches of `Span` values added as they
/// are; `packed`: each batch packed first (`PackedSpans`, on the decoding
/// thread in `live`; timed apart) and the packed batch added.
struct StoreBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-bench",
        abstract: "Store ingest on one core: decoded UDP batches into the store, as `live`'s UI thread takes them (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    enum Path: String, ExpressibleByArgument, CaseIterable { case spans, packed }

    @Option(help: "Distinct spans fed into the store (seed-shaped server-1 spans).")
    var spans = 1_000_000

    @Option(help: "Runs per path, alternated; the median is reported.")
    var runs = 3

    @Option(help: "Spans between two takes of the changes (the UI's tick).")
    var tick = 20_000

    @Option(help: "spans, packed, or both (alternated).")
    var path: [Path] = Path.allCases

    func run() throws {
        let source = BenchPayloads.server1Spans(count: spans)
        let decoder = WireDecoder()
        var batches: [[Span]] = []
        for datagram in BenchPayloads.agentDatagrams(spans: source, protocolKind: .compact, maxBytes: 65_000) {
            batches.append(try decoder.decodeAgent(datagram, protocolKind: .compact).spans)
        }
        let total = batches.reduce(0) { $0 + $1.count }
        print("\(total) spans in \(batches.count) batches (\(total / max(1, batches.count)) a batch), changes taken every \(tick) spans")
        // What a batch weighs while it waits in `live`'s queue, each way (the queue's byte bound counts these).
        let asSpans = batches.reduce(0) { $0 + $1.reduce(0) { $0 + $1.approximateBytes } }
        let asPacked = batches.reduce(0) { $0 + PackedSpans(packing: $1).approximateBytes }
        print("waiting: \(asSpans / max(1, total)) bytes a span as Span values, \(asPacked / max(1, total)) packed")
        print("path | store spans/s (median) | packing spans/s on the decoding thread (median) | runs: store spans/s")
        var results: [Path: (store: [Double], pack: [Double])] = [:]
        for _ in 0..<max(1, runs) {
            for path in path {
                let (store, pack) = measure(path, batches: batches, total: total)
                results[path, default: ([], [])].store.append(store)
                if let pack { results[path, default: ([], [])].pack.append(pack) }
            }
        }
        for path in path {
            guard let r = results[path] else { continue }
            let pack = r.pack.isEmpty ? "-" : String(Int(median(r.pack)))
            print("\(path.rawValue) | \(Int(median(r.store))) | \(pack) | \(r.store.map { String(Int($0)) }.joined(separator: " "))")
        }
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Store spans/s (adding and taking changes), and packing spans/s for `packed`.
    private func measure(_ path: Path, batches: [[Span]], total: Int) -> (Double, Double?) {
        var store = TraceStore()
        var changes = TraceStoreChanges()
        let clock = ContinuousClock()
        var storeTime = Duration.zero
        var packTime: Duration?
        var sinceTick = 0
        func take() {
            changes = TraceStoreChanges()
            store.takeChanges(limit: .max, into: &changes)
        }
        switch path {
        case .spans:
            storeTime = clock.measure {
                for batch in batches {
                    store.add(contentsOf: batch)
                    sinceTick += batch.count
                    if sinceTick >= tick { take(); sinceTick = 0 }
                }
                take()
            }
        case .packed:
            var packed: [PackedSpans] = []
            packed.reserveCapacity(batches.count)
            packTime = clock.measure {
                for batch in batches { packed.append(PackedSpans(packing: batch)) }
            }
            storeTime = clock.measure {
                for piece in packed {
                    store.add(piece)
                    sinceTick += piece.count
                    if sinceTick >= tick { take(); sinceTick = 0 }
                }
                take()
            }
        }
        precondition(store.counters.spansAccepted == total, "the store took \(store.counters.spansAccepted) of \(total)")
        return (Double(total) / seconds(storeTime), packTime.map { Double(total) / seconds($0) })
    }
}
