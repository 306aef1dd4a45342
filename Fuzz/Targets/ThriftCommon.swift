// Checks shared by the three Thrift targets (thrift-compact, thrift-binary, agent).
@testable import TraceFormats
import TraceModel

enum ThriftFuzzState {
    /// One long-lived decoder, as a listener holds one: its caches persist
    /// across inputs and must never change an answer. (Not thread-safe: the
    /// fuzzers and the smoke tests call the targets one input at a time.)
    nonisolated(unsafe) static let reusedDecoder = WireDecoder(recycleAfterBytes: 1 << 16)
}

/// A bare `jaeger.Batch` in `kind`, decoded fresh and by the reused decoder;
/// what decodes is re-encoded and must decode to the same spans.
func checkJaegerBatch(_ input: [UInt8], _ kind: ThriftProtocolKind) {
    let fresh = Result { () throws(WireDecodeError) in try JaegerBatchDecoder.decode(input, protocolKind: kind) }
    let reused = Result { () throws(WireDecodeError) in try ThriftFuzzState.reusedDecoder.decodeJaegerBatch(input, protocolKind: kind) }
    switch (fresh, reused) {
    case (.success(let a), .success(let b)):
        require(keys(a.spans) == keys(b.spans) && a.rejectedCount == b.rejectedCount && a.rejected == b.rejected,
                "\(kind) batch: the reused WireDecoder disagrees with a fresh decode")
        require(a.rejected.count <= WireLimits().maxRecordedIssues, "more issues recorded than the bound")
        requireValidIDs(a.spans, "\(kind) batch")
        let again = JaegerThriftEncoder.batch(process: a.process, spans: a.spans, protocolKind: kind)
        do {
            let b2 = try JaegerBatchDecoder.decode(again, protocolKind: kind)
            require(keys(b2.spans) == keys(a.spans), "\(kind) batch: re-encoded spans decode differently (\(b2.spans.count) vs \(a.spans.count))")
            require(b2.rejectedCount == 0, "\(kind) batch: re-encoded spans are rejected: \(b2.rejected)")
        } catch {
            fuzzFail("\(kind) batch: re-encoding \(a.spans.count) decoded spans gives undecodable bytes: \(error)")
        }
        exerciseStore(a.spans)
    case (.failure(let a), .failure(let b)):
        require(a == b, "\(kind) batch: the reused decoder fails differently: \(a) vs \(b)")
        require(a.offset >= 0 && a.offset <= input.count, "error offset \(a.offset) outside the input (\(input.count) bytes)")
    default:
        fuzzFail("\(kind) batch: the reused WireDecoder and a fresh decode disagree on success: \(fresh) vs \(reused)")
    }
}

/// The same bytes as an agent envelope forced to `kind`.
func checkAgent(_ input: [UInt8], _ kind: ThriftProtocolKind?) {
    let fresh = Result { () throws(WireDecodeError) in try JaegerAgentDecoder.decode(input, protocolKind: kind) }
    let reused = Result { () throws(WireDecodeError) in try ThriftFuzzState.reusedDecoder.decodeAgent(input, protocolKind: kind) }
    switch (fresh, reused) {
    case (.success(let a), .success(let b)):
        require(keys(a.spans) == keys(b.spans) && a.rejectedCount == b.rejectedCount && a.rejected == b.rejected
                    && a.method == b.method && a.seqID == b.seqID,
                "agent: the reused WireDecoder disagrees with a fresh decode")
        require(a.rejected.count <= WireLimits().maxRecordedIssues, "more issues recorded than the bound")
        requireValidIDs(a.spans, "agent \(a.method)")
        if a.method == .emitBatch, let process = a.process {
            let again = JaegerThriftEncoder.emitBatch(process: process, spans: a.spans, protocolKind: a.protocolKind)
            do {
                let b2 = try JaegerAgentDecoder.decode(again)
                require(keys(b2.spans) == keys(a.spans), "emitBatch: re-encoded spans decode differently (\(b2.spans.count) vs \(a.spans.count))")
                require(b2.rejectedCount == 0, "emitBatch: re-encoded spans are rejected: \(b2.rejected)")
            } catch {
                fuzzFail("emitBatch: re-encoding \(a.spans.count) decoded spans gives undecodable bytes: \(error)")
            }
        }
        exerciseStore(a.spans)
    case (.failure(let a), .failure(let b)):
        require(a == b, "agent: the reused decoder fails differently: \(a) vs \(b)")
        require(a.offset >= 0 && a.offset <= input.count, "error offset \(a.offset) outside the input (\(input.count) bytes)")
    default:
        fuzzFail("agent: the reused WireDecoder and a fresh decode disagree on success: \(fresh) vs \(reused)")
    }
}

