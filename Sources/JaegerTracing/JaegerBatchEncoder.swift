import Tracing

/// Thrift compact `jaeger.thrift` structures written straight from finished
/// spans into reusable byte buffers: field headers are constants (field ids
/// and order are fixed, as jaeger-client-go writes them), so no writer state
/// or intermediate model span is needed on the flush path. Matches
/// `TraceFormats.ThriftCompactWriter` byte for byte.
enum JaegerBatchEncoder {
    // Compact field header bytes: (id delta << 4) | type.
    static let typeI32: UInt8 = 5, typeI64: UInt8 = 6, typeDouble: UInt8 = 7, typeBinary: UInt8 = 8
    static let typeList: UInt8 = 9, typeStruct: UInt8 = 12
    static let stop: UInt8 = 0

    @inline(__always)
    static func field(_ delta: UInt8, _ type: UInt8) -> UInt8 { delta << 4 | type }

    @inline(__always)
    static func varint(_ value: UInt64, into out: inout some ByteSink) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func i64(_ value: Int64, into out: inout some ByteSink) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &out)
    }

    @inline(__always)
    static func i32(_ value: Int32, into out: inout some ByteSink) {
        varint(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))), into: &out)
    }

    @inline(__always)
    static func string(_ value: String, into out: inout some ByteSink) {
        let utf8 = value.utf8
        varint(UInt64(utf8.count), into: &out)
        out.append(utf8: utf8)
    }

    @inline(__always)
    static func listHeader(count: Int, element: UInt8, into out: inout some ByteSink) {
        if count < 15 {
            out.append(UInt8(count) << 4 | element)
        } else {
            out.append(0xF0 | element)
            varint(UInt64(count), into: &out)
        }
    }

    // MARK: tags

    /// Tag { 1: key, 2: vType, 3: vStr | 4: vDouble | 5: vBool | 6: vLong }.
    @inline(__always)
    static func stringTag(_ key: String, _ value: String, into out: inout some ByteSink) {
        out.append(field(1, typeBinary)); string(key, into: &out)
        out.append(field(1, typeI32)); out.append(0)  // STRING
        out.append(field(1, typeBinary)); string(value, into: &out)
        out.append(stop)
    }

    @inline(__always)
    static func boolTag(_ key: String, _ value: Bool, into out: inout some ByteSink) {
        out.append(field(1, typeBinary)); string(key, into: &out)
        out.append(field(1, typeI32)); out.append(4)  // BOOL (zigzag 2)
        out.append(field(3, value ? 1 : 2))  // compact folds the bool into the header
        out.append(stop)
    }

    @inline(__always)
    static func longTag(_ key: String, _ value: Int64, into out: inout some ByteSink) {
        out.append(field(1, typeBinary)); string(key, into: &out)
        out.append(field(1, typeI32)); out.append(6)  // LONG (zigzag 3)
        out.append(field(4, typeI64)); i64(value, into: &out)
        out.append(stop)
    }

    @inline(__always)
    static func doubleTag(_ key: String, _ value: Double, into out: inout some ByteSink) {
        out.append(field(1, typeBinary)); string(key, into: &out)
        out.append(field(1, typeI32)); out.append(2)  // DOUBLE (zigzag 1)
        out.append(field(2, typeDouble))
        let bits = value.bitPattern
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        out.append(stop)
    }

    /// Typed tags for scalars; arrays (Jaeger has no composite tags) as JSON
    /// text, as the OpenTelemetry Jaeger exporters write them.
    static func tag(_ key: String, _ value: SpanAttribute, into out: inout some ByteSink) {
        switch value {
        case .string(let s): stringTag(key, s, into: &out)
        case .int64(let v): longTag(key, v, into: &out)
        case .int32(let v): longTag(key, Int64(v), into: &out)
        case .bool(let b): boolTag(key, b, into: &out)
        case .double(let d): doubleTag(key, d, into: &out)
        case .stringConvertible(let c): stringTag(key, c.description, into: &out)
        case .stringArray(let values): stringTag(key, jsonArray(values.map { jsonString($0) }), into: &out)
        case .stringConvertibleArray(let values):
            stringTag(key, jsonArray(values.map { jsonString($0.description) }), into: &out)
        case .int64Array(let values): stringTag(key, jsonArray(values.map { String($0) }), into: &out)
        case .int32Array(let values): stringTag(key, jsonArray(values.map { String($0) }), into: &out)
        case .boolArray(let values): stringTag(key, jsonArray(values.map { $0 ? "true" : "false" }), into: &out)
        case .doubleArray(let values):
            stringTag(key, jsonArray(values.map { $0.isFinite ? $0.description : "null" }), into: &out)
        default: stringTag(key, String(describing: value), into: &out)
        }
    }

    static func jsonArray(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ",") + "]"
    }

    static func jsonString(_ s: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(s.utf8.count + 2)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    static func kindName(_ kind: SpanKind) -> String {
        switch kind {
        case .server: return "server"
        case .client: return "client"
        case .producer: return "producer"
        case .consumer: return "consumer"
        case .internal: return "internal"  // as the OTel Jaeger exporter writes it
        }
    }

    // MARK: span

    /// One `jaeger.Span` struct, fields in IDL order like jaeger-client-go:
    /// ids, operationName, references (CHILD_OF the parent, then
    /// FOLLOWS_FROM links), flags, startTime, duration, tags, logs. Empty
    /// lists are omitted, as Go's Thrift writes nil slices.
    static func writeSpan(_ finished: FinishedSpan, into out: inout some ByteSink) {
        writeSpan(finished.header, endNanos: finished.endNanos, finished.recorded, into: &out)
    }

    static func writeSpan(_ span: SpanHeader, endNanos: UInt64, _ recorded: RecordedSpan, into out: inout some ByteSink) {
        out.append(field(1, typeI64)); i64(Int64(bitPattern: span.traceLow), into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: span.traceHigh), into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: span.spanID), into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: span.parentSpanID), into: &out)
        out.append(field(1, typeBinary)); string(recorded.operationName, into: &out)

        let referenceCount = (span.parentSpanID != 0 ? 1 : 0) + recorded.links.count
        if referenceCount > 0 {
            out.append(field(1, typeList))
            listHeader(count: referenceCount, element: typeStruct, into: &out)
            if span.parentSpanID != 0 {
                reference(type: 0, traceLow: span.traceLow, traceHigh: span.traceHigh, spanID: span.parentSpanID, into: &out)
            }
            for link in recorded.links {
                reference(type: 1, traceLow: link.traceID.low, traceHigh: link.traceID.high, spanID: link.spanID.raw, into: &out)
            }
            out.append(field(1, typeI32))
        } else {
            out.append(field(2, typeI32))
        }
        i32(Int32(span.flags), into: &out)
        out.append(field(1, typeI64)); i64(Int64(truncatingIfNeeded: span.startNanos / 1000), into: &out)
        let duration = endNanos > span.startNanos ? endNanos - span.startNanos : 0
        out.append(field(1, typeI64)); i64(Int64(truncatingIfNeeded: duration / 1000), into: &out)

        // Tags: sampler (new traces), span.kind, attributes, then status and error.
        let attributes = recorded.attributes
        // Status and error tags (rare) are left out when an attribute has their key.
        let isError = recorded.errorRecorded || recorded.status?.code == .error
        let errorTag = isError && attributes.get("error") == nil
        var statusTags = 0
        if let status = recorded.status {
            if attributes.get("otel.status_code") == nil { statusTags += 1 }
            if let message = status.message, !message.isEmpty, attributes.get("otel.status_description") == nil {
                statusTags += 1
            }
        }
        // The kind tag is written first and taken out again if an attribute
        // is named span.kind: that is rare, and looking the key up in every
        // span's attributes cost a tenth of the encoding.
        let tagCount = (span.startsTrace ? 2 : 0) + 1 + attributes.count + statusTags + (errorTag ? 1 : 0)
        out.append(field(1, typeList))
        let listStart = out.count
        listHeader(count: tagCount, element: typeStruct, into: &out)
        let listEnd = out.count
        if span.startsTrace {
            stringTag("sampler.type", "const", into: &out)
            boolTag("sampler.param", true, into: &out)
        }
        let kindStart = out.count
        stringTag("span.kind", kindName(span.kind), into: &out)
        let kindEnd = out.count
        var kindAttribute = false
        attributes.forEach { key, value in
            // Counting first is exact: no other spelling of this ASCII key is canonically equal.
            if key.utf8.count == 9 && key == "span.kind" { kindAttribute = true }
            tag(key, value, into: &out)
        }
        if kindAttribute {
            out.replaceSubrange(kindStart..<kindEnd, with: [])
            var header: [UInt8] = []
            listHeader(count: tagCount - 1, element: typeStruct, into: &header)
            out.replaceSubrange(listStart..<listEnd, with: header)
        }
        if let status = recorded.status {
            if attributes.get("otel.status_code") == nil {
                stringTag("otel.status_code", status.code == .error ? "ERROR" : "OK", into: &out)
            }
            if let message = status.message, !message.isEmpty, attributes.get("otel.status_description") == nil {
                stringTag("otel.status_description", message, into: &out)
            }
        }
        if errorTag { boolTag("error", true, into: &out) }
        if !recorded.events.isEmpty {
            out.append(field(1, typeList))
            listHeader(count: recorded.events.count, element: typeStruct, into: &out)
            for event in recorded.events { log(event, into: &out) }
        }
        out.append(stop)
    }

    /// SpanRef { 1: refType, 2: traceIdLow, 3: traceIdHigh, 4: spanId }.
    @inline(__always)
    static func reference(type: Int32, traceLow: UInt64, traceHigh: UInt64, spanID: UInt64, into out: inout some ByteSink) {
        out.append(field(1, typeI32)); i32(type, into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: traceLow), into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: traceHigh), into: &out)
        out.append(field(1, typeI64)); i64(Int64(bitPattern: spanID), into: &out)
        out.append(stop)
    }

    /// Log { 1: timestamp, 2: fields }: `event` = the event's name, then its attributes.
    static func log(_ event: SpanEvent, into out: inout some ByteSink) {
        out.append(field(1, typeI64)); i64(Int64(truncatingIfNeeded: event.nanosecondsSinceEpoch / 1000), into: &out)
        out.append(field(1, typeList))
        let attributes = event.attributes
        listHeader(count: 1 + attributes.count, element: typeStruct, into: &out)
        stringTag("event", event.name, into: &out)
        attributes.forEach { key, value in tag(key, value, into: &out) }
        out.append(stop)
    }

    // MARK: batch envelope

    /// Process { 1: serviceName, 2: tags } as the constant part of every
    /// datagram after the message header: emitBatch_args.batch (struct),
    /// Batch.process (struct), the process, and Batch.spans' field header.
    static func batchPrefix(serviceName: String, tags: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.append(field(1, typeStruct))  // emitBatch_args.1: batch
        out.append(field(1, typeStruct))  // Batch.1: process
        out.append(field(1, typeBinary)); string(serviceName, into: &out)
        if !tags.isEmpty {
            out.append(field(1, typeList))
            listHeader(count: tags.count, element: typeStruct, into: &out)
            for (key, value) in tags { stringTag(key, value, into: &out) }
        }
        out.append(stop)  // end of Process
        out.append(field(1, typeList))  // Batch.2: spans
        return out
    }

    /// The message header: compact protocol id, version 1, CALL (as
    /// jaeger-client-go >= 2.29), the sequence id, "emitBatch".
    static func messageHeader(seqID: Int32, into out: inout some ByteSink) {
        out.append(0x82)
        out.append(1 << 5 | 1)
        varint(UInt64(UInt32(bitPattern: seqID)), into: &out)
        string("emitBatch", into: &out)
    }

    /// After the spans: Batch.3 seqNo, Batch.4 stats, end of Batch, end of args.
    static func batchSuffix(seqNo: Int64, fullQueueDropped: Int64, tooLargeDropped: Int64, failedToEmit: Int64,
                            into out: inout some ByteSink) {
        out.append(field(1, typeI64)); i64(seqNo, into: &out)
        out.append(field(1, typeStruct))
        out.append(field(1, typeI64)); i64(fullQueueDropped, into: &out)
        out.append(field(1, typeI64)); i64(tooLargeDropped, into: &out)
        out.append(field(1, typeI64)); i64(failedToEmit, into: &out)
        out.append(stop)  // end of ClientStats
        out.append(stop)  // end of Batch
        out.append(stop)  // end of emitBatch_args
    }

    /// Upper bound of everything but the prefix and the spans: the message
    /// header with the longest seqid, a list header, the longest suffix.
    static let envelopeBytesBound = (2 + 5 + 10) + 6 + (1 + 10 + 1 + 3 * 11 + 3)
}

