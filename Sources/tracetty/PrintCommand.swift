import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer
import TerminalUI

struct PrintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Write trace waterfalls as plain text (for pipes, CI logs and plain SSH sessions).",
        discussion: """
            Names, services and tags come from the network: control characters, escape sequences, bidi \
            controls and invisible characters are written escaped (ESC as \\x1b, U+202E as \\u{202e}), in \
            JSON as \\uXXXX, so the output is safe on a terminal and through `less -R`.
            """
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Only this trace (16 or 32 hex digits).")
    var trace: String?

    @Option(help: "Line width in columns (default: the terminal's, else 120).")
    var width: Int?

    @Option(help: "text: waterfalls (or tables); json: one object per trace per line.")
    var format: ListFormat = .text

    @Flag(help: "Mark the critical path (Jaeger's algorithm): solid on it, shaded off it, each span's time on it.")
    var criticalPath = false

    @OptionGroup var export: ExportOption

    @Flag(help: "Print Jaeger's trace statistics table instead of the waterfall.")
    var stats = false

    @Option(help: "Group the statistics by service, operation, or both.")
    var groupBy: StatsGrouping = .service

    @Flag(help: ArgumentHelp("Write names as received, escape sequences and all (text format): only for piping into tools, never to a terminal."))
    var raw = false

    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("Compare two traces by span path (A then B, ids of 16 or 32 hex digits).", valueName: "A B"))
    var compare: [String] = []

    func validate() throws {
        for id in [trace].compactMap({ $0 }) + compare where !(id.count == 16 || id.count == 32) || TraceID(hex: id) == nil {
            throw ValidationError("a trace id wants 16 or 32 hex digits, got '\(id)'")
        }
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
        if !compare.isEmpty && compare.count != 2 { throw ValidationError("--compare wants two trace ids, got \(compare.count)") }
        if !compare.isEmpty && (stats || trace != nil) {
            throw ValidationError("--compare cannot be combined with --stats or --trace")
        }
    }

    var rawTimes: Bool { dump.store.rawTimes }

    func run() throws {
        let query = try filter.query()
        // One trace asked for: only its spans are kept, so a dump of any size finds it.
        let wanted = [trace].compactMap { $0 } + compare
        let keeping: (@Sendable (TraceID) -> Bool)? = wanted.isEmpty ? nil : Self.matcher(wanted)
        var (store, summaries) = try dump.loadWithoutUI(emptyIsAnError: true, keeping: keeping)
        summaries.sort { ($0.startUnixNano, $0.traceID) < ($1.startUnixNano, $1.traceID) }
        let columns = width ?? TerminalSize.columns() ?? 120
        let offset = dump.store.utcOffsetSeconds
        if compare.count == 2 {
            let a = try find(compare[0], in: summaries, store: store)
            let b = try find(compare[1], in: summaries, store: store)
            try printComparison(a, b, store: store, width: columns)
            return
        }
        var selected = summaries
        if let trace {
            selected = [try find(trace, in: summaries, store: store)]
        }
        FilterOption.keep(matching: query, &selected, in: store)
        if let path = export.output {
            try export.export(selected.map(\.traceID), from: store, to: path)
            return
        }
        var output = ""
        for (i, summary) in selected.enumerated() {
            guard let raw = store.trace(summary.traceID) else { continue }
            let analysis = TraceAnalysis(trace: raw)
            let trace = rawTimes ? raw : analysis.skew.trace
            let path = rawTimes ? analysis.rawCriticalPath : analysis.criticalPath
            switch (format, stats ? groupBy : nil) {
            case (.json, let grouping?):
                output += PrintJSON.statistics(TraceStatistics(trace: trace, grouping: grouping.grouping), trace: trace) + "\n"
            case (.json, nil):
                output += PrintJSON.trace(trace, criticalPath: criticalPath ? path : nil,
                                          shifts: rawTimes ? nil : analysis.skew.shiftBySpan) + "\n"
            case (.text, let grouping?):
                if i > 0 { output += "\n" }
                let table = TraceStatistics(trace: trace, grouping: grouping.grouping)
                for line in StatisticsView.plainText(table, trace: trace, width: columns, utcOffsetSeconds: offset, rawText: self.raw) {
                    output += line + "\n"
                }
            case (.text, nil):
                if i > 0 { output += "\n" }
                let lines = WaterfallView.plainText(trace, width: columns, utcOffsetSeconds: offset,
                                                    criticalPath: criticalPath ? path : nil,
                                                    shifts: rawTimes ? nil : analysis.skew.shiftBySpan, rawText: self.raw)
                for line in lines { output += line + "\n" }
                if !rawTimes, analysis.skew.shiftedCount > 0 {
                    output += "clock skew: \(analysis.skew.shiftedCount) span\(analysis.skew.shiftedCount == 1 ? "" : "s") shifted (~); --raw-times shows the times as received\n"
                }
            }
            if output.utf8.count > 1 << 20 {
                StandardStreams.writeOut(output)
                output = ""
            }
        }
        StandardStreams.writeOut(output)
    }

    /// A trace by id; a 64-bit id also finds a 128-bit trace by its low half.
    func find(_ text: String, in summaries: [TraceSummary], store: SharedTraceStore) throws -> TraceSummary {
        if let id = TraceID(hex: text) {
            if let hit = summaries.first(where: { $0.traceID == id }) { return hit }
            if text.count == 16, let hit = summaries.first(where: { $0.traceID.low == id.low }) { return hit }
        }
        let counters = store.counters
        let evicted = counters.tracesEvicted > 0
            ? ", \(counters.tracesEvicted) evicted by \(dump.store.evictionCause(counters)): raise it" : ""
        printError("tracetty: no trace \(text) in \(dump.files.joined(separator: ", "))\(evicted)")
        throw ExitCode(1)
    }

    /// Accepts the trace ids asked for: 32 digits exactly, 16 digits by the low half as well.
    static func matcher(_ texts: [String]) -> @Sendable (TraceID) -> Bool {
        var exact = Set<TraceID>()
        var lows = Set<UInt64>()
        for text in texts {
            guard let id = TraceID(hex: text) else { continue }
            exact.insert(id)
            if text.count == 16 { lows.insert(id.low) }
        }
        let (full, low) = (exact, lows)
        return { id in full.contains(id) || low.contains(id.low) }
    }

    func printComparison(_ a: TraceSummary, _ b: TraceSummary, store: SharedTraceStore, width: Int) throws {
        guard let traceA = store.trace(a.traceID), let traceB = store.trace(b.traceID) else { throw ExitCode(1) }
        let comparison = TraceComparison(a: traceA, b: traceB)
        var output = ""
        switch format {
        case .text:
            for line in CompareView.plainText(comparison, a: a, b: b, width: width, rawText: self.raw) { output += line + "\n" }
        case .json:
            output = PrintJSON.comparison(comparison, a: a, b: b) + "\n"
        }
        StandardStreams.writeOut(output)
    }
}

enum StatsGrouping: String, ExpressibleByArgument, CaseIterable {
    case service, operation, both

    var grouping: TraceStatistics.Grouping {
        switch self {
        case .service: return .service
        case .operation: return .operation
        case .both: return .serviceAndOperation
        }
    }
}

/// A line to stderr. Messages quote what came from the network (a service
/// name, a malformed request's path), so they are sanitized as the UI is.
func printError(_ message: String) {
    StandardStreams.writeError(TerminalText.sanitize(message) + "\n")
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
