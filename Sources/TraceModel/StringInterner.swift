/// Keeps one copy of each distinct string (service, operation, attribute
/// key): a store of millions of spans repeats a few hundred of them, and a
/// String that shares storage costs only its 16-byte reference.
/// Strings of 15 UTF-8 bytes or fewer are stored inline by Swift and skip
/// the table.
public struct StringInterner: Sendable {
    private var table: Set<String> = []
    /// A bound on distinct strings so that hostile high-cardinality input
    /// (a unique span name per span) cannot grow the table without end.
    public let capacity: Int
    public private(set) var misses: Int = 0

    public init(capacity: Int = 1 << 16) {
        self.capacity = capacity
    }

    public var count: Int { table.count }

    public mutating func intern(_ string: String) -> String {
        if string.utf8.count <= 15 { return string }
        if let existing = table.firstIndex(of: string) { return table[existing] }
        guard table.count < capacity else {
            misses += 1
            return string
        }
        table.insert(string)
        return string
    }
}
