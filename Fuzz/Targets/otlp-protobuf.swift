// OTLP protobuf ExportTraceServiceRequest (the gzip detection in front of it too).
import TraceFormats
import TraceModel

enum OTLPProtobufFuzz: FuzzTarget {
    static let name = "otlp-protobuf"

    /// One long-lived decoder, as a listener holds one (not thread-safe: one input at a time).
    nonisolated(unsafe) static let reusedDecoder = WireDecoder(recycleAfterBytes: 1 << 16)

    static func seeds() -> [[UInt8]] {
        let spans = sampleSpans()
        let whole = OTLPProtobufEncoder.encode(spans)
        return [whole, Gzip.compress(whole)] + traces(spans).map { OTLPProtobufEncoder.encode($0) }
    }

    static func check(_ input: [UInt8]) {
        let fresh = Result { () throws(WireDecodeError) in try OTLPProtobufDecoder.decodeDetectingGzip(input) }
        let reused = Result { () throws(WireDecodeError) in try reusedDecoder.decodeOTLPDetectingGzip(input) }
        switch (fresh, reused) {
        case (.success(let a), .success(let b)):
            require(keys(a.spans) == keys(b.spans) && a.rejectedCount == b.rejectedCount && a.rejected == b.rejected,
                    "the reused WireDecoder disagrees with a fresh decode")
            require(a.rejected.count <= WireLimits().maxRecordedIssues, "more issues recorded than the bound")
            requireValidIDs(a.spans, "otlp")
            let again = OTLPProtobufEncoder.encode(a.spans)
            do {
                let b2 = try OTLPProtobufDecoder.decode(again)
                require(keys(b2.spans) == keys(a.spans), "re-encoded spans decode differently (\(b2.spans.count) vs \(a.spans.count))")
                require(b2.rejectedCount == 0, "re-encoded spans are rejected: \(b2.rejected)")
            } catch {
                fuzzFail("re-encoding \(a.spans.count) decoded spans gives undecodable bytes: \(error)")
            }
            exerciseStore(a.spans)
        case (.failure(let a), .failure(let b)):
            require(a == b, "the reused decoder fails differently: \(a) vs \(b)")
        default:
            fuzzFail("the reused WireDecoder and a fresh decode disagree on success: \(fresh) vs \(reused)")
        }
    }
}
