import TraceModel

/// `jaeger.thrift` ClientStats: what a client dropped before sending.
public struct ClientStats: Sendable, Equatable, Hashable {
    public var fullQueueDroppedSpans: Int64
    public var tooLargeDroppedSpans: Int64
    public var failedToEmitSpans: Int64

    public init(fullQueueDroppedSpans: Int64 = 0, tooLargeDroppedSpans: Int64 = 0, failedToEmitSpans: Int64 = 0) {
        self.fullQueueDroppedSpans = fullQueueDroppedSpans
        self.tooLargeDroppedSpans = tooLargeDroppedSpans
        self.failedToEmitSpans = failedToEmitSpans
    }
}

/// The agent service's two methods.
public enum AgentMethod: String, Sendable, Equatable {
    case emitBatch, emitZipkinBatch
}

/// One decoded `Agent.emitBatch` or `Agent.emitZipkinBatch` datagram.
public struct AgentBatch: Sendable, Equatable {
    public var protocolKind: ThriftProtocolKind
    public var method: AgentMethod
    /// CALL (jaeger-client-go >= 2.29, the Go OTel exporter) or ONEWAY (others).
    public var messageType: ThriftMessageType
    public var seqID: Int32
    public var spans: [Span]
    /// The batch's Process as the spans' shared resource; nil for `emitZipkinBatch`.
    public var process: Resource?
    /// `Batch.seqNo` when the client sent it.
    public var batchSeqNo: Int64?
    public var clientStats: ClientStats?
    /// The first `WireLimits.maxRecordedIssues` rejected spans, with reasons.
    public var rejected: [WireSpanIssue]
    public var rejectedCount: Int

    /// The process's service name; nil for `emitZipkinBatch` (each span names its own).
    public var serviceName: String? { process?.serviceName }
}

/// A bare `jaeger.Batch` (the collector's `POST /api/traces` body).
public struct JaegerBatch: Sendable, Equatable {
    public var process: Resource
    public var spans: [Span]
    public var seqNo: Int64?
    public var stats: ClientStats?
    public var rejected: [WireSpanIssue]
    public var rejectedCount: Int
}

/// Decodes Jaeger agent datagrams (UDP 6831 compact, 6832 binary, 5775
/// compact zipkin). A broken envelope or structure fails the whole datagram
/// with a located `WireDecodeError`; a span with invalid ids is skipped and
/// counted in `rejected`.
public enum JaegerAgentDecoder {
    /// `protocolKind` nil detects it from the first byte.
    /// A fresh decoding context per call; a listener decoding a stream of
    /// datagrams should hold a `WireDecoder` instead.
    public static func decode(_ datagram: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind? = nil,
                              limits: WireLimits = WireLimits()) throws(WireDecodeError) -> AgentBatch {
        try decode(datagram, protocolKind: protocolKind, state: WireDecodeState(limits: limits))
    }

