import Foundation
import Testing
import TraceModel
@testable import TraceFormats

/// Encoder-made OTLP protobuf bodies (no ../shared needed).
@Suite struct OTLPProtobufTests {
    @Test func roundTrip() throws {
        let spans = WireSamples.otlpSpans(count: 300)
        let body = OTLPProtobufEncoder.encode(spans)
        let decoded = try OTLPProtobufDecoder.decode(body)
        #expect(decoded.rejectedCount == 0 && decoded.rejected.isEmpty)
        // The encoder groups by resource and scope: compare in a fixed order.
        expectSameSpans(decoded.spans, spans)
        #expect(decoded.spans.filter { $0.serviceName == "server-1" }.allSatisfy { $0.resource === decoded.spans[0].resource })
        // The same bytes again from the decoded spans.
        #expect(OTLPProtobufEncoder.encode(decoded.spans) == body)
        // Agrees with the OTLP JSON path.
        let viaJSON = try OTLPJSONDecoder.decode(OTLPJSONEncoder.encodeLine(spans))
        expectSameSpans(viaJSON, decoded.spans)
    }

    @Test func emptyBodiesAreEmptyRequests() throws {
        #expect(try OTLPProtobufDecoder.decode([UInt8]()).spans.isEmpty)
        #expect(try OTLPProtobufDecoder.decode(OTLPProtobufEncoder.encode([])).spans.isEmpty)
    }

