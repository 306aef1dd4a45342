import Testing
@testable import TerminalUI

@Suite struct ColorTests {
    @Test func paletteDegradesToNearestANSI() {
        #expect(Color.palette(196).degraded(to: .sixteen) == .ansi(9))   // bright red
        #expect(Color.palette(21).degraded(to: .sixteen) == .ansi(4))    // blue
        #expect(Color.palette(17).degraded(to: .sixteen) == .ansi(4))    // dark navy stays blue
        #expect(Color.palette(52).degraded(to: .sixteen) == .ansi(1))    // dark red stays red
        #expect(Color.palette(75).degraded(to: .sixteen) == .ansi(12))   // light blue
        #expect(Color.palette(46).degraded(to: .sixteen) == .ansi(10))   // bright green
        #expect(Color.palette(16).degraded(to: .sixteen) == .ansi(0))    // cube black
        #expect(Color.palette(231).degraded(to: .sixteen) == .ansi(15))  // cube white
        #expect(Color.palette(232).degraded(to: .sixteen) == .ansi(0))   // darkest grey
        #expect(Color.palette(244).degraded(to: .sixteen) == .ansi(8))   // mid grey
        #expect(Color.palette(5).degraded(to: .sixteen) == .ansi(5))
        #expect(Color.ansi(3).degraded(to: .sixteen) == .ansi(3))
        #expect(Color.default.degraded(to: .sixteen) == .default)
        #expect(Color.palette(123).degraded(to: .palette256) == .palette(123))
    }

    @Test func everyPaletteEntryDegradesIntoSixteen() {
        for n in 0...255 {
            guard case .ansi(let a) = Color.palette(UInt8(n)).degraded(to: .sixteen) else {
                Issue.record("palette \(n) did not degrade to ansi")
                continue
            }
            #expect(a < 16)
        }
    }

    @Test func noColorKeepsAttributesSoSelectionStaysVisible() {
        let selected = Style(foreground: .palette(231), background: .palette(24), attributes: [.bold])
        let none = selected.degraded(to: .none)
        #expect(none.foreground == .default)
        #expect(none.background == .default)
        #expect(none.attributes == [.bold, .reverse])

        let underlined = Style(foreground: .red, attributes: [.underline])
        #expect(underlined.degraded(to: .none) == Style(attributes: [.underline]))

        let reversed = Style(background: .blue, attributes: [.reverse])
        #expect(reversed.degraded(to: .none).attributes == [.reverse])
    }

    @Test func sixteenKeepsAttributes() {
        let s = Style(foreground: .palette(196), background: .palette(17), attributes: [.italic, .dim])
        #expect(s.degraded(to: .sixteen) == Style(foreground: .ansi(9), background: .ansi(4), attributes: [.italic, .dim]))
    }
}
