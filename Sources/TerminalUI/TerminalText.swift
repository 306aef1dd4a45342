/// Making untrusted text safe to draw.
public enum TerminalText {
    /// Makes every scalar that could drive the terminal, or hide or reorder text, visible
    /// instead:
    /// - C0 controls and DEL: `\n`, `\t`, `\r`, and `\xHH` for the rest (ESC is `\x1b`);
    /// - C1 controls U+0080–U+009F (CSI U+009B, OSC U+009D, …): `\u{9b}`;
    /// - bidi controls: the embeddings/overrides/isolates U+202A–U+202E, U+2066–U+2069 and
    ///   the marks U+200E, U+200F, U+061C; the line / paragraph separators U+2028/U+2029:
    ///   `\u{202e}`;
    /// - invisible characters, so that two names that look alike are alike: zero-width
    ///   space, joiners and no-break space U+200B–U+200D, U+2060–U+2064, U+FEFF, the soft
    ///   hyphen U+00AD, U+180E, the deprecated format controls U+206A–U+206F, the
    ///   interlinear annotation controls U+FFF9–U+FFFB and the tag characters
    ///   U+E0000–U+E007F: `\u{200b}`. (An emoji ZWJ sequence shows its joiners too.)
    /// - the prepended concatenation marks (U+0600–U+0605, U+06DD, U+070F, U+0890,
    ///   U+0891, U+08E2, U+110BD, U+110CD): they join the character after them into one
    ///   cluster, so a mark before padding swallowed a column (found by the fuzzer).
    /// A backslash in the input is left alone, so the escapes are for reading, not for
    /// round-tripping. Returns the input itself when nothing needs escaping.
    public static func sanitize(_ s: String) -> String {
        var needsWork = false
        for unit in s.utf8 {
            if unit < 0x20 || unit == 0x7F || mayStartEscaped(unit) {
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

    /// Whether `scalar` is shown escaped (the list in `sanitize`).
    @inline(__always)
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x0600...0x0605, 0x061C, 0x06DD, 0x070F, 0x0890...0x0891, 0x08E2,
             0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF, 0xFFF9...0xFFFB, 0x110BD, 0x110CD,
             0xE0000...0xE007F:
            return true
        default:
            return false
        }
    }

    /// Whether a UTF-8 lead byte starts the encoding of some scalar past ASCII that
    /// `needsEscape` lists: U+0080–U+00BF (0xC2), U+0600–U+063F (0xD8), U+06C0–U+06FF
    /// (0xDB), U+0700–U+073F (0xDC), U+0800–U+0FFF (0xE0), U+1000–U+1FFF (0xE1),
    /// U+2000–U+2FFF (0xE2), U+F000–U+FFFF (0xEF), U+10000–U+3FFFF (0xF0),
    /// U+C0000–U+FFFFF (0xF3).
    /// Text with none of these bytes needs no scalar-by-scalar look.
    @inline(__always)
    public static func mayStartEscaped(_ utf8Lead: UInt8) -> Bool {
        switch utf8Lead {
        case 0xC2, 0xD8, 0xDB, 0xDC, 0xE0, 0xE1, 0xE2, 0xEF, 0xF0, 0xF3: return true
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
