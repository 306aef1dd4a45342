#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import TraceModel

/// A growable byte buffer on malloc'd memory, so lines can be handed to the
/// scanner as raw pointers without Array copies or bounds checks.
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(count + bytes.count)
        (base + count).update(from: src.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    func removeFirst(_ n: Int) {
        guard n > 0 else { return }
        if n >= count { count = 0; return }
        memmove(base, base + n, count - n)
        count -= n
    }

    func removeAll() { count = 0 }

    /// Fills the rest of the buffer from `read` (given the memory after
    /// what the buffer holds and its room, it returns the bytes written, or
    /// a negative error).
    func fillRest(_ read: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
        let n = read(UnsafeMutableRawPointer(base + count), capacity - count)
        count += max(0, min(n, capacity - count))
        return n
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// The format-detecting, line-splitting core shared by `DumpReader` and
/// `DumpDecoder`: fed decompressed chunks, it decodes each complete line (or,
/// for a pretty-printed document, the whole text at the end) and collects
/// spans and issues.
final class DumpParser {
    let source: String
    let limits: DumpLimits
    let ctx: DecodeContext

    private enum Mode { case undecided, lines, document, stopped }
    private var mode = Mode.undecided
    private let buffer: ByteBuffer
    private var skippingLongLine = false

    private(set) var lineCount = 0
    private(set) var issues: [DumpIssue] = []
    private(set) var issueCount = 0
    private(set) var records = 0
    private(set) var family: FormatFamily? = nil
    private(set) var sawContent = false
    private(set) var unrecognizedHint: String? = nil
    private(set) var spansHandedOver = 0
    /// Lines decoded straight into the packed form (`OTLPJSONPacker`).
    private(set) var linesPackedFromBytes = 0

    /// Threads decoding lines; 1: all on the caller's thread.
    private let parallelism: Int
    /// Lines being decoded on other threads, oldest first; merged in file order.
    private var inFlight: [LineJob] = []
    /// Those of `inFlight` no thread has started, and the helper threads that take them.
    private lazy var decodeQueue = DecodeQueue(helpers: parallelism - 1)
    /// Pieces' buffers back from merged jobs, for the next pieces: a fresh
    /// buffer of a piece's size is mapped anew and faulted in page by page.
    private var spareBuffers: [ByteBuffer] = []
    /// Merged pieces' decode contexts, for the next pieces: a context's
    /// string caches are ~200 KB to set up and tear down, which on the
    /// reading thread cost more than a piece's storing of its strings.
    private var spareContexts: [DecodeContext] = []

    /// A parser for a piece of whole lines, on a context of an earlier piece when there is one.
    private func pieceParser() -> DumpParser {
        DumpParser(source: source, limits: limits, linesOnly: true, packs: packs, context: spareContexts.popLast())
    }

    /// Spans are handed over packed for the store (`takePackedBatches`),
    /// pieces' spans packed on the threads that decoded them.
    let packs: Bool

    /// `linesOnly`: the input is known to be whole lines of records (a piece
    /// of a line-per-record dump); decoded on the caller's thread.
    init(source: String, limits: DumpLimits, linesOnly: Bool = false, packs: Bool = false, context: DecodeContext? = nil) {
        self.source = source
        self.limits = limits
        self.packs = packs
        ctx = context ?? DecodeContext(maxDepth: limits.maxDepth)
        buffer = ByteBuffer(capacity: linesOnly ? 16 : 1 << 16)  // a piece's lines are read in place
        parallelism = linesOnly ? 1 : max(1, limits.effectiveDecodeThreads)
        if linesOnly { mode = .lines }
    }

    var isStopped: Bool { mode == .stopped }
    var pendingSpans: Int { ctx.spans.count + mergedCount + builder.count }
    /// Pieces' spans merged in file order, each piece's array as it came:
    /// handed on whole, not copied into one array (on the reading thread,
    /// copying and freeing every span was a tenth of a load's work).
    private var merged: [[Span]] = []
    private var mergedCount = 0
    /// The same when packing: pieces packed where they were decoded.
    private var mergedPacked: [PackedSpans] = []
    /// A piece's spans packed by the thread that decoded it (`packs`).
    fileprivate var packed = PackedSpans()
    /// When packing: the spans decoded since the last take, in file order
    /// (`ctx.spans` holds only those a document or a line just decoded).
    private var builder = PackedSpans.Builder()

    /// The format, once something was recognised.
    var format: DumpFormat? {
        guard let family else { return nil }
        return family.format(lines: mode == .lines && records != 1)
    }

    /// Everything decoded since the last take, as one array.
    func takeSpans() -> [Span] {
        let batches = takeSpanBatches()
        if batches.count == 1 { return batches[0] }
        return Array(batches.joined())
    }

    /// Everything decoded since the last take, in file order, as the
    /// batches it came in.
    func takeSpanBatches() -> [[Span]] {
        var out = merged
        var count = mergedCount
        merged = []
        mergedCount = 0
        if !ctx.spans.isEmpty {
            count += ctx.spans.count
            out.append(ctx.spans)
            ctx.spans = []
        }
        spansHandedOver += count
        return out
    }

    /// Everything decoded since the last take, packed for the store, in
    /// file order, in the batches `takeSpanBatches` would give.
    func takePackedBatches() -> [PackedSpans] {
        var out = mergedPacked
        var count = mergedCount
        mergedPacked = []
        mergedCount = 0
        if builder.count > 0 || !ctx.spans.isEmpty {
            let batch = takeBuilt()
            count += batch.count
            out.append(batch)
        }
        spansHandedOver += count
        return out
    }

    /// What this parser decoded since the last take, as one batch.
    private func takeBuilt() -> PackedSpans {
        moveDecodedSpans()
        return builder.finish()
    }

    /// Appends the spans in `ctx.spans` (decoded as `Span` values) to the builder.
    private func moveDecodedSpans() {
        guard !ctx.spans.isEmpty else { return }
        ctx.spans.withUnsafeBufferPointer { spans in
            for i in spans.indices { builder.append(spans[i]) }
        }
        ctx.spans = []
    }

    /// Packs what this piece's parser decoded, on the thread that decoded it.
    fileprivate func packDecoded() {
        guard packs, builder.count > 0 || !ctx.spans.isEmpty else { return }
        packed = takeBuilt()
    }

    func addIssue(line: Int, reason: String) {
        issueCount += 1
        if issues.count < limits.maxIssueRecords { issues.append(DumpIssue(file: source, line: line, reason: reason)) }
    }

    // MARK: feeding

    func feed(_ chunk: UnsafeRawBufferPointer) {
        switch mode {
        case .stopped:
            return
        case .document:
            if buffer.count + chunk.count > limits.maxDocumentBytes {
                addIssue(line: 1, reason: "document larger than \(limits.maxDocumentBytes) bytes; not read")
                buffer.removeAll()
                mode = .stopped
                return
            }
            buffer.append(chunk)
        case .lines:
            buffer.append(chunk)
            processLines(final: false)
        case .undecided:
            buffer.append(chunk)
            decide(final: false)
            if mode == .lines { processLines(final: false) }
            if mode == .document && buffer.count > limits.maxDocumentBytes {
                addIssue(line: 1, reason: "document larger than \(limits.maxDocumentBytes) bytes; not read")
                buffer.removeAll()
                mode = .stopped
            }
        }
    }

    // MARK: chunks decoded where they lie

    /// Feeds a chunk the caller read and will not touch again until this
    /// parser's jobs are done with it (the jobs hold it; `DumpReader` reuses
    /// a chunk once it is the only holder). Once lines are decided and
    /// decoded on several threads, the chunk's whole lines go to the decode
    /// jobs where they lie, with no copy: on two cores, copying every byte
    /// into the line buffer and again into a piece was a sixth of the
    /// reading thread's work, the thread a load waits on. Only the line
    /// that runs across chunks goes through the buffer. Otherwise the same
    /// as `feed`.
    func feed(stable chunk: ByteBuffer, count: Int? = nil) {
        let n = min(count ?? chunk.count, chunk.count)
        let base = UnsafePointer(chunk.base)
        guard mode == .lines, parallelism > 1 else {
            feed(UnsafeRawBufferPointer(start: base, count: n))
            return
        }
        var at = 0
        if skippingLongLine || (buffer.count > 0 && buffer.base[buffer.count - 1] != ASCII.newline) {
            // The line carried from the last chunk ends at this one's first newline.
            guard let nl = Self.newline(in: base, from: 0, to: n) else {
                feed(UnsafeRawBufferPointer(start: base, count: n))
                return
            }
            at = nl + 1
            if !skippingLongLine && buffer.count + at <= limits.maxLineBytes {
                // Completed in the buffer, it goes to a job below: not decoded
                // here, on the thread the load waits on.
                buffer.append(UnsafeRawBufferPointer(start: base, count: at))
            } else {
                feed(UnsafeRawBufferPointer(start: base, count: at))
            }
            guard mode == .lines, !skippingLongLine, buffer.count == 0 || buffer.base[buffer.count - 1] == ASCII.newline else {
                feed(UnsafeRawBufferPointer(start: base + at, count: n - at))
                return
            }
        }
        // Whole lines waiting in the buffer go first, in order.
        if buffer.count > 0 { submitBufferedLines() }
        let piece = limits.decodePieceBytes
        while at < n {
            // A piece's worth of lines, else the chunk's last whole lines.
            let cut = n - at >= piece ? Self.newline(in: base, from: at + piece - 1, to: n) : nil
            guard let nl = cut ?? Self.lastNewline(in: base, from: at, to: n) else { break }
            submit(LineJob(chunk: chunk, start: base + at, count: nl + 1 - at, parser: pieceParser()))
            at = nl + 1
        }
        // The start of a line that ends in a later chunk (or ends the file).
        if at < n { feed(UnsafeRawBufferPointer(start: base + at, count: n - at)) }
    }

    private static func newline(in base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard start < end, let hit = memchr(base + start, Int32(ASCII.newline), end - start) else { return nil }
        return UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
    }

    /// Whether a chunk fed whole (`feed(stable:)`) would be decoded where it
    /// lies from its first byte: lines decided, decoded on other threads,
    /// no line carried. Then a reader can keep a chunk's last, partial line
    /// back for the next chunk (`DumpReader`), so every chunk starts at a line.
    var takesChunksWhole: Bool { mode == .lines && parallelism > 1 && !skippingLongLine && buffer.count == 0 }

    /// The last newline in `base[start..<end]`, eight bytes at a time from
    /// the end (`memrchr` is not everywhere).
    static func lastNewline(in base: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var i = end
        while i - 8 >= start {
            // Exact per byte: a newline's byte, and only it, gets a clear high bit in `t`.
            let x = UnsafeRawPointer(base + i - 8).loadUnaligned(as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let t = ((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x
            let hits = ~t & 0x8080_8080_8080_8080
            if hits != 0 { return i - 8 + (7 - hits.leadingZeroBitCount / 8) }
            i -= 8
        }
        while i > start {
            i -= 1
            if base[i] == ASCII.newline { return i }
        }
        return nil
    }

    /// The buffer's whole lines as a job of their own (copied: a few lines at most).
    private func submitBufferedLines() {
        let lines = spareBuffers.popLast() ?? ByteBuffer(capacity: buffer.count)
        lines.removeAll()
        lines.append(buffer.bytes)
        buffer.removeAll()
        submit(LineJob(lines: lines, parser: pieceParser()))
    }

    /// Queues a job for the decode threads, after those out, and merges
    /// what is done: at most two pieces per thread out at once, however
    /// much came in one feed (an in-memory body arrives whole).
    private func submit(_ job: LineJob) {
        inFlight.append(job)
        decodeQueue.push(job)
        collectJobs(waitingBeyond: parallelism * 2)
    }

    /// After the last piece of a gzip file (or of a plain one, `inflater`
    /// nil): the parser's end, then the gzip stream's verdict (truncated,
    /// corrupt). When the parser stopped reading on purpose (unrecognised
    /// content, a document over the bound) the rest of the stream was never
    /// inflated, so it has no verdict: the same file gives the same report
    /// whether it was inflated whole (in memory) or in chunks (a file).
    func finish(inflater: GzipInflater?) {
        let gzipIssue = isStopped ? nil : inflater?.finish()
        finish()
        if let gzipIssue { addIssue(line: lineCount + (gzipIssue.contains("truncated") ? 0 : 1), reason: gzipIssue) }
    }

    func finish() {
        if mode == .undecided { decide(final: true) }
        switch mode {
        case .lines: processLines(final: true)
        case .document: parseDocument()
        case .undecided, .stopped: break
        }
        buffer.removeAll()
    }

    // MARK: deciding lines vs document

    /// Decides on what the bytes say, never on how they were cut: a line
    /// that must be seen whole to decide (blanks before the first value,
    /// line 1, the first non-blank line after it) and that is longer than
    /// `maxLineBytes` decides the same whether it came in one piece or many.
    private func decide(final: Bool) {
        let p = buffer.base
        let n = buffer.count
        var i = 0
        if n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { i = 3 }
        while i < n && (p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09) { i += 1 }
        // A sea of blanks: lines (blank ones are skipped, a too-long one is
        // reported), whether the value after it has arrived yet or not.
        guard i <= limits.maxLineBytes else { mode = .lines; return }
        guard i < n else { return }
        sawContent = true
        let c = p[i]
        guard c == ASCII.openBrace || c == ASCII.openBracket else {
            unrecognizedHint = Self.hint(p + i, n - i)
            mode = .stopped
            return
        }
        guard let nl1 = findNewline(from: i) else {
            if final { mode = .lines } else if n > limits.maxLineBytes { mode = .document }
            return
        }
        // A first line longer than a line may be: read as a document (as
        // when its end had not arrived within `maxLineBytes`).
        if nl1 > limits.maxLineBytes { mode = .document; return }
        if isCompleteValue(p + i, nl1 - i) { mode = .lines; return }
        // Line 1 is not a value by itself: pretty-printed, unless line 2 is one.
        var j = nl1 + 1
        while true {
            let lineEnd: Int
            if let nl = findNewline(from: j) {
                if nl > limits.maxLineBytes { mode = .document; return }
                lineEnd = nl
            } else if final {
                lineEnd = n
            } else {
                if n > limits.maxLineBytes { mode = .document }
                return
            }
            var k = j
            while k < lineEnd && (p[k] == 0x20 || p[k] == 0x0D || p[k] == 0x09) { k += 1 }
            if k == lineEnd {
                if lineEnd >= n { mode = final ? .lines : mode; return }
                j = lineEnd + 1
                continue
            }
            let startsValue = p[k] == ASCII.openBrace || p[k] == ASCII.openBracket
            mode = startsValue && isCompleteValue(p + k, lineEnd - k) ? .lines : .document
            return
        }
    }

    private func findNewline(from start: Int) -> Int? {
        guard start < buffer.count else { return nil }
        guard let hit = memchr(buffer.base + start, Int32(ASCII.newline), buffer.count - start) else { return nil }
        return UnsafeMutableRawPointer(hit).assumingMemoryBound(to: UInt8.self) - buffer.base
    }

    private func isCompleteValue(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard var s = JSONScanner(UnsafeRawBufferPointer(start: p, count: n), maxDepth: limits.maxDepth) else { return false }
        do {
            try s.skipValue()
            try s.expectEnd()
            return true
        } catch {
            return false
        }
    }

    static func hint(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        let found = JSONScanner.describe(p[0])
        var hint = "expected OTLP JSON (lines), Jaeger JSON or Zipkin v2 JSON, found \(found) at the start"
        if p[0] < 0x20 || p[0] >= 0x80 {
            hint += " (binary data: OTLP protobuf and Thrift are received over the network, not read as dumps)"
        }
        return hint
    }

    // MARK: lines

    /// With more than one thread, complete lines go to decode jobs (each
    /// a `linesOnly` parser of its own) while the caller reads on and
    /// stores what earlier jobs decoded. Anything done here in line (a line
    /// too long, the last line) first waits for every job, so line numbers
    /// and the order of spans are the same as on one thread.
    private func processLines(final: Bool) {
        if parallelism > 1 && !skippingLongLine {
            submitJobs()
            collectJobs(waitingBeyond: parallelism * 2)
            // Later lines wait while jobs are out; with none out (input that
            // comes in small pieces) they are decoded here as they complete.
            if !inFlight.isEmpty && !final && buffer.count <= limits.maxLineBytes { return }
        }
        collectJobs(waitingBeyond: 0)
        processLinesInline(final: final)
    }

    /// Cuts the buffer's complete lines into jobs of about `decodePieceBytes`;
    /// the rest waits for more input.
    private func submitJobs() {
        let p = buffer.base
        let n = buffer.count
        var start = 0
        let piece = limits.decodePieceBytes
        while n - start >= piece, let nl = findNewline(from: start + piece - 1) {
            let lines = spareBuffers.popLast() ?? ByteBuffer(capacity: piece + piece / 4)
            lines.removeAll()
            lines.append(UnsafeRawBufferPointer(start: p + start, count: nl + 1 - start))
            submit(LineJob(lines: lines, parser: pieceParser()))
            start = nl + 1
        }
        buffer.removeFirst(start)
    }

    /// Merges finished jobs in order. While more than `limit` are out this
    /// thread decodes queued pieces itself until the oldest is done (then
    /// waits for it): it is one of the `parallelism` threads, so the threads
    /// decoding never outnumber the cores and the thread that reads and
    /// stores, which a load waits on, is never the one preempted. (With a
    /// helper a core as well, it got half a core and the cores idled a
    /// quarter of the time.)
    private func collectJobs(waitingBeyond limit: Int) {
        while let oldest = inFlight.first {
            if oldest.done.wait(timeout: .now()) == .timedOut {
                guard inFlight.count > limit else { return }
                if let queued = decodeQueue.take() {
                    queued.run()
                    continue
                }
                oldest.done.wait()
            }
            inFlight.removeFirst()
            merge(oldest.parser)
            oldest.parser.ctx.reset()
            spareContexts.append(oldest.parser.ctx)
            // Not one grown for a long line: that would stay as long as the reader.
            if let lines = oldest.lines, lines.capacity <= 2 * limits.decodePieceBytes { spareBuffers.append(lines) }
        }
    }

    private func merge(_ piece: DumpParser) {
        for issue in piece.issues { addIssue(line: lineCount + issue.line, reason: issue.reason) }
        issueCount += piece.issueCount - piece.issues.count
        lineCount += piece.lineCount
        records += piece.records
        if family == nil { family = piece.family }
        if piece.sawContent { sawContent = true }
        linesPackedFromBytes += piece.linesPackedFromBytes
        if packs {
            let packed = piece.packed
            piece.packed = PackedSpans()
            piece.spansHandedOver += packed.count
            guard !packed.isEmpty else { return }
            // Spans this thread decoded before (a long line) come first.
            if builder.count > 0 || !ctx.spans.isEmpty {
                let own = takeBuilt()
                mergedCount += own.count
                mergedPacked.append(own)
            }
            mergedCount += packed.count
            mergedPacked.append(packed)
            return
        }
        let spans = piece.ctx.spans
        piece.spansHandedOver += spans.count
        piece.ctx.spans = []
        guard !spans.isEmpty else { return }
        // Spans this thread decoded before (a long line) come first.
        if !ctx.spans.isEmpty {
            mergedCount += ctx.spans.count
            merged.append(ctx.spans)
            ctx.spans = []
        }
        mergedCount += spans.count
        merged.append(spans)
    }

    /// Decodes every line of `p[0..<n]` that ends in a newline; returns the
    /// offset just past the last of them.
    func decodeCompleteLines(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        var start = 0
        while start < n, let hit = memchr(p + start, Int32(ASCII.newline), n - start) {
            let nl = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - p
            if skippingLongLine {
                skippingLongLine = false
            } else if nl - start > limits.maxLineBytes {
                addIssue(line: lineCount + 1, reason: "line longer than \(limits.maxLineBytes) bytes")
            } else {
                processLine(p + start, nl - start, line: lineCount + 1)
            }
            lineCount += 1
            start = nl + 1
        }
        return start
    }

    private func processLinesInline(final: Bool) {
        let p = buffer.base
        let n = buffer.count
        var start = decodeCompleteLines(p, n)
        if final && skippingLongLine && start >= n {
            // The file ended inside a line that was too long.
            skippingLongLine = false
            lineCount += 1
        }
        if final && start < n {
            if !skippingLongLine {
                if n - start > limits.maxLineBytes {
                    addIssue(line: lineCount + 1, reason: "line longer than \(limits.maxLineBytes) bytes")
                } else {
                    processLine(p + start, n - start, line: lineCount + 1)
                }
            }
            lineCount += 1
            start = n
        }
        buffer.removeFirst(start)
        if skippingLongLine {
            buffer.removeAll()
        } else if buffer.count > limits.maxLineBytes {
            addIssue(line: lineCount + 1, reason: "line longer than \(limits.maxLineBytes) bytes")
            skippingLongLine = true
            buffer.removeAll()
        }
    }

    private func processLine(_ p: UnsafePointer<UInt8>, _ count: Int, line: Int) {
        var n = count
        if n > 0 && p[n - 1] == 0x0D { n -= 1 }
        guard var s = JSONScanner(UnsafeRawBufferPointer(start: p, count: n), maxDepth: limits.maxDepth) else { return }
        s.skipWhitespace()
        if s.pos == s.end { return }
        sawContent = true
        if packs {
            // The common shape straight into the packed form; anything else
            // is read again below (see `OTLPJSONPacker`).
            let built = builder.mark
            var fast = s
            do throws(JSONFault) {
                try OTLPJSONPacker.decodeRecord(&fast, ctx, into: &builder)
                if family == nil { family = .otlp }
                records += 1
                linesPackedFromBytes += 1
                return
            } catch {
                builder.rollBack(to: built)
            }
        }
        let mark = ctx.spans.count
        ctx.beginRecord()
        defer { if packs { moveDecodedSpans() } }
        do {
            try decodeRecord(&s)
        } catch {
            ctx.spans.removeSubrange(mark...)
            addIssue(line: line, reason: "\(error.message) at column \(error.offset + 1)")
            return
        }
        records += 1
        for issue in ctx.issues { addIssue(line: line, reason: issue.reason) }
    }

    /// Detects the family of the value at `s.pos` and decodes it.
    private func decodeRecord(_ s: inout JSONScanner) throws(JSONFault) {
        var probe = s
        guard let detected = try Self.detect(&probe) else {
            throw JSONFault(message: "not an OTLP, Jaeger or Zipkin record (no resourceSpans, data, traceID or traceId key)", offset: s.pos)
        }
        if family == nil { family = detected }
        try Self.decode(detected, &s, ctx)
        try s.expectEnd()
    }

    static func decode(_ family: FormatFamily, _ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        switch family {
        case .otlp:
            if s.peek() == ASCII.openBracket {
                try s.beginArray()
                var first = true
                while try s.nextElement(&first) { try OTLPJSONReader.decodeTracesData(&s, ctx) }
            } else {
                try OTLPJSONReader.decodeTracesData(&s, ctx)
            }
        case .jaeger: try JaegerJSONReader.decodeTopLevel(&s, ctx)
        case .zipkin: try ZipkinJSONReader.decodeTopLevel(&s, ctx)
        }
    }

    /// Finds the family by the first decisive key of the (first) object.
    static func detect(_ s: inout JSONScanner) throws(JSONFault) -> FormatFamily? {
        guard let c = s.peek() else { throw s.fault("unexpected end of input") }
        if c == ASCII.openBracket {
            try s.beginArray()
            var first = true
            guard try s.nextElement(&first) else { return .zipkin }
            guard s.peek() == ASCII.openBrace else { return nil }
        }
        guard s.peek() == ASCII.openBrace else { throw s.unexpected(expected: "'{' or '['") }
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            switch key {
            case "resourceSpans": return .otlp
            case "data", "traceID", "spanID", "operationName", "spans", "processes", "processID",
                 "references", "startTime", "process", "parentSpanID": return .jaeger
            case "traceId", "id", "parentId", "localEndpoint", "remoteEndpoint", "annotations", "timestamp": return .zipkin
            default: try s.skipValue()
            }
        }
        return nil
    }

    // MARK: document

    private func parseDocument() {
        let p = buffer.base
        let n = buffer.count
        var locator = LineLocator(base: p, count: n)
        lineCount = locator.lineCount
        guard var s = JSONScanner(buffer.bytes, maxDepth: limits.maxDepth) else { return }
        if n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { s.pos = 3 }
        while true {
            s.skipWhitespace()
            if s.pos >= s.end { break }
            let mark = ctx.spans.count
            ctx.beginRecord()
            do throws(JSONFault) {
                var probe = s
                guard let detected = try Self.detect(&probe) else {
                    throw JSONFault(message: "not an OTLP, Jaeger or Zipkin document (no resourceSpans, data, traceID or traceId key)", offset: s.pos)
                }
                if family == nil { family = detected }
                try Self.decode(detected, &s, ctx)
            } catch {
                ctx.spans.removeSubrange(mark...)
                let (line, column) = locator.locate(error.offset)
                addIssue(line: line, reason: "\(error.message) at column \(column)")
                return
            }
            records += 1
            for issue in ctx.issues { addIssue(line: locator.locate(issue.offset).line, reason: issue.reason) }
        }
    }
}

/// Pieces queued for decoding, taken oldest first by up to `helpers` threads
/// of the global dispatch pool, each of which takes pieces until none is
/// left (one wake-up for a run of pieces, not one a piece), and by the
/// reading thread while it waits (`DumpParser.collectJobs`).
final class DecodeQueue: Sendable {
    private struct State {
        /// Taken jobs are nil: a job holds its read chunk, which the reader reuses once no job holds it.
        var pending: [LineJob?] = []
        var next = 0
        var running = 0
    }
    private let state = Mutex(State())
    private let helpers: Int

    init(helpers: Int) { self.helpers = max(1, helpers) }

    func push(_ job: LineJob) {
        let startHelper = state.withLock { state -> Bool in
            state.pending.append(job)
            guard state.running < helpers else { return false }
            state.running += 1
            return true
        }
        if startHelper { DispatchQueue.global(qos: .userInitiated).async { self.drain() } }
    }

    /// The oldest piece no thread has started, now this thread's to run.
    func take() -> LineJob? {
        state.withLock { Self.next(&$0) }
    }

    private static func next(_ state: inout State) -> LineJob? {
        guard state.next < state.pending.count else { return nil }
        let job = state.pending[state.next]
        state.pending[state.next] = nil
        state.next += 1
        // Drop taken jobs now and then, not one by one (`removeFirst` moves the rest).
        if state.next >= 64 && state.next * 2 >= state.pending.count {
            state.pending.removeFirst(state.next)
            state.next = 0
        }
        return job
    }

    private func drain() {
        while let job = state.withLock({ state -> LineJob? in
            if let job = Self.next(&state) { return job }
            state.running -= 1
            return nil
        }) {
            job.run()
        }
    }
}

/// A piece of complete lines and the parser that decodes it on a worker
/// thread. Unchecked because `DumpParser` and `ByteBuffer` are not Sendable:
/// only the thread that took the job from its `DecodeQueue` touches `parser`
/// and `lines` until it signals `done`, and the reading thread touches them
/// only after waiting on `done` (the semaphore orders the two). A read
/// `chunk` is only read by that thread, and nobody writes into it while the
/// job holds it: `DumpReader` reads into a chunk again only when it is the
/// chunk's only holder.
final class LineJob: @unchecked Sendable {
    /// The piece's lines copied (the same rule as `parser`: the worker's
    /// until `done`), nil for lines that lie in a chunk the reader read.
    let lines: ByteBuffer?
    /// The read chunk the lines lie in, held until the job is dropped
    /// (`DumpReader` reads into a chunk again only when it is its only holder).
    let chunk: ByteBuffer?
    let start: UnsafePointer<UInt8>
    let count: Int
    let parser: DumpParser
    let done = DispatchSemaphore(value: 0)

    init(lines: ByteBuffer, parser: DumpParser) {
        self.lines = lines
        chunk = nil
        start = UnsafePointer(lines.base)
        count = lines.count
        self.parser = parser
    }

    init(chunk: ByteBuffer, start: UnsafePointer<UInt8>, count: Int, parser: DumpParser) {
        lines = nil
        self.chunk = chunk
        self.start = start
        self.count = count
        self.parser = parser
    }

    func run() {
        _ = parser.decodeCompleteLines(start, count)
        parser.packDecoded()
        done.signal()
    }
}

/// Byte offset -> (1-based line, 1-based byte column), incremental for increasing offsets.
struct LineLocator {
    let base: UnsafePointer<UInt8>
    let count: Int
    private var scanned = 0
    private var line = 1
    private var lineStart = 0

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    var lineCount: Int {
        var lines = 0
        var i = 0
        while i < count, let hit = memchr(base + i, Int32(ASCII.newline), count - i) {
            lines += 1
            i = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base + 1
        }
        return i < count ? lines + 1 : lines
    }

    mutating func locate(_ offset: Int) -> (line: Int, column: Int) {
        let target = min(max(offset, 0), count)
        if target < scanned { scanned = 0; line = 1; lineStart = 0 }
        while scanned < target, let hit = memchr(base + scanned, Int32(ASCII.newline), target - scanned) {
            let nl = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - base
            line += 1
            lineStart = nl + 1
            scanned = nl + 1
        }
        scanned = target
        return (line, target - lineStart + 1)
    }
}

/// `read(2)` / `write(2)` by a name that does not clash with the methods here.
@inline(__always)
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}

@inline(__always)
func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

@inline(__always)
func posixClose(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