/// Where the encoder writes: a `[UInt8]` (tests, envelopes) or the flush
/// path's `ByteWriter`.
protocol ByteSink {
    var count: Int { get }
    mutating func append(_ byte: UInt8)
    mutating func append(utf8: String.UTF8View)
    /// Replaces bytes already written (positions from `count`).
    mutating func replaceSubrange(_ range: Range<Int>, with bytes: [UInt8])
}

extension Array: ByteSink where Element == UInt8 {
    mutating func append(utf8: String.UTF8View) { append(contentsOf: utf8) }
}

/// A growable byte buffer without the per-append uniqueness checks of an
/// array: the flush path writes a datagram's spans here. Owned by one
/// encoder (behind its lock); `deallocate()` frees it.
struct ByteWriter: ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(utf8: String.UTF8View) {
        let n = utf8.count
        if count + n > capacity { grow(to: count + n) }
        let copied = utf8.withContiguousStorageIfAvailable { source -> Bool in
            if let from = source.baseAddress { (base + count).update(from: from, count: n) }
            return true
        }
        if copied == nil {
            var at = count
            for byte in utf8 { base[at] = byte; at &+= 1 }
        }
        count &+= n
    }

    mutating func append(_ other: UnsafeBufferPointer<UInt8>) {
        if count + other.count > capacity { grow(to: count + other.count) }
        if let from = other.baseAddress { (base + count).update(from: from, count: other.count) }
        count &+= other.count
    }

    mutating func replaceSubrange(_ range: Range<Int>, with bytes: [UInt8]) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the written bytes")
        let newCount = count - range.count + bytes.count
        if newCount > capacity { grow(to: newCount) }
        let after = base + range.upperBound
        (base + range.lowerBound + bytes.count).update(from: after, count: count - range.upperBound)
        bytes.withUnsafeBufferPointer { source in
            if let from = source.baseAddress { (base + range.lowerBound).update(from: from, count: bytes.count) }
        }
        count = newCount
    }

    /// Forgets the bytes from `mark` on.
    mutating func truncate(to mark: Int) { count = min(count, max(0, mark)) }

    /// Frees memory a huge span made it grow to, keeping `limit` bytes.
    mutating func shrink(to limit: Int) {
        guard capacity > 2 * limit, count <= limit else { return }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: limit)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = limit
    }

    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
}
