import Foundation
import TraceModel

/// What a hostile client puts in span names, services, tags and logs to take
/// over or fool the terminal they are drawn on, and how each must look there
/// instead: escaped, as text.
enum TerminalAttack {
    struct Payload {
        /// Short and unique: it prefixes each field, so a test finds the field.
        let label: String
        let text: String
        /// How `TerminalText.sanitize` shows it.
        let shown: String
    }

    static let payloads: [Payload] = [
        // Window title, both terminators; clipboard.
        Payload(label: "osc0", text: "\u{1b}]0;pwned-osc0\u{07}", shown: #"\x1b]0;pwned-osc0\x07"#),
        Payload(label: "osc2", text: "\u{1b}]2;pwned-osc2\u{1b}\\", shown: #"\x1b]2;pwned-osc2\x1b\"#),
        Payload(label: "osc52", text: "\u{1b}]52;c;\(clipboardBase64)\u{07}", shown: #"\x1b]52;c;"# + clipboardBase64 + #"\x07"#),
        // 8-bit C1 CSI and OSC as Unicode scalars (the raw bytes go over Thrift and protobuf).
        Payload(label: "c1csi", text: "\u{9b}2J\u{9b}H", shown: #"\u{9b}2J\u{9b}H"#),
        Payload(label: "c1osc", text: "\u{9d}0;pwned-c1\u{9c}", shown: #"\u{9d}0;pwned-c1\u{9c}"#),
        // DCS, and tmux's own passthrough carrying a title.
        Payload(label: "dcs", text: "\u{1b}P1$r\u{1b}\\", shown: #"\x1bP1$r\x1b\"#),
        Payload(label: "tmuxpass", text: "\u{1b}Ptmux;\u{1b}\u{1b}]0;pwned-pass\u{07}\u{1b}\\",
                shown: #"\x1bPtmux;\x1b\x1b]0;pwned-pass\x07\x1b\"#),
        // tmux's window name.
        Payload(label: "rename", text: "\u{1b}kpwned-name\u{1b}\\", shown: #"\x1bkpwned-name\x1b\"#),
        // Leaving the alternate screen.
        Payload(label: "alt1049", text: "\u{1b}[?1049l", shown: #"\x1b[?1049l"#),
        Payload(label: "alt47", text: "\u{1b}[?47l", shown: #"\x1b[?47l"#),
        // Clearing and moving.
        Payload(label: "clear", text: "\u{1b}[2J", shown: #"\x1b[2J"#),
        Payload(label: "home", text: "\u{1b}[H", shown: #"\x1b[H"#),
        Payload(label: "move", text: "\u{1b}[10;10HMOVED", shown: #"\x1b[10;10HMOVED"#),
        Payload(label: "reset", text: "\u{1b}c", shown: #"\x1bc"#),
        // Reordering: a right-to-left override and isolates.
        Payload(label: "rlo", text: "abc\u{202e}gpj.exe", shown: #"abc\u{202e}gpj.exe"#),
        Payload(label: "isolate", text: "\u{2066}x\u{2067}y\u{2068}z\u{2069}", shown: #"\u{2066}x\u{2067}y\u{2068}z\u{2069}"#),
        // Invisible characters: two names that differ by one must not look alike.
        Payload(label: "zwsp", text: "pay\u{200b}pal", shown: #"pay\u{200b}pal"#),
        Payload(label: "zwj", text: "pa\u{200d}ypal", shown: #"pa\u{200d}ypal"#),
        Payload(label: "bom", text: "\u{feff}paypal", shown: #"\u{feff}paypal"#),
    ]

    static let clipboardBase64 = Data("pwned-clip".utf8).base64EncodedString()

    /// Everything at once, for the fields a view shows only the start of.
    static var all: String { payloads.map(\.text).joined() }

    /// A scalar that must not reach a terminal (or a pipe into `less -R`) as
    /// itself: C0 but newline, DEL, C1, bidi controls and marks, separators,
    /// invisible characters and tags. Listed here on its own, not taken from
    /// the sanitizer it checks.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A: return false
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x061C, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069,
             0xFEFF, 0xE0000...0xE007F:
            return true
        default:
            return false
        }
    }

    static func forbiddenScalars(in text: String) -> [String] {
        text.unicodeScalars.filter(isForbidden).map { "U+" + String($0.value, radix: 16) }
    }

    /// One trace: a root, and a child per payload whose service, name, tag key
    /// and value, event name and event field each carry it after their label.
    /// The root carries every payload at once.
    static func trace(_ traceID: TraceID, start: UInt64) -> [Span] {
        let rootID = SpanID(traceID.low << 8 | 1)
        let root = Span(traceID: traceID, spanID: rootID, name: "root " + all, kind: .server,
                        startTimeUnixNano: start, durationNano: 50_000_000,
                        attributes: [Attribute("all " + all, .string("all " + all))],
                        events: [SpanEvent(timeUnixNano: start + 1_000_000, name: "all " + all)],
                        resource: Resource(serviceName: "front " + all))
        let children = payloads.enumerated().map { i, p in
            Span(traceID: traceID, spanID: SpanID(traceID.low << 8 | UInt64(i + 2)), parentSpanID: rootID,
                 name: "n-\(p.label) " + p.text, kind: .client,
                 startTimeUnixNano: start + UInt64(i + 1) * 1_000_000, durationNano: 2_000_000,
                 attributes: [Attribute("k-\(p.label) " + p.text, .string("v-\(p.label) " + p.text))],
                 events: [SpanEvent(timeUnixNano: start + UInt64(i + 1) * 1_000_000 + 500_000, name: "e-\(p.label) " + p.text,
                                    attributes: [Attribute("f-\(p.label) " + p.text, .string("g-\(p.label) " + p.text))])],
                 resource: Resource(serviceName: "s-\(p.label) " + p.text))
        }
        return [root] + children
    }

    /// Raw single bytes no Swift string can hold (invalid UTF-8): an 8-bit CSI
    /// clearing the screen and an 8-bit OSC setting the title. They go in as
    /// placeholders of the same length that `withRawBytes` swaps in the
    /// encoded bytes, so the wire's length prefixes stay right.
    static let rawCSI: [UInt8] = [0x9B] + Array("2J".utf8) + [0x9B] + Array("H".utf8)
    static let rawOSC: [UInt8] = [0x9D] + Array("0;pwned-raw".utf8) + [0x07]
    static var rawCSIPlaceholder: String { String(repeating: "~", count: rawCSI.count) }
    static var rawOSCPlaceholder: String { String(repeating: "^", count: rawOSC.count) }
    /// How the raw bytes look once decoded (U+FFFD for each invalid byte) and escaped.
    static let rawCSIShown = "\u{FFFD}2J\u{FFFD}H"
    static let rawOSCShown = "\u{FFFD}0;pwned-raw" + #"\x07"#

    static func withRawBytes(_ encoded: [UInt8]) -> [UInt8] {
        var bytes = encoded
        for (placeholder, raw) in [(rawCSIPlaceholder, rawCSI), (rawOSCPlaceholder, rawOSC)] {
            let marker = Array(placeholder.utf8)
            var i = 0
            while i + marker.count <= bytes.count {
                if bytes[i..<i + marker.count].elementsEqual(marker) {
                    bytes.replaceSubrange(i..<i + marker.count, with: raw)
                    i += marker.count
                } else {
                    i += 1
                }
            }
        }
        return bytes
    }

    /// A small trace whose service, name, tag and log carry the raw bytes, and
    /// an OSC title as the Unicode scalar too.
    static func rawBytesTrace(_ traceID: TraceID, start: UInt64, service: String) -> [Span] {
        let rootID = SpanID(traceID.low << 8 | 1)
        let resource = Resource(serviceName: service + " " + rawOSCPlaceholder)
        return [
            Span(traceID: traceID, spanID: rootID, name: "rawroot " + rawCSIPlaceholder + " \u{9d}0;pwned-c1\u{9c}", kind: .server,
                 startTimeUnixNano: start, durationNano: 20_000_000,
                 attributes: [Attribute("rawkey " + rawOSCPlaceholder, .string("rawvalue " + rawCSIPlaceholder))],
                 events: [SpanEvent(timeUnixNano: start + 1_000_000, name: "rawlog " + rawOSCPlaceholder,
                                    attributes: [Attribute("rawfield", .string(rawCSIPlaceholder))])],
                 resource: resource),
            Span(traceID: traceID, spanID: SpanID(traceID.low << 8 | 2), parentSpanID: rootID,
                 name: "rawchild " + rawOSCPlaceholder, kind: .client, startTimeUnixNano: start + 2_000_000, durationNano: 5_000_000,
                 resource: resource),
        ]
    }
}
