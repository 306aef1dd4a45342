// Jaeger query/UI JSON bodies ({"data":[...]}, a trace, a span, or arrays of those).
import TraceFormats
import TraceModel

func generatedSeeds() -> [[UInt8]] {
    let grouped = traces(sampleSpans())
    return [JaegerJSONEncoder.encode(traces: grouped)] + grouped.map { JaegerJSONEncoder.encode(traces: [$0]) }
}

let family = JSONFamily(
    name: "jaeger json",
    partial: { (b: [UInt8]) throws(JSONDecodeError) in try JaegerJSONDecoder.decodePartially(b) },
    strict: { (b: [UInt8]) throws(JSONDecodeError) in try JaegerJSONDecoder.decode(b) },
    encode: { JaegerJSONEncoder.encode(traces: traces($0)) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    checkJSON(bytes(data, size), family)
    return 0
}
