import Foundation
import Testing
import TraceModel
@testable import TraceFormats

struct DumpReaderTests {
    static func otlpLine(_ spans: [Span]) -> String {
        String(decoding: OTLPJSONEncoder.encodeLine(spans), as: UTF8.self)
    }

    @Test func malformedLinesAreSkippedAndReportedExactly() throws {
        let good1 = Self.otlpLine([Span.stub(id: 1)])
        let good2 = Self.otlpLine([Span.stub(id: 2), Span.stub(id: 3, parent: 2)])
        let missingComma = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000000a" "spanId":"0000000000000001"}]}]}]}"#
        let badIDs = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000000a","spanId":"0000000000000009"},{"traceId":"abc","spanId":"0000000000000001"}]}]}]}"#
        let truncated = #"{"resourceSpans":["#
        let notTraces = #"{"foo":1}"#
        let text = [String(good1.dropLast()), missingComma, String(good2.dropLast()), badIDs, truncated, "", "   ", notTraces, "[1,2]"].joined(separator: "\n") + "\r\n"
        let (spans, summary) = try decodeText(text, source: "seed.ndjson")
        #expect(spans.map(\.spanID.raw) == [1, 2, 3, 9])
        #expect(summary.format == .otlpJSONLines)
        #expect(summary.lines == 9)
        #expect(summary.issueCount == 5)
        #expect(summary.issues.map(\.description) == [
            "seed.ndjson:2: expected ',' or '}', found '\"' at column 90",
            "seed.ndjson:4: span 2: traceId is not 32 hex digits",
            "seed.ndjson:5: unexpected end of input at column 19",
            "seed.ndjson:8: not an OTLP, Jaeger or Zipkin record (no resourceSpans, data, traceID or traceId key) at column 1",
            "seed.ndjson:9: not an OTLP, Jaeger or Zipkin record (no resourceSpans, data, traceID or traceId key) at column 1",
        ])
        #expect(summary.issues[0] == DumpIssue(file: "seed.ndjson", line: 2, reason: "expected ',' or '}', found '\"' at column 90"))
    }

    @Test func malformedFirstLineStillLoadsTheRest() throws {
        let good = Self.otlpLine([Span.stub(id: 1)])
        let (spans, summary) = try decodeText(#"{"resourceSpans":[{"#  + "\n" + good + good)
        #expect(spans.count == 2)
        #expect(summary.format == .otlpJSONLines)
        #expect(summary.issues.map(\.description) == ["t.ndjson:1: unexpected end of input at column 20"])
    }

    @Test func prettyDocumentErrorsCarryLineAndColumn() throws {
        let text = "{\n  \"resourceSpans\": [\n    {\"scopeSpans\": [] \"x\"}\n  ]\n}\n"
        let (spans, summary) = try decodeText(text, source: "doc.json")
        #expect(spans.isEmpty)
        #expect(summary.format == .otlpJSON)
        #expect(summary.issues.map(\.description) == ["doc.json:3: expected ',' or '}', found '\"' at column 23"])
    }

    @Test func nestingDepthIsBounded() throws {
        let deep = #"{"x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + #","resourceSpans":[]}"#
        let good = Self.otlpLine([Span.stub(id: 5)])
        let (spans, summary) = try decodeText(good + deep + "\n" + good)
        #expect(spans.count == 2)
        #expect(summary.issues.map(\.description) == ["t.ndjson:2: nesting deeper than 64 at column 69"])
        // The same bound for a body decoder, and a custom bound.
        #expect(throws: JSONDecodeError(line: 1, column: 69, reason: "nesting deeper than 64")) {
            try OTLPJSONDecoder.decode(Array(deep.utf8))
        }
        let (_, shallow) = try decodeText(good + #"{"x":[[[[[[[[[[1]]]]]]]]]],"resourceSpans":[]}"#, limits: DumpLimits(maxDepth: 10))
        #expect(shallow.issues.map(\.description) == ["t.ndjson:2: nesting deeper than 10 at column 15"])
    }

    @Test func longLinesAreBounded() throws {
        let good = Self.otlpLine([Span.stub(id: 1)])
        let long = #"{"resourceSpans":[],"pad":""# + String(repeating: "x", count: 5000) + "\"}"
        let limits = DumpLimits(maxLineBytes: 2000, chunkBytes: 1000)
        let text = good + long + "\n" + good + long
        let (spans, summary) = try decodeText(text, limits: limits)
        #expect(spans.count == 2)
        #expect(summary.issues.map(\.description) == ["t.ndjson:2: line longer than 2000 bytes", "t.ndjson:4: line longer than 2000 bytes"])
        let path = try temporaryFile(Array(text.utf8))
        let read = try readFile(path, limits: limits)
        #expect(read.spans.count == 2)
        #expect(read.summary.issues.map(\.description) == [
            "\(path):2: line longer than 2000 bytes", "\(path):4: line longer than 2000 bytes",
        ])
        #expect(read.summary.lines == 4)
    }

    @Test func issueRecordsAreBoundedButAllCounted() throws {
        let text = String(repeating: "{\"resourceSpans\":x}\n", count: 50)
        let (_, summary) = try decodeText(Self.otlpLine([Span.stub(id: 1)]) + text, limits: DumpLimits(maxIssueRecords: 10))
        #expect(summary.issueCount == 50)
        #expect(summary.issues.count == 10)
    }

    @Test func emptyUnreadableAndUnrecognisedFiles() throws {
        for content in ["", "  \n\n \t\n"] {
            let path = try temporaryFile(Array(content.utf8))
            #expect(throws: DumpError.empty(path: path)) { try readFile(path) }
        }
        #expect(throws: DumpError.empty(path: "gz")) { try DumpDecoder.decode(Gzip.compress([]), source: "gz") }
        #expect(throws: DumpError.cannotOpen(path: "/nonexistent/x.json", reason: "No such file or directory")) {
            try readFile("/nonexistent/x.json")
        }
        let binary = try temporaryFile([0x08, 0x12, 0x00, 0xff])
        #expect(throws: DumpError.unrecognized(path: binary, hint: "expected OTLP JSON (lines), Jaeger JSON or Zipkin v2 JSON, found byte 0x08 at the start (binary data: OTLP protobuf and Thrift are received over the network, not read as dumps)")) {
            try readFile(binary)
        }
        #expect(throws: DumpError.unrecognized(path: "x", hint: "no OTLP, Jaeger or Zipkin JSON record found; first problem: x:1: not an OTLP, Jaeger or Zipkin record (no resourceSpans, data, traceID or traceId key) at column 1")) {
            try DumpDecoder.decode(Array(#"{"a":1}"#.utf8), source: "x")
        }
    }

    @Test func gzipFilesStreamAndReportTruncation() throws {
        var generator = SyntheticTraces(seed: 7)
        var traces: [[Span]] = []
        for _ in 0..<60 { traces.append(generator.nextTrace()) }
        let text = traces.map { Self.otlpLine($0) }.joined()
        let all = traces.flatMap { $0 }
        // Multi-member: two gzip members back to back.
        let half = text.utf8.count / 2
        let bytes = Array(text.utf8)
        let gz = Gzip.compress(Array(bytes[..<half])) + Gzip.compress(Array(bytes[half...]))
        let path = try temporaryFile(gz, name: "dump.ndjson.gz")
        let read = try readFile(path, limits: DumpLimits(chunkBytes: 4096))
        #expect(read.summary.gzip)
        #expect(read.summary.format == .otlpJSONLines)
        #expect(read.summary.issueCount == 0)
        #expect(read.spans == all)
        #expect(read.batches > 1)
        #expect(read.progress.last == DumpProgress(bytesRead: gz.count, totalBytes: gz.count, spans: all.count, issues: 0))

        // Cut the trailer: every line decompressed, the stream reported truncated.
        let single = Gzip.compress(bytes)
        let (spans, summary) = try DumpDecoder.decode(Array(single.dropLast(8)), source: "cut.gz")
        #expect(spans == all)
        #expect(summary.issues.map(\.description) == ["cut.gz:60: gzip stream truncated (unexpected end of file)"])
        // Cut in the middle: the lines before load, the broken tail is reported.
        let cutPath = try temporaryFile(Array(single.prefix(single.count / 2)), name: "cut.gz")
        let cut = try readFile(cutPath)
        #expect(cut.spans.count > 0 && cut.spans.count < all.count)
        #expect(cut.summary.issues.last?.reason == "gzip stream truncated (unexpected end of file)")
        // Garbage after a member.
        let (_, trailing) = try DumpDecoder.decode(single + [1, 2, 3, 4], source: "t.gz")
        #expect(trailing.issues.last?.reason.hasPrefix("corrupt gzip data") == true)
    }

    @Test func progressAndBatchesWhileStreaming() throws {
        var generator = SyntheticTraces(seed: 3)
        var text = ""
        var count = 0
        for _ in 0..<200 { let t = generator.nextTrace(); count += t.count; text += Self.otlpLine(t) }
        let path = try temporaryFile(Array(text.utf8))
        let read = try readFile(path, limits: DumpLimits(chunkBytes: 16 * 1024))
        #expect(read.spans.count == count)
        #expect(read.batches > 10)
        #expect(read.progress.count >= text.utf8.count / (16 * 1024))
        #expect(read.progress.map(\.bytesRead) == read.progress.map(\.bytesRead).sorted())
        #expect(read.progress.last?.fraction == 1)
        #expect(read.summary.lines == 200)
    }

    enum Case: String, CaseIterable, Sendable {
        case otlpLines, otlpPretty, otlpCompactDocument, jaegerPretty, jaegerTraceLines, jaegerSpanLines, zipkinPretty, zipkinLines
    }

    static func content(_ c: Case) -> (text: String, format: DumpFormat, spans: Int) {
        let seed = SyntheticTraces.seedTrace()
        let seed2 = SyntheticTraces.seedTrace(traceID: TraceID(high: 1, low: 2), name: "bob")
        switch c {
        case .otlpLines: return (otlpLine(seed) + otlpLine(seed2), .otlpJSONLines, 6)
        case .otlpPretty: return (prettyJSON(OTLPJSONEncoder.encodeLine(seed)), .otlpJSON, 3)
        case .otlpCompactDocument: return (String(otlpLine(seed).dropLast()), .otlpJSON, 3)
        case .jaegerPretty:
            return (prettyJSON(Array(#"{"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"2","operationName":"a","startTime":1,"duration":1,"processID":"p1"}],"processes":{"p1":{"serviceName":"s"}}}],"total":0}"#.utf8)), .jaegerJSON, 1)
        case .jaegerTraceLines:
            let line = #"{"traceID":"1","spans":[{"traceID":"1","spanID":"2","operationName":"a","startTime":1,"duration":1,"processID":"p1"}],"processes":{"p1":{"serviceName":"s"}}}"#
            return (line + "\n" + line.replacingOccurrences(of: #""1""#, with: #""3""#) + "\n", .jaegerJSONLines, 2)
        case .jaegerSpanLines:
            let line = #"{"traceID":"1","spanID":"2","operationName":"a","startTime":1,"duration":1,"process":{"serviceName":"s"}}"#
            return (line + "\n" + line.replacingOccurrences(of: #""2""#, with: #""4""#), .jaegerJSONLines, 2)
        case .zipkinPretty:
            return (prettyJSON(Array(#"[{"traceId":"0000000000000001","id":"0000000000000002","name":"a","timestamp":1,"duration":2},{"traceId":"0000000000000001","id":"0000000000000003","name":"b"}]"#.utf8)), .zipkinJSON, 2)
        case .zipkinLines:
            let line = #"{"traceId":"0000000000000001","id":"0000000000000002","name":"a","timestamp":1,"duration":2}"#
            return (line + "\n" + line + "\n" + line + "\n", .zipkinJSONLines, 3)
        }
    }

    @Test(arguments: Case.allCases, [false, true])
    func detectsFormatByContent(_ c: Case, gzipped: Bool) throws {
        let (text, format, count) = Self.content(c)
        var bytes = Array(text.utf8)
        if gzipped { bytes = Gzip.compress(bytes) }
        let path = try temporaryFile(bytes, name: "no-extension")
        let read = try readFile(path, limits: DumpLimits(chunkBytes: 4096))
        #expect(read.summary.format == format)
        #expect(read.summary.gzip == gzipped)
        #expect(read.summary.issueCount == 0, "\(read.summary.issues)")
        #expect(read.spans.count == count)
        let inMemory = try DumpDecoder.decode(bytes, source: "mem")
        #expect(inMemory.spans == read.spans)
        #expect(inMemory.summary.format == format)
    }

    @Test func prettyOTLPDocumentMatchesTheSeed() throws {
        let seed = SyntheticTraces.seedTrace()
        let (spans, summary) = try decodeText("\u{FEFF}" + prettyJSON(OTLPJSONEncoder.encodeLine(seed)))
        #expect(summary.format == .otlpJSON)
        #expect(spans == seed)
    }
}

struct SyntheticTracesTests {
    @Test func deterministicBySeed() {
        var a = SyntheticTraces(seed: 11), b = SyntheticTraces(seed: 11), c = SyntheticTraces(seed: 12)
        let ta = (0..<120).map { _ in a.nextTrace() }
        let tb = (0..<120).map { _ in b.nextTrace() }
        let tc = (0..<120).map { _ in c.nextTrace() }
        #expect(ta == tb)
        #expect(ta != tc)
        #expect(ta[49].count == 501)
        #expect(ta[96].count == 200)
        #expect(zip(ta[96].dropFirst(), ta[96]).allSatisfy { $0.parentSpanID == $1.spanID })
        #expect(ta.contains { t in t.count == 3 && t.contains { $0.isError } })
        #expect(ta.filter { $0.count == 3 }.allSatisfy { Set($0.map(\.traceID)).count == 1 })
    }

    @Test func seedTraceShape() {
        let spans = SyntheticTraces.seedTrace()
        #expect(spans.map(\.name) == ["server-1", "server-1_to_server-2", "server-2"])
        #expect(spans.map(\.serviceName) == ["server-1", "server-1", "server-2"])
        #expect(spans.map(\.kind) == [.server, .client, .server])
        #expect(spans[1].parentSpanID == spans[0].spanID && spans[2].parentSpanID == spans[1].spanID)
        #expect(spans[0].attribute("http.url") == .string("/alice"))
        #expect(spans[0].attribute("http.status_code") == .int(200))
        #expect(spans[1].startTimeUnixNano - spans[0].startTimeUnixNano == 250_377_575)
        #expect(spans[0].durationNano == 750_909_443)
        #expect(spans[2].events.first?.name == "handling request")
        #expect(spans.allSatisfy { !$0.isError })
        let failing = SyntheticTraces.seedTrace(error: true)
        #expect(failing[0].isError)
        #expect(failing[0].status.code == .error)
        #expect(failing[0].attribute("error") == .bool(true))
        #expect(failing[2].events.contains { $0.name == "exception" })
    }

    /// Lines decoded on several threads come out as on one: the same spans
    /// in the same order, the same issues at the same line numbers, with
    /// malformed, blank, CRLF and too-long lines mixed in, plain and gzip.
    @Test func decodingOnSeveralThreadsMatchesOneThread() throws {
        let bytes = Self.mixedLines()
        for gzip in [false, true] {
            let path = try temporaryFile(gzip ? Gzip.compress(bytes) : bytes, name: gzip ? "mixed.ndjson.gz" : "mixed.ndjson")
            let one = try readFile(path, limits: DumpLimits(maxLineBytes: 2_500, chunkBytes: 8_192, decodeThreads: 1))
            #expect(one.spans.count > 3_000)
            #expect(one.summary.issueCount == 41 + 41 + 40)  // i % 37 == 5, 13, 21 below 1,500
            for threads in [2, 4] {
                for piece in [1, 700, 5_000] {
                    let many = try readFile(path, limits: DumpLimits(maxLineBytes: 2_500, chunkBytes: 8_192,
                                                                     decodeThreads: threads, decodePieceBytes: piece))
                    #expect(many.spans == one.spans, "threads \(threads), piece \(piece), gzip \(gzip)")
                    #expect(many.summary == one.summary, "threads \(threads), piece \(piece), gzip \(gzip)")
                    #expect(many.progress.last?.spans == one.spans.count)
                }
            }
            // The in-memory decoder takes the same path.
            let memory = try DumpDecoder.decode(bytes, source: path, limits: DumpLimits(maxLineBytes: 2_500, decodeThreads: 3, decodePieceBytes: 4_096))
            #expect(memory.spans == one.spans)
            #expect(memory.summary.issues == one.summary.issues)
        }
    }

    /// Lines decoded where they lie in the chunks the reader read
    /// (`feed(stable:)`) come out as on one thread when lines run across two
    /// and more chunks, a too-long one across several, when a chunk is all
    /// one line, and when the file ends without a newline or in a too-long line.
    @Test func linesAcrossChunksDecodeAsOnOneThread() throws {
        var generator = SyntheticTraces(seed: 5)
        var lines: [String] = []
        for i in 0..<400 {
            switch i % 23 {
            case 4: lines.append(#"{"resourceSpans":[],"pad":""# + String(repeating: "z", count: 13_000) + "\"}")
            case 11: lines.append(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"x"}]}]}]}"#)
            default: lines.append(String(DumpReaderTests.otlpLine(generator.nextTrace()).dropLast()))
            }
        }
        let long = #"{"resourceSpans":[],"pad":""# + String(repeating: "q", count: 9_000) + "\"}"
        for ending in ["\n", "", "\n" + long, "\n" + long + "\n"] {
            let bytes = Array((lines.joined(separator: "\n") + ending).utf8)
            let path = try temporaryFile(bytes, name: "across.ndjson")
            let one = try readFile(path, limits: DumpLimits(maxLineBytes: 12_000, chunkBytes: 4_096, decodeThreads: 1))
            #expect(one.spans.count > 1_000 && one.summary.issueCount >= 17 + 17)
            for (threads, piece, chunk) in [(2, 1, 4_096), (2, 3_000, 4_096), (3, 100_000, 4_096), (2, 700, 65_536), (4, 20_000, 1 << 20)] {
                let many = try readFile(path, limits: DumpLimits(maxLineBytes: 12_000, chunkBytes: chunk,
                                                                 decodeThreads: threads, decodePieceBytes: piece))
                let comment: Comment = "threads \(threads), piece \(piece), chunk \(chunk), ending \(ending.count)"
                #expect(many.spans == one.spans, comment)
                #expect(many.summary == one.summary, comment)
                #expect(many.progress.last?.spans == one.spans.count, comment)
            }
        }
    }

    /// OTLP lines of small traces with malformed, blank, CRLF and too-long
    /// (past 2,500 bytes) lines mixed in.
    static func mixedLines() -> [UInt8] {
        var generator = SyntheticTraces(seed: 11)
        // Small traces only, so only the padded lines pass the line bound.
        func small() -> [Span] {
            var trace = generator.nextTrace()
            while trace.count > 20 { trace = generator.nextTrace() }
            return trace
        }
        var lines: [String] = []
        for i in 0..<1_500 {
            switch i % 37 {
            case 5: lines.append(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"x"}]}]}]}"#)
            case 9: lines.append("")
            case 13: lines.append(#"{"resourceSpans":["#)
            case 21: lines.append(#"{"resourceSpans":[],"pad":""# + String(repeating: "y", count: 3_000) + "\"}")
            case 30: lines.append(String(DumpReaderTests.otlpLine(small()).dropLast()) + "\r")
            default: lines.append(String(DumpReaderTests.otlpLine(small()).dropLast()))
            }
        }
        return Array(lines.joined(separator: "\n").utf8)
    }

    /// Spans packed for the store where they were decoded fill a store as
    /// the decoded spans do, on every thread count: the same traces, spans,
    /// summaries, latency rows, counters and bytes, the same read summary.
    @Test func packedBatchesFillTheStoreAsSpansDo() throws {
        let bytes = Self.mixedLines()
        for gzip in [false, true] {
            let path = try temporaryFile(gzip ? Gzip.compress(bytes) : bytes, name: gzip ? "packed.ndjson.gz" : "packed.ndjson")
            let base = DumpLimits(maxLineBytes: 2_500, chunkBytes: 8_192, decodeThreads: 1)
            let one = try readFile(path, limits: base)
            for (threads, piece) in [(1, 1), (2, 700), (2, 5_000), (4, 700)] {
                var limits = base
                limits.decodeThreads = threads
                limits.decodePieceBytes = piece
                // The same batches as spans, for the same store state (a
                // trace's last update and its bytes' places follow the batches).
                var bySpans = TraceStore()
                _ = try DumpReader(path: path, limits: limits).read(onSpans: { bySpans.add(contentsOf: $0) })
                var byPacked = TraceStore()
                var progress: [DumpProgress] = []
                let summary = try DumpReader(path: path, limits: limits).read(
                    onPacked: { byPacked.add($0) }, onProgress: { progress.append($0) })
                let comment: Comment = "threads \(threads), piece \(piece), gzip \(gzip)"
                #expect(summary == one.summary, comment)
                #expect(progress.last?.spans == one.spans.count, comment)
                #expect(byPacked.spanCount == one.spans.count, comment)
                #expect(byPacked.counters == bySpans.counters, comment)
                #expect(byPacked.version == bySpans.version, comment)
                // The packed bytes (not `bytesHeld`: a large trace's array
                // capacity is malloc's rounding, which moves within a process).
                let payload = { (store: TraceStore) in store.memoryFootprint().first { $0.part == "span bytes (payload)" }?.bytes }
                #expect(payload(byPacked) == payload(bySpans), comment)
                #expect(byPacked.latency.rows() == bySpans.latency.rows(), comment)
                #expect(byPacked.allTraceIDs == bySpans.allTraceIDs, comment)
                for id in bySpans.allTraceIDs where byPacked.traceSpans(id) != bySpans.traceSpans(id) {
                    Issue.record("trace \(id) differs: \(comment)")
                }
                #expect(byPacked.summaries() == bySpans.summaries(), comment)
            }
        }
    }
}