    @Test func gzipConvenience() throws {
        let spans = WireSamples.otlpSpans(count: 20)
        let body = OTLPProtobufEncoder.encode(spans)
        expectSameSpans(try OTLPProtobufDecoder.decodeDetectingGzip(Gzip.compress(body)).spans, spans)
        expectSameSpans(try OTLPProtobufDecoder.decodeDetectingGzip(body).spans, spans)
        let truncated = Array(Gzip.compress(body).dropLast(9))
        let error = wireError { _ = try OTLPProtobufDecoder.decodeDetectingGzip(truncated) }
        #expect(error?.format == .gzip)
        let small = WireLimits(maxDecompressedBytes: 100)
        #expect(wireError { _ = try OTLPProtobufDecoder.decodeDetectingGzip(Gzip.compress(body), limits: small) }?.reason ==
                .gzip("gzip content larger than 100 bytes"))
    }

    /// Hand-built messages: unknown and newer fields are skipped, the legacy
    /// `instrumentation_library_spans` is read, the resource may come last.
    @Test func forwardAndBackwardCompatibility() throws {
        var w = ProtobufWriter()
        w.message(1) { w in  // ResourceSpans
            w.string(3, "https://schema")  // schema_url
            w.message(1000) { w in  // legacy InstrumentationLibrarySpans
                w.message(1) { w in w.string(1, "old.lib"); w.string(2, "0.9") }
                w.message(2) { w in
                    w.idField(1, 1, 2)
                    w.idField(2, 3)
                    w.string(5, "legacy")
                    w.varintField(6, 99)  // unknown kind value
                    w.fixed64(7, 100); w.fixed64(8, 50)  // end before start
                    w.message(9) { w in
                        w.varintField(3, 7)  // key_strindex (profiling only)
                        w.string(1, "k")
                        w.message(2) { w in w.varintField(8, 4) }  // string_value_strindex: unknown -> ""
                    }
                    w.message(9) { w in w.string(1, "neg"); w.message(2) { w in w.varintField(3, UInt64(bitPattern: -5)) } }
                    w.message(9) { w in w.string(1, "novalue") }
                    w.message(15) { w in w.varintField(3, 2); w.string(2, "oops"); w.varintField(1, 1) }
                    w.varintField(10, 3)  // dropped_attributes_count
                    w.fixed32(16, 0x100)
                    w.tag(77, .fixed64); w.bytes += [UInt8](repeating: 0, count: 8)
                    w.tag(78, .fixed32); w.bytes += [1, 2, 3, 4]
                }
            }
            w.message(1) { w in  // the resource, after the spans
                w.message(1) { w in w.string(1, "service.name"); w.message(2) { w in w.string(1, "late") } }
                w.message(3) { w in w.string(2, "entity") }  // entity_refs
            }
        }
        w.message(1) { w in  // no resource at all
            w.message(2) { w in
                w.message(2) { w in w.idField(1, 0, 9); w.idField(2, 9); w.idField(4, 0) }  // zero parent = root
            }
        }
        let decoded = try OTLPProtobufDecoder.decode(w.bytes)
        try #require(decoded.spans.count == 2)
        let span = decoded.spans[0]
        #expect(span.serviceName == "late")
        #expect(span.scope.name == "old.lib" && span.scope.version == "0.9")
        #expect(span.kind == .unspecified)
        #expect(span.durationNano == 0)
        #expect(span.attributes == [Attribute("k", .string("")), Attribute("neg", .int(-5)), Attribute("novalue", .string(""))])
        #expect(span.status == SpanStatus(code: .error, message: "oops"))
        #expect(span.flags == 0x100)
        #expect(decoded.spans[1].resource === Resource.unknown)
        #expect(decoded.spans[1].parentSpanID == nil)
    }

    @Test func invalidSpansAreSkippedAndCounted() throws {
        var w = ProtobufWriter()
        w.message(1) { w in
            w.message(2) { w in
                w.message(2) { w in w.idField(2, 1) }  // no trace id
                w.message(2) { w in w.idField(1, 0, 0); w.idField(2, 1) }  // zero trace id
                w.message(2) { w in w.idField(1, 0, 1); w.bytesField(2, [1, 2, 3]) }  // short span id
                w.message(2) { w in w.idField(1, 0, 1); w.idField(2, 0) }  // zero span id
                w.message(2) { w in w.idField(1, 0, 1); w.idField(2, 1); w.bytesField(4, [1]) }  // bad parent
                w.message(2) { w in  // good, with one bad link (kept span, link skipped)
                    w.idField(1, 0, 1); w.idField(2, 2)
                    w.message(13) { w in w.bytesField(1, [1]); w.idField(2, 1) }
                    w.message(13) { w in w.idField(1, 0, 1); w.idField(2, 1)
                        w.message(4) { w in w.string(1, "opentracing.ref_type"); w.message(2) { w in w.string(1, "child_of") } } }
                }
            }
        }
        let decoded = try OTLPProtobufDecoder.decode(w.bytes)
        #expect(decoded.spans.map(\.spanID) == [SpanID(2)])
        #expect(decoded.spans[0].links == [SpanLink(traceID: TraceID(low: 1), spanID: SpanID(1), referenceType: "CHILD_OF")])
        #expect(decoded.rejectedCount == 5)
        #expect(decoded.rejected.map(\.reason) == [
            "span 1: trace_id is not 16 bytes", "span 2: trace_id is zero", "span 3: span_id is not 8 bytes",
            "span 4: span_id is zero", "span 5: parent_span_id is not 8 bytes",
            "span 6: link trace_id is not 16 nonzero bytes",
        ])
        let limited = try OTLPProtobufDecoder.decode(w.bytes, limits: WireLimits(maxRecordedIssues: 2))
        #expect(limited.rejected.count == 2 && limited.rejectedCount == 5)
    }

    @Test func structuralErrorsAreLocated() {
        // A span whose declared length runs past the enclosing message.
        var w = ProtobufWriter()
        w.message(1) { w in w.message(2) { w in w.tag(2, .lengthDelimited); w.varint(200) } }
        let error = wireError { _ = try OTLPProtobufDecoder.decode(w.bytes) }
        #expect(error == WireDecodeError(format: .protobuf, offset: 5, reason: .lengthBeyondInput(length: 200, remaining: 0)))
        #expect(error?.description == "protobuf: byte 5: length 200 exceeds the 0 bytes left")
        #expect(wireError { _ = try OTLPProtobufDecoder.decode([0x0B]) }?.reason == .invalidWireType(3))  // group
        #expect(wireError { _ = try OTLPProtobufDecoder.decode([0x02]) }?.reason == .invalidFieldNumber(0))
        #expect(wireError { _ = try OTLPProtobufDecoder.decode([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01]) }?.reason == .malformedVarint)
        #expect(wireError { _ = try OTLPProtobufDecoder.decode([0x09, 1, 2]) }?.reason == .truncated(needed: 8, remaining: 2))
    }
}
