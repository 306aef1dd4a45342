// Zipkin v2 JSON bodies (an array of spans, or one span).
import TraceFormats
import TraceModel

func generatedSeeds() -> [[UInt8]] {
    let spans = sampleSpans()
    return [ZipkinJSONEncoder.encode(spans)] + traces(spans).map { ZipkinJSONEncoder.encode($0) }
}

let family = JSONFamily(
    name: "zipkin json",
    partial: { (b: [UInt8]) throws(JSONDecodeError) in try ZipkinJSONDecoder.decodePartially(b) },
    strict: { (b: [UInt8]) throws(JSONDecodeError) in try ZipkinJSONDecoder.decode(b) },
    encode: { ZipkinJSONEncoder.encode($0) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    checkJSON(bytes(data, size), family)
    return 0
}
