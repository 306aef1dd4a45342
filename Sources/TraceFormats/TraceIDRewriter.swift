import TraceModel

/// Gives every original trace id a new random-looking 128-bit id, the same one
/// every time it is asked (so parents, children and links of one trace stay
/// together), so a dump can be replayed into a receiver more than once.
///
/// A keyed 4-round Feistel permutation of the 128 bits rather than a table:
/// a permutation never maps two trace ids to one (no merged traces), and
/// needs no memory per trace (a table for a dump of millions of traces would
/// grow without bound). A new key (`init()`) gives a new mapping; a
/// replay that loops takes a new rewriter per loop. Span ids are kept: they
/// only need to be unique within their (new) trace.
public struct TraceIDRewriter: Sendable, Hashable {
    private let k0: UInt64, k1: UInt64, k2: UInt64, k3: UInt64

    /// A random key.
    public init() {
        var g = SystemRandomNumberGenerator()
        self.init(key: (g.next(), g.next(), g.next(), g.next()))
    }

    /// A fixed key (tests, reproducible replays).
    public init(key: (UInt64, UInt64, UInt64, UInt64)) {
        (k0, k1, k2, k3) = key
    }

    /// SplitMix64's finaliser: the round function.
    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public func map(_ id: TraceID) -> TraceID {
        var left = id.high, right = id.low
        for key in [k0, k1, k2, k3] {
            (left, right) = (right, left ^ Self.mix(right ^ key))
        }
        let mapped = TraceID(high: left, low: right)
        // The all-zero id is invalid on every wire; hitting it has odds of
        // 2^-128, but keep the original rather than send an invalid id.
        return mapped.isZero ? id : mapped
    }

    /// The span with its trace id and its links' trace ids mapped.
    public func rewrite(_ span: Span) -> Span {
        var copy = span
        copy.traceID = map(span.traceID)
        let links = span.links
        if !links.isEmpty {
            copy.links = links.map { link in
                var l = link
                l.traceID = map(link.traceID)
                return l
            }
        }
        return copy
    }
}
