import TraceModel

/// OTLP/HTTP protobuf (`ExportTraceServiceRequest`, also `TracesData`: the
/// same field 1) straight to `Span`s. Unknown fields are skipped, so newer
/// senders (entity refs, string-table indexes) still load. A structurally
/// broken body fails with a located `WireDecodeError`; a span with invalid
/// ids is skipped and counted (OTLP partial success).
public enum OTLPProtobufDecoder {
    /// A fresh decoding context per call; a receiver decoding many bodies
    /// should hold a `WireDecoder` instead.
    public static func decode(_ body: UnsafeRawBufferPointer, limits: WireLimits = WireLimits()) throws(WireDecodeError) -> DecodedWireSpans {
        try decode(body, state: WireDecodeState(limits: limits))
    }

    static func decode(_ body: UnsafeRawBufferPointer, state: WireDecodeState) throws(WireDecodeError) -> DecodedWireSpans {
        let limits = state.limits
        guard body.count > 0, let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return state.result()  // an empty request is valid
        }
        var r = ProtobufReader(base: base, count: body.count, maxDepth: limits.maxDepth)
        while let tag = try r.readTag() {
            if tag.field == 1 && tag.wire == .lengthDelimited {
                try OTLPProtobufReader.decodeResourceSpans(&r, state)
            } else {
                try r.skip(tag.wire)
            }
        }
        return state.result()
    }

    public static func decode(_ body: [UInt8], limits: WireLimits = WireLimits()) throws(WireDecodeError) -> DecodedWireSpans {
        let result = body.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decode(raw, limits: limits) }
        }
        return try result.get()
    }

    /// Decompresses first when the body starts with the gzip magic (whatever
    /// `Content-Encoding` claimed), bounded by `limits.maxDecompressedBytes`.
    public static func decodeDetectingGzip(_ body: [UInt8], limits: WireLimits = WireLimits()) throws(WireDecodeError) -> DecodedWireSpans {
        try decode(try WireGzip.inflateIfGzip(body, limits: limits), limits: limits)
    }
}

enum WireGzip {
    static func inflateIfGzip(_ body: [UInt8], limits: WireLimits) throws(WireDecodeError) -> [UInt8] {
        guard Gzip.isGzip(body) else { return body }
        do {
            return try Gzip.decompress(body, maxOutputBytes: limits.maxDecompressedBytes)
        } catch {
            throw WireDecodeError(format: .gzip, offset: 0, reason: .gzip(error.description))
        }
    }
}

enum OTLPProtobufReader {
    typealias Range = (offset: Int, count: Int)

