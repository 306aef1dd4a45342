import TraceModel

/// Text forms of times, durations and values, shared by the explorer and `print`.
public enum Formatting {
    /// `12ns`, `3.4µs`, `751.2ms`, `1.25s`, `2m03s`: short, 3 significant digits.
    public static func duration(_ nanos: UInt64) -> String {
        let n = Double(nanos)
        switch nanos {
        case ..<1_000: return "\(nanos)ns"
        case ..<1_000_000: return trim(n / 1e3) + "µs"
        case ..<1_000_000_000: return trim(n / 1e6) + "ms"
        case ..<60_000_000_000: return trim(n / 1e9) + "s"
        case ..<3_600_000_000_000:
            let seconds = nanos / 1_000_000_000
            return "\(seconds / 60)m" + pad2(Int(seconds % 60)) + "s"
        default:
            let minutes = nanos / 60_000_000_000
            return "\(minutes / 60)h" + pad2(Int(minutes % 60)) + "m"
        }
    }

    /// Signed offset, e.g. `+250ms`, used for starts relative to the trace.
    /// By magnitude: `-Int64.min` traps, and analyses saturate at it (a
    /// clock-skew shift or a comparison of hostile durations).
    public static func offset(_ nanos: Int64) -> String {
        nanos < 0 ? "-" + duration(nanos.magnitude) : "+" + duration(nanos.magnitude)
    }

    /// `time` relative to `origin`, e.g. `+250ms`: exact for any two times
    /// (their difference as an `Int64` wraps past 2^63 apart, and so flips sign).
    public static func offset(of time: UInt64, from origin: UInt64) -> String {
        time >= origin ? "+" + duration(time - origin) : "-" + duration(origin - time)
    }

    /// A trace id short enough for a status line: its first 8 significant hex digits.
    public static func traceTag(_ id: TraceID) -> String {
        let digits = id.hex.drop { $0 == "0" }
        return digits.isEmpty ? "0" : String(digits.prefix(8))
    }

    /// `54%`, `4.2%`, `0.31%`: 3 significant digits at most, `0%` for zero.
    public static func percent(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0%" }
        return trim(value) + "%"
    }

    /// Signed duration: `+12ms`, `-3.4ms`, `0`.
    public static func signedDuration(_ nanos: Int64) -> String {
        nanos == 0 ? "0" : offset(nanos)
    }

    /// 3 significant digits, no trailing zeros: 751.23 -> "751", 12.345 -> "12.3".
    static func trim(_ value: Double) -> String {
        let decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 || rounded == rounded.rounded() { return String(Int(rounded)) }
        var text = String(rounded)
        // Double's description can give "1.2000000000000002": cut to the decimals wanted.
        if let dot = text.firstIndex(of: ".") {
            let end = text.index(dot, offsetBy: decimals + 1, limitedBy: text.endIndex) ?? text.endIndex
            text = String(text[..<end])
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    static func pad3(_ v: Int) -> String { v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : "\(v)" }

    /// `2026-11-27 15:04:05.123` in the given UTC offset (no locale, no clock).
    public static func timestamp(_ unixNano: UInt64, utcOffsetSeconds: Int = 0, withDate: Bool = true) -> String {
        let totalMillis = Int64(unixNano / 1_000_000) + Int64(utcOffsetSeconds) * 1000
        let millis = Int(((totalMillis % 1000) + 1000) % 1000)
        let seconds = (totalMillis - Int64(millis)) / 1000
        let days = Int(floorDiv(seconds, 86_400))
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (y, m, d) = civilDate(daysSinceEpoch: days)
        let time = pad2(secondOfDay / 3600) + ":" + pad2(secondOfDay / 60 % 60) + ":" + pad2(secondOfDay % 60) + "." + pad3(millis)
        return withDate ? "\(y)-" + pad2(m) + "-" + pad2(d) + " " + time : time
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Howard Hinnant's days-to-civil algorithm.
    static func civilDate(daysSinceEpoch: Int) -> (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// A value as the detail pane shows it: strings bare, others typed.
    public static func value(_ value: AttributeValue) -> String {
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bytes(let bytes): return "0x" + bytes.map { b in
            let h = String(b, radix: 16)
            return h.count == 1 ? "0" + h : h
        }.joined()
        case .array(let values): return "[" + values.map(Self.quotedIfString).joined(separator: ", ") + "]"
        case .map(let attributes):
            return "{" + attributes.map { $0.key + ": " + quotedIfString($0.value) }.joined(separator: ", ") + "}"
        }
    }

    static func quotedIfString(_ v: AttributeValue) -> String {
        if case .string(let s) = v { return "\"" + s + "\"" }
        return value(v)
    }

    public static func count(_ n: Int) -> String {
        switch n {
        case ..<10_000: return String(n)
        case ..<1_000_000: return trim(Double(n) / 1e3) + "k"
        default: return trim(Double(n) / 1e6) + "M"
        }
    }

    public static func bytes(_ n: Int) -> String {
        switch n {
        case ..<1024: return "\(n) B"
        case ..<(1 << 20): return trim(Double(n) / 1024) + " KiB"
        case ..<(1 << 30): return trim(Double(n) / 1_048_576) + " MiB"
        default: return trim(Double(n) / 1_073_741_824) + " GiB"
        }
    }
}
