/// The value tests a query's terms make. Both evaluators (materialized spans
/// and the store's packed bytes) call these same functions on the same
/// strings and values, which is what keeps their answers equal.

enum CompareOp: Sendable, Hashable {
    case equal, notEqual, contains, less, lessOrEqual, greater, greaterOrEqual

    var symbol: String {
        switch self {
        case .equal: return "="
        case .notEqual: return "!="
        case .contains: return "~="
        case .less: return "<"
        case .lessOrEqual: return "<="
        case .greater: return ">"
        case .greaterOrEqual: return ">="
        }
    }

    var isOrdering: Bool {
        switch self {
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        case .equal, .notEqual, .contains: return false
        }
    }
}

/// `dur>300ms`, `spans>=3`: a number against a bound.
struct Ordered<T: Comparable & Sendable>: Sendable {
    let op: CompareOp
    let bound: T

    func holds(_ value: T) -> Bool {
        switch op {
        case .equal: return value == bound
        case .notEqual: return value != bound
        case .less: return value < bound
        case .lessOrEqual: return value <= bound
        case .greater: return value > bound
        case .greaterOrEqual: return value >= bound
        case .contains: return false
        }
    }
}

/// `service=NAME` (exact) or `service~=NAME` (case-insensitive substring).
enum TextTest: Sendable {
    case equals(String)
    case contains(Needle)

    func matches(_ text: String) -> Bool {
        switch self {
        case .equals(let wanted): return text == wanted
        case .contains(let needle): return needle.isFound(in: text)
        }
    }
}

/// A case-insensitive substring: the needle lowercased once, each haystack
/// lowercased as it is searched (ASCII haystacks folded byte by byte, with
/// the same result as `lowercased()`).
struct Needle: Sendable {
    let text: String
    let folded: [UInt8]
    /// Whether the needle could occur in the decimal text of an integer or a
    /// double: most words cannot, and then numbers need no formatting.
    let mayOccurInInteger: Bool
    let mayOccurInDouble: Bool
    let occursInTrue: Bool
    let occursInFalse: Bool

    init(_ text: String) {
        self.text = text
        folded = Array(text.lowercased().utf8)
        let integerBytes = Set("-0123456789".utf8)
        // Double's description: digits, sign, point, exponent, inf, nan.
        let doubleBytes = integerBytes.union("+.einfa".utf8)
        mayOccurInInteger = folded.allSatisfy(integerBytes.contains)
        mayOccurInDouble = folded.allSatisfy(doubleBytes.contains)
        occursInTrue = Needle.search(folded, in: Array("true".utf8))
        occursInFalse = Needle.search(folded, in: Array("false".utf8))
    }

    var hints: NeedleHints {
        NeedleHints(mayOccurInInteger: mayOccurInInteger, mayOccurInDouble: mayOccurInDouble,
                    occursInTrue: occursInTrue, occursInFalse: occursInFalse)
    }

    func isFound(in haystack: String) -> Bool {
        if folded.isEmpty { return true }
        var haystack = haystack
        let found: Bool? = haystack.withUTF8 { bytes in
            // ASCII: fold byte by byte; anything else: Unicode lowercasing below.
            for b in bytes where b >= 0x80 { return nil }
            return Needle.searchFolding(folded, in: bytes)
        }
        if let found { return found }
        return Needle.search(folded, in: Array(haystack.lowercased().utf8))
    }

    /// Whether the needle occurs in the value's text form (as the detail pane shows it).
    func isFound(in value: AttributeValue) -> Bool {
        switch value {
        case .string(let s): return isFound(in: s)
        case .bool(let b): return b ? occursInTrue : occursInFalse
        case .int(let i): return mayOccurInInteger && isFound(in: String(i))
        case .double(let d): return mayOccurInDouble && isFound(in: String(d))
        case .bytes, .array, .map: return isFound(in: value.queryText)
        }
    }

