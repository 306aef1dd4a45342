// The Jaeger agent envelopes (Agent.emitBatch / emitZipkinBatch), protocol
// detected from the first byte as the UDP listeners do.
import TraceFormats

func generatedSeeds() -> [[UInt8]] { thriftSeeds(.compact) + thriftSeeds(.binary) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    checkAgent(bytes(data, size), nil)
    return 0
}