/// emitBatch and bare batches of the samples, one per process, plus an emitZipkinBatch.
func thriftSeeds(_ kind: ThriftProtocolKind) -> [[UInt8]] {
    var seeds: [[UInt8]] = []
    for (resource, spans) in byResource(sampleSpans()) {
        seeds.append(JaegerThriftEncoder.batch(process: resource, spans: Array(spans.prefix(8)), seqNo: 7,
                                               stats: ClientStats(fullQueueDroppedSpans: 1), protocolKind: kind))
        seeds.append(JaegerThriftEncoder.emitBatch(process: resource, spans: Array(spans.prefix(8)), seqNo: 3,
                                                   protocolKind: kind))
    }
    seeds.append(zipkinBatch(kind))
    return seeds
}

/// One `Agent.emitZipkinBatch` with a client span carrying every annotation type.
func zipkinBatch(_ kind: ThriftProtocolKind) -> [UInt8] {
    func body<W: ThriftWriter>(_ w: inout W) {
        func endpoint(_ service: String) {
            w.writeStructBegin()
            w.writeFieldBegin(.i32, id: 1); w.writeI32(0x7F00_0001)
            w.writeFieldBegin(.i16, id: 2); w.writeI16(8080)
            w.writeFieldBegin(.binary, id: 3); w.writeString(service)
            w.writeStructEnd()
        }
        w.writeMessageBegin(name: "emitZipkinBatch", type: .oneway, seqID: 3)
        w.writeStructBegin()
        w.writeFieldBegin(.list, id: 1)
        w.writeListBegin(.struct, count: 2)
        for (id, parent) in [(Int64(7), Int64(0)), (8, 7)] {
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(0x25D8_B7E9_E4DC_427F)
            w.writeFieldBegin(.binary, id: 3); w.writeString("get /alice")
            w.writeFieldBegin(.i64, id: 4); w.writeI64(id)
            if parent != 0 { w.writeFieldBegin(.i64, id: 5); w.writeI64(parent) }
            w.writeFieldBegin(.list, id: 6)
            w.writeListBegin(.struct, count: 2)
            for (ts, value) in [(Int64(1_000_000), "cs"), (1_000_400, "cr")] {
                w.writeStructBegin()
                w.writeFieldBegin(.i64, id: 1); w.writeI64(ts)
                w.writeFieldBegin(.binary, id: 2); w.writeString(value)
                w.writeFieldBegin(.struct, id: 3); endpoint("frontend")
                w.writeStructEnd()
            }
            w.writeFieldBegin(.list, id: 8)
            let annotations: [(String, [UInt8], Int32)] = [
                ("http.path", Array("/alice".utf8), 6), ("sa", [1], 0), ("code", [0, 0, 0, 200], 3),
                ("size", [0, 0, 0, 0, 0, 0, 1, 0], 4), ("ratio", [0x3F, 0xE0, 0, 0, 0, 0, 0, 0], 5),
                ("short", [0xFF, 0xFE], 2), ("blob", [1, 2, 3], 1),
            ]
            w.writeListBegin(.struct, count: annotations.count)
            for (key, value, type) in annotations {
                w.writeStructBegin()
                w.writeFieldBegin(.binary, id: 1); w.writeString(key)
                w.writeFieldBegin(.binary, id: 2); w.writeBinary(value)
                w.writeFieldBegin(.i32, id: 3); w.writeI32(type)
                w.writeFieldBegin(.struct, id: 4); endpoint("backend")
                w.writeStructEnd()
            }
            w.writeBoolField(id: 9, true)
            w.writeFieldBegin(.i64, id: 10); w.writeI64(1_000_000)
            w.writeFieldBegin(.i64, id: 11); w.writeI64(400)
            w.writeFieldBegin(.i64, id: 12); w.writeI64(0x1122)
            w.writeStructEnd()
        }
        w.writeStructEnd()
    }
    switch kind {
    case .compact:
        var w = ThriftCompactWriter(capacity: 512)
        body(&w)
        return w.bytes
    case .binary:
        var w = ThriftBinaryWriter(capacity: 1024)
        body(&w)
        return w.bytes
    }
}
