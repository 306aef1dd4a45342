import TraceModel

/// Zipkin v2 JSON: an array of spans, or one span object.
enum ZipkinJSONReader {
    static func decodeTopLevel(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        if s.peek() == ASCII.openBracket {
            try s.beginArray()
            var firstElement = true
            while try s.nextElement(&firstElement) { try decodeSpan(&s, ctx) }
        } else {
            try decodeSpan(&s, ctx)
        }
    }

    struct Endpoint {
        var serviceName = ""
        var ipv4 = ""
        var ipv6 = ""
        var port: Int64 = 0
    }

    static func decodeEndpoint(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) -> Endpoint {
        var e = Endpoint()
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "serviceName": e.serviceName = try ctx.readString(&s, intern: true)
            case "ipv4": e.ipv4 = try ctx.readString(&s, intern: false)
            case "ipv6": e.ipv6 = try ctx.readString(&s, intern: false)
            case "port": e.port = try s.readInt64()
            default: try s.skipValue()
            }
        }
        return e
    }

    static func decodeSpan(_ s: inout JSONScanner, _ ctx: DecodeContext) throws(JSONFault) {
        let offset = s.pos
        ctx.spanOrdinal += 1
        try s.beginObject()
        var first = true
        var traceID: TraceID? = nil, spanID: SpanID? = nil, parent: SpanID? = nil
        var parentBad = false
        var name = ""
        var kind = SpanKind.unspecified
        var timestamp: UInt64 = 0, duration: UInt64 = 0
        var local: Endpoint? = nil, remote: Endpoint? = nil
        var tags: [Attribute] = []
        var tagBound = AttributeBound()
        var events: [SpanEvent] = []
        var shared = false
        while let key = try s.nextKey(&first) {
            if s.consumeNull() { continue }
            switch key {
            case "traceId": traceID = IDParsing.looseTraceID(try s.expectString())
            case "id": spanID = IDParsing.looseSpanID(try s.expectString())
            case "parentId":
                let raw = try s.expectString()
                if raw.count > 0 {
                    if let p = IDParsing.looseSpanID(raw) { parent = p.isZero ? nil : p } else { parentBad = true }
                }
            case "name": name = try ctx.readString(&s, intern: true)
            case "kind":
                let k = try s.readString()
                kind = SpanKind(name: k) ?? .unspecified
            case "timestamp": timestamp = try s.readUInt64()
            case "duration": duration = try s.readUInt64()
            case "localEndpoint": local = try decodeEndpoint(&s, ctx)
            case "remoteEndpoint": remote = try decodeEndpoint(&s, ctx)
            case "tags":
                try s.beginObject()
                var tagFirst = true
                while let tagKey = try s.nextKey(&tagFirst) {
                    guard tagBound.hasRoom(after: tags.count) else {
                        try s.skipValue()
                        tagBound.drop()
                        continue
                    }
                    let k = tagKey.decoded ?? ctx.cachedString(tagKey.pointer, tagKey.count, intern: true)
                    let value: String
                    switch s.peek() {
                    case ASCII.quote: value = try ctx.readString(&s, intern: false)
                    default:
                        // Not a string as the spec wants: keep the literal text.
                        let start = s.pos
                        try s.skipValue()
                        value = String(decoding: UnsafeBufferPointer(start: s.base + start, count: s.pos - start), as: UTF8.self)
                    }
                    tags.append(Attribute(k, .string(value)))
                }
            case "annotations":
                try s.beginArray()
                var firstElement = true
                while try s.nextElement(&firstElement) {
                    try s.beginObject()
                    var annFirst = true
                    var event = SpanEvent(timeUnixNano: 0, name: "")
                    while let annKey = try s.nextKey(&annFirst) {
                        if s.consumeNull() { continue }
                        switch annKey {
                        case "timestamp": event.timeUnixNano = Micros.nanos(try s.readUInt64())
                        case "value": event.name = try ctx.readString(&s, intern: true)
                        default: try s.skipValue()
                        }
                    }
                    events.append(event)
                }
            case "shared": shared = try s.readBool()
            default: try s.skipValue()
            }
        }
        func report(_ reason: String) { ctx.issues.append(SemanticIssue(offset: offset, reason: "span \(ctx.spanOrdinal): \(reason)")) }
        guard let traceID, !traceID.isZero else { report("traceId is not 16 or 32 hex digits"); return }
        guard let spanID, !spanID.isZero else { report("id is not 16 hex digits"); return }
        if parentBad { report("parentId is not 16 hex digits"); return }

        var status = SpanStatus.unset
        for tag in tags {
            guard case .string(let v) = tag.value else { continue }
            switch tag.key {
            case "error": status = SpanStatus(code: .error, message: status.message.isEmpty ? v : status.message)
            case "otel.status_code": if v == "ERROR" { status.code = .error } else if v == "OK" { status.code = .ok }
            case "otel.status_description": status.message = v
            default: break
            }
        }
        if shared { tags.append(Attribute("zipkin.shared", .bool(true))) }
        if let remote {
            if !remote.serviceName.isEmpty, !tags.contains(where: { $0.key == "peer.service" }) {
                tags.append(Attribute("peer.service", .string(remote.serviceName)))
            }
            let ip = remote.ipv4.isEmpty ? remote.ipv6 : remote.ipv4
            if !ip.isEmpty, !tags.contains(where: { $0.key == "net.peer.ip" }) {
                tags.append(Attribute("net.peer.ip", .string(ip)))
            }
            if remote.port != 0, !tags.contains(where: { $0.key == "net.peer.port" }) {
                tags.append(Attribute("net.peer.port", .int(remote.port)))
            }
        }
        let endpoint = local ?? Endpoint()
        let serviceName = endpoint.serviceName.isEmpty ? "unknown_service" : endpoint.serviceName
        var resourceAttributes = [Attribute("service.name", .string(serviceName))]
        let hostIP = endpoint.ipv4.isEmpty ? endpoint.ipv6 : endpoint.ipv4
        if !hostIP.isEmpty { resourceAttributes.append(Attribute("net.host.ip", .string(hostIP))) }
        if endpoint.port != 0 { resourceAttributes.append(Attribute("net.host.port", .int(endpoint.port))) }
        let resource = ctx.resource(serviceName: serviceName, attributes: resourceAttributes)
        ctx.spans.append(Span(
            traceID: traceID, spanID: spanID, parentSpanID: parent, name: name, kind: kind, status: status,
            startTimeUnixNano: Micros.nanos(timestamp), durationNano: Micros.nanos(duration),
            attributes: tags, events: events, resource: resource, droppedAttributesCount: tagBound.dropped))
    }
}