    private static func searchFolding(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.count, h = haystack.count
        guard n <= h else { return false }
        let first = needle[0]
        var i = 0
        while i <= h - n {
            if fold(haystack[i]) == first {
                var j = 1
                while j < n, fold(haystack[i + j]) == needle[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }

    @inline(__always) private static func fold(_ b: UInt8) -> UInt8 {
        b >= 0x41 && b <= 0x5A ? b | 0x20 : b
    }

    static func search(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        let n = needle.count, h = haystack.count
        if n == 0 { return true }
        guard n <= h else { return false }
        var i = 0
        while i <= h - n {
            if haystack[i] == needle[0] {
                var j = 1
                while j < n, haystack[i + j] == needle[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}

/// What a needle can match among scalars, as plain values: most words
/// rule out every number and boolean without a look at the needle.
struct NeedleHints: Sendable {
    let mayOccurInInteger: Bool
    let mayOccurInDouble: Bool
    let occursInTrue: Bool
    let occursInFalse: Bool
}

/// A number written in a query: exact as an integer when it is one.
struct QueryNumber: Sendable {
    let double: Double
    let integer: Int64?

    init?(_ text: String) {
        if let i = Int64(text) {
            integer = i
            double = Double(i)
        } else if let d = Double(text), d.isFinite || text.lowercased().contains("inf") {
            integer = nil
            double = d
        } else {
            return nil
        }
    }

    /// -1, 0 or 1 as `value` is below, equal to or above this number; nil for NaN.
    func order(of value: Int64) -> Int? {
        if let integer { return value < integer ? -1 : value == integer ? 0 : 1 }
        return order(of: Double(value))
    }

    func order(of value: Double) -> Int? {
        if value.isNaN || double.isNaN { return nil }
        return value < double ? -1 : value == double ? 0 : 1
    }
}

/// `tag.KEY op VALUE`, on one attribute value. Typed: numbers compare as
/// numbers (string attributes that read as numbers too, for the ordering
/// operators, as Zipkin sends every tag as a string), booleans as
/// true/false, strings exactly, anything else by its text form.
struct ValueTest: Sendable {
    /// `=`, `~=` or an ordering; `!=` is turned into a negation by the parser.
    let op: CompareOp
    let text: String
    let number: QueryNumber?
    let needle: Needle

    init(op: CompareOp, text: String) {
        self.op = op
        self.text = text
        number = QueryNumber(text)
        needle = Needle(text)
    }

    func matches(_ value: AttributeValue) -> Bool {
        switch op {
        case .contains:
            return needle.isFound(in: value)
        case .equal, .notEqual:
            let equal: Bool
            switch value {
            case .string(let s): equal = s == text
            case .int(let i): equal = number?.order(of: i) == 0
            case .double(let d): equal = number?.order(of: d) == 0
            case .bool(let b): equal = text.lowercased() == (b ? "true" : "false")
            case .bytes, .array, .map: equal = value.queryText == text
            }
            return op == .equal ? equal : !equal
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let number else { return false }
            let order: Int?
            switch value {
            case .int(let i): order = number.order(of: i)
            case .double(let d): order = number.order(of: d)
            case .string(let s):
                if let i = Int64(s) { order = number.order(of: i) } else if let d = Double(s) { order = number.order(of: d) } else { order = nil }
            case .bool, .bytes, .array, .map: order = nil
            }
            guard let order else { return false }
            switch op {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        }
    }
}

/// `trace=HEXPREFIX`: a prefix of the 32-digit id; also of the 16-digit low
/// half, which is how a 64-bit id is shown (`shortHex`) and how a client
/// that drops the high half reports a 128-bit one (a full 16 digits then).
struct TraceIDPrefix: Sendable {
    /// The digits, left-aligned in 128 bits, and how many there are.
    let high: UInt64
    let low: UInt64
    let digits: Int

    init?(_ text: String) {
        var high: UInt64 = 0, low: UInt64 = 0, digits = 0
        for b in text.utf8 {
            guard let v = HexDigits.value(b), digits < 32 else { return nil }
            if digits < 16 { high |= v << UInt64(60 - 4 * digits) } else { low |= v << UInt64(60 - 4 * (digits - 16)) }
            digits += 1
        }
        guard digits > 0 else { return nil }
        self.high = high
        self.low = low
        self.digits = digits
    }

    func matches(_ id: TraceID) -> Bool {
        if Self.hasPrefix(high, low, digits, id.high, id.low) { return true }
        guard digits <= 16, id.high == 0 || digits == 16 else { return false }
        return Self.hasPrefix(high, 0, digits, id.low, 0)
    }

    private static func hasPrefix(_ high: UInt64, _ low: UInt64, _ digits: Int, _ idHigh: UInt64, _ idLow: UInt64) -> Bool {
        let highMask: UInt64 = digits >= 16 ? .max : ~(UInt64.max >> UInt64(4 * digits))
        let lowMask: UInt64 = digits <= 16 ? 0 : digits == 32 ? .max : ~(UInt64.max >> UInt64(4 * (digits - 16)))
        return idHigh & highMask == high && idLow & lowMask == low
    }
}

extension AttributeValue {
    /// The text a query compares for values without a typed comparison, as
    /// the detail pane shows it: strings bare, bytes in hex, lists and maps
    /// with their strings quoted.
    var queryText: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bytes(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = Array("0x".utf8)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 0xF)])
            }
            return String(decoding: out, as: UTF8.self)
        case .array(let values): return "[" + values.map(\.quotedQueryText).joined(separator: ", ") + "]"
        case .map(let attributes):
            return "{" + attributes.map { $0.key + ": " + $0.value.quotedQueryText }.joined(separator: ", ") + "}"
        }
    }

    private var quotedQueryText: String {
        if case .string(let s) = self { return "\"" + s + "\"" }
        return queryText
    }
}

/// `300ms`, `1.5s`, `2m`: nanoseconds, or nil.
enum QueryDuration {
    static let units: [(suffix: String, nanos: UInt64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    static func nanoseconds(_ text: String) -> UInt64? {
        // Longest suffix first: "ms" before "s", "ns" before "s".
        for (suffix, scale) in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            return scaled(number, by: scale)
        }
        return nil
    }

    /// Digits with an optional fraction, times `scale`, exactly in integers
    /// (rounded to the nanosecond); nil on anything else or on overflow.
    private static func scaled(_ number: Substring, by scale: UInt64) -> UInt64? {
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !number.isEmpty else { return nil }
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), !(parts.count > 1 && fraction.isEmpty),
              whole.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return nil }
        var total: UInt64 = 0
        for digit in whole.utf8 {
            let (times10, o1) = total.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - 48))
            guard !o1, !o2 else { return nil }
            total = sum
        }
        let (wholeNanos, overflow) = total.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        // The fraction: digits past the nanosecond cannot change the result
        // beyond rounding, so read at most 18 of them.
        var numerator: UInt64 = 0
        var denominator: UInt64 = 1
        for digit in fraction.utf8.prefix(18) {
            numerator = numerator * 10 + UInt64(digit - 48)
            denominator *= 10
        }
        // scale <= 3.6e12 and numerator < 1e18: multiply in 128 bits.
        let product = scale.multipliedFullWidth(by: numerator)
        let (quotient, remainder) = denominator.dividingFullWidth(product)
        let rounded = quotient + (remainder * 2 >= denominator ? 1 : 0)
        let (sum, o3) = wholeNanos.addingReportingOverflow(rounded)
        return o3 ? nil : sum
    }
}
