// Jaeger query/UI JSON bodies ({"data":[...]}, a trace, a span, or arrays of those).
import TraceFormats
import TraceModel

enum JaegerJSONFuzz: FuzzTarget {
    static let name = "jaeger-json"

    static func seeds() -> [[UInt8]] {
        let grouped = traces(sampleSpans())
        return [JaegerJSONEncoder.encode(traces: grouped)] + grouped.map { JaegerJSONEncoder.encode(traces: [$0]) }
    }

    static let family = JSONFamily(
        name: "jaeger json",
        partial: { (b: [UInt8]) throws(JSONDecodeError) in try JaegerJSONDecoder.decodePartially(b) },
        strict: { (b: [UInt8]) throws(JSONDecodeError) in try JaegerJSONDecoder.decode(b) },
        encode: { JaegerJSONEncoder.encode(traces: traces($0)) })

    static func check(_ input: [UInt8]) {
        checkJSON(input, family)
    }
}
