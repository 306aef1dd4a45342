import TraceModel

/// Writes `jaeger.thrift` batches as jaeger-client-go and the Go OTel Jaeger
/// exporter do: fields in IDL order, optional lists omitted when empty,
/// exactly one value field per tag, `seqNo`/`stats` only when given. The
/// model's kind and status travel as the `span.kind`, `otel.status_code`,
/// `otel.status_description` and `error` tags (appended after the span's
/// attributes unless already there); the resource's `service.name`
/// attribute becomes the process's serviceName.
public enum JaegerThriftEncoder {
    /// An `Agent.emitBatch` message (UDP datagram body).
    public static func emitBatch(process: Resource, spans: [Span], seqNo: Int64? = nil, stats: ClientStats? = nil,
                                 seqID: Int32 = 1, messageType: ThriftMessageType = .call,
                                 protocolKind: ThriftProtocolKind = .compact) -> [UInt8] {
        switch protocolKind {
        case .compact:
            var w = ThriftCompactWriter(capacity: 128 + spans.count * 160)
            writeEmitBatch(&w, process: process, seqNo: seqNo, stats: stats, seqID: seqID, messageType: messageType,
                           count: spans.count) { w in for span in spans { writeSpan(span, into: &w) } }
            return w.bytes
        case .binary:
            var w = ThriftBinaryWriter(capacity: 128 + spans.count * 320)
            writeEmitBatch(&w, process: process, seqNo: seqNo, stats: stats, seqID: seqID, messageType: messageType,
                           count: spans.count) { w in for span in spans { writeSpan(span, into: &w) } }
            return w.bytes
        }
    }

    /// An `Agent.emitBatch` message from spans encoded one by one with
    /// `encodeSpan` in the same protocol (a reporter sizing datagrams).
    public static func emitBatch(process: Resource, encodedSpans: [[UInt8]], seqNo: Int64? = nil, stats: ClientStats? = nil,
                                 seqID: Int32 = 1, messageType: ThriftMessageType = .call,
                                 protocolKind: ThriftProtocolKind = .compact) -> [UInt8] {
        let size = encodedSpans.reduce(128) { $0 + $1.count }
        switch protocolKind {
        case .compact:
            var w = ThriftCompactWriter(capacity: size)
            writeEmitBatch(&w, process: process, seqNo: seqNo, stats: stats, seqID: seqID, messageType: messageType,
                           count: encodedSpans.count) { w in for span in encodedSpans { w.writeRaw(span) } }
            return w.bytes
        case .binary:
            var w = ThriftBinaryWriter(capacity: size)
            writeEmitBatch(&w, process: process, seqNo: seqNo, stats: stats, seqID: seqID, messageType: messageType,
                           count: encodedSpans.count) { w in for span in encodedSpans { w.writeRaw(span) } }
            return w.bytes
        }
    }

    /// A bare `jaeger.Batch` (the collector's HTTP body; binary protocol by default).
    public static func batch(process: Resource, spans: [Span], seqNo: Int64? = nil, stats: ClientStats? = nil,
                             protocolKind: ThriftProtocolKind = .binary) -> [UInt8] {
        switch protocolKind {
        case .compact:
            var w = ThriftCompactWriter(capacity: 128 + spans.count * 160)
            writeBatch(&w, process: process, seqNo: seqNo, stats: stats, count: spans.count) { w in
                for span in spans { writeSpan(span, into: &w) }
            }
            return w.bytes
        case .binary:
            var w = ThriftBinaryWriter(capacity: 128 + spans.count * 320)
            writeBatch(&w, process: process, seqNo: seqNo, stats: stats, count: spans.count) { w in
                for span in spans { writeSpan(span, into: &w) }
            }
            return w.bytes
        }
    }

    /// One `jaeger.Span` struct on its own: its size is what it adds to a batch.
    public static func encodeSpan(_ span: Span, protocolKind: ThriftProtocolKind = .compact) -> [UInt8] {
        switch protocolKind {
        case .compact:
            var w = ThriftCompactWriter(capacity: 256)
            writeSpan(span, into: &w)
            return w.bytes
        case .binary:
            var w = ThriftBinaryWriter(capacity: 512)
            writeSpan(span, into: &w)
            return w.bytes
        }
    }

