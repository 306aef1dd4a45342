/// Thrift value types, numbered as the binary protocol numbers them.
public enum ThriftType: UInt8, Sendable, CaseIterable {
    case bool = 2, byte = 3, double = 4, i16 = 6, i32 = 8, i64 = 10, binary = 11
    case `struct` = 12, map = 13, set = 14, list = 15, uuid = 16

    /// The type nibble the compact protocol uses (bool as BOOLEAN_TRUE, as Go and Java write it).
    var compactID: UInt8 {
        switch self {
        case .bool: return 1
        case .byte: return 3
        case .i16: return 4
        case .i32: return 5
        case .i64: return 6
        case .double: return 7
        case .binary: return 8
        case .list: return 9
        case .set: return 10
        case .map: return 11
        case .struct: return 12
        case .uuid: return 13
        }
    }

    static func fromCompact(_ nibble: UInt8) -> ThriftType? {
        switch nibble {
        case 1, 2: return .bool
        case 3: return .byte
        case 4: return .i16
        case 5: return .i32
        case 6: return .i64
        case 7: return .double
        case 8: return .binary
        case 9: return .list
        case 10: return .set
        case 11: return .map
        case 12: return .struct
        case 13: return .uuid
        default: return nil
        }
    }

    /// The fewest bytes one value of this type takes on the wire: a declared
    /// element count times this must fit in what remains.
    func minimumSize(compact: Bool) -> Int {
        switch self {
        case .bool, .byte, .struct: return 1
        case .i16: return compact ? 1 : 2
        case .i32: return compact ? 1 : 4
        case .i64: return compact ? 1 : 8
        case .double: return 8
        case .uuid: return 16
        case .binary: return compact ? 1 : 4
        case .list, .set: return compact ? 1 : 5
        case .map: return compact ? 1 : 6
        }
    }
}

public enum ThriftProtocolKind: String, Sendable, Equatable, CaseIterable {
    case compact, binary

    /// By the first byte of a message: 0x82 compact, 0x80 strict binary;
    /// anything else is taken for old non-strict binary (a name length).
    public static func detect<C: Collection>(_ bytes: C) -> ThriftProtocolKind where C.Element == UInt8 {
        bytes.first == 0x82 ? .compact : .binary
    }
}

public enum ThriftMessageType: UInt8, Sendable, Equatable {
    case call = 1, reply = 2, exception = 3, oneway = 4
}

public struct ThriftMessageHeader: Sendable, Equatable {
    public var name: String
    public var type: ThriftMessageType
    public var seqID: Int32
}

struct ThriftField {
    var type: ThriftType
    var id: Int16
}

/// The operations the Jaeger and Zipkin mappings need, implemented by the
/// compact and the binary protocol readers. Every read checks the bytes left
/// and throws a located `WireDecodeError`; nothing is allocated from a length
/// before that length has been checked.
protocol ThriftReader {
    var base: UnsafePointer<UInt8> { get }
    var count: Int { get }
    var position: Int { get }
    var format: WireDecodeError.Format { get }

    mutating func readMessageBegin() throws(WireDecodeError) -> ThriftMessageHeader
    /// Enters a struct (depth check); returns what `endStruct` needs back.
    mutating func beginStruct() throws(WireDecodeError) -> Int16
    mutating func endStruct(_ saved: Int16)
    /// The next field's header, nil at the stop byte.
    mutating func readFieldHeader() throws(WireDecodeError) -> ThriftField?
    mutating func readBool() throws(WireDecodeError) -> Bool
    mutating func readByte() throws(WireDecodeError) -> Int8
    mutating func readI16() throws(WireDecodeError) -> Int16
    mutating func readI32() throws(WireDecodeError) -> Int32
    mutating func readI64() throws(WireDecodeError) -> Int64
    mutating func readDouble() throws(WireDecodeError) -> Double
    /// A string or binary: its offset from `base` and byte count, already bounds-checked.
    mutating func readBinaryRange() throws(WireDecodeError) -> (offset: Int, count: Int)
    /// List or set header; the count is checked against limits and the bytes left.
    mutating func readListHeader() throws(WireDecodeError) -> (element: ThriftType, count: Int)
    mutating func readMapHeader() throws(WireDecodeError) -> (key: ThriftType, value: ThriftType, count: Int)
    /// Container nesting for skipping and nested collections.
    mutating func enterContainer() throws(WireDecodeError)
    mutating func exitContainer()

