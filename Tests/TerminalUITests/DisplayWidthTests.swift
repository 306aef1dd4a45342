import Testing
@testable import TerminalUI

@Suite struct DisplayWidthTests {
    @Test(arguments: [
        ("a", 1), ("~", 1), ("é", 1), ("e\u{301}", 1), ("…", 1), ("─", 1), ("Ω", 1),
        ("中", 2), ("한", 2), ("ア", 2), ("Ａ", 2), ("𠀋", 2),
        ("😀", 2), ("👨‍👩‍👧‍👦", 2), ("🇯🇵", 2), ("❤\u{FE0F}", 2), ("👍🏽", 2), ("🏳️‍🌈", 2),
        ("❤", 1), ("\u{301}", 0), ("\u{200D}", 0), ("\u{200B}", 0), ("\u{1b}", 0),
    ] as [(String, Int)])
    func clusterWidth(_ text: String, _ expected: Int) {
        #expect(text.count <= 1)
        #expect(DisplayWidth.of(text) == expected, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
    }

    @Test func stringWidthSumsClusters() {
        #expect(DisplayWidth.of("ab中😀e\u{301}") == 1 + 1 + 2 + 2 + 1)
        #expect(DisplayWidth.of("") == 0)
    }

    @Test func wideTableIsSortedAndDisjoint() {
        let table = DisplayWidth.wideRanges
        for (a, b) in zip(table, table.dropFirst()) {
            #expect(a.0 <= a.1)
            #expect(a.1 < b.0)
        }
        #expect(DisplayWidth.isWide(0x4E00))
        #expect(!DisplayWidth.isWide(0x41))
        #expect(!DisplayWidth.isWide(0x10FFFF))
    }
}