    static func decodeResourceSpans(_ r: inout ProtobufReader, _ state: WireDecodeState) throws(WireDecodeError) {
        let saved = try r.beginMessage()
        let start = r.position
        // Pass 1: the resource, wherever it is; pass 2: the spans.
        var resourceRange: Range? = nil
        while let tag = try r.readTag() {
            if tag.field == 1 && tag.wire == .lengthDelimited {
                resourceRange = try r.readLengthDelimited()
            } else {
                try r.skip(tag.wire)
            }
        }
        var resource = Resource.unknown
        if let resourceRange {
            var sub = try r.sub(resourceRange)
            resource = try decodeResource(&sub, state.ctx)
        }
        r.seek(start)
        while let tag = try r.readTag() {
            // 1000: the pre-1.0 `instrumentation_library_spans`, same shape.
            if (tag.field == 2 || tag.field == 1000) && tag.wire == .lengthDelimited {
                try decodeScopeSpans(&r, state, resource: resource)
            } else {
                try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
    }

    static func decodeResource(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> Resource {
        var attributes: [Attribute] = []
        while let tag = try r.readTag() {
            if tag.field == 1 && tag.wire == .lengthDelimited {
                attributes.append(try decodeKeyValue(&r, ctx))
            } else {
                try r.skip(tag.wire)
            }
        }
        return ctx.resource(attributes: attributes)
    }

    static func decodeScopeSpans(_ r: inout ProtobufReader, _ state: WireDecodeState, resource: Resource) throws(WireDecodeError) {
        let saved = try r.beginMessage()
        let start = r.position
        var scopeRange: Range? = nil
        while let tag = try r.readTag() {
            if tag.field == 1 && tag.wire == .lengthDelimited {
                scopeRange = try r.readLengthDelimited()
            } else {
                try r.skip(tag.wire)
            }
        }
        var scope = InstrumentationScope.none
        if let scopeRange {
            var sub = try r.sub(scopeRange)
            scope = try decodeScope(&sub, state.ctx)
        }
        r.seek(start)
        while let tag = try r.readTag() {
            if tag.field == 2 && tag.wire == .lengthDelimited {
                try decodeSpan(&r, state, resource: resource, scope: scope)
            } else {
                try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
    }

    static func decodeScope(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> InstrumentationScope {
        var name = "", version = ""
        var attributes: [Attribute] = []
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .lengthDelimited): name = r.string(try r.readLengthDelimited(), ctx, intern: true)
            case (2, .lengthDelimited): version = r.string(try r.readLengthDelimited(), ctx, intern: true)
            case (3, .lengthDelimited): attributes.append(try decodeKeyValue(&r, ctx))
            default: try r.skip(tag.wire)
            }
        }
        return ctx.scope(name: name, version: version, attributes: attributes)
    }

    static func decodeKeyValue(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> Attribute {
        let saved = try r.beginMessage()
        var key = ""
        var value = AttributeValue.string("")
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .lengthDelimited): key = r.string(try r.readLengthDelimited(), ctx, intern: true)
            case (2, .lengthDelimited): value = try decodeAnyValue(&r, ctx)
            default: try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
        return Attribute(key, value)
    }

    static func decodeAnyValue(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> AttributeValue {
        let saved = try r.beginMessage()
        var value = AttributeValue.string("")
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .lengthDelimited): value = .string(r.string(try r.readLengthDelimited(), ctx, intern: false))
            case (2, .varint): value = .bool(try r.readVarint() != 0)
            case (3, .varint): value = .int(Int64(bitPattern: try r.readVarint()))
            case (4, .fixed64): value = .double(Double(bitPattern: try r.readFixed64()))
            case (5, .lengthDelimited):
                let inner = try r.beginMessage()
                var values: [AttributeValue] = []
                while let t = try r.readTag() {
                    if t.field == 1 && t.wire == .lengthDelimited {
                        values.append(try decodeAnyValue(&r, ctx))
                    } else {
                        try r.skip(t.wire)
                    }
                }
                r.endMessage(inner)
                value = .array(values)
            case (6, .lengthDelimited):
                let inner = try r.beginMessage()
                var values: [Attribute] = []
                while let t = try r.readTag() {
                    if t.field == 1 && t.wire == .lengthDelimited {
                        values.append(try decodeKeyValue(&r, ctx))
                    } else {
                        try r.skip(t.wire)
                    }
                }
                r.endMessage(inner)
                value = .map(values)
            case (7, .lengthDelimited): value = .bytes(r.bytes(try r.readLengthDelimited()))
            default: try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
        return value
    }

    enum IDCheck { case ok, wrongLength, zero }

    static func traceID(_ r: ProtobufReader, _ range: Range?) -> (TraceID?, IDCheck) {
        guard let range, range.count == 16 else { return (nil, .wrongLength) }
        let id = TraceID(high: r.bigEndian64(at: range.offset), low: r.bigEndian64(at: range.offset + 8))
        return id.isZero ? (nil, .zero) : (id, .ok)
    }

    static func spanID(_ r: ProtobufReader, _ range: Range?) -> (SpanID?, IDCheck) {
        guard let range, range.count == 8 else { return (nil, .wrongLength) }
        let id = SpanID(r.bigEndian64(at: range.offset))
        return id.isZero ? (nil, .zero) : (id, .ok)
    }

    static func decodeSpan(_ r: inout ProtobufReader, _ state: WireDecodeState, resource: Resource, scope: InstrumentationScope) throws(WireDecodeError) {
        let ctx = state.ctx
        let offset = r.position
        ctx.spanOrdinal += 1
        let ordinal = ctx.spanOrdinal
        let saved = try r.beginMessage()
        var traceRange: Range? = nil, spanRange: Range? = nil, parentRange: Range? = nil
        var traceState = ""
        var name = ""
        var kind = SpanKind.unspecified
        var start: UInt64 = 0, end: UInt64 = 0
        var attributes: [Attribute] = []
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var status = SpanStatus.unset
        var flags: UInt32 = 0
        var bound = AttributeBound()
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .lengthDelimited): traceRange = try r.readLengthDelimited()
            case (2, .lengthDelimited): spanRange = try r.readLengthDelimited()
            case (3, .lengthDelimited): traceState = r.string(try r.readLengthDelimited(), ctx, intern: false)
            case (4, .lengthDelimited): parentRange = try r.readLengthDelimited()
            case (5, .lengthDelimited): name = r.string(try r.readLengthDelimited(), ctx, intern: true)
            case (6, .varint):
                let k = try r.readVarint()
                kind = k <= 5 ? SpanKind(rawValue: UInt8(k)) ?? .unspecified : .unspecified
            case (7, .fixed64): start = try r.readFixed64()
            case (8, .fixed64): end = try r.readFixed64()
            case (9, .lengthDelimited):
                // Past the bound, skipped (length-checked) and counted, not decoded.
                if bound.hasRoom(after: attributes.count) {
                    attributes.append(try decodeKeyValue(&r, ctx))
                } else {
                    try r.skip(tag.wire)
                    bound.drop()
                }
            case (10, .varint): bound.drop(try r.readVarint())
            case (11, .lengthDelimited): events.append(try decodeEvent(&r, ctx))
            case (13, .lengthDelimited):
                if let link = try decodeLink(&r, state, ordinal: ordinal) { links.append(link) }
            case (15, .lengthDelimited): status = try decodeStatus(&r, ctx)
            case (16, .fixed32): flags = try r.readFixed32()
            default: try r.skip(tag.wire)
            }
        }
        let (trace, traceCheck) = traceID(r, traceRange)
        let (span, spanCheck) = spanID(r, spanRange)
        r.endMessage(saved)
        guard let trace else {
            state.reject(traceCheck == .zero ? "trace_id is zero" : "trace_id is not 16 bytes", at: offset, ordinal: ordinal)
            return
        }
        guard let span else {
            state.reject(spanCheck == .zero ? "span_id is zero" : "span_id is not 8 bytes", at: offset, ordinal: ordinal)
            return
        }
        var parent: SpanID? = nil
        if let parentRange, parentRange.count > 0 {
            let (p, check) = spanID(r, parentRange)
            if check == .wrongLength {
                state.reject("parent_span_id is not 8 bytes", at: offset, ordinal: ordinal)
                return
            }
            parent = p
        }
        let (edge, otherLinks) = ParentReferences.otlp(traceID: trace, parentSpanID: parent, links: links)
        ctx.spans.append(Span(
            traceID: trace, spanID: span, parentSpanID: parent, parentReference: edge, name: name, kind: kind, status: status,
            startTimeUnixNano: start, durationNano: end >= start ? end &- start : 0,
            attributes: attributes, events: events, links: otherLinks, resource: resource, scope: scope,
            traceState: traceState, flags: flags, droppedAttributesCount: bound.dropped))
    }

