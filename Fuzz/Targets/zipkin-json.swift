// Zipkin v2 JSON bodies (an array of spans, or one span).
import TraceFormats
import TraceModel

enum ZipkinJSONFuzz: FuzzTarget {
    static let name = "zipkin-json"

    static func seeds() -> [[UInt8]] {
        let spans = sampleSpans()
        return [ZipkinJSONEncoder.encode(spans)] + traces(spans).map { ZipkinJSONEncoder.encode($0) }
    }

    static let family = JSONFamily(
        name: "zipkin json",
        partial: { (b: [UInt8]) throws(JSONDecodeError) in try ZipkinJSONDecoder.decodePartially(b) },
        strict: { (b: [UInt8]) throws(JSONDecodeError) in try ZipkinJSONDecoder.decode(b) },
        encode: { ZipkinJSONEncoder.encode($0) })

    static func check(_ input: [UInt8]) {
        checkJSON(input, family)
    }
}
