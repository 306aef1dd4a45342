// Thrift compact: a bare jaeger.Batch and an agent envelope, both read as compact.
import TraceFormats

enum ThriftCompactFuzz: FuzzTarget {
    static let name = "thrift-compact"

    static func seeds() -> [[UInt8]] { thriftSeeds(.compact) }

    static func check(_ input: [UInt8]) {
        checkJaegerBatch(input, .compact)
        checkAgent(input, .compact)
    }
}
