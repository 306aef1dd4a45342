import TraceModel

/// Jaeger query/UI JSON: `{"data":[trace...]}`, trace objects
/// (`traceID`, `spans`, `processes`), single spans with `process` or
/// `processID`, and arrays of any of these.
enum JaegerJSONReader {
    struct Reference {
        var type: String
        var traceID: TraceID?
        var spanID: SpanID?
    }

    struct SpanFields {
        var offset = 0
        var ordinal = 0
        var traceID: TraceID? = nil
        var traceIDPresent = false
        var spanID: SpanID? = nil
        var parent: SpanID? = nil
        var parentBad = false
        var name = ""
        var references: [Reference] = []
        var flags: UInt32 = 0
        var startMicros: UInt64 = 0
        var durationMicros: UInt64 = 0
        var tags: [Attribute] = []
        var tagBound = AttributeBound()
        var logs: [SpanEvent] = []
        var processID: String? = nil
        var process: Resource? = nil
        var isSpan = false
    }

    static func decodeTopLevel(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        if s.peek() == ASCII.openBracket {
            try s.beginArray()
            var firstElement = true
            while try s.nextElement(&firstElement) { try decodeObject(&s, ctx) }
        } else {
            try decodeObject(&s, ctx)
        }
    }

    /// One object of any of the shapes above.
    static func decodeObject(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        var fields = SpanFields()
        fields.offset = s.pos
        try s.beginObject()
        var first = true
        var children: [SpanFields] = []
        var processes: [String: Resource] = [:]
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "data":
                // `{"data":[traces]}` or `{"data":trace}`: the same shapes as the top level.
                try decodeTopLevel(&s, ctx)
            case "spans":
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    var child = SpanFields()
                    child.offset = s.pos
                    ctx.spanOrdinal += 1
                    child.ordinal = ctx.spanOrdinal
                    try s.beginObject()
                    var childFirst = true
                    while let childKey = try s.nextKey(&childFirst) {
                        if s.consumeNull() { continue }
                        if try !decodeSpanField(childKey, &s, ctx, &child) { try s.skipValue() }
                    }
                    children.append(child)
                }
            case "processes":
                try s.beginObject()
                var processFirst = true
                while let processKey = try s.nextKey(&processFirst) {
                    let id = processKey.decoded ?? ctx.cachedString(processKey.pointer, processKey.count, intern: false)
                    if s.consumeNull() { continue }
                    processes[id] = try decodeProcess(&s, ctx)
                }
            default:
                if try !decodeSpanField(key, &s, ctx, &fields) { try s.skipValue() }
            }
        }
        if fields.isSpan {
            ctx.spanOrdinal += 1
            fields.ordinal = ctx.spanOrdinal
            finish(fields, processes: processes, traceID: nil, ctx)
        }
        for child in children {
            finish(child, processes: processes, traceID: fields.traceID, ctx)
        }
    }

    /// Decodes a span field into `fields`; false for keys it does not know.
    static func decodeSpanField(_ key: JSONKey, _ s: inout JSONScanner, _ ctx: DecodeContext, _ f: inout SpanFields) throws(JSONFault) -> Bool {
        switch key {
        case "traceID":
            let raw = try s.expectString()
            f.traceIDPresent = true
            f.traceID = IDParsing.looseTraceID(raw)
        case "spanID":
            f.isSpan = true
            f.spanID = IDParsing.looseSpanID(try s.expectString())
        case "parentSpanID":
            let raw = try s.expectString()
            if raw.count > 0 {
                if let p = IDParsing.looseSpanID(raw) { f.parent = p.isZero ? nil : p } else { f.parentBad = true }
            }
        case "operationName":
            f.isSpan = true
            f.name = try ctx.readString(&s, intern: true)
        case "references":
            try s.beginArray()
            var firstElement = true
            while try s.nextElement(&firstElement) {
                try s.beginObject()
                var first = true
                var ref = Reference(type: "CHILD_OF")
                while let k = try s.nextKey(&first) {
                    if s.consumeNull() { continue }
                    switch k {
                    case "refType": ref.type = try ctx.readString(&s, intern: true)
                    case "traceID": ref.traceID = IDParsing.looseTraceID(try s.expectString())
                    case "spanID": ref.spanID = IDParsing.looseSpanID(try s.expectString())
                    default: try s.skipValue()
                    }
                }
                f.references.append(ref)
            }
        case "flags": f.flags = UInt32(truncatingIfNeeded: try s.readUInt64())
        case "startTime": f.startMicros = try s.readUInt64()
        case "duration": f.durationMicros = try s.readUInt64()
        case "tags": f.tags = try decodeTags(&s, ctx, bound: &f.tagBound)
        case "logs":
            try s.beginArray()
            var firstElement = true
            while try s.nextElement(&firstElement) { f.logs.append(try decodeLog(&s, ctx)) }
        case "processID": f.processID = try ctx.readString(&s, intern: false)
        case "process": f.process = try decodeProcess(&s, ctx)
        default:
            return false
        }
        return true
    }

    static func decodeProcess(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> Resource {
        try s.beginObject()
        var first = true
        var serviceName = ""
        var tags: [Attribute] = []
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "serviceName": serviceName = try ctx.readString(&s, intern: true)
            case "tags": tags = try decodeTags(&s, ctx)
            default: try s.skipValue()
            }
        }
        if serviceName.isEmpty { serviceName = "unknown_service" }
        if !tags.contains(where: { $0.key == "service.name" }) {
            tags.insert(Attribute("service.name", .string(serviceName)), at: 0)
        }
        return ctx.resource(serviceName: serviceName, attributes: tags)
    }

    static func decodeLog(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> SpanEvent {
        try s.beginObject()
        var first = true
        var event = SpanEvent(timeUnixNano: 0, name: "")
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "timestamp": event.timeUnixNano = Micros.nanos(try s.readUInt64())
            case "fields": event.attributes = try decodeTags(&s, ctx)
            default: try s.skipValue()
            }
        }
        var name: String? = nil
        for a in event.attributes where a.key == "event" {
            if case .string(let v) = a.value { name = v; break }
        }
        if name == nil {
            for a in event.attributes where a.key == "message" {
                if case .string(let v) = a.value { name = v; break }
            }
        }
        event.name = ctx.intern(name ?? "log")
        return event
    }

    private enum RawValue {
        case string(String), int(Int64), double(Double), bool(Bool), none
    }

    static func decodeTags(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> [Attribute] {
        var unbounded = AttributeBound.unbounded
        return try decodeTags(&s, ctx, bound: &unbounded)
    }

    /// Past the bound, tags are checked by `skipValue` and counted, not decoded.
    static func decodeTags(_ s: inout JSONScanner, _ ctx: DecodeContext, bound: inout AttributeBound) throws(JSONFault) -> [Attribute] {
        var tags: [Attribute] = []
        try s.beginArray()
        var firstElement = true
        while try s.nextElement(&firstElement) {
            guard bound.hasRoom(after: tags.count) else {
                try s.skipValue()
                bound.drop()
                continue
            }
            try s.beginObject()
            var first = true
            var key = ""
            var type = ""
            var raw = RawValue.none
            var valueOffset = 0
            while let field = try s.nextKey(&first) {
                if s.consumeNull() { continue }
                switch field {
                case "key": key = try ctx.readString(&s, intern: true)
                case "type", "vType": type = try s.readString()
                case "value":
                    valueOffset = s.pos
                    switch s.peek() {
                    case ASCII.quote: raw = .string(try ctx.readString(&s, intern: false))
                    case UInt8(ascii: "t"), UInt8(ascii: "f"): raw = .bool(try s.readBool())
                    default:
                        let n = try s.readNumber()
                        if let i = n.integer { raw = .int(i) } else { raw = .double(n.double) }
                    }
                default: try s.skipValue()
                }
            }
            let value: AttributeValue
            switch (type.lowercased(), raw) {
            case ("int64", .int(let v)): value = .int(v)
            case ("int64", .double(let v)) where v.rounded() == v && abs(v) < 9.2e18: value = .int(Int64(v))
            case ("int64", .string(let v)):
                guard let n = Int64(v) else { throw s.fault("int64 tag value is not an integer", at: valueOffset) }
                value = .int(n)
            case ("float64", .int(let v)): value = .double(Double(v))
            case ("float64", .double(let v)): value = .double(v)
            case ("float64", .string(let v)):
                guard let d = Double(v) else { throw s.fault("float64 tag value is not a number", at: valueOffset) }
                value = .double(d)
            case ("bool", .string(let v)): value = .bool(v == "true")
            case ("binary", .string(let v)): value = Base64.decode(v).map { .bytes($0) } ?? .string(v)
            case (_, .string(let v)): value = .string(v)
            case (_, .int(let v)): value = .int(v)
            case (_, .double(let v)): value = .double(v)
            case (_, .bool(let v)): value = .bool(v)
            case (_, .none): value = .string("")
            }
            tags.append(Attribute(key, value))
        }
        return tags
    }

    private static func finish(_ f: SpanFields, processes: [String: Resource], traceID fallback: TraceID?, _ ctx: DecodeContext) {
        func report(_ reason: String) {
            ctx.issues.append(SemanticIssue(offset: f.offset, reason: "span \(f.ordinal): \(reason)"))
        }
        guard let traceID = f.traceIDPresent ? f.traceID : fallback, !traceID.isZero else {
            report("traceID is not 1 to 32 hex digits"); return
        }
        guard let spanID = f.spanID, !spanID.isZero else { report("spanID is not 1 to 16 hex digits"); return }
        if f.parentBad { report("parentSpanID is not 1 to 16 hex digits"); return }
        var references: [SpanLink] = []
        for ref in f.references {
            guard let refSpan = ref.spanID else { report("reference spanID is not 1 to 16 hex digits"); continue }
            references.append(SpanLink(traceID: ref.traceID ?? traceID, spanID: refSpan, referenceType: ref.type))
        }
        let (parent, edge, links) = ParentReferences.jaeger(traceID: traceID, parentSpanID: f.parent, references: references)
        var tags = f.tags
        let (kind, status) = JaegerTagMapping.kindAndStatus(from: &tags)
        var resource = Resource.unknown
        if let p = f.process {
            resource = p
        } else if let id = f.processID {
            if let p = processes[id] { resource = p } else { report("unknown processID \(id)") }
        }
        ctx.spans.append(Span(
            traceID: traceID, spanID: spanID, parentSpanID: parent, parentReference: edge, name: f.name, kind: kind, status: status,
            startTimeUnixNano: Micros.nanos(f.startMicros), durationNano: Micros.nanos(f.durationMicros),
            attributes: tags, events: f.logs, links: links, resource: resource, flags: f.flags,
            droppedAttributesCount: f.tagBound.dropped))
    }
}