    static func decodeEvent(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> SpanEvent {
        let saved = try r.beginMessage()
        var event = SpanEvent(timeUnixNano: 0, name: "")
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .fixed64): event.timeUnixNano = try r.readFixed64()
            case (2, .lengthDelimited): event.name = r.string(try r.readLengthDelimited(), ctx, intern: true)
            case (3, .lengthDelimited): event.attributes.append(try decodeKeyValue(&r, ctx))
            default: try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
        return event
    }

    /// A link, or nil (noted among the issues, the span kept) when its ids are invalid.
    static func decodeLink(_ r: inout ProtobufReader, _ state: WireDecodeState, ordinal: Int) throws(WireDecodeError) -> SpanLink? {
        let offset = r.position
        let saved = try r.beginMessage()
        var traceRange: Range? = nil, spanRange: Range? = nil
        var attributes: [Attribute] = []
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (1, .lengthDelimited): traceRange = try r.readLengthDelimited()
            case (2, .lengthDelimited): spanRange = try r.readLengthDelimited()
            case (4, .lengthDelimited): attributes.append(try decodeKeyValue(&r, state.ctx))
            default: try r.skip(tag.wire)
            }
        }
        let (trace, _) = traceID(r, traceRange)
        let (span, _) = spanID(r, spanRange)
        r.endMessage(saved)
        guard let trace, let span else {
            state.note(trace == nil ? "link trace_id is not 16 nonzero bytes" : "link span_id is not 8 nonzero bytes",
                       at: offset, ordinal: ordinal)
            return nil
        }
        // Jaeger reference types travel as the semantic-convention attribute (as in OTLP JSON).
        var referenceType: String? = nil
        if let i = attributes.firstIndex(where: { $0.key == "opentracing.ref_type" }), case .string(let ref) = attributes[i].value {
            referenceType = ref.uppercased()
            attributes.remove(at: i)
        }
        return SpanLink(traceID: trace, spanID: span, referenceType: referenceType, attributes: attributes)
    }

    static func decodeStatus(_ r: inout ProtobufReader, _ ctx: DecodeContext) throws(WireDecodeError) -> SpanStatus {
        let saved = try r.beginMessage()
        var status = SpanStatus()
        while let tag = try r.readTag() {
            switch (tag.field, tag.wire) {
            case (2, .lengthDelimited): status.message = r.string(try r.readLengthDelimited(), ctx, intern: false)
            case (3, .varint):
                let code = try r.readVarint()
                status.code = code == 1 ? .ok : code == 2 ? .error : .unset
            default: try r.skip(tag.wire)
            }
        }
        r.endMessage(saved)
        return status
    }
}
