/// A growable list of plain values in memory it owns, for the packer's
/// scratch and output written span after span: appends with no uniqueness
/// check and no generic path, emptied by setting its count. (As arrays,
/// clearing a span's attribute list and appending eight-byte ids cost more
/// than the values written.) A class, so a `PackedSpans.Builder` holding
/// some is not to be copied and used twice; its output leaves as arrays.
final class RawList<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = max(capacity, 8)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Room for `extra` more, growing by half again at least.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(to: count &+ extra) }
    }

    private func grow(to needed: Int) {
        let bigger = max(needed, capacity + capacity / 2)
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: bigger)
        fresh.initialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = bigger
    }

    @inline(__always)
    func append(_ value: Element) {
        reserve(1)
        base[count] = value
        count &+= 1
    }

    func append(_ values: UnsafePointer<Element>, _ n: Int) {
        reserve(n)
        (base + count).initialize(from: values, count: n)
        count &+= n
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
        set { base[i] = newValue }
    }

    /// Forgets everything from `newCount` on.
    @inline(__always)
    func truncate(to newCount: Int) { count = min(count, max(newCount, 0)) }

    @inline(__always)
    func removeAll() { count = 0 }

    func array() -> [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

extension RawList where Element == UInt8 {
    /// `writeFixed`'s eight little-endian bytes.
    @inline(__always)
    func appendFixed(_ value: UInt64) {
        reserve(8)
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count &+= 8
    }

    /// `writeVarint`'s bytes.
    @inline(__always)
    func appendVarint(_ value: UInt64) {
        reserve(10)
        count &+= putVarint(value, base + count)
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { if let p = $0.baseAddress { append(p, $0.count) } }
    }
}
