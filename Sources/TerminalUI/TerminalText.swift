/// Making untrusted text safe to draw.
public enum TerminalText {
    /// Makes every scalar that could drive the terminal visible instead:
    /// - C0 controls and DEL: `\n`, `\t`, `\r`, and `\xHH` for the rest (ESC is `\x1b`);
    /// - C1 controls U+0080–U+009F (CSI U+009B, …): `\u{9b}`;
    /// - bidi embeddings/overrides/isolates U+202A–U+202E, U+2066–U+2069, and the line /
    ///   paragraph separators U+2028/U+2029: `\u{202e}`.
    /// A backslash in the input is left alone, so the escapes are for reading, not for
    /// round-tripping. Returns the input itself when nothing needs escaping.
    public static func sanitize(_ s: String) -> String {
        var needsWork = false
        for unit in s.utf8 {
            // C0, DEL; 0xC2 starts U+0080–U+00BF (C1 lives there); 0xE2 starts U+2000–U+2FFF.
            if unit < 0x20 || unit == 0x7F || unit == 0xC2 || unit == 0xE2 {
                needsWork = true
                break
            }
        }
        guard needsWork else { return s }
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if needsEscape(scalar) {
                out.append(contentsOf: escape(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    @inline(__always)
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        let v = scalar.value
        switch v {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        case 0x00...0x1F, 0x7F: return "\\x" + hex(v, minDigits: 2)
        default: return "\\u{" + hex(v, minDigits: 1) + "}"
        }
    }

    static func hex(_ v: UInt32, minDigits: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= minDigits ? s : String(repeating: "0", count: minDigits - s.count) + s
    }

    /// Sanitizes, then cuts to at most `width` columns, ending with `…` when something
    /// was cut. Never splits a grapheme cluster; a wide character that would straddle the
    /// limit is dropped (the result may be one column narrower than `width`).
    public static func truncate(_ s: String, toWidth width: Int) -> String {
        guard width > 0 else { return "" }
        let text = sanitize(s)
        if DisplayWidth.of(text) <= width { return text }
        var out = ""
        var used = 0
        for ch in text {
            let w = DisplayWidth.of(ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        out.append("…")
        return out
    }

    /// Sanitizes and truncates (with `…`) or right-pads with spaces to exactly `width`
    /// columns.
    public static func fit(_ s: String, width: Int) -> String {
        let t = truncate(s, toWidth: width)
        let w = DisplayWidth.of(t)
        return w < width ? t + String(repeating: " ", count: width - w) : t
    }
}
