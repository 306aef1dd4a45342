import Instrumentation
import TraceModel

/// `uber-trace-id` and W3C `traceparent`/`tracestate`, read and written as
/// jaeger-client-go and the W3C recommendation do. Parsing never fails
/// loudly: anything malformed yields nil, and the caller starts a new trace.
///
/// Extraction rule: a valid `traceparent` wins; a missing or malformed one
/// falls back to `uber-trace-id`. (Both name the same span when a client
/// writes both, and only `traceparent` can carry `tracestate`.)
public enum JaegerPropagation {
    public static let uberTraceIDHeader = "uber-trace-id"
    public static let traceparentHeader = "traceparent"
    public static let tracestateHeader = "tracestate"

    /// Longer header values are rejected unread: a legitimate `uber-trace-id`
    /// is at most 75 bytes (with `%3A` separators), a `traceparent` 55 (later
    /// versions may append fields).
    static let maxContextHeaderBytes = 256
    /// W3C asks to propagate at least 512 characters; longer ones are dropped.
    static let maxTraceStateBytes = 1024

    // MARK: extract

    /// Reads the context headers through `extractor`, trying the lowercase and
    /// the canonical capitalization of each name (`Extractor`s over HTTP
    /// header types are case-insensitive already; a plain dictionary is not).
    public static func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, using extractor: Extract) -> JaegerSpanContext?
    where Extract.Carrier == Carrier {
        func header(_ lower: String, _ canonical: String) -> String? {
            extractor.extract(key: lower, from: carrier) ?? extractor.extract(key: canonical, from: carrier)
        }
        if let traceparent = header(traceparentHeader, "Traceparent"),
           let context = parseTraceparent(traceparent, traceState: header(tracestateHeader, "Tracestate")) {
            return context
        }
        if let uber = header(uberTraceIDHeader, "Uber-Trace-Id") {
            return parseUberTraceID(uber)
        }
        return nil
    }

    /// `{trace}:{span}:{parent}:{flags}` in hex, zero-padded or not, `:` or
    /// `%3A`. Trace 1...32 digits, span and parent 1...16, flags 1...2; trace
    /// and span not zero (parent 0 means none).
    public static func parseUberTraceID(_ value: String) -> JaegerSpanContext? {
        var raw = value.utf8[...]
        guard raw.count <= maxContextHeaderBytes else { return nil }
        raw = trimmed(raw)
        // Split on ':' or "%3A"/"%3a" into exactly four fields.
        var fields: [(start: String.UTF8View.Index, end: String.UTF8View.Index)] = []
        fields.reserveCapacity(4)
        var fieldStart = raw.startIndex
        var i = raw.startIndex
        while i < raw.endIndex {
            let byte = raw[i]
            var separatorEnd: String.UTF8View.Index? = nil
            if byte == UInt8(ascii: ":") {
                separatorEnd = raw.index(after: i)
            } else if byte == UInt8(ascii: "%") {
                let a = raw.index(after: i)
                if a < raw.endIndex, raw[a] == UInt8(ascii: "3") {
                    let b = raw.index(after: a)
                    if b < raw.endIndex, raw[b] | 0x20 == UInt8(ascii: "a") { separatorEnd = raw.index(after: b) }
                }
                if separatorEnd == nil { return nil }
            }
            if let end = separatorEnd {
                guard fields.count < 3 else { return nil }
                fields.append((fieldStart, i))
                fieldStart = end
                i = end
            } else {
                i = raw.index(after: i)
            }
        }
        fields.append((fieldStart, raw.endIndex))
        guard fields.count == 4 else { return nil }
        let trace = raw[fields[0].start..<fields[0].end]
        let span = raw[fields[1].start..<fields[1].end]
        let parent = raw[fields[2].start..<fields[2].end]
        let flagDigits = raw[fields[3].start..<fields[3].end]
        guard (1...32).contains(trace.count), (1...16).contains(span.count), (1...16).contains(parent.count),
              (1...2).contains(flagDigits.count),
              let traceID = TraceID(hexBytes: trace), !traceID.isZero,
              let spanID = SpanID(hexBytes: span), !spanID.isZero,
              let parentID = SpanID(hexBytes: parent),
              let (_, flags) = HexDigits.parse128(flagDigits)
        else { return nil }
        return JaegerSpanContext(traceID: traceID, spanID: spanID, parentSpanID: parentID.isZero ? nil : parentID,
                                 flags: UInt8(truncatingIfNeeded: flags), isRemote: true)
    }

    /// `{version}-{trace-id}-{parent-id}-{flags}`, lowercase hex, as the W3C
    /// Trace Context recommendation parses it: version `ff` is invalid,
    /// version 00 is exactly 55 bytes, later versions may append `-...`.
    public static func parseTraceparent(_ value: String, traceState: String? = nil) -> JaegerSpanContext? {
        var raw = value.utf8[...]
        guard raw.count <= maxContextHeaderBytes else { return nil }
        raw = trimmed(raw)
        let bytes = Array(raw)
        guard bytes.count >= 55 else { return nil }
        func lowerHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        }
        guard lowerHex(0..<2), bytes[2] == UInt8(ascii: "-"), lowerHex(3..<35), bytes[35] == UInt8(ascii: "-"),
              lowerHex(36..<52), bytes[52] == UInt8(ascii: "-"), lowerHex(53..<55)
        else { return nil }
        let isVersion00 = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        let isVersionFF = bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")
        guard !isVersionFF else { return nil }
        if isVersion00 { guard bytes.count == 55 else { return nil } }
        else if bytes.count > 55 { guard bytes[55] == UInt8(ascii: "-") else { return nil } }
        guard let traceID = TraceID(hexBytes: bytes[3..<35]), !traceID.isZero,
              let spanID = SpanID(hexBytes: bytes[36..<52]), !spanID.isZero,
              let (_, flags) = HexDigits.parse128(bytes[53..<55])
        else { return nil }
        var state = ""
        if let traceState, traceState.utf8.count <= maxTraceStateBytes {
            state = String(Substring(trimmed(traceState.utf8[...])))
        }
        // W3C flag 0x02 ("random") is not Jaeger's debug flag: keep only "sampled".
        return JaegerSpanContext(traceID: traceID, spanID: spanID, parentSpanID: nil,
                                 flags: UInt8(truncatingIfNeeded: flags) & 1, traceState: state, isRemote: true)
    }

    private static func trimmed(_ raw: Substring.UTF8View) -> Substring.UTF8View {
        var raw = raw
        while let first = raw.first, first == 0x20 || first == 0x09 { raw = raw.dropFirst() }
        while let last = raw.last, last == 0x20 || last == 0x09 { raw = raw.dropLast() }
        return raw
    }

    // MARK: inject

    /// Writes the context of `context`'s current span, if any, in `formats`.
    public static func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier,
                                                         using injector: Inject, formats: PropagationFormats = .both)
    where Inject.Carrier == Carrier {
        guard let spanContext = context.jaegerSpanContext else { return }
        if formats.contains(.jaeger) {
            injector.inject(uberTraceID(spanContext), forKey: uberTraceIDHeader, into: &carrier)
        }
        if formats.contains(.w3c) {
            injector.inject(traceparent(spanContext), forKey: traceparentHeader, into: &carrier)
            if !spanContext.traceState.isEmpty {
                injector.inject(spanContext.traceState, forKey: tracestateHeader, into: &carrier)
            }
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    @inline(__always)
    private static func writeHex(_ value: UInt64, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var v = value
        hexDigits.withUTF8Buffer { table in
            for i in stride(from: offset + digits - 1, through: offset, by: -1) {
                buffer[i] = table[Int(v & 0xF)]
                v >>= 4
            }
        }
    }

    /// As jaeger-client-go's `SpanContext.String()`: `%016x` (or 32 digits for
    /// a 128-bit trace), `%016x` span and parent, `%x` flags.
    public static func uberTraceID(_ c: JaegerSpanContext) -> String {
        let traceDigits = c.traceID.high == 0 ? 16 : 32
        let flagDigits = c.flags >= 16 ? 2 : 1
        let count = traceDigits + 1 + 16 + 1 + 16 + 1 + flagDigits
        return String(unsafeUninitializedCapacity: count) { buffer in
            var at = 0
            if traceDigits == 32 {
                writeHex(c.traceID.high, digits: 16, into: buffer, at: 0)
                at = 16
            }
            writeHex(c.traceID.low, digits: 16, into: buffer, at: at); at += 16
            buffer[at] = UInt8(ascii: ":"); at += 1
            writeHex(c.spanID.raw, digits: 16, into: buffer, at: at); at += 16
            buffer[at] = UInt8(ascii: ":"); at += 1
            writeHex(c.parentSpanID?.raw ?? 0, digits: 16, into: buffer, at: at); at += 16
            buffer[at] = UInt8(ascii: ":"); at += 1
            writeHex(UInt64(c.flags), digits: flagDigits, into: buffer, at: at)
            return count
        }
    }

    /// `00-{32 hex trace}-{16 hex span}-{01|00}` (64-bit traces zero-extended).
    public static func traceparent(_ c: JaegerSpanContext) -> String {
        String(unsafeUninitializedCapacity: 55) { buffer in
            buffer[0] = UInt8(ascii: "0"); buffer[1] = UInt8(ascii: "0"); buffer[2] = UInt8(ascii: "-")
            writeHex(c.traceID.high, digits: 16, into: buffer, at: 3)
            writeHex(c.traceID.low, digits: 16, into: buffer, at: 19)
            buffer[35] = UInt8(ascii: "-")
            writeHex(c.spanID.raw, digits: 16, into: buffer, at: 36)
            buffer[52] = UInt8(ascii: "-")
            writeHex(UInt64(c.flags & 1), digits: 2, into: buffer, at: 53)
            return 55
        }
    }
}
