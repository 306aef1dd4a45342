// Thrift binary: a bare jaeger.Batch (the collector's HTTP body) and an agent envelope, both read as binary.
import TraceFormats

enum ThriftBinaryFuzz: FuzzTarget {
    static let name = "thrift-binary"

    static func seeds() -> [[UInt8]] { thriftSeeds(.binary) }

    static func check(_ input: [UInt8]) {
        checkJaegerBatch(input, .binary)
        checkAgent(input, .binary)
    }
}