    /// The bytes of an emitBatch message around zero spans, i.e. the fixed
    /// overhead a reporter adds to the sum of `encodeSpan` sizes (plus up to
    /// 5 bytes of list header for 15 or more spans in compact).
    public static func emitBatchOverhead(process: Resource, seqNo: Int64? = nil, stats: ClientStats? = nil,
                                         protocolKind: ThriftProtocolKind = .compact) -> Int {
        emitBatch(process: process, spans: [], seqNo: seqNo, stats: stats, seqID: Int32.max, protocolKind: protocolKind).count
    }

    // MARK: structure

    static func writeEmitBatch<W: ThriftWriter>(_ w: inout W, process: Resource, seqNo: Int64?, stats: ClientStats?,
                                                seqID: Int32, messageType: ThriftMessageType, count: Int,
                                                spans: (inout W) -> Void) {
        w.writeMessageBegin(name: "emitBatch", type: messageType, seqID: seqID)
        w.writeStructBegin()  // emitBatch_args
        w.writeFieldBegin(.struct, id: 1)
        writeBatch(&w, process: process, seqNo: seqNo, stats: stats, count: count, spans: spans)
        w.writeStructEnd()
    }

    static func writeBatch<W: ThriftWriter>(_ w: inout W, process: Resource, seqNo: Int64?, stats: ClientStats?,
                                            count: Int, spans: (inout W) -> Void) {
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        writeProcess(process, into: &w)
        w.writeFieldBegin(.list, id: 2)
        w.writeListBegin(.struct, count: count)
        spans(&w)
        if let seqNo {
            w.writeFieldBegin(.i64, id: 3)
            w.writeI64(seqNo)
        }
        if let stats {
            w.writeFieldBegin(.struct, id: 4)
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1)
            w.writeI64(stats.fullQueueDroppedSpans)
            w.writeFieldBegin(.i64, id: 2)
            w.writeI64(stats.tooLargeDroppedSpans)
            w.writeFieldBegin(.i64, id: 3)
            w.writeI64(stats.failedToEmitSpans)
            w.writeStructEnd()
        }
        w.writeStructEnd()
    }

    static func writeProcess<W: ThriftWriter>(_ process: Resource, into w: inout W) {
        w.writeStructBegin()
        w.writeFieldBegin(.binary, id: 1)
        w.writeString(process.serviceName)
        let tags = process.attributes.filter { !($0.key == "service.name" && $0.value == .string(process.serviceName)) }
        if !tags.isEmpty { writeTags(tags, id: 2, into: &w) }
        w.writeStructEnd()
    }

    public static func writeSpan<W: ThriftWriter>(_ span: Span, into w: inout W) {
        w.writeStructBegin()
        w.writeFieldBegin(.i64, id: 1)
        w.writeI64(Int64(bitPattern: span.traceID.low))
        w.writeFieldBegin(.i64, id: 2)
        w.writeI64(Int64(bitPattern: span.traceID.high))
        w.writeFieldBegin(.i64, id: 3)
        w.writeI64(Int64(bitPattern: span.spanID.raw))
        w.writeFieldBegin(.i64, id: 4)
        w.writeI64(Int64(bitPattern: span.parentSpanID?.raw ?? 0))
        w.writeFieldBegin(.binary, id: 5)
        w.writeString(span.name)
        let links = ParentReferences.wireLinks(of: span)
        if !links.isEmpty {
            w.writeFieldBegin(.list, id: 6)
            w.writeListBegin(.struct, count: links.count)
            for link in links {
                w.writeStructBegin()
                w.writeFieldBegin(.i32, id: 1)
                w.writeI32(link.referenceType == "CHILD_OF" ? 0 : 1)
                w.writeFieldBegin(.i64, id: 2)
                w.writeI64(Int64(bitPattern: link.traceID.low))
                w.writeFieldBegin(.i64, id: 3)
                w.writeI64(Int64(bitPattern: link.traceID.high))
                w.writeFieldBegin(.i64, id: 4)
                w.writeI64(Int64(bitPattern: link.spanID.raw))
                w.writeStructEnd()
            }
        }
        w.writeFieldBegin(.i32, id: 7)
        w.writeI32(Int32(bitPattern: span.flags))
        w.writeFieldBegin(.i64, id: 8)
        w.writeI64(Int64(truncatingIfNeeded: span.startTimeUnixNano / 1000))
        w.writeFieldBegin(.i64, id: 9)
        w.writeI64(Int64(truncatingIfNeeded: span.durationNano / 1000))
        let tags = spanTags(span)
        if !tags.isEmpty { writeTags(tags, id: 10, into: &w) }
        if !span.events.isEmpty {
            w.writeFieldBegin(.list, id: 11)
            w.writeListBegin(.struct, count: span.events.count)
            for event in span.events {
                w.writeStructBegin()
                w.writeFieldBegin(.i64, id: 1)
                w.writeI64(Int64(truncatingIfNeeded: event.timeUnixNano / 1000))
                var fields = event.attributes
                if (JaegerThriftReader.namingField(fields) ?? "log") != event.name {
                    fields.insert(Attribute("event", .string(event.name)), at: 0)
                }
                writeTags(fields, id: 2, into: &w)
                w.writeStructEnd()
            }
        }
        w.writeStructEnd()
    }

    /// The attributes plus the tags that carry kind, status and scope.
    static func spanTags(_ span: Span) -> [Attribute] {
        var tags = span.attributes
        func lacks(_ key: String) -> Bool { !span.attributes.contains { $0.key == key } }
        if span.kind != .unspecified && lacks("span.kind") {
            tags.append(Attribute("span.kind", .string(span.kind.name)))
        }
        if span.status.code != .unset && lacks("otel.status_code") {
            tags.append(Attribute("otel.status_code", .string(span.status.code == .error ? "ERROR" : "OK")))
        }
        if !span.status.message.isEmpty && lacks("otel.status_description") {
            tags.append(Attribute("otel.status_description", .string(span.status.message)))
        }
        if span.status.code == .error && lacks("error") {
            tags.append(Attribute("error", .bool(true)))
        }
        if !span.scope.name.isEmpty && lacks("otel.scope.name") && lacks("otel.library.name") {
            tags.append(Attribute("otel.scope.name", .string(span.scope.name)))
            if !span.scope.version.isEmpty && lacks("otel.scope.version") {
                tags.append(Attribute("otel.scope.version", .string(span.scope.version)))
            }
        }
        return tags
    }

    static func writeTags<W: ThriftWriter>(_ tags: [Attribute], id: Int16, into w: inout W) {
        w.writeFieldBegin(.list, id: id)
        w.writeListBegin(.struct, count: tags.count)
        for tag in tags {
            w.writeStructBegin()
            w.writeFieldBegin(.binary, id: 1)
            w.writeString(tag.key)
            switch tag.value {
            case .string(let s):
                w.writeFieldBegin(.i32, id: 2); w.writeI32(0)
                w.writeFieldBegin(.binary, id: 3); w.writeString(s)
            case .double(let d):
                w.writeFieldBegin(.i32, id: 2); w.writeI32(1)
                w.writeFieldBegin(.double, id: 4); w.writeDouble(d)
            case .bool(let b):
                w.writeFieldBegin(.i32, id: 2); w.writeI32(2)
                w.writeBoolField(id: 5, b)
            case .int(let v):
                w.writeFieldBegin(.i32, id: 2); w.writeI32(3)
                w.writeFieldBegin(.i64, id: 6); w.writeI64(v)
            case .bytes(let b):
                w.writeFieldBegin(.i32, id: 2); w.writeI32(4)
                w.writeFieldBegin(.binary, id: 7); w.writeBinary(b)
            case .array, .map:
                // Jaeger has no composite tags: JSON text, as the OTel exporters write them.
                var json: [UInt8] = []
                writePlainJSON(tag.value, into: &json)
                w.writeFieldBegin(.i32, id: 2); w.writeI32(0)
                w.writeFieldBegin(.binary, id: 3); w.writeString(String(decoding: json, as: UTF8.self))
            }
            w.writeStructEnd()
        }
    }
}

extension JaegerThriftEncoder {
    /// `["a",1,true]`, `{"k":"v"}`: composite values as plain JSON (bytes as base64).
    static func writePlainJSON(_ value: AttributeValue, into out: inout [UInt8]) {
        switch value {
        case .string(let s): OTLPJSONEncoder.writeString(s, into: &out)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let v): out.append(contentsOf: String(v).utf8)
        case .double(let d): out.append(contentsOf: (d.isFinite ? d.description : "null").utf8)
        case .bytes(let b):
            out.append(ASCII.quote)
            Base64.encode(b, into: &out)
            out.append(ASCII.quote)
        case .array(let values):
            out.append(ASCII.openBracket)
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                writePlainJSON(v, into: &out)
            }
            out.append(ASCII.closeBracket)
        case .map(let attributes):
            out.append(ASCII.openBrace)
            for (i, a) in attributes.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                OTLPJSONEncoder.writeString(a.key, into: &out)
                out.append(ASCII.colon)
                writePlainJSON(a.value, into: &out)
            }
            out.append(ASCII.closeBrace)
        }
    }
}
