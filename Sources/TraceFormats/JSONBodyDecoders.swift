import TraceModel

/// Spans from one body, and the spans that were rejected with the reason.
public struct DecodedSpans: Sendable, Equatable {
    public var spans: [Span]
    /// Per-span problems (bad ids, unknown process): those spans are not in `spans`.
    public var rejected: [JSONDecodeError]
}

enum BodyDecoding {
    static func decode(_ family: FormatFamily, _ body: UnsafeRawBufferPointer, maxDepth: Int) throws(JSONDecodeError) -> DecodedSpans {
        guard var s = JSONScanner(body, maxDepth: maxDepth), let base = body.baseAddress else {
            throw JSONDecodeError(line: 1, column: 1, reason: "unexpected end of input")
        }
        var locator = LineLocator(base: base.assumingMemoryBound(to: UInt8.self), count: body.count)
        let ctx = DecodeContext(maxDepth: maxDepth)
        ctx.beginRecord()
        do {
            s.skipWhitespace()
            try DumpParser.decode(family, &s, ctx)
            try s.expectEnd()
        } catch {
            let (line, column) = locator.locate(error.offset)
            throw JSONDecodeError(line: line, column: column, reason: error.message)
        }
        var rejected: [JSONDecodeError] = []
        for issue in ctx.issues {
            rejected.append(JSONDecodeError(line: locator.locate(issue.offset).line, column: nil, reason: issue.reason))
        }
        return DecodedSpans(spans: ctx.spans, rejected: rejected)
    }

    static func strict(_ family: FormatFamily, _ body: UnsafeRawBufferPointer, maxDepth: Int) throws(JSONDecodeError) -> [Span] {
        let decoded = try decode(family, body, maxDepth: maxDepth)
        if let first = decoded.rejected.first { throw first }
        return decoded.spans
    }

    static func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JSONDecodeError) -> T) throws(JSONDecodeError) -> T {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(JSONDecodeError) in try body(raw) } }
        return try result.get()
    }
}

/// OTLP/HTTP JSON (`ExportTraceServiceRequest`, same shape as `TracesData`).
public enum OTLPJSONDecoder {
    /// All spans, or the first error (syntax, or a span with invalid ids).
    public static func decode(_ body: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.strict(.otlp, body, maxDepth: maxDepth)
    }

    public static func decode(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try decode(raw, maxDepth: maxDepth) }
    }

    /// Good spans plus per-span rejections (OTLP partial success); throws only on syntax errors.
    public static func decodePartially(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> DecodedSpans {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try BodyDecoding.decode(.otlp, raw, maxDepth: maxDepth) }
    }
}

/// Zipkin v2 JSON (`POST /api/v2/spans`): an array of spans, or one span.
public enum ZipkinJSONDecoder {
    public static func decode(_ body: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.strict(.zipkin, body, maxDepth: maxDepth)
    }

    public static func decode(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try decode(raw, maxDepth: maxDepth) }
    }

    public static func decodePartially(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> DecodedSpans {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try BodyDecoding.decode(.zipkin, raw, maxDepth: maxDepth) }
    }
}

/// Jaeger query/UI JSON: `{"data":[...]}`, a trace object, a span, or an array of those.
public enum JaegerJSONDecoder {
    public static func decode(_ body: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.strict(.jaeger, body, maxDepth: maxDepth)
    }

    public static func decode(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> [Span] {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try decode(raw, maxDepth: maxDepth) }
    }

    public static func decodePartially(_ body: [UInt8], maxDepth: Int = 64) throws(JSONDecodeError) -> DecodedSpans {
        try BodyDecoding.withBytes(body) { raw throws(JSONDecodeError) in try BodyDecoding.decode(.jaeger, raw, maxDepth: maxDepth) }
    }
}
