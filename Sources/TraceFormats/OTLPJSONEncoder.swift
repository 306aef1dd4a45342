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
        var out: [UInt8] = []
        out.reserveCapacity(spans.count * 512 + 64)
        encode(spans, into: &out)
        out.append(ASCII.newline)
        return out
    }

    /// One `TracesData` object (no newline) appended to `out`.
    public static func encode(_ spans: [Span], into out: inout [UInt8]) {
        let groups = SpanGrouping.byResourceAndScope(spans)
        out.append(contentsOf: #"{"resourceSpans":["#.utf8)
        for (g, group) in groups.enumerated() {
            if g > 0 { out.append(ASCII.comma) }
            out.append(contentsOf: #"{"resource":{"#.utf8)
            var attributes = group.resource.attributes
            if !attributes.contains(where: { $0.key == "service.name" }) && group.resource.serviceName != "unknown_service" {
                attributes.insert(Attribute("service.name", .string(group.resource.serviceName)), at: 0)
            }
            if !attributes.isEmpty {
                out.append(contentsOf: #""attributes":"#.utf8)
                writeAttributes(attributes, into: &out)
            }
            out.append(contentsOf: #"},"scopeSpans":["#.utf8)
            for (k, scopeGroup) in group.scopes.enumerated() {
                if k > 0 { out.append(ASCII.comma) }
                out.append(contentsOf: #"{"scope":{"#.utf8)
                let scope = scopeGroup.scope
                var needsComma = false
                if !scope.name.isEmpty {
                    out.append(contentsOf: #""name":"#.utf8); writeString(scope.name, into: &out); needsComma = true
                }
                if !scope.version.isEmpty {
                    if needsComma { out.append(ASCII.comma) }
                    out.append(contentsOf: #""version":"#.utf8); writeString(scope.version, into: &out); needsComma = true
                }
                if !scope.attributes.isEmpty {
                    if needsComma { out.append(ASCII.comma) }
                    out.append(contentsOf: #""attributes":"#.utf8); writeAttributes(scope.attributes, into: &out)
                }
                out.append(contentsOf: #"},"spans":["#.utf8)
                for (n, index) in scopeGroup.spans.enumerated() {
                    if n > 0 { out.append(ASCII.comma) }
                    writeSpan(spans[index], into: &out)
                }
                out.append(contentsOf: "]}".utf8)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: "]}".utf8)
    }

    static func writeSpan(_ span: Span, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"traceId":""#.utf8)
        writeHex(span.traceID.high, into: &out)
        writeHex(span.traceID.low, into: &out)
        out.append(contentsOf: #"","spanId":""#.utf8)
        writeHex(span.spanID.raw, into: &out)
        out.append(ASCII.quote)
        if !span.traceState.isEmpty {
            out.append(contentsOf: #","traceState":"#.utf8)
            writeString(span.traceState, into: &out)
        }
        if let parent = span.parentSpanID {
            out.append(contentsOf: #","parentSpanId":""#.utf8)
            writeHex(parent.raw, into: &out)
            out.append(ASCII.quote)
        }
        if span.flags != 0 {
            out.append(contentsOf: #","flags":"#.utf8)
            writeDecimal(UInt64(span.flags), into: &out)
        }
        if !span.name.isEmpty {
            out.append(contentsOf: #","name":"#.utf8)
            writeString(span.name, into: &out)
        }
        if span.kind != .unspecified {
            out.append(contentsOf: #","kind":"#.utf8)
            writeDecimal(UInt64(span.kind.rawValue), into: &out)
        }
        out.append(contentsOf: #","startTimeUnixNano":""#.utf8)
        writeDecimal(span.startTimeUnixNano, into: &out)
        out.append(contentsOf: #"","endTimeUnixNano":""#.utf8)
        writeDecimal(span.endTimeUnixNano, into: &out)
        out.append(ASCII.quote)
        if !span.attributes.isEmpty {
            out.append(contentsOf: #","attributes":"#.utf8)
            writeAttributes(span.attributes, into: &out)
        }
        if span.droppedAttributesCount > 0 {
            out.append(contentsOf: #","droppedAttributesCount":"#.utf8)
            writeDecimal(UInt64(span.droppedAttributesCount), into: &out)
        }
        if !span.events.isEmpty {
            out.append(contentsOf: #","events":["#.utf8)
            for (i, event) in span.events.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                out.append(contentsOf: #"{"timeUnixNano":""#.utf8)
                writeDecimal(event.timeUnixNano, into: &out)
                out.append(ASCII.quote)
                if !event.name.isEmpty {
                    out.append(contentsOf: #","name":"#.utf8)
                    writeString(event.name, into: &out)
                }
                if !event.attributes.isEmpty {
                    out.append(contentsOf: #","attributes":"#.utf8)
                    writeAttributes(event.attributes, into: &out)
                }
                out.append(ASCII.closeBrace)
            }
            out.append(ASCII.closeBracket)
        }
        let links = ParentReferences.wireLinks(of: span)
        if !links.isEmpty {
            out.append(contentsOf: #","links":["#.utf8)
            for (i, link) in links.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                out.append(contentsOf: #"{"traceId":""#.utf8)
                writeHex(link.traceID.high, into: &out)
                writeHex(link.traceID.low, into: &out)
                out.append(contentsOf: #"","spanId":""#.utf8)
                writeHex(link.spanID.raw, into: &out)
                out.append(ASCII.quote)
                var attributes = link.attributes
                if let ref = link.referenceType {
                    // The semantic convention for OpenTracing references.
                    attributes.append(Attribute("opentracing.ref_type", .string(ref.lowercased())))
                }
                if !attributes.isEmpty {
                    out.append(contentsOf: #","attributes":"#.utf8)
                    writeAttributes(attributes, into: &out)
                }
                out.append(ASCII.closeBrace)
            }
            out.append(ASCII.closeBracket)
        }
        out.append(contentsOf: #","status":{"#.utf8)
        if span.status.code != .unset || !span.status.message.isEmpty {
            var needsComma = false
            if !span.status.message.isEmpty {
                out.append(contentsOf: #""message":"#.utf8)
                writeString(span.status.message, into: &out)
                needsComma = true
            }
            if span.status.code != .unset {
                if needsComma { out.append(ASCII.comma) }
                out.append(contentsOf: #""code":"#.utf8)
                writeDecimal(UInt64(span.status.code.rawValue), into: &out)
            }
        }
        out.append(contentsOf: "}}".utf8)
    }

    static func writeAttributes(_ attributes: [Attribute], into out: inout [UInt8]) {
        out.append(ASCII.openBracket)
        for (i, attribute) in attributes.enumerated() {
            if i > 0 { out.append(ASCII.comma) }
            out.append(contentsOf: #"{"key":"#.utf8)
            writeString(attribute.key, into: &out)
            out.append(contentsOf: #","value":"#.utf8)
            writeValue(attribute.value, into: &out)
            out.append(ASCII.closeBrace)
        }
        out.append(ASCII.closeBracket)
    }

    static func writeValue(_ value: AttributeValue, into out: inout [UInt8]) {
        switch value {
        case .string(let s):
            out.append(contentsOf: #"{"stringValue":"#.utf8)
            writeString(s, into: &out)
        case .bool(let b):
            out.append(contentsOf: (b ? #"{"boolValue":true"# : #"{"boolValue":false"#).utf8)
        case .int(let v):
            out.append(contentsOf: #"{"intValue":""#.utf8)
            if v < 0 { out.append(ASCII.minus) }
            writeDecimal(v.magnitude, into: &out)
            out.append(ASCII.quote)
        case .double(let d):
            out.append(contentsOf: #"{"doubleValue":"#.utf8)
            if d.isNaN {
                out.append(contentsOf: #""NaN""#.utf8)
            } else if d.isInfinite {
                out.append(contentsOf: (d > 0 ? #""Infinity""# : #""-Infinity""#).utf8)
            } else {
                out.append(contentsOf: d.description.utf8)
            }
        case .bytes(let bytes):
            out.append(contentsOf: #"{"bytesValue":""#.utf8)
            Base64.encode(bytes, into: &out)
            out.append(ASCII.quote)
        case .array(let values):
            out.append(contentsOf: #"{"arrayValue":{"#.utf8)
            if !values.isEmpty {
                out.append(contentsOf: #""values":["#.utf8)
                for (i, v) in values.enumerated() {
                    if i > 0 { out.append(ASCII.comma) }
                    writeValue(v, into: &out)
                }
                out.append(ASCII.closeBracket)
            }
            out.append(ASCII.closeBrace)
        case .map(let attributes):
            out.append(contentsOf: #"{"kvlistValue":{"#.utf8)
            if !attributes.isEmpty {
                out.append(contentsOf: #""values":"#.utf8)
                writeAttributes(attributes, into: &out)
            }
            out.append(ASCII.closeBrace)
        }
        out.append(ASCII.closeBrace)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeHex(_ value: UInt64, into out: inout [UInt8]) {
        var shift: UInt64 = 60
        for _ in 0..<16 {
            out.append(hexDigits[Int((value >> shift) & 0xF)])
            shift &-= 4
        }
    }

    static func writeDecimal(_ value: UInt64, into out: inout [UInt8]) {
        if value == 0 { out.append(ASCII.zero); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value
            while v > 0 {
                scratch[23 - count] = ASCII.zero + UInt8(v % 10)
                v /= 10
                count += 1
            }
            out.append(contentsOf: scratch[(24 - count)...])
        }
    }

    /// JSON string with escapes for quote, backslash and control characters
    /// (`\u00XX`), and `\uXXXX` for DEL and for what could drive or fool a
    /// terminal past ASCII (C1 controls, bidi and invisible characters: see
    /// `unicodeEscaped`), so a dump or `print --format json` is safe to `cat`;
    /// JSON reads every escape back as the same text. All other UTF-8 passes through.
    public static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(ASCII.quote)
        var copy = string
        copy.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let c = bytes[i]
                if c >= 0x20 && c != ASCII.quote && c != ASCII.backslash && c != 0x7F && !mayStartUnicodeEscaped(c) { continue }
                if c >= 0x80 {
                    // A lead byte of valid UTF-8 (a Swift string): its continuation bytes pass
                    // the test above, so the run resumes after them.
                    let (value, length) = scalar(in: bytes, at: i)
                    guard unicodeEscaped(value) else { continue }
                    if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                    if value > 0xFFFF {
                        let offset = value - 0x10000
                        writeUnicodeEscape(0xD800 + (offset >> 10), into: &out)
                        writeUnicodeEscape(0xDC00 + (offset & 0x3FF), into: &out)
                    } else {
                        writeUnicodeEscape(value, into: &out)
                    }
                    runStart = i + length
                    continue
                }
                if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch c {
                case ASCII.quote: out.append(contentsOf: #"\""#.utf8)
                case ASCII.backslash: out.append(contentsOf: #"\\"#.utf8)
                default: writeUnicodeEscape(UInt32(c), into: &out)
                }
                runStart = i + 1
            }
            if bytes.count > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(ASCII.quote)
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

    static func writeUnicodeEscape(_ value: UInt32, into out: inout [UInt8]) {
        out.append(contentsOf: #"\u"#.utf8)
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt32(shift)) & 0xF)])
        }
    }
}

/// Appends spans to a dump file as OTLP JSON lines (`-` is standard output).
public final class DumpWriter {
    public let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
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

    public init(path: String, append: Bool = false) throws(DumpError) {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
            guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        }
        buffer.reserveCapacity(flushThreshold * 2)
    }

    deinit {
        try? close()
    }

    /// Writes the spans as one line (or several, for very large batches).
    public func write(_ spans: [Span]) throws(DumpError) {
        guard fd >= 0 else {
            spansLost += spans.count
            throw .writeFailed(path: path, reason: "writer is closed")
        }
        guard !spans.isEmpty else { return }
        var start = 0
        while start < spans.count {
            let end = min(spans.count, start + max(1, maxSpansPerLine))
            OTLPJSONEncoder.encode(Array(spans[start..<end]), into: &buffer)
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
        let failure: Int32? = buffer.withUnsafeBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            while written < total {
                let n = posixWrite(fd, base + written, total - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        // Whole lines up to `written` are in the file; a line cut short is lost (torn).
        for line in lineEnds {
            if line.end <= written { spansFlushed += line.spans } else { spansLost += line.spans }
        }
        lineEnds.removeAll(keepingCapacity: true)
        buffer.removeAll(keepingCapacity: true)
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
