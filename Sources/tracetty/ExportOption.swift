import ArgumentParser
import Foundation
import TraceModel
import TraceFormats

extension ExportFormat: ExpressibleByArgument {}

/// `--output FILE [--export-format otlp|jaeger] [--force]`, shared by `list`
/// and `print`: the traces they would show go to a file instead.
struct ExportOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the traces to this file instead of the screen.", valueName: "file"))
    var output: String?

    @Option(help: "otlp (OTLP JSON lines, what tracetty records) or jaeger (Jaeger UI JSON).")
    var exportFormat: ExportFormat = .otlp

    @Flag(help: "Overwrite the output file if it exists.")
    var force = false

    /// Writes the traces (by id, in this order) through a temporary file and
    /// a rename; reports on standard error. Exit 1 when it cannot be written.
    func export(_ ids: [TraceID], from store: SharedTraceStore, to path: String) throws {
        let traces = store.withStore { s in ids.compactMap { s.traceSpans($0) } }
        do {
            let summary = try ExportWriter.write(traces: traces, format: exportFormat, to: path, overwrite: force)
            printError("tracetty: wrote \(summary.traces) traces (\(summary.spans) spans, \(summary.bytes) bytes) to \(path)")
        } catch {
            printError("tracetty: \(error)")
            throw ExitCode(1)
        }
    }
}
