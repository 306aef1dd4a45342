/// Where the JSON encoders write bytes: a `[UInt8]`, or `JSONBytes` on the
/// hot paths (dump lines, `record`).
protocol JSONOutput: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func appendLiteral(_ literal: StaticString)
    mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>)
}

extension Array: JSONOutput where Element == UInt8 {
    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(contentsOf: bytes)
    }
}

/// A growable byte buffer written through a raw pointer: an append is a
/// capacity check and a copy. (`[UInt8]`'s generic `append(contentsOf:)` of a
/// literal's UTF-8 view, with its uniqueness check per call, was a fifth of
/// `record`'s writer encoding a span.)
public struct JSONBytes: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int

    public init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var isEmpty: Bool { count == 0 }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public mutating func removeAll() { count = 0 }

    /// Forgets the bytes after the first `count`.
    mutating func truncate(to count: Int) { self.count = min(self.count, max(0, count)) }

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if n > capacity - count { grow(to: count + n) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        var fresh = capacity
        while fresh < needed { fresh *= 2 }
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: fresh)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = fresh
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { appendBytes($0) }
    }

    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }
}

extension JSONBytes: JSONOutput {}