    static func decode(_ datagram: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind?,
                       state: WireDecodeState) throws(WireDecodeError) -> AgentBatch {
        let limits = state.limits
        let kind = protocolKind ?? ThriftProtocolKind.detect(datagram)
        let format: WireDecodeError.Format = kind == .compact ? .thriftCompact : .thriftBinary
        guard datagram.count > 0, let base = datagram.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw WireDecodeError(format: format, offset: 0, reason: .truncated(needed: 1, remaining: 0))
        }
        switch kind {
        case .compact:
            var r = ThriftCompactReader(base: base, count: datagram.count, limits: limits)
            return try decodeMessage(&r, kind: kind, state: state)
        case .binary:
            var r = ThriftBinaryReader(base: base, count: datagram.count, limits: limits)
            return try decodeMessage(&r, kind: kind, state: state)
        }
    }

    public static func decode(_ datagram: [UInt8], protocolKind: ThriftProtocolKind? = nil,
                              limits: WireLimits = WireLimits()) throws(WireDecodeError) -> AgentBatch {
        let result = datagram.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decode(raw, protocolKind: protocolKind, limits: limits) }
        }
        return try result.get()
    }

    static func decodeMessage<R: ThriftReader>(_ r: inout R, kind: ThriftProtocolKind, state: WireDecodeState) throws(WireDecodeError) -> AgentBatch {
        let header = try r.readMessageBegin()
        guard header.type == .call || header.type == .oneway else {
            throw r.fault(.unsupportedMessageType(header.type.rawValue), at: kind == .compact ? 1 : 3)
        }
        guard let method = AgentMethod(rawValue: header.name) else {
            throw r.fault(.unknownMethod(header.name), at: 0)
        }
        var process: Resource? = nil
        var seqNo: Int64? = nil
        var stats: ClientStats? = nil
        var sawArgument = false
        let argsOffset = r.position
        let saved = try r.beginStruct()
        while let field = try r.readFieldHeader() {
            switch (method, field.id, field.type) {
            case (.emitBatch, 1, .struct):
                let batch = try JaegerThriftReader.decodeBatch(&r, state)
                process = batch.process
                seqNo = batch.seqNo
                stats = batch.stats
                sawArgument = true
            case (.emitZipkinBatch, 1, .list):
                try ZipkinThriftReader.decodeSpanList(&r, state)
                sawArgument = true
            default:
                try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        guard sawArgument else {
            throw r.fault(.missingField(method == .emitBatch ? "emitBatch.batch" : "emitZipkinBatch.spans"), at: argsOffset)
        }
        return AgentBatch(
            protocolKind: kind, method: method, messageType: header.type, seqID: header.seqID,
            spans: state.takeSpans(), process: process, batchSeqNo: seqNo, clientStats: stats,
            rejected: state.rejected, rejectedCount: state.rejectedCount)
    }
}

/// Decodes a bare `jaeger.Batch` (no message envelope): the collector's
/// HTTP `POST /api/traces` body, `application/x-thrift`, binary protocol.
public enum JaegerBatchDecoder {
    public static func decode(_ body: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind = .binary,
                              limits: WireLimits = WireLimits()) throws(WireDecodeError) -> JaegerBatch {
        try decode(body, protocolKind: protocolKind, state: WireDecodeState(limits: limits))
    }

    static func decode(_ body: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind,
                       state: WireDecodeState) throws(WireDecodeError) -> JaegerBatch {
        let limits = state.limits
        let format: WireDecodeError.Format = protocolKind == .compact ? .thriftCompact : .thriftBinary
        guard body.count > 0, let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw WireDecodeError(format: format, offset: 0, reason: .truncated(needed: 1, remaining: 0))
        }
        let batch: JaegerThriftReader.BatchInfo
        switch protocolKind {
        case .compact:
            var r = ThriftCompactReader(base: base, count: body.count, limits: limits)
            batch = try JaegerThriftReader.decodeBatch(&r, state)
        case .binary:
            var r = ThriftBinaryReader(base: base, count: body.count, limits: limits)
            batch = try JaegerThriftReader.decodeBatch(&r, state)
        }
        return JaegerBatch(process: batch.process, spans: state.takeSpans(), seqNo: batch.seqNo, stats: batch.stats,
                           rejected: state.rejected, rejectedCount: state.rejectedCount)
    }

    public static func decode(_ body: [UInt8], protocolKind: ThriftProtocolKind = .binary,
                              limits: WireLimits = WireLimits()) throws(WireDecodeError) -> JaegerBatch {
        let result = body.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decode(raw, protocolKind: protocolKind, limits: limits) }
        }
        return try result.get()
    }
}

/// `jaeger.thrift` structs to the model, with the same choices as the Jaeger
/// JSON reader: Process -> Resource (service.name first, then the process
/// tags), typed tags, `span.kind` tag -> kind, `otel.status_code` /
/// `otel.status_description` -> status, logs -> events named from `event`
/// or `message`, parentSpanId or the first CHILD_OF reference -> parent,
/// other references -> links.
enum JaegerThriftReader {
    struct BatchInfo {
        var process: Resource
        var seqNo: Int64?
        var stats: ClientStats?
    }

    struct Reference {
        var type: String
        var traceID: TraceID
        var spanID: SpanID
    }

