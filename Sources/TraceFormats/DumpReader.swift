#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TraceModel

/// Reads a trace dump file (or `-` for standard input), detecting the format
/// by content and gzip by magic bytes, streaming it in chunks.
///
/// Line formats hand spans over as lines complete, once per chunk, so a UI can
/// show the first traces while a large file is still loading.
public final class DumpReader {
    public let path: String
    public let limits: DumpLimits

    public init(path: String, limits: DumpLimits = DumpLimits()) {
        self.path = path
        self.limits = limits
    }

    /// Reads the whole file. Malformed lines and spans are skipped and
    /// reported in the summary; only a file that cannot be read at all throws.
    public func read(
        onSpans: ([Span]) -> Void,
        onProgress: (DumpProgress) -> Void = { _ in }
    ) throws(DumpError) -> DumpReadSummary {
        try read(packing: false, onSpans: onSpans, onPacked: { _ in }, onProgress: onProgress)
    }

    /// `read`, with the spans packed for a store (`TraceStore.add(_:)`):
    /// the same batches, each packed on the thread that decoded it.
    public func read(
        onPacked: (PackedSpans) -> Void,
        onProgress: (DumpProgress) -> Void = { _ in }
    ) throws(DumpError) -> DumpReadSummary {
        try read(packing: true, onSpans: { _ in }, onPacked: onPacked, onProgress: onProgress)
    }

    private func read(
        packing: Bool,
        onSpans: ([Span]) -> Void,
        onPacked: (PackedSpans) -> Void,
        onProgress: (DumpProgress) -> Void
    ) throws(DumpError) -> DumpReadSummary {
        let isStdin = path == "-"
        let fd = isStdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { if !isStdin { close(fd) } }

        var info = stat()
        var totalBytes: Int? = nil
        if fstat(fd, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(path: path, reason: "is a directory") }
            if (info.st_mode & S_IFMT) == S_IFREG { totalBytes = Int(info.st_size) }
        }
        #if canImport(Glibc)
        if !isStdin { _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL)) }
        #endif

        let parser = DumpParser(source: path, limits: limits, packs: packing)
        let chunkSize = max(limits.chunkBytes, 4096)
        // Chunks are read into and handed to the parser whole (`feed(stable:)`):
        // its decode jobs hold a chunk while they read its lines, and a chunk
        // is read into again once this is its only holder.
        var chunks: [ByteBuffer] = []
        var inflater: GzipInflater? = nil
        var first = true
        var bytesRead = 0

        func handOver() {
            if packing {
                for batch in parser.takePackedBatches() { onPacked(batch) }
            } else {
                for batch in parser.takeSpanBatches() { onSpans(batch) }
            }
        }

        func progress() -> DumpProgress {
            DumpProgress(bytesRead: bytesRead, totalBytes: totalBytes,
                         spans: parser.spansHandedOver, issues: parser.issueCount)
        }

        // The last chunk's partial last line (its chunk and where it starts),
        // read again at the start of the next chunk: every chunk then starts
        // at a line, and its lines go to decode jobs where they lie.
        var carry: (chunk: ByteBuffer, start: Int)? = nil
        while !parser.isStopped {
            let chunk = Self.freeChunk(&chunks, capacity: chunkSize)
            chunk.removeAll()
            if let carry { chunk.append(UnsafeRawBufferPointer(start: carry.chunk.base + carry.start, count: carry.chunk.count - carry.start)) }
            carry = nil
            let carried = chunk.count
            let n = chunk.fillRest { Self.readFully(fd, $0, $1) }
            if n < 0 { throw .readFailed(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 && carried == 0 { break }
            bytesRead += max(n, 0)
            let piece = chunk.bytes
            if first {
                first = false
                if GzipInflater.isGzip(piece) { inflater = GzipInflater() }
            }
            if let inflater {
                if !inflater.inflate(piece, sink: { parser.feed($0) }) { break }
            } else if n > 0, parser.takesChunksWhole,
                      let nl = DumpParser.lastNewline(in: chunk.base, from: carried, to: chunk.count), nl + 1 < chunk.count {
                parser.feed(stable: chunk, count: nl + 1)
                carry = (chunk, nl + 1)
            } else {
                parser.feed(stable: chunk)
            }
            if parser.pendingSpans > 0 { handOver() }
            onProgress(progress())
        }
        parser.finish(inflater: inflater)
        if parser.pendingSpans > 0 { handOver() }
        onProgress(progress())
        return try Self.summary(parser, path: path, gzip: inflater != nil)
    }

    static func summary(_ parser: DumpParser, path: String, gzip: Bool) throws(DumpError) -> DumpReadSummary {
        if let hint = parser.unrecognizedHint { throw .unrecognized(path: path, hint: hint) }
        guard parser.sawContent else {
            if let first = parser.issues.first { throw .unrecognized(path: path, hint: first.description) }
            throw .empty(path: path)
        }
        guard let format = parser.format else {
            let first = parser.issues.first.map { "; first problem: \($0)" } ?? ""
            throw .unrecognized(path: path, hint: "no OTLP, Jaeger or Zipkin JSON record found\(first)")
        }
        return DumpReadSummary(format: format, gzip: gzip, spans: parser.spansHandedOver, lines: parser.lineCount,
                               issueCount: parser.issueCount, issues: parser.issues)
    }

    /// A chunk no decode job (nor the carried line) holds any more, or a new
    /// one: at most one per job the parser keeps out, and two more.
    private static func freeChunk(_ chunks: inout [ByteBuffer], capacity: Int) -> ByteBuffer {
        for i in chunks.indices where isKnownUniquelyReferenced(&chunks[i]) { return chunks[i] }
        let fresh = ByteBuffer(capacity: capacity)
        chunks.append(fresh)
        return fresh
    }

    /// Reads up to `capacity` bytes, retrying short reads from pipes; -1 on error.
    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        var total = 0
        while total < capacity {
            let n = posixRead(fd, buffer + total, capacity - total)
            if n < 0 {
                if errno == EINTR { continue }
                return total > 0 ? total : -1
            }
            if n == 0 { break }
            total += n
        }
        return total
    }
}

/// Decodes a whole dump held in memory, with the same detection and
/// reporting as `DumpReader`.
public enum DumpDecoder {
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, source: String, limits: DumpLimits = DumpLimits()
    ) throws(DumpError) -> (spans: [Span], summary: DumpReadSummary) {
        let parser = DumpParser(source: source, limits: limits)
        var gzip = false
        if GzipInflater.isGzip(bytes) {
            gzip = true
            let inflater = GzipInflater()
            inflater.inflate(bytes) { parser.feed($0) }
            parser.finish(inflater: inflater)
        } else {
            parser.feed(bytes)
            parser.finish()
        }
        let spans = parser.takeSpans()
        return (spans, try DumpReader.summary(parser, path: source, gzip: gzip))
    }

    public static func decode(
        _ bytes: [UInt8], source: String, limits: DumpLimits = DumpLimits()
    ) throws(DumpError) -> (spans: [Span], summary: DumpReadSummary) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DumpError) in try decode(raw, source: source, limits: limits) }
        }
        return try result.get()
    }
}
