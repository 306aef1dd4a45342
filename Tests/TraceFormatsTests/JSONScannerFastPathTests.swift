import Testing
@testable import TraceFormats

/// The scanner's word-at-a-time paths (strings to their first quote,
/// backslash or control byte; integers eight digits at a time) against
/// what a byte-by-byte reading gives, at every position in the word.
struct JSONScannerFastPathTests {
    private func scan<R>(_ text: String, _ body: (inout JSONScanner) throws(JSONFault) -> R) -> Result<(R, Int), JSONFault> {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            guard var s = JSONScanner(raw, maxDepth: 8) else { return .failure(JSONFault(message: "empty", offset: 0)) }
            do throws(JSONFault) {
                let value = try body(&s)
                return .success((value, s.pos))
            } catch {
                return .failure(error)
            }
        }
    }

    @Test func stringsEndAtTheirFirstQuoteWhereverItFalls() {
        for length in 0...24 {
            let body = String(repeating: "a", count: length)
            for trailing in ["", "xyz", ",\"b\":1}", String(repeating: "z", count: 17)] {
                let text = "\"\(body)\"" + trailing
                guard case .success(let (raw, end)) = scan(text, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) else {
                    Issue.record("no string in \(text)")
                    continue
                }
                #expect(raw.count == length && !raw.hasEscapes && end == length + 2, "\(text)")
            }
        }
    }

    @Test func escapesAndControlBytesAreFoundAtEveryOffset() {
        for offset in 0...17 {
            let before = String(repeating: "b", count: offset)
            // An escaped quote does not end the string; the one after it does.
            let escaped = "\"\(before)\\\"after\"tail"
            guard case .success(let (raw, end)) = scan(escaped, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) else {
                Issue.record("escaped quote at \(offset)")
                continue
            }
            #expect(raw.hasEscapes && raw.count == offset + 7 && end == offset + 9)
            let backslashLast = "\"\(before)\\\\\""
            if case .success(let (raw, _)) = scan(backslashLast, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) {
                #expect(raw.hasEscapes && raw.count == offset + 2)
            } else {
                Issue.record("escaped backslash at \(offset)")
            }
            // A raw control byte is an error, reported where it is.
            for control in ["\u{0}", "\u{1}", "\n", "\u{1f}"] {
                let text = "\"\(before)\(control)x\""
                if case .failure(let fault) = scan(text, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) {
                    #expect(fault.message == "control character in string" && fault.offset == 1 + offset, "\(offset)")
                } else {
                    Issue.record("control byte at \(offset) accepted")
                }
            }
            // Bytes of multi-byte UTF-8 (0x80 and up) are ordinary string bytes.
            let utf8 = "\"\(before)é🚀\""
            if case .success(let (raw, _)) = scan(utf8, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) {
                #expect(raw.count == offset + 6)
            } else {
                Issue.record("UTF-8 at \(offset)")
            }
        }
        // Unterminated, with and without a trailing backslash.
        for text in ["\"abcdefghijklmnop", "\"abc\\", "\"abcdefgh\\"] {
            if case .failure(let fault) = scan(text, { (s: inout JSONScanner) throws(JSONFault) in try s.readRawString() }) {
                #expect(fault.message == "unexpected end of input")
            } else {
                Issue.record("unterminated \(text) accepted")
            }
        }
    }

    /// Every length of digits, quoted and bare, with what may follow them.
    @Test func unsignedIntegersOfEveryLength() {
        let digits = "1234567890123456789012"
        for n in 1...20 {
            let text = String(digits.prefix(n))
            let expected = UInt64(text)  // nil past UInt64.max
            for (json, after) in [("\"\(text)\"", ","), (text, ","), (text, "}"), (text, "")] {
                let result = scan(json + after) { (s: inout JSONScanner) throws(JSONFault) in try s.readUInt64() }
                switch (result, expected) {
                case (.success(let (v, end)), .some(let e)):
                    #expect(v == e && end == json.utf8.count, "\(json)")
                case (.failure, nil):
                    break
                default:
                    Issue.record("\(json)\(after): \(result) expected \(String(describing: expected))")
                }
            }
        }
        let cases: [(String, UInt64?)] = [
            ("\"18446744073709551615\"", .max), ("\"18446744073709551616\"", nil), ("\"0000000000000000001\"", 1),
            ("\"0123\"", 123), ("0", 0), ("\"1795821746007492126\"", 1_795_821_746_007_492_126), ("12.75", 12), ("1e3", 1000),
            ("\"12a\"", nil), ("\"\"", nil), ("\"-0\"", 0), ("-3", nil), ("\"1234567a90\"", nil), ("\"12345678:\"", nil),
        ]
        for (json, expected) in cases {
            let result = scan(json) { (s: inout JSONScanner) throws(JSONFault) in try s.readUInt64() }
            switch (result, expected) {
            case (.success(let (v, _)), .some(let e)): #expect(v == e, "\(json)")
            case (.failure, nil): break
            default: Issue.record("\(json): \(result) expected \(String(describing: expected))")
            }
        }
        // A bare leading zero ends the number there, as JSON has it: what follows is not read.
        if case .success(let (v, end)) = scan("0123") { (s: inout JSONScanner) throws(JSONFault) in try s.readUInt64() } {
            #expect(v == 0 && end == 1)
        }
    }

    @Test func signedIntegersTakeTheFastPathOnlyWhenTheyFit() {
        let cases: [(String, Int64?)] = [
            ("\"200\"", 200), ("9223372036854775807", .max), ("\"9223372036854775808\"", nil),
            ("\"-9223372036854775808\"", .min), ("-7", -7), ("\"9999999999999999999\"", nil), ("3.0", 3),
        ]
        for (json, expected) in cases {
            let result = scan(json) { (s: inout JSONScanner) throws(JSONFault) in try s.readInt64() }
            switch (result, expected) {
            case (.success(let (v, end)), .some(let e)): #expect(v == e && end == json.utf8.count, "\(json)")
            case (.failure, nil): break
            default: Issue.record("\(json): \(result) expected \(String(describing: expected))")
            }
        }
    }

    @Test func eightDigitsAtOnce() {
        func word(_ s: String) -> UInt64 {
            var w: UInt64 = 0
            for (i, b) in s.utf8.enumerated() { w |= UInt64(b) << (8 * UInt64(i)) }
            return w
        }
        #expect(JSONScanner.eightDigits(word("12345678")) == 12_345_678)
        #expect(JSONScanner.eightDigits(word("00000000")) == 0)
        #expect(JSONScanner.eightDigits(word("99999999")) == 99_999_999)
        #expect(JSONScanner.eightDigits(word("09080706")) == 9_080_706)
        for bad in ["1234567/", "1234567:", "a2345678", "1234 678", "\"1234567"] {
            #expect(JSONScanner.eightDigits(word(bad)) == nil, "\(bad)")
        }
    }

    /// The reader's search for a chunk's last newline, eight bytes at a
    /// time from the end, against a byte-by-byte search.
    @Test func lastNewlineAtEveryOffset() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...40 {
            for _ in 0..<30 {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Newlines, and bytes one off from a newline, here and there.
                for i in bytes.indices where Int.random(in: 0..<6, using: &generator) == 0 {
                    bytes[i] = [0x0A, 0x0B, 0x09, 0x8A][Int.random(in: 0..<4, using: &generator)]
                }
                for start in [0, min(3, length), length / 2] {
                    let expected = bytes[start...].lastIndex(of: 0x0A)
                    let found = bytes.withUnsafeBufferPointer { DumpParser.lastNewline(in: $0.baseAddress!, from: start, to: length) }
                    #expect(found == expected, "\(bytes) from \(start)")
                }
            }
        }
    }

    /// `keyIs` takes the key it is given, through its colon, and nothing
    /// else: not a longer or shorter key, not one with escapes, not at the
    /// end of the input; what it leaves, `readKey` reads as before.
    @Test func expectedKeysAreTakenExactlyOrLeftWhole() {
        func tryKey(_ text: String) -> (taken: Bool, pos: Int, readAfter: String?) {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { raw in
                guard var s = JSONScanner(raw, maxDepth: 8) else { return (false, -1, nil) }
                let taken = s.keyIs("traceId")
                let pos = s.pos
                if taken { return (true, pos, nil) }
                do throws(JSONFault) {
                    let key = try s.readKey()
                    return (false, pos, key.decoded ?? String(decoding: UnsafeBufferPointer(start: key.pointer, count: key.count), as: UTF8.self))
                } catch {
                    return (false, pos, "fault: \(error.message)")
                }
            }
        }
        #expect(tryKey(#""traceId":"x""#) == (true, 10, nil))
        #expect(tryKey(#""traceId"  :1"#) == (true, 12, nil))
        #expect(tryKey("\"traceId\"\n\t:1") == (true, 12, nil))
        #expect(tryKey(#""traceId""#) == (false, 0, "fault: unexpected end of input"))
        #expect(tryKey(#""traceId" 1"#) == (false, 0, "fault: expected ':', found '1'"))
        #expect(tryKey(#""traceIdX":1"#) == (false, 0, "traceIdX"))
        #expect(tryKey(#""traceI":1"#) == (false, 0, "traceI"))
        #expect(tryKey(#""spanId":1"#) == (false, 0, "spanId"))
        #expect(tryKey(#""trace\u0049d":1"#) == (false, 0, "traceId"))
        #expect(tryKey(#""tracEId":1"#) == (false, 0, "tracEId"))
        // Cut short anywhere, it is not taken and reading it says why.
        let whole = #""traceId":"#
        for cut in 1..<whole.utf8.count {
            let r = tryKey(String(whole.prefix(cut)))
            #expect(!r.taken && r.pos == 0, "\(cut)")
        }
    }

    /// `nextMember` then `readKey` is `nextKey`: the same keys, the same end, the same faults.
    @Test func membersStepAsKeysDo() {
        for text in [#"{"a":1, "b" : 2 ,"c":3}"#, "{}", "{ }", #"{"a":1 "b":2}"#, #"{"a":1,}"#, #"{1:2}"#, #"{"a":1"#] {
            func keys(_ byMember: Bool) -> [String] {
                let bytes = Array(text.utf8)
                return bytes.withUnsafeBytes { raw in
                    guard var s = JSONScanner(raw, maxDepth: 8) else { return [] }
                    var out: [String] = []
                    do throws(JSONFault) {
                        try s.beginObject()
                        var first = true
                        while true {
                            let key: JSONKey?
                            if byMember {
                                key = try s.nextMember(&first) ? try s.readKey() : nil
                            } else {
                                key = try s.nextKey(&first)
                            }
                            guard let key else { break }
                            out.append(String(decoding: UnsafeBufferPointer(start: key.pointer, count: key.count), as: UTF8.self))
                            try s.skipValue()
                        }
                        out.append("end at \(s.pos)")
                    } catch {
                        out.append("\(error.message) at \(error.offset)")
                    }
                    return out
                }
            }
            #expect(keys(true) == keys(false), "\(text)")
        }
    }

    /// Ids read in place: exactly 32 (or 16) hex digits between quotes, any
    /// case; anything else leaves the scanner where it was.
    @Test func hexIdsAreReadInPlaceOnlyWhenExact() {
        let trace = "0123456789abcdefFEDCBA9876543210"
        func read128(_ text: String) -> ((UInt64, UInt64)?, Int) {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { raw in
                var s = JSONScanner(raw, maxDepth: 8)!
                let v = s.quotedHex128()
                return (v, s.pos)
            }
        }
        func read64(_ text: String) -> (UInt64?, Int) {
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { raw in
                var s = JSONScanner(raw, maxDepth: 8)!
                let v = s.quotedHex64()
                return (v, s.pos)
            }
        }
        let whole = read128(" \"\(trace)\",")
        #expect(whole.0?.0 == 0x0123_4567_89ab_cdef && whole.0?.1 == 0xFEDC_BA98_7654_3210 && whole.1 == 35)
        // The closing quote may end the input.
        #expect(read128("\"\(trace)\"").1 == 34)
        #expect(read128("\"\(trace)").1 == 0)
        for bad in ["\"\(trace.dropLast())\",", "\"\(trace)0\",", "\"\(trace.dropLast())g\",", "\"\(trace.dropLast())\\\",",
                    "\"\(trace.dropLast())\"\",", "\(trace),", "\"\",", "\"\(String(repeating: "0", count: 16))\","] {
            let r = read128(bad)
            #expect(r.0 == nil && r.1 == 0, "\(bad)")
        }
        let span = read64("\"00000000Ab12cD34\"}")
        #expect(span.0 == 0xAB12_CD34 && span.1 == 18)
        for bad in ["\"00000000Ab12cD3\"}", "\"00000000Ab12cD345\"}", "\"00000000Ab12cD3x\"}", "\"\"}", "\"00000000Ab12cD34"] {
            let r = read64(bad)
            #expect(r.0 == nil && r.1 == 0, "\(bad)")
        }
    }

    /// Eight hex digits at once against the table, for every byte in every position.
    @Test func eightHexDigitsAtOnce() {
        let hex = Array("0123456789abcdefABCDEF".utf8)
        var generator = SystemRandomNumberGenerator()
        func word(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        func byTable(_ bytes: [UInt8]) -> UInt64? { bytes.withUnsafeBufferPointer { HexTable.parse64($0.baseAddress!, 8) } }
        for _ in 0..<2000 {
            let bytes = (0..<8).map { _ in hex[Int.random(in: 0..<hex.count, using: &generator)] }
            #expect(HexTable.eightHexDigits(word(bytes)) == byTable(bytes), "\(bytes)")
        }
        for position in 0..<8 {
            for byte in UInt8.min...UInt8.max {
                var bytes = Array("a1B2c3D4".utf8)
                bytes[position] = byte
                #expect(HexTable.eightHexDigits(word(bytes)) == byTable(bytes), "byte \(byte) at \(position)")
            }
        }
        let sixteen = Array("0123456789abcdef".utf8)
        #expect(sixteen.withUnsafeBufferPointer { HexTable.sixteenHexDigits($0.baseAddress!) } == 0x0123_4567_89ab_cdef)
    }
}
