import Testing
@testable import TerminalUI

@Suite struct CellBufferTests {
    func widths(_ buffer: CellBuffer) -> [Int] {
        buffer.lines().map { DisplayWidth.of($0) }
    }

    @Test func asciiPutAndClip() {
        var b = CellBuffer(width: 10, height: 2)
        #expect(b.put("hello", x: 1, y: 0) == 5)
        #expect(b.put("0123456789abc", x: 3, y: 1) == 7)
        #expect(b.lines() == [" hello    ", "   0123456"])
        #expect(b.put("xyz", x: 0, y: 5) == 0)
        #expect(b.put("xyz", x: 10, y: 0) == 0)
        #expect(b.put("abcdef", x: 2, y: 0, maxWidth: 2) == 2)
        #expect(b.lines()[0] == " hablo    ")
    }

    @Test func negativeXClipsOnTheLeft() {
        var b = CellBuffer(width: 5, height: 1)
        #expect(b.put("abcdef", x: -2, y: 0) == 4)
        #expect(b.lines() == ["cdef "])
        var c = CellBuffer(width: 5, height: 1)
        #expect(c.put("中ab", x: -1, y: 0) == 3)
        #expect(c.lines() == [" ab  "])
    }

    @Test func cjkTakesTwoCellsWithContinuation() {
        var b = CellBuffer(width: 8, height: 1)
        #expect(b.put("a中b", x: 0, y: 0) == 4)
        #expect(b[1, 0].grapheme == "中")
        #expect(b[2, 0].isContinuation)
        #expect(b[3, 0].grapheme == "b")
        #expect(b.lines() == ["a中b    "])
        #expect(widths(b) == [8])
    }

    @Test func wideCharThatDoesNotFitBecomesSpace() {
        var b = CellBuffer(width: 4, height: 2)
        b.fill(b.area, with: "x", style: .plain)
        #expect(b.put("ab中", x: 1, y: 0) == 3)
        #expect(b.lines()[0] == "xab ")
        #expect(b.put("中中", x: 0, y: 1, maxWidth: 3) == 3)
        #expect(b.lines()[1] == "中 x")
        #expect(widths(b) == [4, 4])
    }

    @Test func emojiClustersStayWhole() {
        var b = CellBuffer(width: 12, height: 1)
        let heart = "❤️"  // U+2764 U+FE0F: a selector inside the cluster, not a joiner
        #expect(b.put(heart + "🇯🇵" + "👍🏽" + "x", x: 0, y: 0) == 7)
        #expect(b[0, 0].grapheme == heart)
        #expect(b[1, 0].isContinuation)
        #expect(b[2, 0].grapheme == "🇯🇵")
        #expect(b[4, 0].grapheme == "👍🏽")
        #expect(b[6, 0].grapheme == "x")
        #expect(b.lines() == [heart + "🇯🇵👍🏽x     "])
        #expect(widths(b) == [12])
    }

    /// A ZWJ sequence shows its joiners: terminals disagree on how wide it is,
    /// and a joiner could hide what a name is made of.
    @Test func emojiZWJSequencesShowTheirJoiners() {
        var b = CellBuffer(width: 40, height: 1)
        #expect(b.put("👨‍👩‍👧", x: 0, y: 0) == 22)
        #expect(b.lines(trimmingTrailingSpaces: true) == ["👨\\u{200d}👩\\u{200d}👧"])
        #expect(widths(b) == [40])
    }

    @Test func combiningMarksStayInTheirCell() {
        var b = CellBuffer(width: 5, height: 1)
        #expect(b.put("e\u{301}te\u{301}", x: 0, y: 0) == 3)
        #expect(b[0, 0].grapheme == "e\u{301}")
        #expect(b[2, 0].grapheme == "e\u{301}")
        #expect(b.lines() == ["e\u{301}te\u{301}  "])
        // A lone combining mark has no base: it is dropped, not drawn over a neighbour.
        #expect(b.put("\u{301}z", x: 0, y: 0) == 1)
        #expect(b[0, 0].grapheme == "z")
    }

