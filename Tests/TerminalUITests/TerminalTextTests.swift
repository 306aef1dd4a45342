import Testing
@testable import TerminalUI

@Suite struct TerminalTextTests {
    @Test func plainTextIsReturnedUnchanged() {
        for s in ["GET /api/traces", "中文 😀 e\u{301}", "arrow → box ─ …", ""] {
            #expect(TerminalText.sanitize(s) == s)
        }
    }

    @Test func escapeSequencesBecomeVisible() {
        #expect(TerminalText.sanitize("a\u{1b}[31mred\u{1b}[0m") == "a\\x1b[31mred\\x1b[0m")
        #expect(TerminalText.sanitize("\u{1b}]0;pwned\u{07}") == "\\x1b]0;pwned\\x07")
        #expect(TerminalText.sanitize("line1\nline2\tx\r") == "line1\\nline2\\tx\\r")
        #expect(TerminalText.sanitize("\r\n") == "\\r\\n")
        #expect(TerminalText.sanitize("\u{0}\u{7f}") == "\\x00\\x7f")
    }

    @Test func c1ControlsBecomeVisible() {
        #expect(TerminalText.sanitize("x\u{9b}31m") == "x\\u{9b}31m")
        #expect(TerminalText.sanitize("\u{80}\u{9f}") == "\\u{80}\\u{9f}")
        // U+00A0 and Latin-1 letters are not controls.
        #expect(TerminalText.sanitize("\u{a0}ü") == "\u{a0}ü")
    }

    @Test func bidiOverridesBecomeVisible() {
        #expect(TerminalText.sanitize("abc\u{202E}fed") == "abc\\u{202e}fed")
        #expect(TerminalText.sanitize("\u{2066}x\u{2069}") == "\\u{2066}x\\u{2069}")
        #expect(TerminalText.sanitize("a\u{2028}b") == "a\\u{2028}b")
    }

    @Test func bidiMarksAndInvisibleCharactersBecomeVisible() {
        #expect(TerminalText.sanitize("a\u{200e}b\u{200f}c\u{61c}") == "a\\u{200e}b\\u{200f}c\\u{61c}")
        #expect(TerminalText.sanitize("pay\u{200b}pal") == "pay\\u{200b}pal")
        #expect(TerminalText.sanitize("a\u{200c}b\u{200d}c") == "a\\u{200c}b\\u{200d}c")
        #expect(TerminalText.sanitize("\u{feff}x\u{2060}y\u{ad}z") == "\\u{feff}x\\u{2060}y\\u{ad}z")
        #expect(TerminalText.sanitize("\u{180e}\u{206a}\u{fff9}") == "\\u{180e}\\u{206a}\\u{fff9}")
        // Tag characters (invisible ASCII look-alikes).
        #expect(TerminalText.sanitize("ok\u{e0041}\u{e007f}") == "ok\\u{e0041}\\u{e007f}")
    }

    /// The lead bytes that send text down the slow path (Vietnamese, Arabic,
    /// halfwidth forms, emoji) leave ordinary text alone.
    @Test func neighboursOfEscapedRangesAreKept() {
        for s in ["Tiếng Việt", "مرحبا", "ｶﾀｶﾅ", "❤️ ✓ → ─ …", "😀👍🏽", "\u{a0}é", "\u{2010}\u{2070}", "\u{fe0f}", "\u{e0100}"] {
            #expect(TerminalText.sanitize(s) == s)
        }
    }

    /// The fast path (bytes) and the list (scalars) agree: every escaped scalar
    /// starts with a byte the fast path looks at.
    @Test func fastPathSeesEveryEscapedScalar() {
        var missed: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), TerminalText.needsEscape(scalar) else { continue }
            let lead = String(scalar).utf8.first!
            if !(lead < 0x20 || lead == 0x7F || TerminalText.mayStartEscaped(lead))
                || TerminalText.sanitize("x" + String(scalar)) == "x" + String(scalar) {
                missed.append(value)
            }
        }
        #expect(missed.isEmpty, "\(missed.map { String($0, radix: 16) })")
    }

    @Test func sanitizedTextHasNoControls() {
        let nasty = String((0..<0x200).compactMap { Unicode.Scalar($0).map(Character.init) }) + "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2067}\u{2068}"
            + String((0x2000..<0x2070).compactMap { Unicode.Scalar($0).map(Character.init) }) + "\u{feff}\u{e0001}"
        let out = TerminalText.sanitize(nasty)
        for scalar in out.unicodeScalars {
            #expect(!TerminalText.needsEscape(scalar), "left \(scalar.value)")
        }
    }

    @Test func truncateAndFit() {
        #expect(TerminalText.truncate("hello world", toWidth: 5) == "hell…")
        #expect(TerminalText.truncate("hello", toWidth: 5) == "hello")
        #expect(TerminalText.truncate("中文字", toWidth: 4) == "中…")
        #expect(TerminalText.truncate("abc", toWidth: 0) == "")
        #expect(TerminalText.fit("ab", width: 4) == "ab  ")
        #expect(DisplayWidth.of(TerminalText.fit("中文字x", width: 6)) == 6)
    }

    /// The terminal-input fuzzer's finding (Fuzz/out/crashes/terminal-input,
    /// 2026-12-03): U+0600 joins the next character into its cluster, so the
    /// padding's first space vanished into it and `fit` came out a column short.
    @Test func aPrependedConcatenationMarkCannotSwallowThePadding() {
        let found = String(decoding: [0x20, 0x1B, 0x5B, 0x50, 0x1B, 0x54, 0x05, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7F,
                                      0x7F, 0x7F, 0x00, 0x28, 0x80, 0x80, 0x80, 0x80, 0xC8, 0x80, 0x80, 0x80, 0x7F, 0x7F, 0x7F,
                                      0x7F, 0x7F, 0x00, 0x00, 0xFF, 0xFF, 0xD8, 0x80, 0x00] as [UInt8], as: UTF8.self)
        #expect(DisplayWidth.of(TerminalText.fit(found, width: 32)) == 32)
        for mark: UInt32 in [0x0600, 0x0601, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD] {
            let text = "a" + String(Unicode.Scalar(mark)!)
            #expect(TerminalText.sanitize(text) == "a\\u{" + String(mark, radix: 16) + "}")
            #expect(DisplayWidth.of(TerminalText.fit(text, width: 20)) == 20, "U+\(String(mark, radix: 16))")
        }
    }
}
