import ArgumentParser
import Foundation
import TraceModel
import TraceFormats
import TraceExplorer
import TerminalUI

enum ListSort: String, ExpressibleByArgument, CaseIterable {
    case start, duration, spans, errors
}

enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--filter Q`, shared by `list` and `print`: a bad query is exit 2 with its position.
struct FilterOption: ParsableArguments {
    @Option(help: ArgumentHelp("Only traces that match this query, e.g. 'service=server-2 dur>700ms' or '{op=x} > {error}'.",
                               valueName: "query"))
    var filter: String?

    /// The parsed query, or exit 2 with `--filter: position N: expected …`.
    func query() throws -> TraceQuery? {
        guard let filter, !filter.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        do {
            return try TraceQuery.parse(filter)
        } catch {
            printError("tracetty: --filter: \(error)")
            throw ExitCode(2)
        }
    }
}

extension FilterOption {
    /// Drops the summaries of traces that do not match `query` (nil keeps all).
    static func keep(matching query: TraceQuery?, _ summaries: inout [TraceSummary], in store: SharedTraceStore) {
        guard let query else { return }
        let matching = Set(store.withStore { $0.traceIDs(matching: query) })
        summaries.removeAll { !matching.contains($0.traceID) }
    }
}

extension DumpOptions {
    /// Reads every dump to the end with no UI, reporting malformed lines on
    /// stderr. Exit 1 when no span could be read (and, unless
    /// `emptyIsAnError`, some file failed).
    /// `keeping`: only spans of the traces it accepts are stored (`print
    /// --trace`: one trace out of a dump of any size, whatever `--max-spans`).
    func loadWithoutUI(emptyIsAnError: Bool, keeping: (@Sendable (TraceID) -> Bool)? = nil) throws -> (SharedTraceStore, [TraceSummary]) {
        let store = SharedTraceStore(limits: self.store.limits)
        let memory = MemoryWatch(limitBytes: self.store.memory.limitBytes, targets: .init(store: store))
        defer { memory.stop() }
        var sink: (@Sendable ([Span]) -> Void)?
        if let keep = keeping {
            sink = { spans in
                let kept = spans.filter { keep($0.traceID) }
                if !kept.isEmpty { store.add(kept) }
            }
        }
        let loader = DumpLoader(files: files, store: store, sink: sink)
        loader.run()
        for message in loader.issueReports + loader.fileErrors { printError("tracetty: " + message) }
        let summaries = store.summaries()
        // A bound that bites is said, not silent: what follows saw only what was kept.
        let counters = store.counters
        if counters.tracesEvicted > 0 {
            printError("tracetty: \(counters.tracesEvicted) traces (\(counters.spansEvicted) spans) evicted by "
                       + self.store.evictionCause(counters) + ": raise it to keep them")
        }
        if counters.spansRefusedMemory > 0 {
            printError("tracetty: \(counters.spansRefusedMemory) spans refused: their trace alone would pass --max-memory "
                       + Formatting.bytes(memory.limitBytes))
        }
        if keeping != nil { return (store, summaries) }  // the caller says what was not found
        if summaries.isEmpty, emptyIsAnError || !loader.fileErrors.isEmpty {
            printError("tracetty: no spans could be read from \(files.joined(separator: ", "))")
            throw ExitCode(1)
        }
        return (store, summaries)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Print the trace list: one row per trace (start, root service: operation, duration, spans, errors, services, trace id).",
        discussion: """
            --sort start lists the oldest first; duration, spans and errors list the largest first; --reverse flips \
            either. --format json writes one object per trace per line. The exit status is 0 when the files were \
            read, whatever matched; 2 for a bad query.
            """
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Order: start, duration, spans or errors.")
    var sort: ListSort = .start

    @Flag(help: "Reverse the order.")
    var reverse = false

    @Option(help: "At most this many rows.")
    var limit: Int?

    @Option(help: "text (aligned columns) or json (one object per line).")
    var format: ListFormat = .text

    @OptionGroup var export: ExportOption

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() throws {
        let query = try filter.query()
        // Files that read but hold no trace are an empty list, not an error.
        var (store, summaries) = try dump.loadWithoutUI(emptyIsAnError: false)
        FilterOption.keep(matching: query, &summaries, in: store)
        summaries.sort(by: Self.order(sort, reverse: reverse))
        if let limit { summaries = Array(summaries.prefix(limit)) }
        if let path = export.output {
            try export.export(summaries.map(\.traceID), from: store, to: path)
            return
        }
        let out = format == .json
            ? Self.json(summaries)
            : Self.text(summaries, utcOffsetSeconds: dump.store.utcOffsetSeconds)
        StandardStreams.writeOut(out)
    }

    static func order(_ sort: ListSort, reverse: Bool) -> (TraceSummary, TraceSummary) -> Bool {
        // Start: oldest first. The others: largest first. Ties: start, then id.
        func by<T: Comparable>(_ key: @escaping (TraceSummary) -> T, largestFirst: Bool) -> (TraceSummary, TraceSummary) -> Bool {
            { a, b in
                let (ka, kb) = (key(a), key(b))
                let before: Bool
                if ka != kb {
                    before = largestFirst ? ka > kb : ka < kb
                } else if a.startUnixNano != b.startUnixNano {
                    before = a.startUnixNano < b.startUnixNano
                } else {
                    before = a.traceID < b.traceID
                }
                return before != reverse
            }
        }
        switch sort {
        case .start: return by(\.startUnixNano, largestFirst: false)
        case .duration: return by(\.durationNano, largestFirst: true)
        case .spans: return by(\.spanCount, largestFirst: true)
        case .errors: return by(\.errorCount, largestFirst: true)
        }
    }

    /// Aligned columns; names are made safe for a terminal.
    static func text(_ summaries: [TraceSummary], utcOffsetSeconds: Int) -> [UInt8] {
        let rows = summaries.map { s -> [String] in
            [Formatting.timestamp(s.startUnixNano, utcOffsetSeconds: utcOffsetSeconds),
             TerminalText.sanitize(s.rootService.isEmpty ? "?" : s.rootService) + ": " + TerminalText.sanitize(s.rootOperation),
             Formatting.duration(s.durationNano), String(s.spanCount), String(s.errorCount),
             s.services.map(TerminalText.sanitize).joined(separator: ","), s.traceID.hex]
        }
        let header = ["START", "ROOT SERVICE: OPERATION", "DURATION", "SPANS", "ERRORS", "SERVICES", "TRACE ID"]
        let rightAligned: Set<Int> = [2, 3, 4]
        var widths = header.map(DisplayWidth.of)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], DisplayWidth.of(cell)) } }
        // The root column gives way past 60 columns; the rest are short.
        widths[1] = min(widths[1], 60)
        var out = ""
        for row in [header] + rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                let clipped = i == 1 ? TerminalText.truncate(cell, toWidth: widths[1]) : cell
                let pad = String(repeating: " ", count: max(0, widths[i] - DisplayWidth.of(clipped)))
                line += i == 0 ? "" : "  "
                line += rightAligned.contains(i) ? pad + clipped : (i == row.count - 1 ? clipped : clipped + pad)
            }
            out += line + "\n"
        }
        return Array(out.utf8)
    }

    /// One object per line.
    static func json(_ summaries: [TraceSummary]) -> [UInt8] {
        var out: [UInt8] = []
        for s in summaries {
            out.append(contentsOf: #"{"traceId":""#.utf8)
            out.append(contentsOf: s.traceID.hex.utf8)
            out.append(contentsOf: #"","rootService":"#.utf8)
            OTLPJSONEncoder.writeString(s.rootService, into: &out)
            out.append(contentsOf: #","rootOperation":"#.utf8)
            OTLPJSONEncoder.writeString(s.rootOperation, into: &out)
            out.append(contentsOf: #","startUnixNano":\#(s.startUnixNano),"durationNanos":\#(s.durationNano),"spans":\#(s.spanCount),"errors":\#(s.errorCount),"services":["#.utf8)
            for (i, service) in s.services.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                OTLPJSONEncoder.writeString(service, into: &out)
            }
            out.append(contentsOf: "]}\n".utf8)
        }
        return out
    }
}
