/// Protobuf wire types this reader understands (groups, 3 and 4, are refused).
enum ProtobufWireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

struct ProtobufTag {
    var field: UInt32
    var wire: ProtobufWireType
}

/// A bounded, forward-only protobuf reader over a buffer that outlives it.
/// A sub-message is read by narrowing `end` to the message's length (checked
/// against the enclosing end first) and restoring it afterwards.
struct ProtobufReader {
    let base: UnsafePointer<UInt8>
    private(set) var position: Int
    /// End of the message being read.
    private(set) var end: Int
    private var depth = 0
    private let maxDepth: Int

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.position = 0
        self.end = count
        self.maxDepth = maxDepth
    }

    func fault(_ reason: WireDecodeError.Reason, at offset: Int) -> WireDecodeError {
        WireDecodeError(format: .protobuf, offset: offset, reason: reason)
    }

    var atEnd: Bool { position >= end }

    @inline(__always)
    mutating func readVarint() throws(WireDecodeError) -> UInt64 {
        try Varint.read(base, &position, end: end, format: .protobuf)
    }

    /// The next field's tag, nil at the end of the current message.
    @inline(__always)
    mutating func readTag() throws(WireDecodeError) -> ProtobufTag? {
        if position >= end { return nil }
        let start = position
        let key = try readVarint()
        let field = key >> 3
        guard field > 0, field <= 0x1FFF_FFFF else { throw fault(.invalidFieldNumber(field), at: start) }
        let rawWire = UInt8(key & 7)
        guard let wire = ProtobufWireType(rawValue: rawWire) else { throw fault(.invalidWireType(rawWire), at: start) }
        return ProtobufTag(field: UInt32(field), wire: wire)
    }

    @inline(__always)
    private mutating func readLittleEndian(_ n: Int) throws(WireDecodeError) -> UInt64 {
        guard end - position >= n else {
            throw fault(.truncated(needed: n, remaining: end - position), at: position)
        }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(base[position + i]) << (8 * UInt64(i)) }
        position += n
        return v
    }

    mutating func readFixed64() throws(WireDecodeError) -> UInt64 { try readLittleEndian(8) }
    mutating func readFixed32() throws(WireDecodeError) -> UInt32 { UInt32(truncatingIfNeeded: try readLittleEndian(4)) }

    /// A length-delimited payload: offset from `base` and count, bounds-checked.
    @inline(__always)
    mutating func readLengthDelimited() throws(WireDecodeError) -> (offset: Int, count: Int) {
        let start = position
        let n = try readVarint()
        let remaining = end - position
        guard n <= UInt64(remaining) else {
            throw fault(.lengthBeyondInput(length: n > UInt64(Int.max) ? Int.max : Int(n), remaining: remaining), at: start)
        }
        let offset = position
        position += Int(n)
        return (offset, Int(n))
    }

    /// Enters a length-delimited sub-message; returns the enclosing end for `endMessage`.
    @inline(__always)
    mutating func beginMessage() throws(WireDecodeError) -> Int {
        let range = try readLengthDelimited()
        depth += 1
        guard depth <= maxDepth else { throw fault(.depthExceeded(limit: maxDepth), at: range.offset) }
        position = range.offset
        let saved = end
        end = range.offset + range.count
        return saved
    }

    @inline(__always)
    mutating func endMessage(_ saved: Int) {
        position = end
        end = saved
        depth -= 1
    }

    /// A reader over a range already read (two-pass decoding), at the same depth.
    func sub(_ range: (offset: Int, count: Int)) throws(WireDecodeError) -> ProtobufReader {
        var copy = self
        copy.depth += 1
        guard copy.depth <= maxDepth else { throw fault(.depthExceeded(limit: maxDepth), at: range.offset) }
        copy.position = range.offset
        copy.end = range.offset + range.count
        return copy
    }

    /// Rewinds to `offset` within the current message.
    mutating func seek(_ offset: Int) { position = offset }

    mutating func skip(_ wire: ProtobufWireType) throws(WireDecodeError) {
        switch wire {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    func string(_ range: (offset: Int, count: Int), _ ctx: DecodeContext, intern: Bool) -> String {
        if range.count == 0 { return "" }
        return ctx.cachedString(base + range.offset, range.count, intern: intern)
    }

    func bytes(_ range: (offset: Int, count: Int)) -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + range.offset, count: range.count))
    }

    /// Big-endian integer of exactly 8 bytes at `offset` (ids).
    func bigEndian64(at offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(base[offset + i]) }
        return v
    }
}

/// Appends protobuf fields. Sub-messages are written in place and their
/// length prefix patched afterwards (one byte reserved, widened if needed).
struct ProtobufWriter {
    var bytes: [UInt8] = []

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func tag(_ field: UInt32, _ wire: ProtobufWireType) {
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    mutating func fixed64(_ field: UInt32, _ value: UInt64) {
        tag(field, .fixed64)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func fixed32(_ field: UInt32, _ value: UInt32) {
        tag(field, .fixed32)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    mutating func varintField(_ field: UInt32, _ value: UInt64) {
        tag(field, .varint)
        varint(value)
    }

    mutating func string(_ field: UInt32, _ value: String) {
        tag(field, .lengthDelimited)
        var copy = value
        copy.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func bytesField(_ field: UInt32, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Big-endian id bytes (trace and span ids).
    mutating func idField(_ field: UInt32, _ values: UInt64...) {
        tag(field, .lengthDelimited)
        varint(UInt64(values.count * 8))
        for v in values {
            for i in stride(from: 7, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
    }

    mutating func message(_ field: UInt32, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, .lengthDelimited)
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - lengthAt - 1
        if length < 0x80 {
            bytes[lengthAt] = UInt8(length)
        } else {
            var prefix: [UInt8] = []
            var v = UInt64(length)
            while v >= 0x80 {
                prefix.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            prefix.append(UInt8(truncatingIfNeeded: v))
            bytes.replaceSubrange(lengthAt..<(lengthAt + 1), with: prefix)
        }
    }
}
