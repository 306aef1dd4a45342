/// Writes Thrift values. Structs are bracketed by `writeStructBegin` and
/// `writeStructEnd` (which writes the stop byte); each field is a
/// `writeFieldBegin` then its value, except bools, which use
/// `writeBoolField` (the compact protocol folds the value into the header).
public protocol ThriftWriter {
    var bytes: [UInt8] { get }
    mutating func writeMessageBegin(name: String, type: ThriftMessageType, seqID: Int32)
    mutating func writeStructBegin()
    /// Writes the field stop and leaves the struct.
    mutating func writeStructEnd()
    mutating func writeFieldBegin(_ type: ThriftType, id: Int16)
    mutating func writeBoolField(id: Int16, _ value: Bool)
    /// A bool as a collection element.
    mutating func writeBool(_ value: Bool)
    mutating func writeByte(_ value: Int8)
    mutating func writeI16(_ value: Int16)
    mutating func writeI32(_ value: Int32)
    mutating func writeI64(_ value: Int64)
    mutating func writeDouble(_ value: Double)
    mutating func writeString(_ value: String)
    mutating func writeBinary(_ value: [UInt8])
    mutating func writeListBegin(_ element: ThriftType, count: Int)
    mutating func writeSetBegin(_ element: ThriftType, count: Int)
    mutating func writeMapBegin(key: ThriftType, value: ThriftType, count: Int)
    /// Bytes this writer (of the same protocol) made, e.g. a span encoded on its own.
    mutating func writeRaw(_ raw: [UInt8])
}

/// Thrift compact protocol, byte for byte as Apache Thrift's Go and Java
/// libraries write it (bools in collections 1/2, list bool type 1,
/// seqid as an unsigned varint, doubles little-endian).
public struct ThriftCompactWriter: ThriftWriter {
    public private(set) var bytes: [UInt8]
    private var lastFieldID: Int16 = 0
    private var stack: [Int16] = []

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    public mutating func writeMessageBegin(name: String, type: ThriftMessageType, seqID: Int32) {
        bytes.append(0x82)
        bytes.append((type.rawValue << 5) | 1)
        writeVarint(UInt64(UInt32(bitPattern: seqID)))
        writeString(name)
    }

    public mutating func writeStructBegin() {
        stack.append(lastFieldID)
        lastFieldID = 0
    }

    public mutating func writeStructEnd() {
        bytes.append(0)
        lastFieldID = stack.popLast() ?? 0
    }

    private mutating func writeFieldHeader(_ typeNibble: UInt8, id: Int16) {
        let delta = Int(id) - Int(lastFieldID)
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | typeNibble)
        } else {
            bytes.append(typeNibble)
            writeI16(id)
        }
        lastFieldID = id
    }

    public mutating func writeFieldBegin(_ type: ThriftType, id: Int16) {
        writeFieldHeader(type.compactID, id: id)
    }

    public mutating func writeBoolField(id: Int16, _ value: Bool) {
        writeFieldHeader(value ? 1 : 2, id: id)
    }

    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 2) }
    public mutating func writeByte(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    public mutating func writeI16(_ value: Int16) { writeI32(Int32(value)) }

    @inline(__always)
    public mutating func writeI32(_ value: Int32) {
        writeVarint(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    @inline(__always)
    public mutating func writeI64(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func writeDouble(_ value: Double) {
        let bits = value.bitPattern
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
    }

    public mutating func writeString(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func writeBinary(_ value: [UInt8]) {
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeListBegin(_ element: ThriftType, count: Int) {
        let count = max(0, count)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.compactID)
        } else {
            bytes.append(0xF0 | element.compactID)
            writeVarint(UInt64(count))
        }
    }

    public mutating func writeSetBegin(_ element: ThriftType, count: Int) { writeListBegin(element, count: count) }
    public mutating func writeRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    public mutating func writeMapBegin(key: ThriftType, value: ThriftType, count: Int) {
        writeVarint(UInt64(max(0, count)))
        if count > 0 { bytes.append(key.compactID << 4 | value.compactID) }
    }
}

/// Thrift binary protocol (strict messages), big-endian.
public struct ThriftBinaryWriter: ThriftWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    private mutating func writeBigEndian(_ value: UInt64, _ n: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))))
        }
    }

    public mutating func writeMessageBegin(name: String, type: ThriftMessageType, seqID: Int32) {
        writeI32(Int32(bitPattern: 0x8001_0000 | UInt32(type.rawValue)))
        writeString(name)
        writeI32(seqID)
    }

    public mutating func writeStructBegin() {}
    public mutating func writeStructEnd() { bytes.append(0) }

    public mutating func writeFieldBegin(_ type: ThriftType, id: Int16) {
        bytes.append(type.rawValue)
        writeI16(id)
    }

    public mutating func writeBoolField(id: Int16, _ value: Bool) {
        writeFieldBegin(.bool, id: id)
        writeBool(value)
    }

    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func writeByte(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    public mutating func writeI16(_ value: Int16) { writeBigEndian(UInt64(UInt16(bitPattern: value)), 2) }
    public mutating func writeI32(_ value: Int32) { writeBigEndian(UInt64(UInt32(bitPattern: value)), 4) }
    public mutating func writeI64(_ value: Int64) { writeBigEndian(UInt64(bitPattern: value), 8) }
    public mutating func writeDouble(_ value: Double) { writeBigEndian(value.bitPattern, 8) }

    public mutating func writeString(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            writeI32(Int32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func writeBinary(_ value: [UInt8]) {
        writeI32(Int32(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeListBegin(_ element: ThriftType, count: Int) {
        bytes.append(element.rawValue)
        writeI32(Int32(truncatingIfNeeded: count))
    }

    public mutating func writeSetBegin(_ element: ThriftType, count: Int) { writeListBegin(element, count: count) }
    public mutating func writeRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    public mutating func writeMapBegin(key: ThriftType, value: ThriftType, count: Int) {
        bytes.append(key.rawValue)
        bytes.append(value.rawValue)
        writeI32(Int32(truncatingIfNeeded: count))
    }
}
