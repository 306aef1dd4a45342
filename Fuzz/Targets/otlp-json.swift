// OTLP/HTTP JSON bodies.
import TraceFormats
import TraceModel

func generatedSeeds() -> [[UInt8]] {
    let spans = sampleSpans()
    return [OTLPJSONEncoder.encodeLine(spans)] + traces(spans).map { OTLPJSONEncoder.encodeLine($0) }
}

let family = JSONFamily(
    name: "otlp json",
    partial: { (b: [UInt8]) throws(JSONDecodeError) in try OTLPJSONDecoder.decodePartially(b) },
    strict: { (b: [UInt8]) throws(JSONDecodeError) in try OTLPJSONDecoder.decode(b) },
    encode: { OTLPJSONEncoder.encodeLine($0) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    checkJSON(bytes(data, size), family)
    return 0
}
