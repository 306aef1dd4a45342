// The terminal input decoder: character codes as curses hands them over
// (`InputDecoding.character`; curses itself decodes escape sequences and is
// not instrumented), and the typed text as the query line shows it
// (`TerminalText.sanitize` / `truncate` / `fit`).
//
// Input: byte 0 = the width to fit the typed text into; the rest is read
// twice: as UTF-8 keystrokes, and as little-endian 32-bit codes (anything
// `wget_wch` could return, surrogates and values past U+10FFFF included).
import TerminalUI

enum TerminalInputFuzz: FuzzTarget {
    static let name = "terminal-input"

    static func seeds() -> [[UInt8]] {
        [
            "hello world", "service=server-2 dur>700ms\u{7F}\u{7F}", "\u{1B}[A\u{1B}[B\u{1B}OP\u{1B}[1;5C", "\u{03}", "\u{1A}",
            "\u{1B}[<0;10;5M\u{1B}[<0;10;5m", "日本語の文字 e\u{301} 👩‍👩‍👧 \u{202E}abc\u{2066}", "\u{9B}31m\u{85}\u{2028}x\u{0}\u{1F}",
        ].map { [40] + Array($0.utf8) } + [[8, 0xC3, 0x28, 0xE2, 0x82, 0xFF, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0xA0, 0x80]]
    }

    static func checkCode(_ value: UInt32) -> InputEvent? {
        let event = InputDecoding.character(value)
        require((event == nil) == (Unicode.Scalar(value) == nil), "code \(value): \(String(describing: event))")
        if case .key(.char(let c))? = event {
            require(value >= 0x20 && value != 0x7F, "control code \(value) came through as a character")
            require(c.unicodeScalars.map(\.value) == [value], "code \(value) became \(c.unicodeScalars.map(\.value))")
        }
        return event
    }

    static func checkText(_ text: String, width: Int) {
        let safe = TerminalText.sanitize(text)
        for scalar in safe.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x2028...0x202E, 0x2066...0x2069:
                fuzzFail("sanitize left U+\(String(scalar.value, radix: 16)) in \(safe.debugDescription)")
            default: break
            }
        }
        let cut = TerminalText.truncate(text, toWidth: width)
        require(DisplayWidth.of(cut) <= width, "truncate to \(width) gave \(DisplayWidth.of(cut)) columns: \(cut.debugDescription)")
        let fitted = TerminalText.fit(text, width: width)
        require(DisplayWidth.of(fitted) == width, "fit to \(width) gave \(DisplayWidth.of(fitted)) columns: \(fitted.debugDescription)")
    }

    static func check(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let width = Int(first)
        let rest = input.dropFirst()
        // Keystrokes as typed into the query line: characters append, Backspace deletes.
        var line = ""
        for scalar in String(decoding: rest, as: UTF8.self).unicodeScalars {
            switch checkCode(scalar.value) {
            case .key(.char(let c))?: line.append(c)
            case .key(.backspace)?: if !line.isEmpty { line.removeLast() }
            default: break
            }
        }
        checkText(line, width: width)
        checkText(String(decoding: rest, as: UTF8.self), width: width)
        var i = rest.startIndex
        while i + 4 <= rest.endIndex {
            let v = UInt32(rest[i]) | UInt32(rest[i + 1]) << 8 | UInt32(rest[i + 2]) << 16 | UInt32(rest[i + 3]) << 24
            _ = checkCode(v)
            i += 4
        }
    }
}