    @Test func mixedRowKeepsExactWidth() {
        var b = CellBuffer(width: 20, height: 3)
        b.put("ab中文😀e\u{301}🇫🇷x", x: 0, y: 0)
        b.put("한국어 テスト", x: 3, y: 1)
        b.putTruncated("👨‍👩‍👧 family span name that is long", x: 2, y: 2, maxWidth: 15)
        #expect(widths(b) == [20, 20, 20])
        for y in 0..<3 {
            // Every wide lead is followed by exactly one continuation.
            for x in 0..<20 where b[x, y].isContinuation {
                #expect(x > 0 && DisplayWidth.of(b[x - 1, y].grapheme) == 2)
            }
        }
    }

    @Test func overwritingHalfOfAWideCharClearsTheOtherHalf() {
        var b = CellBuffer(width: 6, height: 2)
        b.put("中文字", x: 0, y: 0)
        b.put("x", x: 1, y: 0)  // right half of 中
        #expect(b.lines()[0] == " x文字")
        #expect(!b[1, 0].isContinuation)
        b.put("y", x: 2, y: 0)  // left half of 文
        #expect(b.lines()[0] == " xy 字")
        #expect(!b[3, 0].isContinuation)

        b.put("中文", x: 0, y: 1)
        b.put("日", x: 1, y: 1)  // straddles both
        #expect(b.lines()[1] == " 日   ")
        #expect(widths(b) == [6, 6])
    }

    @Test func textIsSanitizedOnPut() {
        var b = CellBuffer(width: 16, height: 1)
        #expect(b.put("a\u{1b}[2Jb", x: 0, y: 0) == 9)
        #expect(b.lines() == ["a\\x1b[2Jb       "])
        for x in 0..<16 {
            #expect(!b[x, 0].grapheme.unicodeScalars.contains { $0.value < 0x20 })
        }
    }

    /// Every payload that could drive or fool a terminal ends as visible text:
    /// no cell holds a scalar `sanitize` escapes, and the rows keep their width.
    @Test func hostileTextNeverReachesACell() {
        let payloads = [
            "\u{1b}]0;pwned\u{07}", "\u{1b}]2;pwned\u{1b}\\", "\u{1b}]52;c;cHduZWQ=\u{07}", "\u{9b}2J", "\u{9d}0;pwned\u{9c}",
            "\u{1b}P1$r\u{1b}\\", "\u{1b}Ptmux;\u{1b}\u{1b}]0;x\u{07}\u{1b}\\", "\u{1b}[?1049l", "\u{1b}[?47l", "\u{1b}[2J",
            "\u{1b}[H", "\u{1b}[10;10H", "\u{1b}c", "abc\u{202e}cba", "\u{2066}x\u{2069}", "\u{200f}", "pay\u{200b}pal",
            "a\u{200d}b", "\u{feff}bom", "e\u{200d}\u{301}", "tag\u{e0041}", "soft\u{ad}hyphen", "👨\u{200d}",
        ]
        for payload in payloads {
            var b = CellBuffer(width: 60, height: 3)
            b.put(payload, x: 0, y: 0)
            b.putTruncated(payload, x: 0, y: 1, maxWidth: 9)
            b.putPadded(payload, x: 3, y: 2, width: 20)
            for cell in b.cells {
                #expect(!cell.grapheme.unicodeScalars.contains(where: TerminalText.needsEscape), "\(payload.unicodeScalars.map(\.value))")
            }
            #expect(widths(b) == [60, 60, 60], "\(payload.unicodeScalars.map(\.value))")
        }
    }

    /// Two names that differ only by an invisible character do not look alike.
    @Test func zeroWidthCharactersAreShownNotDropped() {
        var b = CellBuffer(width: 30, height: 4)
        b.put("paypal", x: 0, y: 0)
        b.put("pay\u{200b}pal", x: 0, y: 1)
        b.put("pay\u{feff}pal", x: 0, y: 2)
        b.put("pa\u{200d}ypal", x: 0, y: 3)
        #expect(b.lines(trimmingTrailingSpaces: true) == ["paypal", "pay\\u{200b}pal", "pay\\u{feff}pal", "pa\\u{200d}ypal"])
    }

