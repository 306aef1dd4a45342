// Thrift binary: a bare jaeger.Batch (the collector's HTTP body) and an agent envelope, both read as binary.
import TraceFormats

func generatedSeeds() -> [[UInt8]] { thriftSeeds(.binary) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    checkJaegerBatch(input, .binary)
    checkAgent(input, .binary)
    return 0
}