    func fault(_ reason: WireDecodeError.Reason, at offset: Int) -> WireDecodeError
    /// Moves past `n` bytes the caller has already checked (a whole struct
    /// it recognised byte for byte, so no reader state changes).
    mutating func skipKnownBytes(_ n: Int)
}

extension ThriftReader {
    func fault(_ reason: WireDecodeError.Reason, at offset: Int) -> WireDecodeError {
        WireDecodeError(format: format, offset: offset, reason: reason)
    }

    /// Skips one value of `type`, recursively (depth-bounded).
    mutating func skip(_ type: ThriftType) throws(WireDecodeError) {
        switch type {
        case .bool: _ = try readBool()
        case .byte: _ = try readByte()
        case .i16: _ = try readI16()
        case .i32: _ = try readI32()
        case .i64: _ = try readI64()
        case .double: _ = try readDouble()
        case .binary: _ = try readBinaryRange()
        case .uuid:
            for _ in 0..<2 { _ = try readDouble() }
        case .struct:
            let saved = try beginStruct()
            while let field = try readFieldHeader() { try skip(field.type) }
            endStruct(saved)
        case .list, .set:
            let (element, count) = try readListHeader()
            try enterContainer()
            for _ in 0..<count { try skip(element) }
            exitContainer()
        case .map:
            let (key, value, count) = try readMapHeader()
            try enterContainer()
            for _ in 0..<count {
                try skip(key)
                try skip(value)
            }
            exitContainer()
        }
    }

    /// Skips the elements of a list whose header was read.
    mutating func skipElements(_ element: ThriftType, _ count: Int) throws(WireDecodeError) {
        try enterContainer()
        for _ in 0..<count { try skip(element) }
        exitContainer()
    }

    func string(_ range: (offset: Int, count: Int), _ ctx: DecodeContext, intern: Bool) -> String {
        if range.count == 0 { return "" }
        return ctx.cachedString(base + range.offset, range.count, intern: intern)
    }

    mutating func readString(_ ctx: DecodeContext, intern: Bool) throws(WireDecodeError) -> String {
        string(try readBinaryRange(), ctx, intern: intern)
    }

    /// A string without a decode context (message names).
    mutating func readPlainString() throws(WireDecodeError) -> String {
        let range = try readBinaryRange()
        return String(decoding: UnsafeBufferPointer(start: base + range.offset, count: range.count), as: UTF8.self)
    }

    mutating func readBytes() throws(WireDecodeError) -> [UInt8] {
        let range = try readBinaryRange()
        return Array(UnsafeBufferPointer(start: base + range.offset, count: range.count))
    }
}

// MARK: - compact protocol

