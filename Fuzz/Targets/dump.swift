// The dump reader's core: format detection (lines or document, OTLP / Jaeger
// / Zipkin) and line splitting, fed in chunks whose sizes the input picks.
//
// Input: byte 0 = flags (bit 0: two decode threads; bit 1: small limits, so
// long lines, big documents and the issue cap are reached; bit 2: gzip the
// payload and stream it through the inflater as DumpReader does), bytes 1-4 =
// chunk sizes (each + 1, used in turn), the rest = the file's bytes.
// Invariant: fed in those chunks, the parser reports exactly what it reports
// when given the whole file at once on one thread.
@testable import TraceFormats
import TraceModel

enum DumpFuzz: FuzzTarget {
    static let name = "dump"

    struct Outcome: Equatable {
        var spans: [SpanKey]
        var lines: Int
        var issueCount: Int
        var issues: [DumpIssue]
        var format: DumpFormat?
        var sawContent: Bool
        var hint: String?
    }

    static func outcome(_ parser: DumpParser, spans: [Span]) -> Outcome {
        Outcome(spans: keys(spans), lines: parser.lineCount, issueCount: parser.issueCount, issues: parser.issues,
                format: parser.format, sawContent: parser.sawContent, hint: parser.unrecognizedHint)
    }

    static func limits(small: Bool, threads: Int) -> DumpLimits {
        small ? DumpLimits(maxLineBytes: 200, maxDocumentBytes: 2000, maxIssueRecords: 3, decodeThreads: threads, decodePieceBytes: 64)
              : DumpLimits(decodeThreads: threads, decodePieceBytes: 512)
    }

    /// As DumpReader.read, with the chunks cut as told.
    static func chunked(_ file: [UInt8], _ sizes: [Int], _ limits: DumpLimits) -> Outcome {
        let parser = DumpParser(source: "fuzz", limits: limits)
        var spans: [Span] = []
        var inflater: GzipInflater? = nil
        var offset = 0
        var i = 0
        file.withUnsafeBytes { raw in
            while offset < raw.count && !parser.isStopped {
                // DumpReader's reads fill whole chunks of at least 4096 bytes, so
                // its first piece always holds the gzip magic's two bytes.
                let n = min(offset == 0 ? max(sizes[0], 2) : sizes[i % sizes.count], raw.count - offset)
                i += 1
                let piece = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])
                if offset == 0 && GzipInflater.isGzip(piece) { inflater = GzipInflater() }
                offset += n
                if let inflater {
                    if !inflater.inflate(piece, sink: { parser.feed($0) }) { break }
                } else {
                    parser.feed(piece)
                }
                if parser.pendingSpans > 0 { spans += parser.takeSpans() }
            }
        }
        parser.finish(inflater: inflater)
        spans += parser.takeSpans()
        return outcome(parser, spans: spans)
    }

    /// As DumpDecoder.decode: the whole file in one feed.
    static func whole(_ file: [UInt8], _ limits: DumpLimits) -> Outcome {
        let parser = DumpParser(source: "fuzz", limits: limits)
        file.withUnsafeBytes { raw in
            if GzipInflater.isGzip(raw) {
                let inflater = GzipInflater()
                inflater.inflate(raw) { parser.feed($0) }
                parser.finish(inflater: inflater)
            } else {
                parser.feed(raw)
                parser.finish()
            }
        }
        return outcome(parser, spans: parser.takeSpans())
    }

    static func seeds() -> [[UInt8]] {
        let spans = sampleSpans()
        let grouped = traces(spans)
        var files: [[UInt8]] = []
        files.append(grouped.flatMap { OTLPJSONEncoder.encodeLine($0) + [0x0A] })
        files.append(JaegerJSONEncoder.encode(traces: grouped))
        files.append(grouped.flatMap { JaegerJSONEncoder.encode(traces: [$0]) + [0x0A] })
        files.append(ZipkinJSONEncoder.encode(spans))
        files.append(grouped.flatMap { ZipkinJSONEncoder.encode($0) + [0x0A] })
        // Pretty-printed-ish: a newline after every `,"` (never inside a string).
        let jaeger = JaegerJSONEncoder.encode(traces: grouped)
        var pretty: [UInt8] = []
        for (i, b) in jaeger.enumerated() {
            pretty.append(b)
            if b == UInt8(ascii: ","), i + 1 < jaeger.count, jaeger[i + 1] == UInt8(ascii: "\"") { pretty.append(0x0A) }
        }
        files.append(pretty)
        var seeds: [[UInt8]] = []
        for (n, file) in files.enumerated() {
            seeds.append([UInt8(n % 8), 0xFF, 0x0F, 0x40, 0x03] + file)
            seeds.append([UInt8(n % 2) | 4, 0x07, 0x3F, 0x01, 0xFF] + file)
        }
        return seeds
    }

    static func check(_ input: [UInt8]) {
        guard input.count >= 5 else { return }
        let flags = input[0]
        let sizes = input[1...4].map { Int($0) + 1 }
        var file = Array(input[5...])
        if flags & 4 != 0 { file = Gzip.compress(file) }
        let small = flags & 2 != 0
        let threads = flags & 1 != 0 ? 2 : 1
        let reference = whole(file, limits(small: small, threads: 1))
        let got = chunked(file, sizes, limits(small: small, threads: threads))
        if got != reference {
            fuzzFail("""
                chunks of \(sizes) on \(threads) thread(s) (small limits: \(small), gzip: \(flags & 4 != 0)) differ from one feed:
                  chunked: \(got.spans.count) spans, \(got.lines) lines, \(got.issueCount) issues \(got.issues), format \(String(describing: got.format)), content \(got.sawContent), hint \(got.hint ?? "-")
                  whole:   \(reference.spans.count) spans, \(reference.lines) lines, \(reference.issueCount) issues \(reference.issues), format \(String(describing: reference.format)), content \(reference.sawContent), hint \(reference.hint ?? "-")
                """)
        }
    }
}
