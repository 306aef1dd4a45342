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

    /// A span's fields, and the order producers write them in (the
    /// protobuf field order, `flags` after the parent as the OTel Collector
    /// writes it): `decodeSpan` tries the key it expects next before it
    /// reads a key and matches it against every name.
    enum SpanField {
        case traceId, spanId, parentSpanId, flags, name, kind, start, end, attributes, events, status
        /// Fields the packed form has no room for: the line goes to `OTLPJSONReader`.
        case unusual
        case other

        /// The field that usually follows this one (`.other`: none).
        var usualNext: SpanField {
            switch self {
            case .traceId: .spanId
            case .spanId: .parentSpanId
            case .parentSpanId: .flags
            case .flags: .name
            case .name: .kind
            case .kind: .start
            case .start: .end
            case .end: .attributes
            case .attributes: .status
            case .events: .status
            case .status, .unusual, .other: .other
            }
        }

        /// Consumes the key when it is this field's (see `JSONScanner.keyIs`).
        @inline(__always)
        func isNext(_ s: inout JSONScanner) -> Bool {
            switch self {
            case .traceId: s.keyIs("traceId")
            case .spanId: s.keyIs("spanId")
            case .parentSpanId: s.keyIs("parentSpanId")
            case .flags: s.keyIs("flags")
            case .name: s.keyIs("name")
            case .kind: s.keyIs("kind")
            case .start: s.keyIs("startTimeUnixNano")
            case .end: s.keyIs("endTimeUnixNano")
            case .attributes: s.keyIs("attributes")
            case .events: s.keyIs("events")
            case .status: s.keyIs("status")
            case .unusual, .other: false
            }
        }

        init(_ key: JSONKey) {
            switch key {
            case "traceId": self = .traceId
            case "spanId": self = .spanId
            case "parentSpanId": self = .parentSpanId
            case "flags": self = .flags
            case "name": self = .name
            case "kind": self = .kind
            case "startTimeUnixNano": self = .start
            case "endTimeUnixNano": self = .end
            case "attributes": self = .attributes
            case "events": self = .events
            case "status": self = .status
            case "droppedAttributesCount", "links", "traceState": self = .unusual
            default: self = .other
            }
        }

        /// At a key's opening quote: its field, tried as `expected` (and the
        /// one after it, for a field left out) before it is read.
        @inline(__always)
        static func read(_ s: inout JSONScanner, expected: SpanField) throws(JSONFault) -> SpanField {
            if expected.isNext(&s) { return expected }
            let after = expected.usualNext
            if after.isNext(&s) { return after }
            return SpanField(try s.readKey())
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
        var expected = SpanField.traceId
        builder.beginSpan()
        while try s.nextMember(&first) {
            let field = try SpanField.read(&s, expected: expected)
            expected = field.usualNext
            if s.consumeNull() { continue }
            switch field {
            case .traceId:
                if let (high, low) = s.quotedHex128() {
                    traceID = TraceID(high: high, low: low)
                } else {
                    guard let id = IDParsing.exactTraceID(try s.expectString()) else { throw unusual(s) }
                    traceID = id
                }
                guard traceID?.isZero == false else { throw unusual(s) }
            case .spanId:
                if let v = s.quotedHex64() {
                    spanID = SpanID(v)
                } else {
                    guard let id = IDParsing.exactSpanID(try s.expectString()) else { throw unusual(s) }
                    spanID = id
                }
                guard spanID?.isZero == false else { throw unusual(s) }
            case .parentSpanId:
                if let v = s.quotedHex64() {
                    parent = v == 0 ? nil : SpanID(v)
                } else {
                    guard let p = IDParsing.otlpParent(try s.expectString()) else { throw unusual(s) }
                    parent = p
                }
            case .name: name = try plainString(&s)
            case .kind: kind = try OTLPJSONReader.kind(&s)
            case .start: start = try s.readUInt64()
            case .end: end = try s.readUInt64()
            case .attributes: try decodeAttributes(&s, into: &builder, ofEvent: false)
            case .events: try decodeEvents(&s, into: &builder)
            case .status: status = try OTLPJSONReader.decodeStatus(&s, ctx)
            case .flags: flags = UInt32(truncatingIfNeeded: try s.readUInt64())
            case .unusual: throw unusual(s)
            case .other: try s.skipValue()
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
            guard try s.nextMember(&first), try s.keyIsElseRead("key"), !s.consumeNull() else { throw unusual(s) }
            let key = try plainString(&s)
            guard try s.nextMember(&first), try s.keyIsElseRead("value"), !s.consumeNull() else { throw unusual(s) }
            let value = try decodeValue(&s)
            guard try !s.nextMember(&first) else { throw unusual(s) }
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
        guard try s.nextMember(&first) else { throw unusual(s) }
        // The usual two keys tried before any key is read (`JSONScanner.keyIs`).
        enum Field { case string, int, bool, double }
        let field: Field
        if s.keyIs("stringValue") {
            field = .string
        } else if s.keyIs("intValue") {
            field = .int
        } else {
            switch try s.readKey() {
            case "stringValue": field = .string
            case "intValue": field = .int
            case "boolValue": field = .bool
            case "doubleValue": field = .double
            default: throw unusual(s)
            }
        }
        guard !s.consumeNull() else { throw unusual(s) }
        let value: PackedSpans.RawValue
        switch field {
        case .string:
            let raw = try plainString(&s)
            value = .string(raw.pointer, raw.count)
        case .int: value = .int(try s.readInt64())
        case .bool: value = .bool(try s.readBool())
        case .double: value = .double(try s.readDouble())
        }
        guard try !s.nextMember(&first) else { throw unusual(s) }
        return value
    }
}
