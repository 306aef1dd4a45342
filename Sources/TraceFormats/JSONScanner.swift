#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A syntax or type error found by `JSONScanner`: a reason and the byte
/// offset (0-based, from the start of the scanned buffer) where it was found.
struct JSONFault: Error, Sendable {
    var message: String
    var offset: Int
}

/// An object key as raw bytes in the scanned buffer (or decoded, when the key
/// had escapes, which no real producer writes).
struct JSONKey {
    let pointer: UnsafePointer<UInt8>
    let count: Int
    let decoded: String?

    @inline(__always)
    static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        if let decoded = key.decoded { return decoded == pattern.description }
        return pattern.utf8CodeUnitCount == key.count
            && memcmp(pattern.utf8Start, key.pointer, key.count) == 0
    }
}

/// A string value as raw bytes; `hasEscapes` says whether it must be unescaped.
struct JSONRawString {
    let pointer: UnsafePointer<UInt8>
    let count: Int
    let hasEscapes: Bool
    /// Offset of the opening quote, for error messages.
    let offset: Int
}

enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let newline = UInt8(ascii: "\n")
}

/// A forward-only JSON tokenizer over a byte buffer that must outlive it.
/// Decoders pull exactly the tokens they expect; no DOM is built.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    var depth: Int = 0
    let maxDepth: Int

    /// nil for an empty buffer (callers report "unexpected end of input").
    init?(_ buffer: UnsafeRawBufferPointer, start: Int = 0, maxDepth: Int) {
        guard let address = buffer.baseAddress, buffer.count > 0 else { return nil }
        base = address.assumingMemoryBound(to: UInt8.self)
        end = buffer.count
        pos = start
        self.maxDepth = maxDepth
    }

    // MARK: errors

    func fault(_ message: String, at offset: Int? = nil) -> JSONFault {
        JSONFault(message: message, offset: offset ?? pos)
    }

    func unexpected(expected: String) -> JSONFault {
        guard pos < end else { return fault("unexpected end of input") }
        return fault("expected \(expected), found \(Self.describe(base[pos]))")
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let digits = Array("0123456789abcdef")
        return "byte 0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)])"
    }

    // MARK: structure

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let c = base[pos]
            if c > 0x20 { return }
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos &+= 1 } else { return }
        }
    }

    /// The next non-whitespace byte, not consumed.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return pos < end ? base[pos] : nil
    }

    @inline(__always)
    mutating func enter() throws(JSONFault) {
        depth &+= 1
        if depth > maxDepth { throw fault("nesting deeper than \(maxDepth)") }
    }

    mutating func beginObject() throws(JSONFault) {
        skipWhitespace()
        guard pos < end, base[pos] == ASCII.openBrace else { throw unexpected(expected: "'{'") }
        try enter()
        pos &+= 1
    }

    mutating func beginArray() throws(JSONFault) {
        skipWhitespace()
        guard pos < end, base[pos] == ASCII.openBracket else { throw unexpected(expected: "'['") }
        try enter()
        pos &+= 1
    }

    /// Reads the next key of an object opened by `beginObject`, or nil at '}'.
    /// `first` must start true for each object.
    @inline(__always)
    mutating func nextKey(_ first: inout Bool) throws(JSONFault) -> JSONKey? {
        guard try nextMember(&first) else { return nil }
        return try readKey()
    }

    /// Steps to the next member of an object opened by `beginObject`: true
    /// at its key's opening quote, false at '}' (consumed). The key is then
    /// read by `keyIs` (when it is the one expected) or `readKey`.
    /// `first` must start true for each object.
    @inline(__always)
    mutating func nextMember(_ first: inout Bool) throws(JSONFault) -> Bool {
        skipWhitespace()
        guard pos < end else { throw fault("unexpected end of input") }
        var c = base[pos]
        if first {
            first = false
            if c == ASCII.closeBrace { pos &+= 1; depth &-= 1; return false }
        } else {
            if c == ASCII.comma {
                pos &+= 1
                skipWhitespace()
                guard pos < end else { throw fault("unexpected end of input") }
                c = base[pos]
            } else if c == ASCII.closeBrace {
                pos &+= 1; depth &-= 1; return false
            } else {
                throw fault("expected ',' or '}', found \(Self.describe(c))")
            }
        }
        guard c == ASCII.quote else { throw fault("expected string key, found \(Self.describe(c))") }
        return true
    }

    /// At a key's opening quote (`nextMember`): consumes the key and its
    /// colon when the key is `literal` written without escapes, else
    /// consumes nothing. Decoders try the key they expect next this way:
    /// a compare of known length, where reading the key and matching it
    /// against each name was a fifth of decoding a span.
    @inline(__always)
    mutating func keyIs(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let close = pos &+ 1 &+ n
        guard close &+ 1 < end, base[close] == ASCII.quote,
              memcmp(base + (pos &+ 1), literal.utf8Start, n) == 0 else { return false }
        if base[close &+ 1] == ASCII.colon {
            pos = close &+ 2
            return true
        }
        // Whitespace before the colon (or no colon: `readKey` says what is wrong).
        let at = pos
        pos = close &+ 1
        skipWhitespace()
        if pos < end, base[pos] == ASCII.colon {
            pos &+= 1
            return true
        }
        pos = at
        return false
    }

    /// At a key's opening quote (`nextMember`): the key, through its colon.
    mutating func readKey() throws(JSONFault) -> JSONKey {
        let raw = try readRawString()
        skipWhitespace()
        guard pos < end, base[pos] == ASCII.colon else { throw unexpected(expected: "':'") }
        pos &+= 1
        if raw.hasEscapes {
            return JSONKey(pointer: raw.pointer, count: raw.count, decoded: try unescape(raw))
        }
        return JSONKey(pointer: raw.pointer, count: raw.count, decoded: nil)
    }

    /// At a key's opening quote: whether the key is `literal` (consumed
    /// through its colon either way).
    @inline(__always)
    mutating func keyIsElseRead(_ literal: StaticString) throws(JSONFault) -> Bool {
        if keyIs(literal) { return true }
        return literal ~= (try readKey())
    }

    /// A string of exactly 32 hex digits (an OTLP trace id), parsed; nil,
    /// with nothing consumed, for anything else. Read in place: no scan for
    /// the closing quote first.
    @inline(__always)
    mutating func quotedHex128() -> (UInt64, UInt64)? {
        skipWhitespace()
        guard pos &+ 33 < end, base[pos] == ASCII.quote, base[pos &+ 33] == ASCII.quote,
              let high = HexTable.sixteenHexDigits(base + (pos &+ 1)),
              let low = HexTable.sixteenHexDigits(base + (pos &+ 17)) else { return nil }
        pos &+= 34
        return (high, low)
    }

    /// A string of exactly 16 hex digits (an OTLP span id), parsed; nil,
    /// with nothing consumed, for anything else.
    @inline(__always)
    mutating func quotedHex64() -> UInt64? {
        skipWhitespace()
        guard pos &+ 17 < end, base[pos] == ASCII.quote, base[pos &+ 17] == ASCII.quote,
              let v = HexTable.sixteenHexDigits(base + (pos &+ 1)) else { return nil }
        pos &+= 18
        return v
    }

    /// True when another array element follows (positioned at it), false at ']'.
    @inline(__always)
    mutating func nextElement(_ first: inout Bool) throws(JSONFault) -> Bool {
        skipWhitespace()
        guard pos < end else { throw fault("unexpected end of input") }
        let c = base[pos]
        if first {
            first = false
            if c == ASCII.closeBracket { pos &+= 1; depth &-= 1; return false }
            return true
        }
        if c == ASCII.comma { pos &+= 1; skipWhitespace(); return true }
        if c == ASCII.closeBracket { pos &+= 1; depth &-= 1; return false }
        throw fault("expected ',' or ']', found \(Self.describe(c))")
    }

    /// Consumes `null` if it is next.
    @inline(__always)
    mutating func consumeNull() -> Bool {
        skipWhitespace()
        if pos &+ 4 <= end, base[pos] == UInt8(ascii: "n"), base[pos &+ 1] == UInt8(ascii: "u"),
           base[pos &+ 2] == UInt8(ascii: "l"), base[pos &+ 3] == UInt8(ascii: "l") {
            pos &+= 4
            return true
        }
        return false
    }

    // MARK: strings

    /// Reads a string starting at `pos` (which must be a quote).
    mutating func readRawString() throws(JSONFault) -> JSONRawString {
        let open = pos
        var i = pos &+ 1
        let start = i
        var escapes = false
        while true {
            // Eight bytes at a time to the first quote, backslash or control
            // byte: the lowest flagged byte of each test is exact (a borrow
            // only runs up from a flagged byte), so it is the first such byte.
            while i &+ 8 <= end {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let quotes = word ^ 0x2222_2222_2222_2222
                let slashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let lows = 0x0101_0101_0101_0101 as UInt64
                let highs = 0x8080_8080_8080_8080 as UInt64
                let hasQuote = (quotes &- lows) & ~quotes & highs
                let hasSlash = (slashes &- lows) & ~slashes & highs
                let hasControl = (word &- 0x2020_2020_2020_2020) & ~word & highs
                let flagged = hasQuote | hasSlash | hasControl
                if flagged != 0 {
                    i &+= flagged.trailingZeroBitCount &>> 3
                    break
                }
                i &+= 8
            }
            guard i < end else { throw fault("unexpected end of input", at: end) }
            let c = base[i]
            if c == ASCII.quote {
                pos = i &+ 1
                return JSONRawString(pointer: base + start, count: i &- start, hasEscapes: escapes, offset: open)
            }
            if c == ASCII.backslash {
                escapes = true
                i &+= 2
                continue
            }
            if c < 0x20 { throw fault("control character in string", at: i) }
            i &+= 1
        }
    }

    func unescape(_ raw: JSONRawString) throws(JSONFault) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        let p = raw.pointer
        let base0 = raw.offset + 1
        var pendingHigh: UInt32? = nil
        func appendScalar(_ v: UInt32, _ out: inout [UInt8]) {
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            if let encoded = UTF8.encode(scalar) { out.append(contentsOf: encoded) }
        }
        while i < raw.count {
            let c = p[i]
            if c != ASCII.backslash {
                if pendingHigh != nil { appendScalar(0xFFFD, &out); pendingHigh = nil }
                out.append(c); i += 1; continue
            }
            guard i + 1 < raw.count else { throw fault("invalid escape", at: base0 + i) }
            let e = p[i + 1]
            var simple: UInt8? = nil
            switch e {
            case UInt8(ascii: "\""): simple = 0x22
            case UInt8(ascii: "\\"): simple = 0x5C
            case UInt8(ascii: "/"): simple = 0x2F
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "r"): simple = 0x0D
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "u"): break
            default: throw fault("invalid escape", at: base0 + i)
            }
            if let simple {
                if pendingHigh != nil { appendScalar(0xFFFD, &out); pendingHigh = nil }
                out.append(simple); i += 2; continue
            }
            guard i + 6 <= raw.count else { throw fault("invalid \\u escape", at: base0 + i) }
            var v: UInt32 = 0
            for k in 2..<6 {
                guard let d = HexTable.value(p[i + k]) else { throw fault("invalid \\u escape", at: base0 + i) }
                v = v << 4 | UInt32(d)
            }
            i += 6
            if v >= 0xD800 && v < 0xDC00 {
                if pendingHigh != nil { appendScalar(0xFFFD, &out) }
                pendingHigh = v
            } else if v >= 0xDC00 && v < 0xE000 {
                if let high = pendingHigh {
                    appendScalar(0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00), &out)
                    pendingHigh = nil
                } else {
                    appendScalar(0xFFFD, &out)
                }
            } else {
                if pendingHigh != nil { appendScalar(0xFFFD, &out); pendingHigh = nil }
                appendScalar(v, &out)
            }
        }
        if pendingHigh != nil { appendScalar(0xFFFD, &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    mutating func expectString() throws(JSONFault) -> JSONRawString {
        skipWhitespace()
        guard pos < end, base[pos] == ASCII.quote else { throw unexpected(expected: "string") }
        return try readRawString()
    }

    /// A string value as a fresh String (no caching).
    mutating func readString() throws(JSONFault) -> String {
        let raw = try expectString()
        return try string(raw)
    }

    @inline(__always)
    func string(_ raw: JSONRawString) throws(JSONFault) -> String {
        if raw.hasEscapes { return try unescape(raw) }
        return String(decoding: UnsafeBufferPointer(start: raw.pointer, count: raw.count), as: UTF8.self)
    }

    // MARK: numbers and literals

    /// Scans a JSON number at `pos`; returns its byte range and whether it is an integer literal.
    mutating func scanNumber() throws(JSONFault) -> (start: Int, end: Int, isInteger: Bool) {
        let start = pos
        var i = pos
        if i < end && base[i] == ASCII.minus { i &+= 1 }
        guard i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine else {
            throw fault(i < end ? "invalid number" : "unexpected end of input", at: i)
        }
        if base[i] == ASCII.zero { i &+= 1 } else {
            while i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine { i &+= 1 }
        }
        var isInteger = true
        if i < end && base[i] == ASCII.dot {
            isInteger = false
            i &+= 1
            guard i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine else { throw fault("invalid number", at: i) }
            while i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine { i &+= 1 }
        }
        if i < end && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            isInteger = false
            i &+= 1
            if i < end && (base[i] == ASCII.plus || base[i] == ASCII.minus) { i &+= 1 }
            guard i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine else { throw fault("invalid number", at: i) }
            while i < end, base[i] >= ASCII.zero, base[i] <= ASCII.nine { i &+= 1 }
        }
        pos = i
        return (start, i, isInteger)
    }

    /// Parses decimal digits (optional leading '-') into an Int64-ish magnitude.
    static func parseInteger(_ p: UnsafePointer<UInt8>, _ count: Int) -> (negative: Bool, magnitude: UInt64)? {
        var i = 0
        var negative = false
        if count > 0 && p[0] == ASCII.minus { negative = true; i = 1 }
        guard i < count else { return nil }
        var v: UInt64 = 0
        while i < count {
            let d = p[i] &- ASCII.zero
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
            i &+= 1
        }
        return (negative, v)
    }

    static func parseDouble(_ p: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        switch text {
        case "NaN": return .nan
        case "Infinity", "+Infinity", "inf": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default: return Double(text)
        }
    }

    /// A number token or a string holding one: raw bytes and whether it was quoted.
    @inline(__always)
    mutating func numberBytes(_ what: String) throws(JSONFault) -> (UnsafePointer<UInt8>, Int, isInteger: Bool, offset: Int) {
        skipWhitespace()
        let offset = pos
        guard pos < end else { throw fault("unexpected end of input") }
        let c = base[pos]
        if c == ASCII.quote {
            let raw = try readRawString()
            if raw.hasEscapes { throw fault("expected \(what)", at: offset) }
            var isInteger = true
            for k in 0..<raw.count where !(raw.pointer[k] >= ASCII.zero && raw.pointer[k] <= ASCII.nine) && !(k == 0 && raw.pointer[k] == ASCII.minus) {
                isInteger = false
                break
            }
            return (raw.pointer, raw.count, isInteger, offset)
        }
        if c == ASCII.minus || (c >= ASCII.zero && c <= ASCII.nine) {
            let n = try scanNumber()
            return (base + n.start, n.end &- n.start, n.isInteger, offset)
        }
        throw unexpected(expected: what)
    }

    /// An unsigned 64-bit integer written as a number or a decimal string.
    mutating func readUInt64() throws(JSONFault) -> UInt64 {
        if let v = plainUInt64() { return v }
        return try readUInt64Slowly()
    }

    /// The common case without the general scan: 1 to 19 digits (which
    /// cannot overflow) in quotes, as OTLP JSON writes 64-bit integers, or
    /// bare without a leading zero, fraction or exponent; nil (nothing
    /// consumed) for anything else.
    @inline(__always)
    mutating func plainUInt64() -> UInt64? {
        skipWhitespace()
        guard pos < end else { return nil }
        let quoted = base[pos] == ASCII.quote
        let first = quoted ? pos &+ 1 : pos
        var i = first
        var v: UInt64 = 0
        // Eight digits at a time while they fit in 19 (a nanosecond time has 19).
        while i &+ 8 <= end, i &+ 8 &- first <= 19 {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            guard let eight = Self.eightDigits(word) else { break }
            v = v &* 100_000_000 &+ eight
            i &+= 8
        }
        let limit = Swift.min(end, first &+ 20)
        while i < limit {
            let d = base[i] &- ASCII.zero
            if d >= 10 { break }
            v = v &* 10 &+ UInt64(d)
            i &+= 1
        }
        let digits = i &- first
        guard digits >= 1, digits <= 19, i < end || !quoted else { return nil }
        if quoted {
            guard base[i] == ASCII.quote else { return nil }
            pos = i &+ 1
        } else {
            if digits > 1 && base[first] == ASCII.zero { return nil }
            if i < end {
                let c = base[i]
                if c == ASCII.dot || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { return nil }
            }
            pos = i
        }
        return v
    }

    /// The value of eight ASCII digits (little-endian load), nil unless all are digits.
    @inline(__always)
    static func eightDigits(_ word: UInt64) -> UInt64? {
        // Each byte 0x30...0x39: high nibble 3, and adding 6 does not carry out of the low nibble.
        guard word & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
              (word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { return nil }
        var v = word &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)  // pairs
        v = (((v & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32)))
            &+ (((v >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32)))) >> 32
        return v
    }

    private mutating func readUInt64Slowly() throws(JSONFault) -> UInt64 {
        let (p, n, isInteger, offset) = try numberBytes("integer")
        if isInteger, let (negative, v) = Self.parseInteger(p, n) {
            if negative && v != 0 { throw fault("negative value for unsigned integer", at: offset) }
            return v
        }
        if let d = Self.parseDouble(p, n), d >= 0, d < 18_446_744_073_709_551_616.0 { return UInt64(d) }
        throw fault("invalid integer", at: offset)
    }

    mutating func readInt64() throws(JSONFault) -> Int64 {
        let before = pos
        if let v = plainUInt64() {
            if v <= UInt64(Int64.max) { return Int64(v) }
            pos = before
        }
        let (p, n, isInteger, offset) = try numberBytes("integer")
        if isInteger, let (negative, v) = Self.parseInteger(p, n) {
            if negative {
                if v <= UInt64(Int64.max) + 1 { return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v) }
            } else if v <= UInt64(Int64.max) {
                return Int64(v)
            }
            throw fault("integer out of range", at: offset)
        }
        if let d = Self.parseDouble(p, n), d.rounded() == d, d >= -9.2e18, d <= 9.2e18 { return Int64(d) }
        throw fault("invalid integer", at: offset)
    }

    mutating func readDouble() throws(JSONFault) -> Double {
        let (p, n, _, offset) = try numberBytes("number")
        guard let d = Self.parseDouble(p, n) else { throw fault("invalid number", at: offset) }
        return d
    }

    /// A JSON number token: exact Int64 when it is an integer literal that fits.
    mutating func readNumber() throws(JSONFault) -> (integer: Int64?, double: Double) {
        skipWhitespace()
        let offset = pos
        let n = try scanNumber()
        let p = base + n.start
        let count = n.end &- n.start
        if n.isInteger, let (negative, v) = Self.parseInteger(p, count) {
            if !negative && v <= UInt64(Int64.max) { return (Int64(v), Double(v)) }
            // Down to Int64.min, whose magnitude (2^63) is one past Int64.max.
            if negative && v <= UInt64(Int64.max) &+ 1 { return (Int64(bitPattern: 0 &- v), -Double(v)) }
        }
        guard let d = Self.parseDouble(p, count) else { throw fault("invalid number", at: offset) }
        return (nil, d)
    }

    mutating func readBool() throws(JSONFault) -> Bool {
        skipWhitespace()
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        if pos < end && base[pos] == ASCII.quote {
            let offset = pos
            let raw = try readRawString()
            if raw.count == 4 && memcmp(raw.pointer, "true", 4) == 0 { return true }
            if raw.count == 5 && memcmp(raw.pointer, "false", 5) == 0 { return false }
            throw fault("expected boolean", at: offset)
        }
        throw unexpected(expected: "boolean")
    }

    @inline(__always)
    mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard pos &+ n <= end, memcmp(base + pos, literal.utf8Start, n) == 0 else { return false }
        pos &+= n
        return true
    }

    // MARK: skipping

    /// Skips any JSON value, validating it.
    mutating func skipValue() throws(JSONFault) {
        skipWhitespace()
        guard pos < end else { throw fault("unexpected end of input") }
        switch base[pos] {
        case ASCII.quote:
            _ = try readRawString()
        case ASCII.openBrace:
            try beginObject()
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case ASCII.openBracket:
            try beginArray()
            var first = true
            while try nextElement(&first) { try skipValue() }
        case UInt8(ascii: "t"):
            guard matchLiteral("true") else { throw fault("invalid literal") }
        case UInt8(ascii: "f"):
            guard matchLiteral("false") else { throw fault("invalid literal") }
        case UInt8(ascii: "n"):
            guard matchLiteral("null") else { throw fault("invalid literal") }
        case ASCII.minus, ASCII.zero...ASCII.nine:
            _ = try scanNumber()
        default:
            throw fault("unexpected \(Self.describe(base[pos]))")
        }
    }

    /// After a top-level value: only whitespace may follow.
    mutating func expectEnd() throws(JSONFault) {
        skipWhitespace()
        if pos < end { throw fault("unexpected \(Self.describe(base[pos])) after JSON value") }
    }
}

