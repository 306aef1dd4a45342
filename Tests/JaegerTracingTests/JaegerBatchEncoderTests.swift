import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

/// The tracer's direct span writer against the project's general Thrift
/// compact writer (`JaegerThriftEncoder`): byte for byte.
@Suite struct JaegerBatchEncoderTests {
    static let values: [(SpanAttribute, AttributeValue)] = [
        (.string("GET"), .string("GET")), (.int64(-42), .int(-42)), (.int32(7), .int(7)),
        (.double(0.25), .double(0.25)), (.bool(false), .bool(false)), (.stringArray(["a"]), .string(#"["a"]"#)),
    ]

    @Test(arguments: 0..<values.count)
    func spanBytesMatchTheGeneralEncoder(_ index: Int) {
        let (attribute, expected) = Self.values[index]
        var recorded = RecordedSpan(operationName: "op")
        recorded.attributes.set("key", value: attribute)
        recorded.events = [Tracing.SpanEvent(name: "evt", at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 5_000_000))]
        let finished = FinishedSpan(traceHigh: 1, traceLow: 2, spanID: 3, parentSpanID: 4, flags: 1, kind: .client,
                                    startsTrace: false, startNanos: 1_000_000, endNanos: 3_000_000, recorded: recorded)
        var ours: [UInt8] = []
        JaegerBatchEncoder.writeSpan(finished, into: &ours)

        let model = TraceModel.Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), parentSpanID: SpanID(4), name: "op",
            startTimeUnixNano: 1_000_000, durationNano: 2_000_000,
            attributes: [Attribute("span.kind", .string("client")), Attribute("key", expected)],
            events: [TraceModel.SpanEvent(timeUnixNano: 5_000_000, name: "evt")],
            links: [SpanLink(traceID: TraceID(high: 1, low: 2), spanID: SpanID(4), referenceType: "CHILD_OF")],
            flags: 1)
        #expect(ours == JaegerThriftEncoder.encodeSpan(model, protocolKind: .compact))
    }

    /// The kind tag is written before the attributes and taken out again
    /// when one is named span.kind; 13 and 14 others put the tag count
    /// across the long list header's threshold (15) and back.
    @Test(arguments: [0, 1, 13, 14, 20])
    func aSpanKindAttributeReplacesTheKindTag(_ others: Int) {
        var recorded = RecordedSpan(operationName: "op")
        recorded.attributes.set("span.kind", value: .string("producer"))
        for index in 0..<others { recorded.attributes.set("k\(index)", value: .int64(Int64(index))) }
        let finished = FinishedSpan(traceHigh: 1, traceLow: 2, spanID: 3, parentSpanID: 4, flags: 1, kind: .client,
                                    startsTrace: false, startNanos: 1_000_000, endNanos: 3_000_000, recorded: recorded)
        var expected: [Attribute] = []
        recorded.attributes.forEach { key, value in
            if case .string(let text) = value { expected.append(Attribute(key, .string(text))) }
            if case .int64(let number) = value { expected.append(Attribute(key, .int(number))) }
        }
        let model = TraceModel.Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), parentSpanID: SpanID(4), name: "op",
            startTimeUnixNano: 1_000_000, durationNano: 2_000_000, attributes: expected,
            links: [SpanLink(traceID: TraceID(high: 1, low: 2), spanID: SpanID(4), referenceType: "CHILD_OF")],
            flags: 1)
        let general = JaegerThriftEncoder.encodeSpan(model, protocolKind: .compact)

        var array: [UInt8] = []
        JaegerBatchEncoder.writeSpan(finished, into: &array)
        #expect(array == general)
        // The flush path's buffer, starting small so that it grows, after another span's bytes.
        var writer = ByteWriter(capacity: 64)
        defer { writer.deallocate() }
        writer.append(0xAB)
        JaegerBatchEncoder.writeSpan(finished, into: &writer)
        #expect(Array(writer.buffer) == [0xAB] + general)
    }

    @Test func longListsUseTheLongListHeader() throws {
        var recorded = RecordedSpan(operationName: "wide")
        for index in 0..<20 { recorded.attributes.set("k\(index)", value: .int64(Int64(index))) }
        let finished = FinishedSpan(traceHigh: 0, traceLow: 9, spanID: 9, parentSpanID: 0, flags: 1, kind: .internal,
                                    startsTrace: true, startNanos: 0, endNanos: 0, recorded: recorded)
        var body: [UInt8] = []
        JaegerBatchEncoder.writeSpan(finished, into: &body)
        var head: [UInt8] = []
        JaegerBatchEncoder.messageHeader(seqID: 300, into: &head)
        head += JaegerBatchEncoder.batchPrefix(serviceName: "svc", tags: [("hostname", "h")])
        JaegerBatchEncoder.listHeader(count: 1, element: JaegerBatchEncoder.typeStruct, into: &head)
        var tail: [UInt8] = []
        JaegerBatchEncoder.batchSuffix(seqNo: 300, fullQueueDropped: 1, tooLargeDropped: 2, failedToEmit: 3, into: &tail)
        let batch = try JaegerAgentDecoder.decode(head + body + tail, protocolKind: .compact)
        #expect(batch.seqID == 300 && batch.batchSeqNo == 300)
        #expect(batch.clientStats == ClientStats(fullQueueDroppedSpans: 1, tooLargeDroppedSpans: 2, failedToEmitSpans: 3))
        let span = try #require(batch.spans.first)
        #expect(span.attributes.count == 20 + 2)  // + sampler tags; span.kind became the kind
        #expect(span.kind == .internal)
        #expect(span.attribute("k19") == .int(19))
    }
}