/// OTLP JSON lines of the common shape are packed for the store straight
/// from their bytes (`OTLPJSONPacker`); any other line is read as `Span`
/// values. Either way the store must end as the decoded spans leave it.
@Suite struct PackedFromBytesTests {
    static let trace = #""traceId":"0123456789abcdef0123456789abcdef""#
    static let service = #""resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"#
    static let scope = #""scope":{"name":"lib","version":"1.0"},"#

    static func line(_ spans: [String], resource: String = service, scope: String = scope) -> String {
        #"{"resourceSpans":[{"# + resource + #""scopeSpans":[{"# + scope + #""spans":["#
            + spans.joined(separator: ",") + "]}]}]}"
    }

    /// A span with id `n`, its trace's root unless `parent`, and more fields.
    static func span(_ n: Int, parent: Int? = nil, _ fields: String = "") -> String {
        func hex(_ n: Int) -> String {
            let digits = String(n, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        let parentField = parent.map { #","parentSpanId":""# + hex($0) + "\"" } ?? ""
        return "{" + trace + #","spanId":""# + hex(n) + "\"" + parentField
            + #","name":"op","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"1500""# + fields + "}"
    }

    static func attributes(_ list: String) -> String { #","attributes":["# + list + "]" }
    static func string(_ key: String, _ value: String) -> String {
        #"{"key":""# + key + #"","value":{"stringValue":""# + value + #""}}"#
    }

    /// (line, whether it is of the common shape).
    static let cases: [(String, Bool)] = [
        (line([span(1), span(2, parent: 1, attributes(string("http.method", "GET") + "," + #"{"key":"n","value":{"intValue":"-7"}}"#))]), true),
        (line([span(3, parent: 1, #","name":"a much longer operation name than sixty-four bytes, so it is written inline""#)]), true),
        (line([span(4, parent: 1, attributes(string("http.url", String(repeating: "/x", count: 40))))]), true),
        (line([span(5, parent: 1, attributes(string("error", "true")))]), true),
        (line([span(6, parent: 1, attributes(#"{"key":"error","value":{"boolValue":false}},"# + string("error", "true")))]), true),
        (line([span(7, parent: 1, attributes(#"{"key":"error","value":{"intValue":1}},{"key":"d","value":{"doubleValue":2.5}}"#))]), true),
        (line([span(8, parent: 1, #","status":{"code":2},"flags":257,"kind":"SPAN_KIND_CLIENT""#)]), true),
        (line([span(9, parent: 1, #","status":{"code":"STATUS_CODE_OK"},"unknown":{"a":[1,2]}"#)]), true),
        (line([span(10, parent: 1, #","startTimeUnixNano":"2000""#)]), true),
        (line([span(11, parent: 1, attributes(string("a", "1")) + attributes(string("b", "2")))]), true),
        (line([span(12, #","parentSpanId":"""#), span(13, #","parentSpanId":"0000000000000000""#)]), true),
        (line([span(14, parent: 1)], resource: "", scope: ""), true),
        (line([span(15, parent: 1)], resource: #""resource":{},"#, scope: #""scope":{},"#), true),
        (line([span(16, parent: 1, #","name":"""#)]), true),
        (line([span(15, parent: 1, #","name":"café, zoë","attributes":[{"key":"ключ","value":{"stringValue":"/zoë"}}]"#)]), true),
        (line([span(17, parent: 1, #","status":{"code":2,"message":"boom \"quoted\" \u00e9"}"#)]), true),
        (line([span(18, parent: 1, #","events":[{"timeUnixNano":"1200","name":"e","attributes":[{"key":"error","value":{"boolValue":true}}]},{"name":"f","x":1},{}]"#)],
              scope: ""), true),
        (line([span(19, parent: 1, #","events":[]"#)], scope: ""), true),
        // Fields in other orders than `SpanField.usualNext` (the protobuf order, flags last; reversed),
        // with whitespace around keys, escapes in keys, unknown keys that start like known ones, upper-case ids:
        (line([#"{"traceId":"0123456789abcdef0123456789abcdef","spanId":"00000000000000f1","parentSpanId":"0000000000000001","name":"op","kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"1500","attributes":[{"key":"a","value":{"intValue":"5"}}],"status":{},"flags":257}"#]), true),
        (line([#"{"flags":1,"status":{"code":1},"events":[],"attributes":[],"endTimeUnixNano":"1500","startTimeUnixNano":"1000","kind":3,"name":"op","parentSpanId":"0000000000000001","spanId":"00000000000000f2","traceId":"0123456789abcdef0123456789abcdef"}"#]), true),
        (line([#"{ "traceId" : "0123456789ABCDEF0123456789abcdef" , "spanId" :"00000000000000F3", "parentSpanId":  "0000000000000001" ,"name" : "op", "kind":2, "startTimeUnixNano" : "1000", "endTimeUnixNano":"1500", "attributes" : [ { "key" : "k" , "value" : { "stringValue" : "v" } } , {"key":"b","value":{ "boolValue" :true}} ] }"#]), true),
        (line([#"{"traceId":"0123456789abcdef0123456789abcdef","spanId":"00000000000000f4","parentSpanId":"0000000000000001","na\u006de":"op","nameX":"ignored","kin":1,"startTimeUnixNanos":"5","startTimeUnixNano":"1000","endTimeUnixNano":"1500","attributes":[{"ke\u0079":"k","value":{"doubleValue":1.5}}]}"#]), true),
        (line([#"{"traceId":"0123456789abcdef0123456789abcdef","spanId":"00000000000000f5","parentSpanId":"0000000000000001","name":"op","startTimeUnixNano":1000,"endTimeUnixNano":1500,"attributes":[{"key":"k","value":{"intValue":7}}],"status":null,"events":null}"#]), true),
        // Read as spans:
        (line([span(20, parent: 1, #","name":"caf\u00e9""#)]), false),
        (line([span(21, parent: 1, #","name":"caf"# + "\u{1}\"")]), false),
        (line([span(22, parent: 1, #","events":[{"timeUnixNano":"1200","name":"\u00e9"}]"#)]), false),
        (line([span(23, parent: 1, #","links":[]"#)]), false),
        (line([span(24, parent: 1, #","traceState":"k=v""#)]), false),
        (line([span(25, parent: 1, #","events":[{"attributes":[{"key":"m","value":{"kvlistValue":{}}}]}]"#)]), false),
        (line([span(26, parent: 1, #","droppedAttributesCount":3"#)]), false),
        (line([span(27, parent: 1, attributes(#"{"key":"list","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}"#))]), false),
        (line([span(28, parent: 1, attributes(#"{"value":{"stringValue":"v"},"key":"k"}"#))]), false),
        (line([span(29, parent: 1, attributes((0...Span.attributeCountLimit).map { string("k\($0)", "v") }.joined(separator: ",")))]), false),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":["# + span(30, parent: 1) + "]}]," + service.dropLast() + "}]}", false),
        (#"{"resourceSpans":[{"scopeSpans":[{"spans":["# + span(31, parent: 1) + "]," + scope.dropLast() + "}]}]}", false),
        ("[" + line([span(32, parent: 1)]) + "]", false),
        (line([span(33, parent: 1, #","spanId":"xyz""#)]), false),
        (line([span(34, parent: 1, #","parentSpanId":"12""#)]), false),
        (line([span(35, parent: 1), #"{"traceId":"00000000000000000000000000000000","spanId":"0000000000000001"}"#]), false),
        (#"{"pad":1,"resourceSpans":[{"scopeSpans":[{"spans":["# + span(36, parent: 1) + "]}]}]}", false),
        (line([span(37, parent: 1)]) + "x", false),
    ]

    static func decode(_ text: String, packs: Bool) -> DumpParser {
        let parser = DumpParser(source: "t", limits: DumpLimits(), linesOnly: true, packs: packs)
        // "\u{1}" stands for a byte that is not UTF-8 (a `String` cannot hold one).
        var bytes = text.utf8.map { $0 == 1 ? 0xFF : $0 }
        bytes.withUnsafeMutableBufferPointer { _ = parser.decodeCompleteLines(UnsafePointer($0.baseAddress!), $0.count) }
        return parser
    }

    static func expectSameStores(_ text: String, _ comment: Comment) {
        let bySpans = decode(text, packs: false), byPacked = decode(text, packs: true)
        var a = TraceStore(), b = TraceStore()
        a.add(contentsOf: bySpans.takeSpans())
        for batch in byPacked.takePackedBatches() { b.add(batch) }
        #expect(a.spanCount == b.spanCount, comment)
        #expect(a.counters == b.counters, comment)
        #expect(a.version == b.version, comment)
        let payload = { (store: TraceStore) in store.memoryFootprint().first { $0.part == "span bytes (payload)" }?.bytes }
        #expect(payload(a) == payload(b), comment)
        #expect(a.latency.rows() == b.latency.rows(), comment)
        #expect(a.allTraceIDs == b.allTraceIDs, comment)
        for id in a.allTraceIDs { #expect(a.traceSpans(id) == b.traceSpans(id), comment) }
        #expect(a.summaries() == b.summaries(), comment)
        #expect(bySpans.issues == byPacked.issues, comment)
        #expect(bySpans.records == byPacked.records, comment)
    }

    @Test func eachShapeTakesItsPathAndStoresWhatItsSpansDo() {
        for (i, (line, common)) in Self.cases.enumerated() {
            let packed = Self.decode(line + "\n", packs: true)
            #expect(packed.linesPackedFromBytes == (common ? 1 : 0), "case \(i): \(line.prefix(300))")
            #expect(Self.decode(line + "\n", packs: false).linesPackedFromBytes == 0)
            Self.expectSameStores(line + "\n", "case \(i)")
        }
    }

    /// What `tracetty generate` writes (and the load benchmark reads):
    /// events, errors with status messages, several resources and scopes a line.
    @Test func generatedTracesAreOfTheCommonShape() {
        var generator = SyntheticTraces(seed: 42)
        var lines: [String] = []
        for _ in 0..<60 {
            let spans = (0..<5).flatMap { _ in generator.nextTrace() }
            lines.append(String(DumpReaderTests.otlpLine(spans).dropLast()))
        }
        let text = lines.joined(separator: "\n") + "\n"
        #expect(text.contains(#""events":[{"#) && text.contains(#""message":"#))
        #expect(Self.decode(text, packs: true).linesPackedFromBytes == lines.count)
        Self.expectSameStores(text, "generated")
    }

    @Test func mixedShapesInOneBatchKeepTheirOrder() {
        let lines = Self.cases.map(\.0)
        let text = (lines + lines.reversed()).joined(separator: "\n") + "\n"
        let packed = Self.decode(text, packs: true)
        #expect(packed.linesPackedFromBytes == 2 * Self.cases.filter(\.1).count)
        Self.expectSameStores(text, "all cases, twice")
        // Spans of one trace from both paths, in file order.
        var store = TraceStore()
        for batch in packed.takePackedBatches() { store.add(batch) }
        let bySpans = Self.decode(text, packs: false).takeSpans()
        let id = TraceID(high: 0x0123_4567_89ab_cdef, low: 0x0123_4567_89ab_cdef)
        #expect(store.traceSpans(id) == bySpans.filter { $0.traceID == id })
    }
}
