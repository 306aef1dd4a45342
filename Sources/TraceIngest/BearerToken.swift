/// The secret every HTTP and gRPC request must carry when one is set
/// (`--token`, `TRACETTY_TOKEN`). Compared in constant time; never printed
/// (its description is a placeholder) and never put in a count's example.
public struct BearerToken: Sendable, Hashable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// nil for an empty token (no token).
    public init?(_ token: String) {
        guard !token.isEmpty else { return nil }
        bytes = Array(token.utf8)
    }

    public var description: String { "<token>" }

    /// Whether an `Authorization` header value is `Bearer <this token>`
    /// (the scheme in any case, as RFC 7235 says).
    public func matches(authorization: String?) -> Bool {
        guard let value = authorization?.utf8 else { return false }
        let scheme = Array("bearer ".utf8)
        let given = Array(value)
        guard given.count >= scheme.count,
              zip(given.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) else { return false }
        return Self.equal(Array(given.dropFirst(scheme.count)), bytes)
    }

    /// Time depends only on the expected length, not on where the bytes differ.
    static func equal(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for i in 0..<expected.count {
            difference |= expected[i] ^ (i < given.count ? given[i] : 0)
        }
        return difference == 0
    }
}