    /// A buffer for `print --raw` keeps text as received: each control takes a
    /// column, and cutting counts those columns.
    @Test func rawTextBufferKeepsControls() {
        var b = CellBuffer(width: 12, height: 2, keepsRawText: true)
        #expect(b.put("a\u{1b}[2Jb\u{202e}", x: 0, y: 0) == 7)
        #expect(b.line(0, trimmingTrailingSpaces: true) == "a\u{1b}[2Jb\u{202e}")
        #expect(b.putTruncated("\u{1b}]0;pwned\u{07}xyz", x: 0, y: 1, maxWidth: 8) == 8)
        #expect(b.line(1, trimmingTrailingSpaces: true) == "\u{1b}]0;pwn…")
        // The same text in an ordinary buffer is escaped.
        var safe = CellBuffer(width: 12, height: 1)
        safe.put("a\u{1b}[2Jb", x: 0, y: 0)
        #expect(safe.line(0) == "a\\x1b[2Jb   ")
    }

    @Test func putTruncatedEndsWithEllipsis() {
        var b = CellBuffer(width: 10, height: 4)
        #expect(b.putTruncated("hello world", x: 0, y: 0, maxWidth: 8) == 8)
        #expect(b.putTruncated("short", x: 0, y: 1, maxWidth: 8) == 5)
        #expect(b.putTruncated("中文中文中文", x: 0, y: 2, maxWidth: 6) == 6)
        #expect(b.putTruncated("overflowing the edge", x: 4, y: 3) == 6)
        #expect(b.lines() == ["hello w…  ", "short     ", "中文 …    ", "    overf…"])
        var c = CellBuffer(width: 3, height: 1)
        #expect(c.putTruncated("abcdef", x: 2, y: 0) == 1)
        #expect(c.lines() == ["  …"])
    }

    @Test func putPaddedCoversExactly() {
        var b = CellBuffer(width: 10, height: 1)
        b.fill(b.area, with: "#", style: .plain)
        b.putPadded("ab", x: 1, y: 0, width: 5, style: .reverse)
        #expect(b.lines() == ["#ab   ####"])
        #expect(b.styleMap([.plain: ".", .reverse: "R"]) == [".RRRRR...."])
    }

    @Test func fillAndRestyle() {
        var b = CellBuffer(width: 4, height: 2)
        b.put("中ab", x: 0, y: 0)
        b.restyle(Rect(x: 1, y: 0, width: 2, height: 1)) { $0.reversed }
        // The rect cut 中 in half: both halves get the style.
        #expect(b.styleMap([.plain: ".", .reverse: "R"]) == ["RRR.", "...."])
        b.fill(Rect(x: 3, y: 1, width: 5, height: 5), style: .bg(.blue))
        #expect(b.styleMap([.plain: ".", .reverse: "R", .bg(.blue): "B"]) == ["RRR.", "...B"])
        #expect(b.styledLines()[0] == "[reverse]中a[plain]b")
    }

    @Test func blitClipsWideChars() {
        var src = CellBuffer(width: 4, height: 1)
        src.put("中ab", x: 0, y: 0)
        var dst = CellBuffer(width: 5, height: 1)
        dst.blit(src, x: 3, y: 0)
        #expect(dst.lines() == ["   中"])
        dst.blit(src, x: -1, y: 0)
        #expect(dst.lines() == [" ab中"])
    }

    @Test func trimmedLines() {
        var b = CellBuffer(width: 6, height: 1)
        b.put("ab", x: 0, y: 0)
        #expect(b.lines(trimmingTrailingSpaces: true) == ["ab"])
        #expect(b.lines() == ["ab    "])
    }
}
