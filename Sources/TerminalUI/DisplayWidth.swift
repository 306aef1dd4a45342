/// Column width of text in a terminal, computed from Unicode data rather than libc
/// `wcwidth` (whose answer depends on the locale and the libc version).
///
/// Rules, per extended grapheme cluster (`Character`):
/// - ASCII printable: 1 (fast path).
/// - East Asian Wide / Fullwidth (CJK, Hangul, kana, fullwidth forms, emoji with
///   default emoji presentation, …): 2.
/// - A cluster with VS16 (U+FE0F), an emoji skin-tone modifier, or a pair of regional
///   indicators (a flag) is an emoji: 2. ZWJ sequences take the width of their first
///   emoji (2).
/// - A cluster that *starts* with a zero-width scalar (a lone combining mark, ZWJ,
///   variation selector, format character such as U+200B) or with a C0/C1 control: 0.
///   `CellBuffer.put` drops such clusters; controls never get there because text is
///   sanitized first (see `TerminalText.sanitize`).
/// - Anything else: 1. Combining marks, joiners and selectors inside a cluster add 0.
/// Ambiguous-width characters (e.g. `…`, box drawing, Greek) count as 1.
public enum DisplayWidth {
    /// Width of one grapheme cluster: 0, 1 or 2.
    public static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        let v = first.value
        if v >= 0x20 && v < 0x7F && character.utf8.count == 1 { return 1 }
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if isZeroWidth(first) { return 0 }
        if isWide(v) { return 2 }
        if scalars.count > 1 {
            var regionalIndicators = 0
            for s in scalars {
                switch s.value {
                case 0xFE0F, 0x1F3FB...0x1F3FF: return 2
                case 0x1F1E6...0x1F1FF: regionalIndicators += 1
                default: break
                }
            }
            if regionalIndicators >= 2 { return 2 }
        }
        return 1
    }

    /// Width of a string: the sum of its clusters' widths.
    public static func of(_ string: String) -> Int {
        var total = 0
        for ch in string { total += of(ch) }
        return total
    }

    /// Whether a scalar on its own takes no column (combining marks, enclosing marks,
    /// format characters incl. ZWJ/ZWSP/bidi controls, variation selectors, Hangul
    /// medial/final jamo).
    public static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x300 { return v == 0xAD }
        switch v {
        case 0x1160...0x11FF, 0xD7B0...0xD7FF, 0xFE00...0xFE0F, 0xE0100...0xE01EF, 0x200B...0x200F:
            return true
        default:
            break
        }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return false
        }
    }

    /// East Asian Wide or Fullwidth (Unicode 14 data, unassigned gaps inside wide blocks
    /// folded in so the table stays small), plus the unassigned CJK planes 2 and 3.
    public static func isWide(_ value: UInt32) -> Bool {
        if value < 0x1100 { return false }
        var low = 0
        var high = wideRanges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = wideRanges[mid]
            if value < range.0 {
                high = mid - 1
            } else if value > range.1 {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Sorted, non-overlapping inclusive ranges.
    static let wideRanges: [(UInt32, UInt32)] = [
        (0x1100, 0x115F), (0x231A, 0x231B), (0x2329, 0x232A), (0x23E9, 0x23EC),
        (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE), (0x2614, 0x2615),
        (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
        (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE),
        (0x26D4, 0x26D4), (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5),
        (0x26FA, 0x26FA), (0x26FD, 0x26FD), (0x2705, 0x2705), (0x270A, 0x270B),
        (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
        (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
        (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x2E80, 0x303E),
        (0x3041, 0x3247), (0x3250, 0x4DBF), (0x4E00, 0xA4C6), (0xA960, 0xA97C),
        (0xAC00, 0xD7A3), (0xF900, 0xFAD9), (0xFE10, 0xFE19), (0xFE30, 0xFE6B),
        (0xFF01, 0xFF60), (0xFFE0, 0xFFE6), (0x16FE0, 0x1B2FB), (0x1F004, 0x1F004),
        (0x1F0CF, 0x1F0CF), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F200, 0x1F320),
        (0x1F32D, 0x1F335), (0x1F337, 0x1F37C), (0x1F37E, 0x1F393), (0x1F3A0, 0x1F3CA),
        (0x1F3CF, 0x1F3D3), (0x1F3E0, 0x1F3F0), (0x1F3F4, 0x1F3F4), (0x1F3F8, 0x1F43E),
        (0x1F440, 0x1F440), (0x1F442, 0x1F4FC), (0x1F4FF, 0x1F53D), (0x1F54B, 0x1F54E),
        (0x1F550, 0x1F567), (0x1F57A, 0x1F57A), (0x1F595, 0x1F596), (0x1F5A4, 0x1F5A4),
        (0x1F5FB, 0x1F64F), (0x1F680, 0x1F6C5), (0x1F6CC, 0x1F6CC), (0x1F6D0, 0x1F6D2),
        (0x1F6D5, 0x1F6DF), (0x1F6EB, 0x1F6EC), (0x1F6F4, 0x1F6FC), (0x1F7E0, 0x1F7F0),
        (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1F9FF), (0x1FA70, 0x1FAFF),
        (0x20000, 0x3FFFD)
    ]
}
