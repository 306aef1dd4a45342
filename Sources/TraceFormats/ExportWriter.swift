#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TraceModel

/// The file formats traces export to.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// OTLP JSON lines (the Collector file exporter's format): one
    /// `TracesData` line per trace, split every `ExportWriter.maxSpansPerLine` spans.
    case otlp
    /// Jaeger query/UI JSON (`{"data":[…]}`), one document, one entry per trace.
    case jaeger
}

/// What an export wrote.
public struct ExportSummary: Sendable, Equatable {
    /// Non-empty traces written.
    public var traces: Int
    public var spans: Int
    /// Bytes in the file.
    public var bytes: Int

    public init(traces: Int, spans: Int, bytes: Int) {
        self.traces = traces
        self.spans = spans
        self.bytes = bytes
    }
}

/// Why an export wrote nothing. Whatever the case, an existing file at the
/// target path is as it was.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target exists and overwriting was not asked for.
    case exists(path: String)
    case isDirectory(path: String)
    /// No temporary file could be made next to the target (missing or read-only directory, …).
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// The finished temporary file could not be moved over the target.
    case renameFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .exists(let path): return "\(path) exists (use --force to overwrite)"
        case .isDirectory(let path): return "\(path) is a directory"
        case .cannotCreate(let path, let reason): return "\(path): cannot create: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): write failed: \(reason)"
        case .renameFailed(let path, let reason): return "\(path): cannot replace: \(reason)"
        }
    }
}

/// Writes traces to a file atomically: into a hidden temporary file in the
/// target's directory (same file system, so the rename is atomic), fsync'd,
/// then renamed over the target and the directory fsync'd. A reader (or a
/// crash) sees the old file or the whole new one, never a part; on any
/// failure the temporary file is removed and the old file is untouched.
///
/// Without `overwrite` an existing target is refused, checked first (before
/// any work) and again atomically when the file is put in place (`link(2)`,
/// which fails if the name exists), so a file that appears meanwhile is not
/// clobbered either. With `overwrite` the new file keeps the old one's
/// permission bits; a new file gets 0666 less the umask, as any created file.
/// A symbolic link at the target is replaced by the file, not followed.
///
/// The path `-` writes to standard output (not atomic; `overwrite` does not apply).
public enum ExportWriter {
    /// Spans per OTLP line: keeps a line of a huge trace well under the
    /// readers' line limit (`DumpLimits.maxLineBytes`), as `DumpWriter` does.
    public static let maxSpansPerLine = 1000
    /// Encoded bytes held before they are written out: a large export does
    /// not sit in memory whole.
    static let flushThreshold = 1 << 20

    public static func write(traces: [[Span]], format: ExportFormat, to path: String,
                             overwrite: Bool) throws(ExportError) -> ExportSummary {
        try write(traces: traces, format: format, to: path, overwrite: overwrite, hooks: Hooks())
    }

    /// The encoded file in memory (what `write` puts on disk).
    public static func encode(traces: [[Span]], format: ExportFormat) -> [UInt8] {
        var all: [UInt8] = []
        stream(traces: traces, format: format) { chunk in all.append(contentsOf: chunk) }
        return all
    }

    /// Test seams: a write failure after some bytes (no portable way to make
    /// a disk fill up, and root writes into read-only directories), and a
    /// look at the temporary file just before it is put in place.
    struct Hooks {
        var failWriteAfterBytes: Int? = nil
        var beforeRename: ((_ temporaryPath: String) -> Void)? = nil
    }

    static func write(traces: [[Span]], format: ExportFormat, to path: String, overwrite: Bool,
                      hooks: Hooks) throws(ExportError) -> ExportSummary {
        guard !path.isEmpty else { throw .cannotCreate(path: path, reason: "empty path") }
        if path == "-" {
            var out = FileOutput(fd: STDOUT_FILENO, path: path, failAfter: hooks.failWriteAfterBytes)
            let counts = try streamToFile(traces: traces, format: format, into: &out)
            return ExportSummary(traces: counts.traces, spans: counts.spans, bytes: out.written)
        }

        var existing = stat()
        let exists = lstat(path, &existing) == 0
        if exists {
            if (existing.st_mode & S_IFMT) == S_IFDIR { throw .isDirectory(path: path) }
            if !overwrite { throw .exists(path: path) }
        }

        let (directory, base) = split(path)
        let (fd, temporary) = try createTemporary(directory: directory, base: base, target: path)
        if exists && (existing.st_mode & S_IFMT) == S_IFREG {
            _ = fchmod(fd, existing.st_mode & 0o7777)  // best effort: the content matters more than the bits
        }

        var out = FileOutput(fd: fd, path: path, failAfter: hooks.failWriteAfterBytes)
        let counts: (traces: Int, spans: Int)
        do throws(ExportError) {
            counts = try streamToFile(traces: traces, format: format, into: &out)
            // The data must be on disk before the name points at it, or a
            // crash could leave the target empty.
            if fsync(fd) != 0 && errno != EINVAL {
                throw .writeFailed(path: path, reason: "fsync: \(errorText(errno))")
            }
        } catch {
            posixClose(fd)
            unlink(temporary)
            throw error
        }
        if close(fd) != 0 && errno != EINTR {
            let reason = errorText(errno)
            unlink(temporary)
            throw .writeFailed(path: path, reason: "close: \(reason)")
        }

        hooks.beforeRename?(temporary)
        try publish(temporary, as: path, overwrite: overwrite)
        syncDirectory(directory)
        return ExportSummary(traces: counts.traces, spans: counts.spans, bytes: out.written)
    }

