// Thrift compact: a bare jaeger.Batch and an agent envelope, both read as compact.
import TraceFormats

func generatedSeeds() -> [[UInt8]] { thriftSeeds(.compact) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    checkJaegerBatch(input, .compact)
    checkAgent(input, .compact)
    return 0
}
