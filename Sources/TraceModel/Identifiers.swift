/// A 128-bit trace id. 64-bit ids (Jaeger `traceIdHigh` = 0, Zipkin 16 hex
/// digits) are zero-extended into `high`.
public struct TraceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64 = 0, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses 1...32 hex digits (either case). Shorter ids are zero-extended.
    public init?<S: StringProtocol>(hex: S) {
        guard let (high, low) = HexDigits.parse128(hex.utf8) else { return nil }
        self.init(high: high, low: low)
    }

    /// Parses 1...32 hex digits from raw UTF-8 bytes.
    public init?<C: Collection>(hexBytes: C) where C.Element == UInt8 {
        guard let (high, low) = HexDigits.parse128(hexBytes) else { return nil }
        self.init(high: high, low: low)
    }

    public var isZero: Bool { high == 0 && low == 0 }

    /// Always 32 lowercase hex digits, as OTLP JSON writes it.
    public var hex: String { HexDigits.format(high) + HexDigits.format(low) }

    /// 16 digits for a 64-bit id, 32 otherwise (as Jaeger's UI shows it).
    public var shortHex: String { high == 0 ? HexDigits.format(low) : hex }

    public var description: String { hex }

    public static func < (a: TraceID, b: TraceID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

/// A 64-bit span id.
public struct SpanID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var raw: UInt64

    public init(_ raw: UInt64) { self.raw = raw }

    /// Parses 1...16 hex digits.
    public init?<S: StringProtocol>(hex: S) {
        self.init(hexBytes: hex.utf8)
    }

    public init?<C: Collection>(hexBytes: C) where C.Element == UInt8 {
        guard hexBytes.count <= 16, let (_, low) = HexDigits.parse128(hexBytes) else { return nil }
        self.raw = low
    }

    public var isZero: Bool { raw == 0 }
    /// Always 16 lowercase hex digits.
    public var hex: String { HexDigits.format(raw) }
    public var description: String { hex }

    public static func < (a: SpanID, b: SpanID) -> Bool { a.raw < b.raw }
}

public enum HexDigits {
    @inline(__always)
    static func value(_ c: UInt8) -> UInt64? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(c &- 48)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(c &- 87)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt64(c &- 55)
        default: return nil
        }
    }

    /// 1...32 hex digits -> (high, low), right-aligned.
    public static func parse128<C: Collection>(_ bytes: C) -> (UInt64, UInt64)? where C.Element == UInt8 {
        let count = bytes.count
        guard count > 0, count <= 32 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var index = 0
        let lowStart = count - min(count, 16)
        for byte in bytes {
            guard let v = value(byte) else { return nil }
            if index < lowStart { high = (high << 4) | v } else { low = (low << 4) | v }
            index += 1
        }
        return (high, low)
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// 16 lowercase hex digits, zero-padded.
    public static func format(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            var v = value
            for i in stride(from: 15, through: 0, by: -1) {
                buffer[i] = digits[Int(v & 0xF)]
                v >>= 4
            }
            return 16
        }
    }
}
