// OTLP/HTTP JSON bodies.
import TraceFormats
import TraceModel

enum OTLPJSONFuzz: FuzzTarget {
    static let name = "otlp-json"

    static func seeds() -> [[UInt8]] {
        let spans = sampleSpans()
        return [OTLPJSONEncoder.encodeLine(spans)] + traces(spans).map { OTLPJSONEncoder.encodeLine($0) }
    }

    static let family = JSONFamily(
        name: "otlp json",
        partial: { (b: [UInt8]) throws(JSONDecodeError) in try OTLPJSONDecoder.decodePartially(b) },
        strict: { (b: [UInt8]) throws(JSONDecodeError) in try OTLPJSONDecoder.decode(b) },
        encode: { OTLPJSONEncoder.encodeLine($0) })

    static func check(_ input: [UInt8]) {
        checkJSON(input, family)
    }
}