    static func decodeBatch<R: ThriftReader>(_ r: inout R, _ state: WireDecodeState) throws(WireDecodeError) -> BatchInfo {
        let batchOffset = r.position
        let ctx = state.ctx
        let saved = try r.beginStruct()
        var process: Resource? = nil
        var sawSpans = false
        var seqNo: Int64? = nil
        var stats: ClientStats? = nil
        let startIndex = ctx.spans.count
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .struct):
                process = try decodeProcess(&r, ctx)
            case (2, .list):
                sawSpans = true
                let (element, count) = try r.readListHeader()
                guard element == .struct else { try r.skipElements(element, count); continue }
                ctx.spans.reserveCapacity(ctx.spans.count + min(count, 1024))
                try r.enterContainer()
                for _ in 0..<count { try decodeSpan(&r, state, resource: process ?? .unknown) }
                r.exitContainer()
            case (3, .i64):
                seqNo = try r.readI64()
            case (4, .struct):
                stats = try decodeStats(&r)
            default:
                try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        guard let process else { throw r.fault(.missingField("Batch.process"), at: batchOffset) }
        guard sawSpans else { throw r.fault(.missingField("Batch.spans"), at: batchOffset) }
        // The process came after the spans: give it to them.
        for i in startIndex..<ctx.spans.count where ctx.spans[i].resource !== process {
            ctx.spans[i].resource = process
        }
        return BatchInfo(process: process, seqNo: seqNo, stats: stats)
    }

    static func decodeStats<R: ThriftReader>(_ r: inout R) throws(WireDecodeError) -> ClientStats {
        let saved = try r.beginStruct()
        var stats = ClientStats()
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i64): stats.fullQueueDroppedSpans = try r.readI64()
            case (2, .i64): stats.tooLargeDroppedSpans = try r.readI64()
            case (3, .i64): stats.failedToEmitSpans = try r.readI64()
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        return stats
    }

    static func decodeProcess<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> Resource {
        // A client sends the same Process in every datagram: when the bytes
        // match the last one decoded, its Resource is reused without decoding
        // (a struct's bytes determine its value and where it ends).
        let start = r.position
        if let known = ctx.knownProcess(format: r.format, at: r.base + start, available: r.count - start) {
            r.skipKnownBytes(known.length)
            return known.resource
        }
        let issuesBefore = ctx.issues.count
        let resource = try decodeProcessFields(&r, ctx)
        if ctx.issues.count == issuesBefore {
            ctx.rememberProcess(resource, format: r.format,
                                bytes: UnsafeBufferPointer(start: r.base + start, count: r.position - start))
        }
        return resource
    }

    private static func decodeProcessFields<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> Resource {
        let saved = try r.beginStruct()
        var serviceName = ""
        var tags: [Attribute] = []
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .binary): serviceName = try r.readString(ctx, intern: true)
            case (2, .list): tags = try decodeTags(&r, ctx)
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        if serviceName.isEmpty { serviceName = "unknown_service" }
        if !tags.contains(where: { $0.key == "service.name" }) {
            tags.insert(Attribute("service.name", .string(serviceName)), at: 0)
        }
        return ctx.resource(serviceName: serviceName, attributes: tags)
    }

    /// `list<Tag>` after its field header.
    static func decodeTags<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> [Attribute] {
        var unbounded = AttributeBound.unbounded
        return try decodeTags(&r, ctx, bound: &unbounded)
    }

    /// Tags past the bound are skipped (depth- and length-checked) and counted.
    static func decodeTags<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext,
                                            bound: inout AttributeBound) throws(WireDecodeError) -> [Attribute] {
        let (element, count) = try r.readListHeader()
        guard element == .struct else { try r.skipElements(element, count); return [] }
        var tags: [Attribute] = []
        tags.reserveCapacity(min(count, 64))
        try r.enterContainer()
        for _ in 0..<count {
            if bound.hasRoom(after: tags.count) {
                tags.append(try decodeTag(&r, ctx))
            } else {
                try r.skip(.struct)
                bound.drop()
            }
        }
        r.exitContainer()
        return tags
    }

    static func decodeTag<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> Attribute {
        let saved = try r.beginStruct()
        var key = ""
        var vType: Int32 = -1
        var string: String? = nil
        var double: Double? = nil
        var bool: Bool? = nil
        var long: Int64? = nil
        var binary: [UInt8]? = nil
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .binary): key = try r.readString(ctx, intern: true)
            case (2, .i32): vType = try r.readI32()
            case (3, .binary): string = try r.readString(ctx, intern: false)
            case (4, .double): double = try r.readDouble()
            case (5, .bool): bool = try r.readBool()
            case (6, .i64): long = try r.readI64()
            case (7, .binary): binary = try r.readBytes()
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        let value: AttributeValue
        switch vType {
        case 0: value = .string(string ?? "")
        case 1: value = .double(double ?? 0)
        case 2: value = .bool(bool ?? false)
        case 3: value = .int(long ?? 0)
        case 4: value = .bytes(binary ?? [])
        default:
            // An unknown type: whichever value is present.
            if let string { value = .string(string) }
            else if let double { value = .double(double) }
            else if let bool { value = .bool(bool) }
            else if let long { value = .int(long) }
            else if let binary { value = .bytes(binary) }
            else { value = .string("") }
        }
        return Attribute(key, value)
    }

    static func decodeLog<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> SpanEvent {
        let saved = try r.beginStruct()
        var event = SpanEvent(timeUnixNano: 0, name: "")
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i64): event.timeUnixNano = Micros.nanos(try r.readI64())
            case (2, .list): event.attributes = try decodeTags(&r, ctx)
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        event.name = eventName(event.attributes, ctx)
        return event
    }

    /// The `event` field, else the `message` field, else "log" (as the JSON reader names it).
    static func eventName(_ fields: [Attribute], _ ctx: DecodeContext) -> String {
        namingField(fields).map(ctx.intern) ?? "log"
    }

    static func namingField(_ fields: [Attribute]) -> String? {
        for a in fields where a.key == "event" {
            if case .string(let v) = a.value { return v }
        }
        for a in fields where a.key == "message" {
            if case .string(let v) = a.value { return v }
        }
        return nil
    }

    static func decodeReference<R: ThriftReader>(_ r: inout R) throws(WireDecodeError) -> Reference {
        let saved = try r.beginStruct()
        var type: Int32 = 0
        var low: Int64 = 0, high: Int64 = 0, span: Int64 = 0
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i32): type = try r.readI32()
            case (2, .i64): low = try r.readI64()
            case (3, .i64): high = try r.readI64()
            case (4, .i64): span = try r.readI64()
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        let name: String
        switch type {
        case 0: name = "CHILD_OF"
        case 1: name = "FOLLOWS_FROM"
        default: name = "REF_TYPE_\(type)"
        }
        return Reference(type: name, traceID: TraceID(high: UInt64(bitPattern: high), low: UInt64(bitPattern: low)),
                         spanID: SpanID(UInt64(bitPattern: span)))
    }

    static func decodeSpan<R: ThriftReader>(_ r: inout R, _ state: WireDecodeState, resource: Resource) throws(WireDecodeError) {
        let ctx = state.ctx
        let offset = r.position
        ctx.spanOrdinal += 1
        let ordinal = ctx.spanOrdinal
        let saved = try r.beginStruct()
        var traceLow: Int64 = 0, traceHigh: Int64 = 0, spanID: Int64 = 0, parentID: Int64 = 0
        var name = ""
        var references: [Reference] = []
        var flags: Int32 = 0
        var start: Int64 = 0, duration: Int64 = 0
        var tags: [Attribute] = []
        var bound = AttributeBound()
        var logs: [SpanEvent] = []
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i64): traceLow = try r.readI64()
            case (2, .i64): traceHigh = try r.readI64()
            case (3, .i64): spanID = try r.readI64()
            case (4, .i64): parentID = try r.readI64()
            case (5, .binary): name = try r.readString(ctx, intern: true)
            case (6, .list):
                let (element, count) = try r.readListHeader()
                guard element == .struct else { try r.skipElements(element, count); continue }
                try r.enterContainer()
                for _ in 0..<count { references.append(try decodeReference(&r)) }
                r.exitContainer()
            case (7, .i32): flags = try r.readI32()
            case (8, .i64): start = try r.readI64()
            case (9, .i64): duration = try r.readI64()
            case (10, .list): tags = try decodeTags(&r, ctx, bound: &bound)
            case (11, .list):
                let (element, count) = try r.readListHeader()
                guard element == .struct else { try r.skipElements(element, count); continue }
                logs.reserveCapacity(min(count, 64))
                try r.enterContainer()
                for _ in 0..<count { logs.append(try decodeLog(&r, ctx)) }
                r.exitContainer()
            default:
                try r.skip(field.type)
            }
        }
        r.endStruct(saved)

        let traceID = TraceID(high: UInt64(bitPattern: traceHigh), low: UInt64(bitPattern: traceLow))
        guard !traceID.isZero else { state.reject("traceId is zero", at: offset, ordinal: ordinal); return }
        guard spanID != 0 else { state.reject("spanId is zero", at: offset, ordinal: ordinal); return }
        let (parent, edge, links) = ParentReferences.jaeger(
            traceID: traceID, parentSpanID: parentID == 0 ? nil : SpanID(UInt64(bitPattern: parentID)),
            references: references.map { SpanLink(traceID: $0.traceID, spanID: $0.spanID, referenceType: $0.type) })
        let (kind, status) = JaegerTagMapping.kindAndStatus(from: &tags)
        ctx.spans.append(Span(
            traceID: traceID, spanID: SpanID(UInt64(bitPattern: spanID)), parentSpanID: parent, parentReference: edge,
            name: name,
            kind: kind, status: status,
            startTimeUnixNano: Micros.nanos(start), durationNano: Micros.nanos(duration),
            attributes: tags, events: logs, links: links, resource: resource,
            flags: UInt32(bitPattern: flags), droppedAttributesCount: bound.dropped))
    }
}