/// Thrift compact protocol (TCompactProtocol) over a buffer that outlives it.
struct ThriftCompactReader: ThriftReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    private(set) var position: Int = 0
    private var depth = 0
    private let limits: WireLimits
    private var lastFieldID: Int16 = 0
    /// 0 none, 1 true, 2 false: the value a bool field carried in its header.
    private var pendingBool: UInt8 = 0

    var format: WireDecodeError.Format { .thriftCompact }

    init(base: UnsafePointer<UInt8>, count: Int, limits: WireLimits) {
        self.base = base
        self.count = count
        self.limits = limits
    }

    mutating func skipKnownBytes(_ n: Int) { position = min(count, position + n) }

    @inline(__always)
    private mutating func readU8() throws(WireDecodeError) -> UInt8 {
        guard position < count else { throw fault(.truncated(needed: 1, remaining: 0), at: position) }
        let b = base[position]
        position &+= 1
        return b
    }

    @inline(__always)
    mutating func readVarint() throws(WireDecodeError) -> UInt64 {
        try Varint.read(base, &position, end: count, format: format)
    }

    @inline(__always)
    private mutating func readVarint32() throws(WireDecodeError) -> UInt32 {
        let start = position
        let v = try readVarint()
        guard v <= UInt64(UInt32.max) else { throw fault(.malformedVarint, at: start) }
        return UInt32(truncatingIfNeeded: v)
    }

    mutating func readMessageBegin() throws(WireDecodeError) -> ThriftMessageHeader {
        let protocolID = try readU8()
        guard protocolID == 0x82 else { throw fault(.badProtocolID(protocolID), at: 0) }
        let versionAndType = try readU8()
        let version = versionAndType & 0x1F
        guard version == 1 else { throw fault(.badVersion(UInt32(version)), at: 1) }
        let rawType = (versionAndType >> 5) & 0x07
        guard let type = ThriftMessageType(rawValue: rawType) else {
            throw fault(.unsupportedMessageType(rawType), at: 1)
        }
        let seqID = Int32(bitPattern: try readVarint32())
        let name = try readPlainString()
        return ThriftMessageHeader(name: name, type: type, seqID: seqID)
    }

    mutating func beginStruct() throws(WireDecodeError) -> Int16 {
        depth += 1
        guard depth <= limits.maxDepth else { throw fault(.depthExceeded(limit: limits.maxDepth), at: position) }
        let saved = lastFieldID
        lastFieldID = 0
        return saved
    }

    mutating func endStruct(_ saved: Int16) {
        lastFieldID = saved
        depth -= 1
    }

    mutating func enterContainer() throws(WireDecodeError) {
        depth += 1
        guard depth <= limits.maxDepth else { throw fault(.depthExceeded(limit: limits.maxDepth), at: position) }
    }

    mutating func exitContainer() { depth -= 1 }

    @inline(__always)
    mutating func readFieldHeader() throws(WireDecodeError) -> ThriftField? {
        let start = position
        let b = try readU8()
        if b == 0 { return nil }
        let nibble = b & 0x0F
        guard let type = ThriftType.fromCompact(nibble) else { throw fault(.invalidType(nibble), at: start) }
        let delta = b >> 4
        let id: Int16
        if delta != 0 {
            id = lastFieldID &+ Int16(delta)
        } else {
            id = try readI16()
        }
        lastFieldID = id
        if type == .bool { pendingBool = nibble }
        return ThriftField(type: type, id: id)
    }

    @inline(__always)
    mutating func readBool() throws(WireDecodeError) -> Bool {
        if pendingBool != 0 {
            defer { pendingBool = 0 }
            return pendingBool == 1
        }
        // In collections a bool is a byte: 1 true; 0 or 2 false.
        return try readU8() == 1
    }

    mutating func readByte() throws(WireDecodeError) -> Int8 { Int8(bitPattern: try readU8()) }

    mutating func readI16() throws(WireDecodeError) -> Int16 {
        let start = position
        let v = try readI32()
        guard let narrow = Int16(exactly: v) else { throw fault(.malformedVarint, at: start) }
        return narrow
    }

    @inline(__always)
    mutating func readI32() throws(WireDecodeError) -> Int32 {
        let z = try readVarint32()
        return Int32(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    @inline(__always)
    mutating func readI64() throws(WireDecodeError) -> Int64 {
        let z = try readVarint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    mutating func readDouble() throws(WireDecodeError) -> Double {
        guard count - position >= 8 else {
            throw fault(.truncated(needed: 8, remaining: count - position), at: position)
        }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(base[position + i]) << (8 * UInt64(i)) }
        position += 8
        return Double(bitPattern: bits)
    }

    @inline(__always)
    mutating func readBinaryRange() throws(WireDecodeError) -> (offset: Int, count: Int) {
        let start = position
        let n = try readVarint32()
        let remaining = count - position
        guard UInt64(n) <= UInt64(remaining) else {
            throw fault(.lengthBeyondInput(length: Int(n), remaining: remaining), at: start)
        }
        let offset = position
        position += Int(n)
        return (offset, Int(n))
    }

    private func checkCount(_ n: Int, _ perElement: Int, at start: Int) throws(WireDecodeError) {
        guard n <= limits.maxCollectionCount else {
            throw fault(.collectionTooLarge(count: n, limit: limits.maxCollectionCount), at: start)
        }
        let fits = (count - position) / max(1, perElement)
        guard n <= fits else { throw fault(.collectionTooLarge(count: n, limit: fits), at: start) }
    }

    mutating func readListHeader() throws(WireDecodeError) -> (element: ThriftType, count: Int) {
        let start = position
        let b = try readU8()
        let nibble = b & 0x0F
        guard let element = ThriftType.fromCompact(nibble) else { throw fault(.invalidType(nibble), at: start) }
        var n = Int(b >> 4)
        if n == 15 { n = Int(try readVarint32()) }
        try checkCount(n, element.minimumSize(compact: true), at: start)
        return (element, n)
    }

    mutating func readMapHeader() throws(WireDecodeError) -> (key: ThriftType, value: ThriftType, count: Int) {
        let start = position
        let n = Int(try readVarint32())
        if n == 0 { return (.byte, .byte, 0) }
        let types = try readU8()
        guard let key = ThriftType.fromCompact(types >> 4) else { throw fault(.invalidType(types >> 4), at: position - 1) }
        guard let value = ThriftType.fromCompact(types & 0x0F) else { throw fault(.invalidType(types & 0x0F), at: position - 1) }
        try checkCount(n, key.minimumSize(compact: true) + value.minimumSize(compact: true), at: start)
        return (key, value, n)
    }
}

// MARK: - binary protocol

/// Thrift binary protocol (TBinaryProtocol), strict and old non-strict messages.
struct ThriftBinaryReader: ThriftReader {
    let base: UnsafePointer<UInt8>
    let count: Int
    private(set) var position: Int = 0
    private var depth = 0
    private let limits: WireLimits

    var format: WireDecodeError.Format { .thriftBinary }

    init(base: UnsafePointer<UInt8>, count: Int, limits: WireLimits) {
        self.base = base
        self.count = count
        self.limits = limits
    }

    mutating func skipKnownBytes(_ n: Int) { position = min(count, position + n) }

    @inline(__always)
    private mutating func need(_ n: Int) throws(WireDecodeError) {
        guard count - position >= n else {
            throw fault(.truncated(needed: n, remaining: count - position), at: position)
        }
    }

    @inline(__always)
    private mutating func readU8() throws(WireDecodeError) -> UInt8 {
        try need(1)
        let b = base[position]
        position &+= 1
        return b
    }

    @inline(__always)
    private mutating func readBigEndian(_ n: Int) throws(WireDecodeError) -> UInt64 {
        try need(n)
        var v: UInt64 = 0
        for i in 0..<n { v = v << 8 | UInt64(base[position + i]) }
        position += n
        return v
    }

    private static func type(_ raw: UInt8) -> ThriftType? {
        switch raw {
        case 1: return nil  // VOID: never a field value
        default: return ThriftType(rawValue: raw)
        }
    }

    mutating func readMessageBegin() throws(WireDecodeError) -> ThriftMessageHeader {
        let first = try readI32()
        if first < 0 {
            let word = UInt32(bitPattern: first)
            guard word & 0xFFFF_0000 == 0x8001_0000 else { throw fault(.badVersion(word & 0xFFFF_0000), at: 0) }
            let rawType = UInt8(word & 0xFF)
            guard let type = ThriftMessageType(rawValue: rawType) else {
                throw fault(.unsupportedMessageType(rawType), at: 3)
            }
            let name = try readPlainString()
            let seqID = try readI32()
            return ThriftMessageHeader(name: name, type: type, seqID: seqID)
        }
        // Old non-strict: the first word is the name's length.
        let remaining = count - position
        guard Int(first) <= remaining else {
            throw fault(.lengthBeyondInput(length: Int(first), remaining: remaining), at: 0)
        }
        let name = String(decoding: UnsafeBufferPointer(start: base + position, count: Int(first)), as: UTF8.self)
        position += Int(first)
        let typeOffset = position
        let rawType = try readU8()
        guard let type = ThriftMessageType(rawValue: rawType) else {
            throw fault(.unsupportedMessageType(rawType), at: typeOffset)
        }
        let seqID = try readI32()
        return ThriftMessageHeader(name: name, type: type, seqID: seqID)
    }

    mutating func beginStruct() throws(WireDecodeError) -> Int16 {
        depth += 1
        guard depth <= limits.maxDepth else { throw fault(.depthExceeded(limit: limits.maxDepth), at: position) }
        return 0
    }

    mutating func endStruct(_ saved: Int16) { depth -= 1 }

    mutating func enterContainer() throws(WireDecodeError) {
        depth += 1
        guard depth <= limits.maxDepth else { throw fault(.depthExceeded(limit: limits.maxDepth), at: position) }
    }

    mutating func exitContainer() { depth -= 1 }

    @inline(__always)
    mutating func readFieldHeader() throws(WireDecodeError) -> ThriftField? {
        let start = position
        let raw = try readU8()
        if raw == 0 { return nil }
        guard let type = Self.type(raw) else { throw fault(.invalidType(raw), at: start) }
        let id = try readI16()
        return ThriftField(type: type, id: id)
    }

    mutating func readBool() throws(WireDecodeError) -> Bool { try readU8() != 0 }
    mutating func readByte() throws(WireDecodeError) -> Int8 { Int8(bitPattern: try readU8()) }
    mutating func readI16() throws(WireDecodeError) -> Int16 {
        Int16(bitPattern: UInt16(truncatingIfNeeded: try readBigEndian(2)))
    }
    @inline(__always)
    mutating func readI32() throws(WireDecodeError) -> Int32 {
        Int32(bitPattern: UInt32(truncatingIfNeeded: try readBigEndian(4)))
    }
    @inline(__always)
    mutating func readI64() throws(WireDecodeError) -> Int64 { Int64(bitPattern: try readBigEndian(8)) }
    mutating func readDouble() throws(WireDecodeError) -> Double { Double(bitPattern: try readBigEndian(8)) }

    @inline(__always)
    mutating func readBinaryRange() throws(WireDecodeError) -> (offset: Int, count: Int) {
        let start = position
        let n = try readI32()
        guard n >= 0 else { throw fault(.negativeLength(Int(n)), at: start) }
        let remaining = count - position
        guard Int(n) <= remaining else { throw fault(.lengthBeyondInput(length: Int(n), remaining: remaining), at: start) }
        let offset = position
        position += Int(n)
        return (offset, Int(n))
    }

    private func checkCount(_ n: Int32, _ perElement: Int, at start: Int) throws(WireDecodeError) {
        guard n >= 0 else { throw fault(.negativeLength(Int(n)), at: start) }
        guard Int(n) <= limits.maxCollectionCount else {
            throw fault(.collectionTooLarge(count: Int(n), limit: limits.maxCollectionCount), at: start)
        }
        let fits = (count - position) / max(1, perElement)
        guard Int(n) <= fits else { throw fault(.collectionTooLarge(count: Int(n), limit: fits), at: start) }
    }

    mutating func readListHeader() throws(WireDecodeError) -> (element: ThriftType, count: Int) {
        let start = position
        let raw = try readU8()
        guard let element = Self.type(raw) else { throw fault(.invalidType(raw), at: start) }
        let n = try readI32()
        try checkCount(n, element.minimumSize(compact: false), at: start)
        return (element, Int(n))
    }

    mutating func readMapHeader() throws(WireDecodeError) -> (key: ThriftType, value: ThriftType, count: Int) {
        let start = position
        let rawKey = try readU8()
        guard let key = Self.type(rawKey) else { throw fault(.invalidType(rawKey), at: start) }
        let rawValue = try readU8()
        guard let value = Self.type(rawValue) else { throw fault(.invalidType(rawValue), at: start + 1) }
        let n = try readI32()
        try checkCount(n, key.minimumSize(compact: false) + value.minimumSize(compact: false), at: start)
        return (key, value, Int(n))
    }
}
