#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TraceModel

/// Writes spans as OTLP JSON `TracesData`, exactly the shape of the
/// OpenTelemetry Collector file exporter: lowercase hex ids, 64-bit integers
/// as strings, integer enums, empty fields omitted.
public enum OTLPJSONEncoder {
    /// One `TracesData` object and a newline: one line of a dump.
    public static func encodeLine(_ spans: [Span]) -> [UInt8] {
        var out = JSONBytes(capacity: spans.count * 512 + 64)
        spans.withUnsafeBufferPointer { encode($0, into: &out) }
        out.append(ASCII.newline)
        return Array(out.bytes)
    }

    /// One `TracesData` object (no newline) appended to `out`.
    public static func encode(_ spans: [Span], into out: inout [UInt8]) {
        var bytes = JSONBytes(capacity: spans.count * 512 + 64)
        spans.withUnsafeBufferPointer { encode($0, into: &bytes) }
        out.append(contentsOf: bytes.bytes)
    }

    /// One `TracesData` object (no newline) appended to `out`: the spans are
    /// read in place, never copied.
    public static func encode(_ spans: UnsafeBufferPointer<Span>, into out: inout JSONBytes) {
        encode(spans, to: &out)
    }

    static func encode<Out: JSONOutput & ~Copyable>(_ spans: UnsafeBufferPointer<Span>, to out: inout Out) {
        let groups = SpanGrouping.byResourceAndScope(spans)
        out.appendLiteral(#"{"resourceSpans":["#)
        for (g, group) in groups.enumerated() {
            if g > 0 { out.append(ASCII.comma) }
            out.appendLiteral(#"{"resource":{"#)
            var attributes = group.resource.attributes
            if !attributes.contains(where: { $0.key == "service.name" }) && group.resource.serviceName != "unknown_service" {
                attributes.insert(Attribute("service.name", .string(group.resource.serviceName)), at: 0)
            }
            if !attributes.isEmpty {
                out.appendLiteral(#""attributes":"#)
                writeAttributes(attributes, to: &out)
            }
            out.appendLiteral(#"},"scopeSpans":["#)
            for (k, scopeGroup) in group.scopes.enumerated() {
                if k > 0 { out.append(ASCII.comma) }
                out.appendLiteral(#"{"scope":{"#)
                let scope = scopeGroup.scope
                var needsComma = false
                if !scope.name.isEmpty {
                    out.appendLiteral(#""name":"#); string(scope.name, to: &out); needsComma = true
                }
                if !scope.version.isEmpty {
                    if needsComma { out.append(ASCII.comma) }
                    out.appendLiteral(#""version":"#); string(scope.version, to: &out); needsComma = true
                }
                if !scope.attributes.isEmpty {
                    if needsComma { out.append(ASCII.comma) }
                    out.appendLiteral(#""attributes":"#); writeAttributes(scope.attributes, to: &out)
                }
                out.appendLiteral(#"},"spans":["#)
                for (n, index) in scopeGroup.spans.enumerated() {
                    if n > 0 { out.append(ASCII.comma) }
                    writeSpan(spans[index], to: &out)
                }
                out.appendLiteral("]}")
            }
            out.appendLiteral("]}")
        }
        out.appendLiteral("]}")
    }

    static func writeSpan<Out: JSONOutput & ~Copyable>(_ span: Span, to out: inout Out) {
        out.appendLiteral(#"{"traceId":""#)
        hex(span.traceID.high, to: &out)
        hex(span.traceID.low, to: &out)
        out.appendLiteral(#"","spanId":""#)
        hex(span.spanID.raw, to: &out)
        out.append(ASCII.quote)
        let traceState = span.traceState
        if !traceState.isEmpty {
            out.appendLiteral(#","traceState":"#)
            string(traceState, to: &out)
        }
        if let parent = span.parentSpanID {
            out.appendLiteral(#","parentSpanId":""#)
            hex(parent.raw, to: &out)
            out.append(ASCII.quote)
        }
        if span.flags != 0 {
            out.appendLiteral(#","flags":"#)
            decimal(UInt64(span.flags), to: &out)
        }
        if !span.name.isEmpty {
            out.appendLiteral(#","name":"#)
            string(span.name, to: &out)
        }
        if span.kind != .unspecified {
            out.appendLiteral(#","kind":"#)
            decimal(UInt64(span.kind.rawValue), to: &out)
        }
        out.appendLiteral(#","startTimeUnixNano":""#)
        decimal(span.startTimeUnixNano, to: &out)
        out.appendLiteral(#"","endTimeUnixNano":""#)
        decimal(span.endTimeUnixNano, to: &out)
        out.append(ASCII.quote)
        if !span.attributes.isEmpty {
            out.appendLiteral(#","attributes":"#)
            writeAttributes(span.attributes, to: &out)
        }
        let dropped = span.droppedAttributesCount
        if dropped > 0 {
            out.appendLiteral(#","droppedAttributesCount":"#)
            decimal(UInt64(dropped), to: &out)
        }
        let events = span.events
        if !events.isEmpty {
            out.appendLiteral(#","events":["#)
            for (i, event) in events.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                out.appendLiteral(#"{"timeUnixNano":""#)
                decimal(event.timeUnixNano, to: &out)
                out.append(ASCII.quote)
                if !event.name.isEmpty {
                    out.appendLiteral(#","name":"#)
                    string(event.name, to: &out)
                }
                if !event.attributes.isEmpty {
                    out.appendLiteral(#","attributes":"#)
                    writeAttributes(event.attributes, to: &out)
                }
                out.append(ASCII.closeBrace)
            }
            out.append(ASCII.closeBracket)
        }
        let links = ParentReferences.wireLinks(of: span)
        if !links.isEmpty {
            out.appendLiteral(#","links":["#)
            for (i, link) in links.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                out.appendLiteral(#"{"traceId":""#)
                hex(link.traceID.high, to: &out)
                hex(link.traceID.low, to: &out)
                out.appendLiteral(#"","spanId":""#)
                hex(link.spanID.raw, to: &out)
                out.append(ASCII.quote)
                var attributes = link.attributes
                if let ref = link.referenceType {
                    // The semantic convention for OpenTracing references.
                    attributes.append(Attribute("opentracing.ref_type", .string(ref.lowercased())))
                }
                if !attributes.isEmpty {
                    out.appendLiteral(#","attributes":"#)
                    writeAttributes(attributes, to: &out)
                }
                out.append(ASCII.closeBrace)
            }
            out.append(ASCII.closeBracket)
        }
        out.appendLiteral(#","status":{"#)
        let status = span.status
        if status.code != .unset || !status.message.isEmpty {
            var needsComma = false
            if !status.message.isEmpty {
                out.appendLiteral(#""message":"#)
                string(status.message, to: &out)
                needsComma = true
            }
            if status.code != .unset {
                if needsComma { out.append(ASCII.comma) }
                out.appendLiteral(#""code":"#)
                decimal(UInt64(status.code.rawValue), to: &out)
            }
        }
        out.appendLiteral("}}")
    }

    static func writeAttributes<Out: JSONOutput & ~Copyable>(_ attributes: [Attribute], to out: inout Out) {
        out.append(ASCII.openBracket)
        for i in attributes.indices {
            if i > 0 { out.append(ASCII.comma) }
            out.appendLiteral(#"{"key":"#)
            string(attributes[i].key, to: &out)
            out.appendLiteral(#","value":"#)
            writeValue(attributes[i].value, to: &out)
            out.append(ASCII.closeBrace)
        }
        out.append(ASCII.closeBracket)
    }

    static func writeValue<Out: JSONOutput & ~Copyable>(_ value: AttributeValue, to out: inout Out) {
        switch value {
        case .string(let s):
            out.appendLiteral(#"{"stringValue":"#)
            string(s, to: &out)
        case .bool(let b):
            if b { out.appendLiteral(#"{"boolValue":true"#) } else { out.appendLiteral(#"{"boolValue":false"#) }
        case .int(let v):
            out.appendLiteral(#"{"intValue":""#)
            if v < 0 { out.append(ASCII.minus) }
            decimal(v.magnitude, to: &out)
            out.append(ASCII.quote)
        case .double(let d):
            out.appendLiteral(#"{"doubleValue":"#)
            if d.isNaN {
                out.appendLiteral(#""NaN""#)
            } else if d.isInfinite {
                if d > 0 { out.appendLiteral(#""Infinity""#) } else { out.appendLiteral(#""-Infinity""#) }
            } else {
                var text = d.description
                text.withUTF8 { out.appendBytes($0) }
            }
        case .bytes(let bytes):
            out.appendLiteral(#"{"bytesValue":""#)
            var text = Base64.encode(bytes)
            text.withUTF8 { out.appendBytes($0) }
            out.append(ASCII.quote)
        case .array(let values):
            out.appendLiteral(#"{"arrayValue":{"#)
            if !values.isEmpty {
                out.appendLiteral(#""values":["#)
                for (i, v) in values.enumerated() {
                    if i > 0 { out.append(ASCII.comma) }
                    writeValue(v, to: &out)
                }
                out.append(ASCII.closeBracket)
            }
            out.append(ASCII.closeBrace)
        case .map(let attributes):
            out.appendLiteral(#"{"kvlistValue":{"#)
            if !attributes.isEmpty {
                out.appendLiteral(#""values":"#)
                writeAttributes(attributes, to: &out)
            }
            out.append(ASCII.closeBrace)
        }
        out.append(ASCII.closeBrace)
    }

    // MARK: Scalars

    public static func writeHex(_ value: UInt64, into out: inout [UInt8]) { hex(value, to: &out) }
    public static func writeDecimal(_ value: UInt64, into out: inout [UInt8]) { decimal(value, to: &out) }

    /// JSON string with escapes for quote, backslash and control characters
    /// (`\u00XX`), and `\uXXXX` for DEL and for what could drive or fool a
    /// terminal past ASCII (C1 controls, bidi and invisible characters: see
    /// `unicodeEscaped`), so a dump or `print --format json` is safe to `cat`;
    /// JSON reads every escape back as the same text. All other UTF-8 passes through.
    public static func writeString(_ text: String, into out: inout [UInt8]) { string(text, to: &out) }

    /// 16 lowercase hex digits.
    @inline(__always)
    static func hex<Out: JSONOutput & ~Copyable>(_ value: UInt64, to out: inout Out) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { digits in
            for k in 0..<16 {
                let d = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * k)) & 0xF
                digits[k] = d &+ (d < 10 ? 0x30 : 0x57)
            }
            out.appendBytes(UnsafeBufferPointer(digits))
        }
    }

    /// "00" ... "99": two digits per division.
    private static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    @inline(__always)
    static func decimal<Out: JSONOutput & ~Copyable>(_ value: UInt64, to out: inout Out) {
        if value < 10 { out.append(ASCII.zero &+ UInt8(truncatingIfNeeded: value)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            digitPairs.withUTF8Buffer { pairs in
                var v = value
                var i = 20
                while v >= 100 {
                    let q = v / 100
                    let r = Int(truncatingIfNeeded: v &- q &* 100) &* 2
                    i -= 2
                    digits[i] = pairs[r]
                    digits[i + 1] = pairs[r + 1]
                    v = q
                }
                if v >= 10 {
                    let r = Int(truncatingIfNeeded: v) &* 2
                    i -= 2
                    digits[i] = pairs[r]
                    digits[i + 1] = pairs[r + 1]
                } else {
                    i -= 1
                    digits[i] = ASCII.zero &+ UInt8(truncatingIfNeeded: v)
                }
                out.appendBytes(UnsafeBufferPointer(rebasing: digits[i...]))
            }
        }
    }

    static func string<Out: JSONOutput & ~Copyable>(_ text: String, to out: inout Out) {
        out.append(ASCII.quote)
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { escaped($0, to: &out) }
        if done == nil {
            var copy = text
            copy.withUTF8 { escaped($0, to: &out) }
        }
        out.append(ASCII.quote)
    }

    /// A string's UTF-8 (valid: it came from a Swift string) with what JSON
    /// and a terminal need escaped; runs that need nothing are copied whole.
    private static func escaped<Out: JSONOutput & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout Out) {
        var runStart = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            // Printable ASCII (0x20...0x7E) but quote and backslash passes.
            if c &- 0x20 < 0x5F && c != ASCII.quote && c != ASCII.backslash { i += 1; continue }
            if c >= 0x80 {
                // Continuation bytes and lead bytes of ranges with nothing to escape pass.
                guard mayStartUnicodeEscaped(c) else { i += 1; continue }
                let (value, length) = scalar(in: bytes, at: i)
                guard unicodeEscaped(value) else { i += length; continue }
                if i > runStart { out.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                if value > 0xFFFF {
                    let offset = value - 0x10000
                    writeUnicodeEscape(0xD800 + (offset >> 10), to: &out)
                    writeUnicodeEscape(0xDC00 + (offset & 0x3FF), to: &out)
                } else {
                    writeUnicodeEscape(value, to: &out)
                }
                i += length
                runStart = i
                continue
            }
            if i > runStart { out.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            switch c {
            case ASCII.quote: out.appendLiteral(#"\""#)
            case ASCII.backslash: out.appendLiteral(#"\\"#)
            default: writeUnicodeEscape(UInt32(c), to: &out)
            }
            i += 1
            runStart = i
        }
        if n > runStart { out.appendBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<n])) }
    }

    /// The scalars past ASCII that `TerminalText.sanitize` (TerminalUI) shows
    /// escaped: C1 controls, bidi controls and marks, line/paragraph
    /// separators, zero-width and other invisible characters, tags. A test
    /// keeps the two lists in step.
    @inline(__always)
    static func unicodeEscaped(_ value: UInt32) -> Bool {
        switch value {
        case 0x80...0x9F, 0xAD, 0x0600...0x0605, 0x061C, 0x06DD, 0x070F, 0x0890...0x0891, 0x08E2,
             0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF, 0xFFF9...0xFFFB, 0x110BD, 0x110CD,
             0xE0000...0xE007F:
            return true
        default:
            return false
        }
    }

    /// UTF-8 lead bytes of the ranges holding `unicodeEscaped` scalars.
    @inline(__always)
    static func mayStartUnicodeEscaped(_ lead: UInt8) -> Bool {
        switch lead {
        case 0xC2, 0xD8, 0xDB, 0xDC, 0xE0, 0xE1, 0xE2, 0xEF, 0xF0, 0xF3: return true
        default: return false
        }
    }

    /// The scalar whose valid UTF-8 starts at `i`, and its length in bytes.
    @inline(__always)
    static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let lead = UInt32(bytes[i])
        func next(_ k: Int) -> UInt32 { UInt32(bytes[i + k] & 0x3F) }
        switch lead {
        case 0xF0...: return ((lead & 0x07) << 18 | next(1) << 12 | next(2) << 6 | next(3), 4)
        case 0xE0...: return ((lead & 0x0F) << 12 | next(1) << 6 | next(2), 3)
        default: return ((lead & 0x1F) << 6 | next(1), 2)
        }
    }

    static func writeUnicodeEscape<Out: JSONOutput & ~Copyable>(_ value: UInt32, to out: inout Out) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6) { escape in
            escape[0] = ASCII.backslash
            escape[1] = UInt8(ascii: "u")
            for k in 0..<4 {
                let d = UInt8(truncatingIfNeeded: value >> UInt32(12 - 4 * k)) & 0xF
                escape[2 + k] = d &+ (d < 10 ? 0x30 : 0x57)
            }
            out.appendBytes(UnsafeBufferPointer(escape))
        }
    }
}

/// Appends spans to a dump file as OTLP JSON lines (`-` is standard output).
public final class DumpWriter {
    public let path: String
    private var fd: Int32
    private var buffer = JSONBytes(capacity: 3 << 20)
    /// Where each buffered line ends and how many spans it holds, so a
    /// failed write can tell the spans that reached the file from the rest.
    private var lineEnds: [(end: Int, spans: Int)] = []
    private let flushThreshold = 1 << 20
    /// Large batches are split so no line grows without bound.
    public var maxSpansPerLine = 1000
    /// Spans whose whole line was handed to the kernel.
    public private(set) var spansFlushed = 0
    /// Spans whose line a failed write could not hand over whole (a disk
    /// full, a file-size limit, a closed writer): not in the file, or torn.
    public private(set) var spansLost = 0
    /// Bytes handed to the kernel.
    public private(set) var bytesWritten = 0

    public init(path: String, append: Bool = false) throws(DumpError) {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
            guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    deinit {
        try? close()
    }

    /// Writes the spans as one line (or several, for very large batches).
    public func write(_ spans: [Span]) throws(DumpError) {
        try spans.withUnsafeBufferPointer { (spans) throws(DumpError) in try write(spans) }
    }

    /// `write` of spans read in place.
    public func write(_ spans: UnsafeBufferPointer<Span>) throws(DumpError) {
        guard fd >= 0 else {
            spansLost += spans.count
            throw .writeFailed(path: path, reason: "writer is closed")
        }
        guard !spans.isEmpty else { return }
        var start = 0
        while start < spans.count {
            let end = min(spans.count, start + max(1, maxSpansPerLine))
            OTLPJSONEncoder.encode(UnsafeBufferPointer(rebasing: spans[start..<end]), into: &buffer)
            buffer.append(ASCII.newline)
            lineEnds.append((buffer.count, end - start))
            start = end
        }
        if buffer.count >= flushThreshold { try flush() }
    }

    public func flush() throws(DumpError) {
        guard fd >= 0 else { return }
        var written = 0
        let total = buffer.count
        let failure: Int32? = { () -> Int32? in
            guard let base = buffer.bytes.baseAddress else { return nil }
            while written < total {
                let n = posixWrite(fd, base + written, total - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }()
        bytesWritten += written
        // Whole lines up to `written` are in the file; a line cut short is lost (torn).
        for line in lineEnds {
            if line.end <= written { spansFlushed += line.spans } else { spansLost += line.spans }
        }
        lineEnds.removeAll(keepingCapacity: true)
        buffer.removeAll()
        if let failure { throw .writeFailed(path: path, reason: String(cString: strerror(failure))) }
    }

    /// Flushes and asks the kernel to put the data on disk.
    public func sync() throws(DumpError) {
        try flush()
        guard fd >= 0 else { return }
        if fsync(fd) != 0 && errno != EINVAL {
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    public func close() throws(DumpError) {
        guard fd >= 0 else { return }
        defer {
            if fd != STDOUT_FILENO { posixClose(fd) }
            fd = -1
        }
        try flush()
    }
}
