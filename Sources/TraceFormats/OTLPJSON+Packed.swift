import TraceModel

/// OTLP JSON lines of the common shape straight into the store's packed
/// form (`PackedSpans.Builder`), with no `Span`, attribute array or string
/// made per span: on a dump load, making and packing `Span` values was about
/// 17k of the 24k instructions a span.
///
/// The common shape: ids in hex, names, keys and string values without
/// escapes in valid UTF-8, attributes of `{"key":..,"value":{"stringValue"|
/// "intValue"|"boolValue"|"doubleValue":..}}`, at most
/// `Span.attributeCountLimit` of them, events of a time, a name and such
/// attributes, no links, trace state or dropped count, a resource and scope
/// before their spans. Anything else (or anything wrong) throws: the caller rolls
/// the builder back and decodes the line again with `OTLPJSONReader`, which
/// reads every shape and reports what is wrong, so the two paths give the
/// same spans and the same reports.
enum OTLPJSONPacker {
    static func unusual(_ s: JSONScanner) -> JSONFault { JSONFault(message: "not the common shape", offset: s.pos) }

    /// One line's record: a `TracesData` object whose first key is `resourceSpans`.
    static func decodeRecord(_ s: inout JSONScanner, _ ctx: DecodeContext,
                             into builder: inout PackedSpans.Builder) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var sawFirst = false
        while let key = try s.nextKey(&first) {
            // The first key decides the family (`DumpParser.detect`).
            guard sawFirst || "resourceSpans" ~= key else { throw unusual(s) }
            sawFirst = true
            if s.consumeNull() { continue }
            switch key {
            case "resourceSpans":
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) { try decodeResourceSpans(&s, ctx, into: &builder) }
            default:
                try s.skipValue()
            }
        }
        guard sawFirst else { throw unusual(s) }
        try s.expectEnd()
    }

    static func decodeResourceSpans(_ s: inout JSONScanner, _ ctx: DecodeContext,
                                    into builder: inout PackedSpans.Builder) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var resource: Resource? = nil
        var sawSpans = false
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "resource":
                // After its spans it would change them (`OTLPJSONReader` patches them).
                guard !sawSpans else { throw unusual(s) }
                resource = try OTLPJSONReader.decodeResource(&s, ctx)
            case "scopeSpans", "instrumentationLibrarySpans":
                sawSpans = true
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    try decodeScopeSpans(&s, ctx, resource: resource ?? .unknown, into: &builder)
                }
            default:
                try s.skipValue()
            }
        }
    }

    static func decodeScopeSpans(_ s: inout JSONScanner, _ ctx: DecodeContext, resource: Resource,
                                 into builder: inout PackedSpans.Builder) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var scope: InstrumentationScope? = nil
        var sawSpans = false
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "scope", "instrumentationLibrary":
                guard !sawSpans else { throw unusual(s) }
                scope = try OTLPJSONReader.decodeScope(&s, ctx)
            case "spans":
                sawSpans = true
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    try decodeSpan(&s, ctx, resource: resource, scope: scope ?? .none, into: &builder)
                }
            default:
                try s.skipValue()
            }
        }
    }

    static func decodeSpan(_ s: inout JSONScanner, _ ctx: DecodeContext, resource: Resource, scope: InstrumentationScope,
                           into builder: inout PackedSpans.Builder) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var traceID: TraceID? = nil, spanID: SpanID? = nil, parent: SpanID? = nil
        var name: JSONRawString? = nil
        var kind = SpanKind.unspecified
        var status = SpanStatus.unset
        var start: UInt64 = 0, end: UInt64 = 0
        var flags: UInt32 = 0
        builder.beginSpan()
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "traceId":
                guard let id = IDParsing.exactTraceID(try s.expectString()), !id.isZero else { throw unusual(s) }
                traceID = id
            case "spanId":
                guard let id = IDParsing.exactSpanID(try s.expectString()), !id.isZero else { throw unusual(s) }
                spanID = id
            case "parentSpanId":
                guard let p = IDParsing.otlpParent(try s.expectString()) else { throw unusual(s) }
                parent = p
            case "name": name = try plainString(&s)
            case "kind": kind = try OTLPJSONReader.kind(&s)
            case "startTimeUnixNano": start = try s.readUInt64()
            case "endTimeUnixNano": end = try s.readUInt64()
            case "attributes": try decodeAttributes(&s, into: &builder, ofEvent: false)
            case "events": try decodeEvents(&s, into: &builder)
            case "status": status = try OTLPJSONReader.decodeStatus(&s, ctx)
            case "flags": flags = UInt32(truncatingIfNeeded: try s.readUInt64())
            case "droppedAttributesCount", "links", "traceState": throw unusual(s)
            default: try s.skipValue()
            }
        }
        guard let traceID, let spanID else { throw unusual(s) }
        builder.append(
            raw: PackedSpans.RawSpan(
                traceID: traceID, spanID: spanID, parentSpanID: parent, kind: kind, statusCode: status.code, statusMessage: status.message,
                startTimeUnixNano: start, durationNano: end >= start ? end &- start : 0, flags: flags,
                name: name?.pointer, nameCount: name?.count ?? 0),
            resource: resource, scope: scope)
    }

    /// A string without escapes in valid UTF-8, whose bytes are those of
    /// the `String` the reader makes of it (which replaces invalid bytes).
    static func plainString(_ s: inout JSONScanner) throws(JSONFault) -> JSONRawString {
        let raw = try s.expectString()
        guard !raw.hasEscapes else { throw unusual(s) }
        if !isASCII(raw.pointer, raw.count),
           String(validating: UnsafeBufferPointer(start: raw.pointer, count: raw.count), as: UTF8.self) == nil {
            throw unusual(s)
        }
        return raw
    }

    static func isASCII(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        var any: UInt64 = 0
        while i + 8 <= n {
            any |= UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            i += 8
        }
        while i < n {
            any |= UInt64(p[i])
            i += 1
        }
        return any & 0x8080_8080_8080_8080 == 0
    }

    static func decodeEvents(_ s: inout JSONScanner, into builder: inout PackedSpans.Builder) throws(JSONFault) {
        builder.beginEvents()
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            try s.beginObject()
            var first = true
            var time: UInt64 = 0
            var name: JSONRawString? = nil
            builder.beginEventAttributes()
            while let key = try s.nextKey(&first) {
                if s.consumeNull() { continue }
                switch key {
                case "timeUnixNano": time = try s.readUInt64()
                case "name": name = try plainString(&s)
                case "attributes": try decodeAttributes(&s, into: &builder, ofEvent: true)
                default: try s.skipValue()
                }
            }
            builder.appendEvent(timeUnixNano: time, name: name?.pointer, name?.count ?? 0)
        }
    }

    /// A span's attributes, or (`ofEvent`) its event's, which have no bound.
    static func decodeAttributes(_ s: inout JSONScanner, into builder: inout PackedSpans.Builder,
                                 ofEvent: Bool) throws(JSONFault) {
        if ofEvent { builder.beginEventAttributes() } else { builder.beginAttributes() }
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            // Past the bound the reader counts dropped attributes: extras.
            guard ofEvent || builder.attributeCount < Span.attributeCountLimit else { throw unusual(s) }
            try s.beginObject()
            var first = true
            guard let keyField = try s.nextKey(&first), "key" ~= keyField, !s.consumeNull() else { throw unusual(s) }
            let key = try plainString(&s)
            guard let valueField = try s.nextKey(&first), "value" ~= valueField, !s.consumeNull() else { throw unusual(s) }
            let value = try decodeValue(&s)
            guard try s.nextKey(&first) == nil else { throw unusual(s) }
            if ofEvent {
                builder.appendEventAttribute(key: key.pointer, key.count, value: value)
            } else {
                builder.appendAttribute(key: key.pointer, key.count, value: value)
            }
        }
    }

    static func decodeValue(_ s: inout JSONScanner) throws(JSONFault) -> PackedSpans.RawValue {
        try s.beginObject()
        var first = true
        guard let field = try s.nextKey(&first), !s.consumeNull() else { throw unusual(s) }
        let value: PackedSpans.RawValue
        switch field {
        case "stringValue":
            let raw = try plainString(&s)
            value = .string(raw.pointer, raw.count)
        case "intValue": value = .int(try s.readInt64())
        case "boolValue": value = .bool(try s.readBool())
        case "doubleValue": value = .double(try s.readDouble())
        default: throw unusual(s)
        }
        guard try s.nextKey(&first) == nil else { throw unusual(s) }
        return value
    }
}