enum HexTable {
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "0123456789".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        for (i, c) in "abcdef".utf8.enumerated() { t[Int(c)] = UInt8(10 + i) }
        for (i, c) in "ABCDEF".utf8.enumerated() { t[Int(c)] = UInt8(10 + i) }
        return t
    }()

    @inline(__always)
    static func value(_ c: UInt8) -> UInt8? {
        let v = table.withUnsafeBufferPointer { $0[Int(c)] }
        return v == 0xFF ? nil : v
    }

    /// Parses 1...16 hex digits.
    @inline(__always)
    static func parse64(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64? {
        guard count > 0, count <= 16 else { return nil }
        return table.withUnsafeBufferPointer { t -> UInt64? in
            var v: UInt64 = 0
            var bad: UInt8 = 0
            for i in 0..<count {
                let d = t[Int(p[i])]
                bad |= d
                v = v << 4 | UInt64(d & 0xF)
            }
            return bad & 0xF0 == 0 ? v : nil
        }
    }

    /// The value of eight ASCII hex digits (little-endian load, the first
    /// digit the most significant), nil unless all are hex digits: eight at
    /// once where a table look-up a digit was most of reading an id.
    @inline(__always)
    static func eightHexDigits(_ word: UInt64) -> UInt64? {
        let highs: UInt64 = 0x8080_8080_8080_8080
        // Per byte b < 0x80, b + (0x80 - lo) has its high bit set iff b >= lo,
        // and b + (0x7F - hi) iff b > hi; no sum carries into the next byte.
        @inline(__always) func within(_ x: UInt64, _ lo: UInt64, _ hi: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            return (x &+ (0x80 &- lo) &* ones) & ~(x &+ (0x7F &- hi) &* ones) & highs
        }
        guard word & highs == 0 else { return nil }
        // `| 0x20` takes 'A'...'F' to 'a'...'f' and nothing else there.
        guard within(word, 0x30, 0x39) | within(word | 0x2020_2020_2020_2020, 0x61, 0x66) == highs else { return nil }
        // Digits' low nibbles are their values; letters' are 1...6, and their 0x40 bit adds 9.
        var v = (word & 0x0F0F_0F0F_0F0F_0F0F) &+ ((word >> 6) & 0x0101_0101_0101_0101) &* 9
        v = ((v << 4) | (v >> 8)) & 0x00FF_00FF_00FF_00FF
        v = ((v << 8) | (v >> 16)) & 0x0000_FFFF_0000_FFFF
        return ((v << 16) | (v >> 32)) & 0xFFFF_FFFF
    }

    /// Exactly 16 hex digits.
    @inline(__always)
    static func sixteenHexDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let raw = UnsafeRawPointer(p)
        guard let high = eightHexDigits(raw.loadUnaligned(as: UInt64.self)),
              let low = eightHexDigits(raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) else { return nil }
        return high << 32 | low
    }

    /// Parses 1...32 hex digits into (high, low).
    static func parse128(_ p: UnsafePointer<UInt8>, _ count: Int) -> (UInt64, UInt64)? {
        guard count > 0, count <= 32 else { return nil }
        if count <= 16 { return parse64(p, count).map { (0, $0) } }
        guard let high = parse64(p, count - 16), let low = parse64(p + (count - 16), 16) else { return nil }
        return (high, low)
    }
}
