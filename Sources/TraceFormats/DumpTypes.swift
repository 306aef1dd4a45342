import TraceModel

/// A dump's wire format, found by content.
public enum DumpFormat: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case otlpJSONLines, otlpJSON, jaegerJSON, jaegerJSONLines, zipkinJSON, zipkinJSONLines

    /// A human name, e.g. for the status bar.
    public var name: String {
        switch self {
        case .otlpJSONLines: return "OTLP JSON lines"
        case .otlpJSON: return "OTLP JSON"
        case .jaegerJSON: return "Jaeger JSON"
        case .jaegerJSONLines: return "Jaeger JSON lines"
        case .zipkinJSON: return "Zipkin v2 JSON"
        case .zipkinJSONLines: return "Zipkin v2 JSON lines"
        }
    }

    public var description: String { name }

    var family: FormatFamily {
        switch self {
        case .otlpJSONLines, .otlpJSON: return .otlp
        case .jaegerJSON, .jaegerJSONLines: return .jaeger
        case .zipkinJSON, .zipkinJSONLines: return .zipkin
        }
    }
}

enum FormatFamily: Sendable {
    case otlp, jaeger, zipkin

    func format(lines: Bool) -> DumpFormat {
        switch self {
        case .otlp: return lines ? .otlpJSONLines : .otlpJSON
        case .jaeger: return lines ? .jaegerJSONLines : .jaegerJSON
        case .zipkin: return lines ? .zipkinJSONLines : .zipkinJSON
        }
    }
}

/// One skipped line, document or span: `seed.ndjson:17: expected ',' or '}', found 'x' at column 80`.
public struct DumpIssue: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The file name as given (`-` for standard input).
    public var file: String
    /// 1-based line.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}

public struct DumpProgress: Sendable, Equatable {
    /// Bytes read from the file (compressed bytes for gzip).
    public var bytesRead: Int
    /// File size, nil for standard input and other non-regular files.
    public var totalBytes: Int?
    public var spans: Int
    public var issues: Int

    public init(bytesRead: Int, totalBytes: Int?, spans: Int, issues: Int) {
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.spans = spans
        self.issues = issues
    }

    /// 0...1 when the size is known.
    public var fraction: Double? {
        guard let totalBytes, totalBytes > 0 else { return nil }
        return min(1, Double(bytesRead) / Double(totalBytes))
    }
}

public struct DumpReadSummary: Sendable, Equatable {
    public var format: DumpFormat
    public var gzip: Bool
    /// Spans handed over.
    public var spans: Int
    /// Lines seen (of the decompressed text).
    public var lines: Int
    /// Every issue, including those beyond `issues`.
    public var issueCount: Int
    /// The first `DumpLimits.maxIssueRecords` issues.
    public var issues: [DumpIssue]
}

/// The file as a whole could not be read.
public enum DumpError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    case empty(path: String)
    case unrecognized(path: String, hint: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
        case .readFailed(let path, let reason): return "\(path): read failed: \(reason)"
        case .empty(let path): return "\(path): empty file"
        case .unrecognized(let path, let hint): return "\(path): not a trace dump: \(hint)"
        case .writeFailed(let path, let reason): return "\(path): write failed: \(reason)"
        }
    }
}

/// Bounds that keep hostile or broken input from costing unbounded memory.
public struct DumpLimits: Sendable, Equatable {
    public var maxLineBytes: Int
    /// A multi-line document (pretty-printed JSON) is held whole; this bounds it.
    public var maxDocumentBytes: Int
    public var maxDepth: Int
    public var maxIssueRecords: Int
    /// Bytes read at a time. Each read is resident twice (the read buffer
    /// and the line buffer) and its spans once more, decoded, until the
    /// store takes them: 1 MiB, not 4, took 10 MiB off the peak of loading
    /// a million spans (BENCHMARKS.md), at no cost in speed.
    public var chunkBytes: Int
    /// Threads that decode the lines of a line-per-record dump, the reading
    /// thread one of them (`DecodeQueue`); 0: one per core this process may
    /// run on (`ProcessorCount.available`). Spans still come out in file order.
    public var decodeThreads: Int
    /// With more than one decode thread, complete lines are handed over in
    /// pieces of about this many bytes (small only in tests). Each piece
    /// wakes a decode thread, which on two cores often takes the reading
    /// thread's core from it: 512 KiB, not 256, loaded a million spans
    /// ~10% faster (BENCHMARKS.md), with the same peak.
    public var decodePieceBytes: Int

    public init(maxLineBytes: Int = 64 << 20, maxDocumentBytes: Int = 1 << 30, maxDepth: Int = 64,
                maxIssueRecords: Int = 1000, chunkBytes: Int = 1 << 20, decodeThreads: Int = 0,
                decodePieceBytes: Int = 512 << 10) {
        self.maxLineBytes = maxLineBytes
        self.maxDocumentBytes = maxDocumentBytes
        self.maxDepth = maxDepth
        self.maxIssueRecords = maxIssueRecords
        self.chunkBytes = chunkBytes
        self.decodeThreads = decodeThreads
        self.decodePieceBytes = max(decodePieceBytes, 1)
    }

    /// `decodeThreads` with 0 resolved.
    public var effectiveDecodeThreads: Int {
        decodeThreads > 0 ? decodeThreads : ProcessorCount.available
    }
}

/// A syntax or semantic error in an in-memory body, located by line and column.
public struct JSONDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    /// 1-based byte column, nil for semantic errors about a whole span.
    public var column: Int?
    public var reason: String

    public init(line: Int, column: Int?, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// `3: expected ':', found '}' at column 12`, the form issues use after the file name.
    public var description: String {
        column.map { "\(line): \(reason) at column \($0)" } ?? "\(line): \(reason)"
    }
}
