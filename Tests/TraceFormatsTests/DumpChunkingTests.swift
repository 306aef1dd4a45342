import Testing
import TraceModel
@testable import TraceFormats

/// Regression tests from the `dump` fuzz target (Fuzz/Targets/dump.swift):
/// the format detector must decide on what the bytes say, not on where the
/// reader's chunks happen to end, so a file read in 4 MiB chunks (or from a
/// pipe) and the same bytes decoded in memory report the same thing.
struct DumpChunkingTests {
    struct Outcome: Equatable {
        var spans: [UInt64]
        var lines: Int
        var issues: [String]
        var format: DumpFormat?
    }

    /// As `DumpReader.read`, with the input cut into `chunks` (used in turn).
    static func parse(_ bytes: [UInt8], chunks: [Int], limits: DumpLimits) -> Outcome {
        let parser = DumpParser(source: "t", limits: limits)
        let inflater = Gzip.isGzip(bytes) ? GzipInflater() : nil
        var spans: [Span] = []
        var offset = 0
        var i = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count && !parser.isStopped {
                let n = min(chunks[i % chunks.count], raw.count - offset)
                i += 1
                let piece = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])
                offset += n
                if let inflater {
                    if !inflater.inflate(piece, sink: { parser.feed($0) }) { break }
                } else {
                    parser.feed(piece)
                }
                spans += parser.takeSpans()
            }
        }
        parser.finish(inflater: inflater)
        spans += parser.takeSpans()
        return Outcome(spans: spans.map(\.spanID.raw), lines: parser.lineCount,
                       issues: parser.issues.map(\.description), format: parser.format)
    }

    static let limits = DumpLimits(maxLineBytes: 200, maxDocumentBytes: 2000, maxIssueRecords: 3, decodeThreads: 1)

    static func line(_ id: UInt64) -> [UInt8] {
        OTLPJSONEncoder.encodeLine([Span.stub(id: id, attributes: [Attribute("pad", .string(String(repeating: "p", count: 100)))])])
    }

    static func expectSameInAnyChunks(_ bytes: [UInt8], limits: DumpLimits = limits,
                                      sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let whole = parse(bytes, chunks: [bytes.count + 1], limits: limits)
        // The chunk sizes of the fuzzer's finding (flags 0x02: small limits, one thread), and others.
        for chunks in [[256, 16, 65, 4], [1], [7, 300], [199], [201]] {
            #expect(parse(bytes, chunks: chunks, limits: limits) == whole, "chunks \(chunks)", sourceLocation: sourceLocation)
            var threads = limits
            threads.decodeThreads = 2
            threads.decodePieceBytes = 64
            #expect(parse(bytes, chunks: chunks, limits: threads) == whole, "chunks \(chunks), 2 threads", sourceLocation: sourceLocation)
        }
        return whole
    }

    /// Found by the fuzzer on the seed OTLP lines with small limits: a first
    /// line longer than `maxLineBytes` was a document when it arrived in
    /// pieces (its end not seen within the bound) but lines, each "longer than
    /// 200 bytes", when it arrived whole.
    @Test func firstLineLongerThanTheBound() {
        let bytes = Self.line(1) + [0x0A] + Self.line(2) + [0x0A]
        #expect(Self.line(1).count > 200)
        let outcome = Self.expectSameInAnyChunks(bytes)
        #expect(outcome.format == .otlpJSON)
        #expect(outcome.spans == [1, 2])
        #expect(outcome.issues == [])
    }

    /// The same when line 1 alone does not decide (a pretty-printed start)
    /// and the line that would decide is past the bound.
    @Test func decidingLineLongerThanTheBound() {
        let second = Self.line(3)
        let bytes = Array("{\"resourceSpans\":[\n".utf8) + Array(second.dropFirst(18).dropLast(1)) + Array("\n]}\n".utf8)
        let outcome = Self.expectSameInAnyChunks(bytes)
        #expect(outcome.format == .otlpJSON)
    }

    /// Blank lines longer together than the bound before the first value:
    /// they were dropped (and not counted) when they came in pieces, counted
    /// when whole; now counted either way, as lines.
    @Test func blanksLongerThanTheBoundBeforeTheFirstValue() {
        let bytes = [UInt8](repeating: 0x0A, count: 300) + [0x20, 0x09, 0x0D, 0x0A] + Array(#"{"resourceSpans":[}"#.utf8) + [0x0A]
        let outcome = Self.expectSameInAnyChunks(bytes)
        #expect(outcome.format == .otlpJSONLines)
        #expect(outcome.lines == 302)
        #expect(outcome.issues == ["t:302: expected '{', found '}' at column 19"])
    }

    /// Found by the fuzzer (flags 0x05: two threads, gzip; chunks of 8, 64,
    /// 2, 256 bytes): a gzip file whose content is not a dump. Read in chunks,
    /// the reader stops at the first byte and the unread rest of the stream
    /// was reported as "gzip stream truncated" (at line 0); inflated whole it
    /// was not. The stream's verdict is only asked for when the parser read
    /// to the end.
    @Test func gzipOfUnrecognisedContentIsNotTruncated() {
        let payload: [UInt8] = [
            0x0F, 0x40, 0x03, 0x7B, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3A, 0x5B, 0x7B, 0x01, 0xFF, 0x5B,
        ] + Array(#"{"traceId":"961facc76d5fe21c0094ab49d50f11f9","id":"e3211e37bdbeb6dd","name":"server-1","kind":"SERVER","timestamp":1795821746331108,"duration""traceID":"961facc76d5fe21c0094ab49d50f11f9","spans":[{"#.utf8)
        let outcome = Self.expectSameInAnyChunks(Gzip.compress(payload), limits: DumpLimits(decodeThreads: 1))
        #expect(outcome.issues == [])
        #expect(outcome.lines == 0)
    }

    /// The same for a document over its bound: one issue, not two.
    @Test func gzipOfADocumentOverTheBoundHasOneIssue() {
        var document = Array("{\"data\":[\n".utf8)
        for i in 0..<400 {
            document += Array("{\"traceID\":\"\(String(UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15, radix: 16))\"},\n".utf8)
        }
        document += Array("{}]}\n".utf8)
        let bytes = Gzip.compress(document)
        let outcome = Self.expectSameInAnyChunks(bytes)
        #expect(outcome.issues == ["t:1: document larger than 2000 bytes; not read"])
    }
}
