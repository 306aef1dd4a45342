import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer

struct PrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Write trace waterfalls as plain text (for pipes, CI logs and plain SSH sessions)."
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Only this trace (16 or 32 hex digits).")
    var trace: String?

    @Option(help: "Line width in columns (default: the terminal's, else 120).")
    var width: Int?

    func validate() throws {
        if let trace, !(trace.count == 16 || trace.count == 32) || TraceID(hex: trace) == nil {
            throw ValidationError("--trace wants 16 or 32 hex digits, got '\(trace)'")
        }
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
    }

    func run() throws {
        let query = try filter.query()
        var (store, summaries) = try dump.loadWithoutUI(emptyIsAnError: true)
        summaries.sort { ($0.startUnixNano, $0.traceID) < ($1.startUnixNano, $1.traceID) }
        var selected = summaries
        if let trace, let id = TraceID(hex: trace) {
            selected = summaries.filter { $0.traceID == id }
            if selected.isEmpty, trace.count == 16 {
                // A 64-bit id also finds a 128-bit trace by its low half.
                selected = summaries.filter { $0.traceID.low == id.low }
            }
            if selected.isEmpty {
                printError("tracetty: no trace \(trace) in \(dump.files.joined(separator: ", ")) (\(summaries.count) traces read)")
                throw ExitCode(1)
            }
        }
        FilterOption.keep(matching: query, &selected, in: store)
        let columns = width ?? TerminalSize.columns() ?? 120
        let offset = dump.store.utcOffsetSeconds
        var output = ""
        for (i, summary) in selected.enumerated() {
            guard let trace = store.trace(summary.traceID) else { continue }
            if i > 0 { output += "\n" }
            for line in WaterfallView.plainText(trace, width: columns, utcOffsetSeconds: offset) {
                output += line + "\n"
            }
            if output.utf8.count > 1 << 20 {
                FileHandle.standardOutput.write(Data(output.utf8))
                output = ""
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

enum TerminalSize {
    /// The terminal's width when stdout is one.
    static func columns() -> Int? {
        var size = winsize()
        guard isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 else {
            return nil
        }
        return Int(size.ws_col)
    }
}