    /// Encodes `traces`, handing `emit` a chunk whenever about
    /// `flushThreshold` bytes are ready, and the rest at the end.
    @discardableResult
    static func stream(traces: [[Span]], format: ExportFormat,
                       emit: ([UInt8]) -> Void) -> (traces: Int, spans: Int) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(flushThreshold + (flushThreshold >> 2))
        var traceCount = 0
        var spanCount = 0
        func flushIfFull() {
            if buffer.count >= flushThreshold {
                emit(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        switch format {
        case .otlp:
            for trace in traces where !trace.isEmpty {
                traceCount += 1
                spanCount += trace.count
                var start = 0
                while start < trace.count {
                    let end = min(trace.count, start + maxSpansPerLine)
                    OTLPJSONEncoder.encode(Array(trace[start..<end]), into: &buffer)
                    buffer.append(ASCII.newline)
                    start = end
                    flushIfFull()
                }
            }
        case .jaeger:
            buffer.append(contentsOf: JaegerJSONEncoder.documentHead)
            for trace in traces where !trace.isEmpty {
                if traceCount > 0 { buffer.append(ASCII.comma) }
                traceCount += 1
                spanCount += trace.count
                JaegerJSONEncoder.encodeTrace(trace, into: &buffer)
                flushIfFull()
            }
            buffer.append(contentsOf: JaegerJSONEncoder.documentTail)
        }
        if !buffer.isEmpty { emit(buffer) }
        return (traceCount, spanCount)
    }

    /// `stream` into a file; the first write error stops the writing and is thrown.
    private static func streamToFile(traces: [[Span]], format: ExportFormat,
                                     into out: inout FileOutput) throws(ExportError) -> (traces: Int, spans: Int) {
        var failure: ExportError? = nil
        let counts = stream(traces: traces, format: format) { chunk in
            guard failure == nil else { return }
            do throws(ExportError) { try out.write(chunk) } catch { failure = error }
        }
        if let failure { throw failure }
        return counts
    }

    /// A new, empty, exclusively created file next to the target. Hidden
    /// (leading dot) so that listings do not show a file in progress.
    private static func createTemporary(directory: String, base: String,
                                        target: String) throws(ExportError) -> (Int32, String) {
        var lastError: Int32 = EEXIST
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let candidate = directory + "/." + base + ".tracetty-" + suffix + ".tmp"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { return (fd, candidate) }
            lastError = errno
            if lastError != EEXIST && lastError != EINTR { break }
        }
        throw .cannotCreate(path: target, reason: "temporary file in \(directory): \(errorText(lastError))")
    }

    /// Puts the finished file at `path`. Overwriting, `rename(2)` replaces
    /// the target atomically. Not overwriting, `link(2)` fails rather than
    /// replace a file that appeared since the first check; on file systems
    /// without hard links the check is repeated and `rename(2)` used.
    private static func publish(_ temporary: String, as path: String, overwrite: Bool) throws(ExportError) {
        if !overwrite {
            if link(temporary, path) == 0 {
                unlink(temporary)
                return
            }
            let failure = errno
            if failure == EEXIST {
                unlink(temporary)
                throw .exists(path: path)
            }
            var info = stat()
            if lstat(path, &info) == 0 {
                unlink(temporary)
                throw .exists(path: path)
            }
            // EPERM / ENOTSUP / EOPNOTSUPP / EMLINK: no hard links here; fall through to rename.
        }
        if rename(temporary, path) != 0 {
            let reason = errorText(errno)
            unlink(temporary)
            throw .renameFailed(path: path, reason: reason)
        }
    }

    /// Makes the new name durable (best effort: not every file system allows it).
    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        posixClose(fd)
    }

    /// (directory, last component): `a/b.json` -> (`a`, `b.json`), `b.json` -> (`.`, `b.json`), `/b` -> (`/`, `b`).
    static func split(_ path: String) -> (directory: String, base: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
        let directory = slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
        return (directory, String(trimmed[trimmed.index(after: slash)...]))
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// A descriptor being written, counting bytes and retrying short writes.
private struct FileOutput {
    let fd: Int32
    let path: String
    var failAfter: Int?
    private(set) var written = 0

    init(fd: Int32, path: String, failAfter: Int?) {
        self.fd = fd
        self.path = path
        self.failAfter = failAfter
    }

    mutating func write(_ bytes: [UInt8]) throws(ExportError) {
        var chunk = bytes[...]
        if let limit = failAfter, written + chunk.count > limit {
            chunk = chunk.prefix(max(0, limit - written))
        }
        let total = chunk.count
        var done = 0
        let failure: Int32? = chunk.withUnsafeBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            while done < total {
                let n = posixWrite(fd, base + done, total - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return nil
        }
        written += done
        if let failure { throw .writeFailed(path: path, reason: ExportWriter.errorText(failure)) }
        if total < bytes.count { throw .writeFailed(path: path, reason: ExportWriter.errorText(ENOSPC)) }
    }
}
