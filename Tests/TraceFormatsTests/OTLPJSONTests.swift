import Foundation
import Testing
import TraceModel
import TerminalUI
@testable import TraceFormats

struct OTLPJSONTests {
    @Test func encoderWritesCollectorShape() {
        let span = Span(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), name: "a\"b\\c\u{01}é",
                        startTimeUnixNano: 10, durationNano: 5, attributes: [Attribute("k", .int(-7))],
                        resource: Resource(serviceName: "svc"))
        let line = String(decoding: OTLPJSONEncoder.encodeLine([span]), as: UTF8.self)
        let expected = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{},"spans":[{"traceId":"00000000000000010000000000000002","spanId":"0000000000000003","name":"a\"b\\c\u0001é","startTimeUnixNano":"10","endTimeUnixNano":"15","attributes":[{"key":"k","value":{"intValue":"-7"}}],"status":{}}]}]}]}"# + "\n"
        #expect(line == expected)
    }

    @Test func encoderGroupsByResourceAndScope() throws {
        let r1 = Resource(serviceName: "a", attributes: [Attribute("service.name", .string("a"))])
        let r1copy = Resource(serviceName: "a", attributes: [Attribute("service.name", .string("a"))])
        let r2 = Resource(serviceName: "b", attributes: [Attribute("service.name", .string("b"))])
        var spans = [Span.stub(id: 1, resource: r1), Span.stub(id: 2, resource: r2), Span.stub(id: 3, resource: r1copy)]
        spans[2].scope = InstrumentationScope(name: "lib", version: "2")
        let text = String(decoding: OTLPJSONEncoder.encodeLine(spans), as: UTF8.self)
        #expect(text.components(separatedBy: #""resource":"#).count - 1 == 2)
        #expect(text.components(separatedBy: #""scope":"#).count - 1 == 3)
        let back = try DumpDecoder.decode(Array(text.utf8), source: "x").spans
        #expect(back.map(\.spanID.raw) == [1, 3, 2])
        #expect(back[0].resource === back[1].resource)
        #expect(back[1].scope.name == "lib" && back[1].scope.version == "2")
        #expect(sortedSpans(back) == sortedSpans(spans))
    }

    static func richSpans() -> [Span] {
        let resource = Resource(serviceName: "grüße-svc", attributes: [
            Attribute("service.name", .string("grüße-svc")), Attribute("host.id", .int(42)),
        ])
        let scope = InstrumentationScope(name: "lib\u{7}", version: "1.0", attributes: [Attribute("s", .bool(false))])
        let weird = "tab\there \"q\" back\\slash nl\n cr\r nul\u{0} esc\u{1b}[31m del\u{7f} 🚀 日本語 \u{2028}"
        return [
            Span(traceID: TraceID(high: 0xdead_beef, low: 0x1234), spanID: SpanID(0xfeed), parentSpanID: SpanID(0xbeef),
                 name: weird, kind: .consumer, status: SpanStatus(code: .error, message: "boom \u{1}"),
                 startTimeUnixNano: 1_700_000_000_123_456_789, durationNano: 987_654_321,
                 attributes: [
                    Attribute("s", .string(weird)), Attribute("b", .bool(true)), Attribute("i", .int(Int64.min)),
                    Attribute("imax", .int(Int64.max)), Attribute("d", .double(-1.25e-7)), Attribute("inf", .double(.infinity)),
                    Attribute("whole", .double(3)), Attribute("bytes", .bytes([0, 1, 2, 250, 255])),
                    Attribute("empty-bytes", .bytes([])), Attribute("arr", .array([.int(1), .string("x"), .array([])])),
                    Attribute("map", .map([Attribute("inner", .map([Attribute("deep", .double(0.1))]))])),
                    Attribute("", .string("")),
                 ],
                 events: [SpanEvent(timeUnixNano: 1_700_000_000_200_000_000, name: "ev ✓", attributes: [Attribute("k", .string("v\u{1f}"))]),
                          SpanEvent(timeUnixNano: 0, name: "")],
                 links: [SpanLink(traceID: TraceID(high: 0, low: 9), spanID: SpanID(8), referenceType: "FOLLOWS_FROM"),
                         SpanLink(traceID: TraceID(high: 7, low: 9), spanID: SpanID(6), attributes: [Attribute("l", .int(1))])],
                 resource: resource, scope: scope, traceState: "rojo=00f067aa0ba902b7", flags: 0x301),
            Span(traceID: TraceID(high: 0xdead_beef, low: 0x1234), spanID: SpanID(0xbeef), name: "", kind: .unspecified,
                 status: SpanStatus(code: .ok), startTimeUnixNano: 0, durationNano: 0, resource: .unknown),
        ]
    }

    @Test func roundTripThroughDumpFile() throws {
        let spans = Self.richSpans()
        let path = try temporaryFile([], name: "rt.ndjson")
        let writer = try DumpWriter(path: path)
        try writer.write([spans[0]])
        try writer.write([spans[1]])
        try writer.sync()
        try writer.close()
        let result = try readFile(path)
        #expect(result.summary.format == .otlpJSONLines)
        #expect(result.summary.issueCount == 0, "\(result.summary.issues)")
        #expect(result.summary.lines == 2)
        #expect(result.spans == spans)
        // Again: write what was read, read it back.
        let again = try DumpDecoder.decode(OTLPJSONEncoder.encodeLine(result.spans), source: "again").spans
        #expect(sortedSpans(again) == sortedSpans(spans))
    }

    @Test func writerSplitsHugeBatches() throws {
        let path = try temporaryFile([], name: "big.ndjson")
        let writer = try DumpWriter(path: path)
        writer.maxSpansPerLine = 10
        let spans = (1...25).map { Span.stub(id: UInt64($0)) }
        try writer.write(spans)
        try writer.close()
        let result = try readFile(path)
        #expect(result.summary.lines == 3)
        #expect(result.spans == spans)
    }

    @Test func acceptsUppercaseIdsNumbersEnumNamesAndBase64Ids() throws {
        let body = #"""
        {"resourceSpans":[{"scopeSpans":[{"spans":[
          {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"n",
           "kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1000,"endTimeUnixNano":"3000",
           "status":{"code":"STATUS_CODE_ERROR","message":"m"},"unknownField":{"a":[1,2,{"b":null}]},
           "attributes":[{"key":"n","value":{"intValue":12}},{"key":"d","value":{"doubleValue":"NaN"}},{"key":"e","value":{}}]},
          {"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","parentSpanId":"","name":"b64"}
        ]}],"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"late"}}]}}]}
        """#
        let spans = try OTLPJSONDecoder.decode(Array(body.utf8))
        try #require(spans.count == 2)
        #expect(spans[0].traceID == hexTrace("5b8efff798038103d269b633813fc60c"))
        #expect(spans[0].kind == .client)
        #expect(spans[0].durationNano == 2000)
        #expect(spans[0].status == SpanStatus(code: .error, message: "m"))
        #expect(spans[0].attribute("n") == .int(12))
        if case .double(let d) = spans[0].attribute("d") { #expect(d.isNaN) } else { Issue.record("NaN lost") }
        #expect(spans[0].attribute("e") == .string(""))
        #expect(spans[1].traceID == spans[0].traceID)
        #expect(spans[1].spanID == spans[0].spanID)
        #expect(spans[1].parentSpanID == nil)
        // `resource` after `scopeSpans` still applies, to every span.
        #expect(spans.allSatisfy { $0.serviceName == "late" })
        #expect(spans[0].resource === spans[1].resource)
    }

    @Test func bodyDecoderLocatesSyntaxErrors() {
        let body = "{\"resourceSpans\":[\n  {\"scopeSpans\": [}\n]}"
        #expect(throws: JSONDecodeError(line: 2, column: 19, reason: "expected '{', found '}'")) {
            try OTLPJSONDecoder.decode(Array(body.utf8))
        }
        #expect(throws: JSONDecodeError(line: 1, column: 1, reason: "unexpected end of input")) {
            try OTLPJSONDecoder.decode([UInt8]())
        }
        #expect(throws: JSONDecodeError(line: 1, column: 21, reason: "unexpected ']' after JSON value")) {
            try OTLPJSONDecoder.decode(Array(#"{"resourceSpans":[]}]"#.utf8))
        }
    }

    @Test func partialDecodeRejectsBadSpansOnly() throws {
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00","spanId":"0000000000000001"},{"traceId":"0000000000000000000000000000000a","spanId":"0000000000000001"},{"traceId":"0000000000000000000000000000000a","spanId":"xyz"}]}]}]}"#
        let decoded = try OTLPJSONDecoder.decodePartially(Array(body.utf8))
        #expect(decoded.spans.count == 1)
        #expect(decoded.rejected == [
            JSONDecodeError(line: 1, column: nil, reason: "span 1: traceId is not 32 hex digits"),
            JSONDecodeError(line: 1, column: nil, reason: "span 3: spanId is not 16 hex digits"),
        ])
        #expect(throws: JSONDecodeError(line: 1, column: nil, reason: "span 1: traceId is not 32 hex digits")) {
            try OTLPJSONDecoder.decode(Array(body.utf8))
        }
    }

    /// A dump and `print --format json` are safe to `cat`: past ASCII the
    /// writer escapes exactly what the terminal sanitizer escapes, and the
    /// escapes read back as the same text.
    @Test func writerEscapesWhatTheTerminalSanitizerEscapes() throws {
        var disagreements: [UInt32] = []
        for value in UInt32(0x80)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if OTLPJSONEncoder.unicodeEscaped(value) != TerminalText.needsEscape(scalar)
                || (OTLPJSONEncoder.unicodeEscaped(value) && !OTLPJSONEncoder.mayStartUnicodeEscaped(String(scalar).utf8.first!)) {
                disagreements.append(value)
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.map { String($0, radix: 16) })")
        let hostile = "a\u{9b}2J\u{9d}0;x\u{9c}\u{202e}\u{200b}\u{feff}\u{e0041}\u{7f}\u{1b}]0;t\u{7} é😀ế"
        var out: [UInt8] = []
        OTLPJSONEncoder.writeString(hostile, into: &out)
        #expect(String(decoding: out, as: UTF8.self)
                == #""a\u009b2J\u009d0;x\u009c\u202e\u200b\ufeff\udb40\udc41\u007f\u001b]0;t\u0007 é😀ế""#)
        #expect(!out.contains { $0 < 0x20 || $0 == 0x7F })
        var span = Span.stub(id: 1)
        span.name = hostile
        span.attributes = [Attribute(hostile, .string(hostile))]
        let back = try OTLPJSONDecoder.decode(Array(OTLPJSONEncoder.encodeLine([span])))
        #expect(back.first?.name == hostile)
        #expect(back.first?.attributes == [Attribute(hostile, .string(hostile))])
    }

    /// The writer's byte buffer starts small and grows: long and hostile
    /// strings, every scalar kind and edge number survive a line much bigger
    /// than its first allocation, through `DumpWriter` and back.
    @Test func aLineFarBiggerThanTheBufferRoundTrips() throws {
        let hostile = "q\"b\\\u{1}\u{1f}\u{7f}\u{9b}\u{202e}\u{e0041}é😀"
        let long = String(repeating: hostile + "plain text ", count: 500)  // ~18 KB, ~5,000 escapes
        var spans: [Span] = []
        for i in 1...300 {
            var span = Span.stub(id: UInt64(i))
            span.name = i % 2 == 0 ? long : "op-\(i)"
            span.startTimeUnixNano = i == 1 ? 0 : UInt64.max - UInt64(i)
            span.durationNano = 0
            span.attributes = [
                Attribute("k\(i)", .string(i % 3 == 0 ? long : hostile)), Attribute("n", .int(i % 2 == 0 ? Int64.min : Int64.max)),
                Attribute("u", .int(Int64(i) * 1_000_003)), Attribute("b", .bool(i % 2 == 0)), Attribute("d", .double(Double(i) / 7)),
                Attribute("x", .bytes([0, 1, 2, 0xFF, UInt8(i & 0xFF)])),
            ]
            spans.append(span)
        }
        let line = OTLPJSONEncoder.encodeLine(spans)
        #expect(line.count > 4 << 20, "bigger than DumpWriter's first buffer (3 MiB)")
        #expect(!line.dropLast().contains { $0 < 0x20 || $0 == 0x7F })
        let back = try OTLPJSONDecoder.decode(line)
        #expect(back == spans)

        let path = try temporaryFile([], name: "big-line.ndjson")
        let writer = try DumpWriter(path: path)
        writer.maxSpansPerLine = 1_000
        try writer.write(spans)
        try writer.close()
        #expect(writer.spansFlushed == spans.count)
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file == line, "DumpWriter writes the same bytes as encodeLine")
    }

    @Test func escapesAndSurrogatesDecode() throws {
        let body = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000000a","spanId":"0000000000000001","name":"\u00e9\ud83d\ude80\n\"\/\\ \ud800x"}]}]}]}"#
        let spans = try OTLPJSONDecoder.decode(Array(body.utf8))
        #expect(spans.first?.name == "é🚀\n\"/\\ \u{FFFD}x")
    }

    @Test func gzipRoundTrip() throws {
        let bytes = Array("hello gzip".utf8)
        #expect(try Gzip.decompress(Gzip.compress(bytes)) == bytes)
        #expect(try Gzip.decompress(Gzip.compress(bytes) + Gzip.compress(bytes)) == bytes + bytes)
        #expect(throws: GzipError.truncated) { try Gzip.decompress(Array(Gzip.compress(bytes).dropLast(8))) }
    }

    /// Bodies inflating at once share one budget: what one holds, another
    /// cannot take (refused as busy, not too large), and every byte taken is
    /// given back whatever the outcome.
    @Test func gzipBodiesInflatingAtOnceShareOneBudget() throws {
        let budget = InflationBudget(bytes: 1 << 20)
        let body = [UInt8]((0..<(600 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) })
        let zipped = Gzip.compress(body)
        #expect(try Gzip.decompress(zipped, maxOutputBytes: 1 << 20, budget: budget) == body)
        #expect(budget.inUse == 0)
        // Another body is inflating and holds 600 KiB of the budget.
        #expect(budget.take(600 << 10))
        #expect(throws: GzipError.busy(budget: 1 << 20)) { try Gzip.decompress(zipped, maxOutputBytes: 1 << 20, budget: budget) }
        #expect(budget.inUse == 600 << 10)
        budget.give(600 << 10)
        #expect(try Gzip.decompress(zipped, maxOutputBytes: 1 << 20, budget: budget) == body)
        // A bomb is too large on its own, and leaves nothing taken behind.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 8 << 20))
        #expect(throws: GzipError.tooLarge(limit: 1 << 20)) { try Gzip.decompress(bomb, maxOutputBytes: 1 << 20, budget: budget) }
        #expect(budget.inUse == 0)
        #expect(throws: GzipError.truncated) { try Gzip.decompress(Array(zipped.dropLast(8)), budget: budget) }
        #expect(budget.inUse == 0)
    }

    /// The trailer's size is a hint: a body whose trailer lies still
    /// inflates to what it holds (or fails its CRC), within the bound.
    @Test func aLyingTrailerSizeIsOnlyAHint() throws {
        let body = [UInt8](repeating: 7, count: 300_000)
        var zipped = Gzip.compress(body)
        #expect(Gzip.claimedSize(zipped) == 300_000)
        let n = zipped.count
        zipped[n - 4] = 1; zipped[n - 3] = 0; zipped[n - 2] = 0; zipped[n - 1] = 0  // claims 1 byte
        #expect(throws: GzipError.self) { try Gzip.decompress(zipped, maxOutputBytes: 1 << 20) }
        zipped[n - 1] = 0xFF  // claims ~4 GiB: reserved only up to the bound
        #expect(throws: GzipError.self) { try Gzip.decompress(zipped, maxOutputBytes: 1 << 20) }
        #expect(throws: GzipError.tooLarge(limit: 1_000)) { try Gzip.decompress(Gzip.compress(body), maxOutputBytes: 1_000) }
    }

    /// A bomb stops inflating at the bound: the sink sees the first piece
    /// past it and no more, rather than the whole 256 MiB being inflated.
    @Test func gzipStopsInflatingAtTheBound() throws {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 256 << 20))
        #expect(throws: GzipError.tooLarge(limit: 1 << 20)) { try Gzip.decompress(bomb, maxOutputBytes: 1 << 20) }
        let inflater = GzipInflater()
        var produced = 0
        let finished = bomb.withUnsafeBytes { raw in
            inflater.inflate(raw) { piece in
                produced += piece.count
                if produced > 2 << 20 { inflater.stopRequested = true }
            }
        }
        #expect(!finished)
        #expect(produced <= 4 << 20)
    }
}
