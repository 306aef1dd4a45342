import TraceModel

/// OTLP JSON (`TracesData` / `ExportTraceServiceRequest`) straight to `Span`s.
enum OTLPJSONReader {
    static func decodeTracesData(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "resourceSpans":
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) { try decodeResourceSpans(&s, ctx) }
            default:
                try s.skipValue()
            }
        }
    }

    static func decodeResourceSpans(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var resource: Resource? = nil
        let startIndex = ctx.spans.count
        var sawSpans = false
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "resource":
                resource = try decodeResource(&s, ctx)
            case "scopeSpans", "instrumentationLibrarySpans":
                sawSpans = true
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    try decodeScopeSpans(&s, ctx, resource: resource ?? .unknown)
                }
            default:
                try s.skipValue()
            }
        }
        // "resource" came after the spans: patch them.
        if sawSpans, let resource, resource !== Resource.unknown {
            for i in startIndex..<ctx.spans.count where ctx.spans[i].resource !== resource {
                ctx.spans[i].resource = resource
            }
        }
    }

    static func decodeResource(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> Resource {
        try s.beginObject()
        var first = true
        var attributes: [Attribute] = []
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "attributes": attributes = try decodeAttributes(&s, ctx)
            default: try s.skipValue()
            }
        }
        return ctx.resource(attributes: attributes)
    }

    static func decodeScopeSpans(_ s: inout JSONScanner, _ ctx: DecodeContext, resource: Resource) throws(JSONFault) {
        try s.beginObject()
        var first = true
        var scope: InstrumentationScope? = nil
        let startIndex = ctx.spans.count
        var sawSpans = false
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "scope", "instrumentationLibrary":
                scope = try decodeScope(&s, ctx)
            case "spans":
                sawSpans = true
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    try decodeSpan(&s, ctx, resource: resource, scope: scope ?? .none)
                }
            default:
                try s.skipValue()
            }
        }
        if sawSpans, let scope, scope !== InstrumentationScope.none {
            for i in startIndex..<ctx.spans.count where ctx.spans[i].scope !== scope {
                ctx.spans[i].scope = scope
            }
        }
    }

    static func decodeScope(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> InstrumentationScope {
        try s.beginObject()
        var first = true
        var name = "", version = ""
        var attributes: [Attribute] = []
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "name": name = try ctx.readString(&s, intern: true)
            case "version": version = try ctx.readString(&s, intern: true)
            case "attributes": attributes = try decodeAttributes(&s, ctx)
            default: try s.skipValue()
            }
        }
        return ctx.scope(name: name, version: version, attributes: attributes)
    }

    static func kind(_ s: inout JSONScanner) throws(JSONFault) -> SpanKind {
        if s.peek() == ASCII.quote {
            let name = try s.readString()
            switch name {
            case "SPAN_KIND_INTERNAL": return .internal
            case "SPAN_KIND_SERVER": return .server
            case "SPAN_KIND_CLIENT": return .client
            case "SPAN_KIND_PRODUCER": return .producer
            case "SPAN_KIND_CONSUMER": return .consumer
            default:
                if let n = UInt8(name), let k = SpanKind(rawValue: n) { return k }
                return .unspecified
            }
        }
        let n = try s.readInt64()
        return (n >= 0 && n <= 5) ? SpanKind(rawValue: UInt8(n)) ?? .unspecified : .unspecified
    }

    static func decodeStatus(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> SpanStatus {
        try s.beginObject()
        var first = true
        var status = SpanStatus()
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "code":
                if s.peek() == ASCII.quote {
                    switch try s.readString() {
                    case "STATUS_CODE_OK", "1": status.code = .ok
                    case "STATUS_CODE_ERROR", "2": status.code = .error
                    default: status.code = .unset
                    }
                } else {
                    let n = try s.readInt64()
                    status.code = n == 1 ? .ok : n == 2 ? .error : .unset
                }
            case "message": status.message = try s.readString()
            default: try s.skipValue()
            }
        }
        return status
    }

    static func decodeSpan(_ s: inout JSONScanner, _ ctx: DecodeContext, resource: Resource, scope: InstrumentationScope) throws(JSONFault) {
        let spanOffset = s.pos
        ctx.spanOrdinal += 1
        try s.beginObject()
        var first = true
        var traceID: TraceID? = nil, spanID: SpanID? = nil, parent: SpanID? = nil
        var badTrace = true, badSpan = true, badParent = false
        var name = ""
        var kind = SpanKind.unspecified
        var status = SpanStatus.unset
        var start: UInt64 = 0, end: UInt64 = 0
        var attributes: [Attribute] = []
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var traceState = ""
        var flags: UInt32 = 0
        var bound = AttributeBound()
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "traceId":
                let raw = try s.expectString()
                traceID = IDParsing.exactTraceID(raw)
                badTrace = traceID == nil || traceID?.isZero == true
            case "spanId":
                let raw = try s.expectString()
                spanID = IDParsing.exactSpanID(raw)
                badSpan = spanID == nil || spanID?.isZero == true
            case "parentSpanId":
                if let p = IDParsing.otlpParent(try s.expectString()) { parent = p } else { badParent = true }
            case "name": name = try ctx.readString(&s, intern: true)
            case "kind": kind = try Self.kind(&s)
            case "startTimeUnixNano": start = try s.readUInt64()
            case "endTimeUnixNano": end = try s.readUInt64()
            case "attributes": attributes = try decodeAttributes(&s, ctx, bound: &bound)
            case "droppedAttributesCount": bound.drop(try s.readUInt64())
            case "events": events = try decodeEvents(&s, ctx)
            case "links": links = try decodeLinks(&s, ctx)
            case "status": status = try decodeStatus(&s, ctx)
            case "traceState": traceState = try s.readString()
            case "flags": flags = UInt32(truncatingIfNeeded: try s.readUInt64())
            default: try s.skipValue()
            }
        }
        if badTrace { ctx.report("traceId is not 32 hex digits", at: spanOffset); return }
        if badSpan { ctx.report("spanId is not 16 hex digits", at: spanOffset); return }
        if badParent { ctx.report("parentSpanId is not 16 hex digits", at: spanOffset); return }
        guard let traceID, let spanID else { return }
        let (edge, otherLinks) = ParentReferences.otlp(traceID: traceID, parentSpanID: parent, links: links)
        ctx.spans.append(Span(
            traceID: traceID, spanID: spanID, parentSpanID: parent, parentReference: edge, name: name, kind: kind, status: status,
            startTimeUnixNano: start, durationNano: end >= start ? end &- start : 0,
            attributes: attributes, events: events, links: otherLinks, resource: resource, scope: scope,
            traceState: traceState, flags: flags, droppedAttributesCount: bound.dropped))
    }

    static func decodeEvents(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> [SpanEvent] {
        var events: [SpanEvent] = []
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            try s.beginObject()
            var first = true
            var event = SpanEvent(timeUnixNano: 0, name: "")
            while let key = try s.nextKey(&first) {
                if s.consumeNull() { continue }
                switch key {
                case "timeUnixNano": event.timeUnixNano = try s.readUInt64()
                case "name": event.name = try ctx.readString(&s, intern: true)
                case "attributes": event.attributes = try decodeAttributes(&s, ctx)
                default: try s.skipValue()
                }
            }
            events.append(event)
        }
        return events
    }

    static func decodeLinks(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> [SpanLink] {
        var links: [SpanLink] = []
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            let offset = s.pos
            try s.beginObject()
            var first = true
            var traceID: TraceID? = nil, spanID: SpanID? = nil
            var attributes: [Attribute] = []
            var referenceType: String? = nil
            while let key = try s.nextKey(&first) {
                if s.consumeNull() { continue }
                switch key {
                case "traceId": traceID = IDParsing.exactTraceID(try s.expectString())
                case "spanId": spanID = IDParsing.exactSpanID(try s.expectString())
                case "attributes": attributes = try decodeAttributes(&s, ctx)
                default: try s.skipValue()
                }
            }
            // Jaeger reference types travel as the semantic-convention attribute.
            if let i = attributes.firstIndex(where: { $0.key == "opentracing.ref_type" }),
               case .string(let ref) = attributes[i].value {
                referenceType = ref.uppercased()
                attributes.remove(at: i)
            }
            guard let traceID, let spanID else {
                ctx.report(traceID == nil ? "link traceId is not 32 hex digits" : "link spanId is not 16 hex digits", at: offset)
                continue
            }
            links.append(SpanLink(traceID: traceID, spanID: spanID, referenceType: referenceType, attributes: attributes))
        }
        return links
    }

    static func decodeAttributes(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> [Attribute] {
        var unbounded = AttributeBound.unbounded
        return try decodeAttributes(&s, ctx, bound: &unbounded)
    }

    /// Past the bound, elements are checked by `skipValue` and counted, not decoded.
    static func decodeAttributes(_ s: inout JSONScanner, _ ctx: DecodeContext, bound: inout AttributeBound) throws(JSONFault) -> [Attribute] {
        var attributes: [Attribute] = []
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            guard bound.hasRoom(after: attributes.count) else {
                try s.skipValue()
                bound.drop()
                continue
            }
            try s.beginObject()
            var first = true
            var key = ""
            var value = AttributeValue.string("")
            while let field = try s.nextKey(&first) {
                if s.consumeNull() { continue }
                switch field {
                case "key": key = try ctx.readString(&s, intern: true)
                case "value": value = try decodeAnyValue(&s, ctx)
                default: try s.skipValue()
                }
            }
            attributes.append(Attribute(key, value))
        }
        return attributes
    }

    static func decodeAnyValue(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> AttributeValue {
        try s.beginObject()
        var first = true
        var value = AttributeValue.string("")
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "stringValue": value = .string(try ctx.readString(&s, intern: false))
            case "intValue": value = .int(try s.readInt64())
            case "boolValue": value = .bool(try s.readBool())
            case "doubleValue": value = .double(try s.readDouble())
            case "bytesValue":
                let raw = try s.expectString()
                guard !raw.hasEscapes, let bytes = Base64.decode(raw.pointer, raw.count) else {
                    throw s.fault("bytesValue is not base64", at: raw.offset)
                }
                value = .bytes(bytes)
            case "arrayValue":
                var values: [AttributeValue] = []
                try s.beginObject()
                var innerFirst = true
                while let inner = try s.nextKey(&innerFirst) {
                    if s.consumeNull() { continue }
                    if case "values" = inner {
                        try s.beginArray()
                        var firstElement = true
                        while try s.nextElement(&firstElement) { values.append(try decodeAnyValue(&s, ctx)) }
                    } else {
                        try s.skipValue()
                    }
                }
                value = .array(values)
            case "kvlistValue":
                var values: [Attribute] = []
                try s.beginObject()
                var innerFirst = true
                while let inner = try s.nextKey(&innerFirst) {
                    if s.consumeNull() { continue }
                    if case "values" = inner { values = try decodeAttributes(&s, ctx) } else { try s.skipValue() }
                }
                value = .map(values)
            default:
                try s.skipValue()
            }
        }
        return value
    }
}
