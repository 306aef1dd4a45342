import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer

enum StatsGroupBy: String, ExpressibleByArgument, CaseIterable {
    case service, operation
}

/// `tracetty stats`: the latency view's table (count, errors, p50/p90/p99/max
/// per service and operation, from HdrHistogram) or, with `--graph`, who
/// calls whom; for scripts and CI.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Latency per service and operation (count, errors, p50, p90, p99, max), or --graph: who calls whom.",
        discussion: """
            Percentiles come from HdrHistogram with 3 significant digits (nearest rank; the value reported is the \
            top of its bucket, at most 0.1% above the exact percentile). --by service prints the service rows \
            only; --by operation (the default) each service's row then its operations.
            """
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Rows per service, or per service and operation.")
    var by: StatsGroupBy = .operation

    @Option(help: "text (aligned columns) or json (one object per line).")
    var format: ListFormat = .text

    @Flag(help: "The service graph instead: each caller -> callee edge with its calls, errors and p50.")
    var graph = false

    @Option(help: "Line width for text (default: the terminal's, else 120).")
    var width: Int?

    func run() throws {
        let query = try filter.query()
        let (store, _) = try dump.loadWithoutUI(emptyIsAnError: true)
        let columns = width ?? TerminalSize.columns() ?? 120
        var out = ""
        if graph {
            let graph = store.withStore { $0.serviceGraph(matching: query) }
            switch format {
            case .text: out = ServiceGraphView.plainText(graph: graph, width: columns).joined(separator: "\n") + "\n"
            case .json:
                for edge in graph.edges {
                    out += "{\"parent\":\(PrintJSON.string(edge.parent)),\"child\":\(PrintJSON.string(edge.child)),\"calls\":\(edge.calls),"
                        + "\"errors\":\(edge.errors),\"p50Nanos\":\(edge.p50),\"query\":\(PrintJSON.string(edge.query))}\n"
                }
            }
        } else {
            let index = store.withStore { $0.latencyIndex(matching: query) }
            let rows = index.rows(by: by == .service ? .service : .operation)
            switch format {
            case .text: out = LatencyView.plainText(rows: rows, width: columns).joined(separator: "\n") + "\n"
            case .json:
                for row in rows {
                    out += "{\"service\":\(PrintJSON.string(row.key.service)),\"operation\":\(row.key.operation.map(PrintJSON.string) ?? "null"),"
                        + "\"count\":\(row.count),\"errors\":\(row.errors),\"p50Nanos\":\(row.p50),\"p90Nanos\":\(row.p90),"
                        + "\"p99Nanos\":\(row.p99),\"maxNanos\":\(row.max)}\n"
                }
            }
        }
        StandardStreams.writeOut(out)
    }
}
