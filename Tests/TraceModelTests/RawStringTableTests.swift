import Testing
@testable import TraceModel

/// The byte-keyed string table the packer and the store intern names,
/// keys and values in: its hash and compare read whole words, overlapping
/// at the end, and must still see every byte and no byte past the string.
@Suite struct RawStringTableTests {
    /// Strings of every length up to past two words, at every alignment.
    @Test func equalBytesHashAlikeAndCompareEqualWhereverTheyLie() {
        var generator = SystemRandomNumberGenerator()
        for n in 0...40 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var hashes = Set<Int>()
            for shift in 0..<8 {
                // The string at the very end of its buffer: a read past it would leave the allocation.
                let a = UnsafeMutablePointer<UInt8>.allocate(capacity: shift + n)
                defer { a.deallocate() }
                for i in 0..<n { a[shift + i] = bytes[i] }
                let b = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
                defer { b.deallocate() }
                for i in 0..<n { b[i] = bytes[i] }
                hashes.insert(RawStringTable.hash(a + shift, n))
                #expect(RawStringTable.hash(a + shift, n) == RawStringTable.hash(b, n))
                #expect(RawStringTable.equal(a + shift, b, n))
                // One byte changed anywhere: not equal, and (with this seed, almost surely) another hash.
                for i in 0..<n {
                    b[i] ^= 0x20
                    #expect(!RawStringTable.equal(a + shift, b, n), "length \(n), byte \(i)")
                    #expect(RawStringTable.hash(a + shift, n) != RawStringTable.hash(b, n), "length \(n), byte \(i)")
                    b[i] ^= 0x20
                }
            }
            #expect(hashes.count == 1)
        }
    }

    /// Lengths tell strings apart even where their bytes overlap (a prefix).
    @Test func prefixesAreOtherStrings() {
        let text = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        text.withUnsafeBufferPointer { p in
            var table = RawStringTable()
            var strings: [String] = []
            for n in 0...text.count { #expect(table.local(p.baseAddress!, n, strings: &strings) == UInt32(n)) }
            for n in 0...text.count { #expect(table.find(p.baseAddress!, n) == UInt32(n)) }
            #expect(strings.map(\.utf8.count) == Array(0...text.count))
        }
    }
}
