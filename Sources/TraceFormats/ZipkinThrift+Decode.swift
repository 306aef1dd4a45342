import TraceModel

/// `zipkincore.thrift` (Zipkin v1) spans, as `Agent.emitZipkinBatch` carries
/// them, to the model, with the Zipkin v2 JSON reader's output shape:
/// core annotations (cs/cr, sr/ss, ms/mr) give kind and, when the span has
/// no timestamp/duration, the times; the host of the kind's annotation (else
/// `lc`, else any) is the local endpoint whose service names the resource;
/// `ca`/`sa`/`ma` address annotations give the remote peer; other binary
/// annotations become typed tags; other annotations become events.
enum ZipkinThriftReader {
    struct Endpoint {
        var ipv4: Int32 = 0
        var port: Int16 = 0
        var serviceName = ""
        var ipv6: [UInt8] = []

        var ip: String {
            if ipv4 != 0 {
                let v = UInt32(bitPattern: ipv4)
                return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
            }
            guard ipv6.count == 16 else { return "" }
            var groups: [String] = []
            for i in stride(from: 0, to: 16, by: 2) {
                groups.append(String(UInt16(ipv6[i]) << 8 | UInt16(ipv6[i + 1]), radix: 16))
            }
            return groups.joined(separator: ":")
        }
    }

    struct Annotation {
        var timestamp: Int64 = 0
        var value = ""
        var host: Endpoint? = nil
    }

    struct BinaryAnnotation {
        var key = ""
        var value: [UInt8] = []
        var type: Int32 = 6
        var host: Endpoint? = nil
    }

    /// `list<zipkincore.Span>` after its field header.
    static func decodeSpanList<R: ThriftReader>(_ r: inout R, _ state: WireDecodeState) throws(WireDecodeError) {
        let (element, count) = try r.readListHeader()
        guard element == .struct else { try r.skipElements(element, count); return }
        state.ctx.spans.reserveCapacity(state.ctx.spans.count + min(count, 1024))
        try r.enterContainer()
        for _ in 0..<count { try decodeSpan(&r, state) }
        r.exitContainer()
    }

    static func decodeEndpoint<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> Endpoint {
        let saved = try r.beginStruct()
        var e = Endpoint()
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i32): e.ipv4 = try r.readI32()
            case (2, .i16): e.port = try r.readI16()
            case (3, .binary): e.serviceName = try r.readString(ctx, intern: true)
            case (4, .binary): e.ipv6 = try r.readBytes()
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        return e
    }

    static func decodeAnnotation<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> Annotation {
        let saved = try r.beginStruct()
        var a = Annotation()
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i64): a.timestamp = try r.readI64()
            case (2, .binary): a.value = try r.readString(ctx, intern: true)
            case (3, .struct): a.host = try decodeEndpoint(&r, ctx)
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        return a
    }

    static func decodeBinaryAnnotation<R: ThriftReader>(_ r: inout R, _ ctx: DecodeContext) throws(WireDecodeError) -> BinaryAnnotation {
        let saved = try r.beginStruct()
        var a = BinaryAnnotation()
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .binary): a.key = try r.readString(ctx, intern: true)
            case (2, .binary): a.value = try r.readBytes()
            case (3, .i32): a.type = try r.readI32()
            case (4, .struct): a.host = try decodeEndpoint(&r, ctx)
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)
        return a
    }

    /// A binary annotation's value by its AnnotationType (numbers are big-endian).
    static func value(_ a: BinaryAnnotation) -> AttributeValue {
        func bigEndian(_ bytes: [UInt8]) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        switch (a.type, a.value.count) {
        case (0, 1...): return .bool(a.value[0] != 0)
        case (2, 2): return .int(Int64(Int16(bitPattern: UInt16(truncatingIfNeeded: bigEndian(a.value)))))
        case (3, 4): return .int(Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: bigEndian(a.value)))))
        case (4, 8): return .int(Int64(bitPattern: bigEndian(a.value)))
        case (5, 8): return .double(Double(bitPattern: bigEndian(a.value)))
        case (6, _): return .string(String(decoding: a.value, as: UTF8.self))
        default: return .bytes(a.value)
        }
    }

    static func decodeSpan<R: ThriftReader>(_ r: inout R, _ state: WireDecodeState) throws(WireDecodeError) {
        let ctx = state.ctx
        let offset = r.position
        ctx.spanOrdinal += 1
        let ordinal = ctx.spanOrdinal
        let saved = try r.beginStruct()
        var traceLow: Int64 = 0, traceHigh: Int64 = 0, id: Int64 = 0, parentID: Int64 = 0
        var name = ""
        var annotations: [Annotation] = []
        var binaryAnnotations: [BinaryAnnotation] = []
        var tagBound = AttributeBound()
        var debug = false
        var timestamp: Int64? = nil, duration: Int64? = nil
        while let field = try r.readFieldHeader() {
            switch (field.id, field.type) {
            case (1, .i64): traceLow = try r.readI64()
            case (3, .binary): name = try r.readString(ctx, intern: true)
            case (4, .i64): id = try r.readI64()
            case (5, .i64): parentID = try r.readI64()
            case (6, .list):
                let (element, count) = try r.readListHeader()
                guard element == .struct else { try r.skipElements(element, count); continue }
                try r.enterContainer()
                for _ in 0..<count { annotations.append(try decodeAnnotation(&r, ctx)) }
                r.exitContainer()
            case (8, .list):
                let (element, count) = try r.readListHeader()
                guard element == .struct else { try r.skipElements(element, count); continue }
                try r.enterContainer()
                for _ in 0..<count {
                    // Past the bound, skipped and counted (they are the span's tags).
                    if tagBound.hasRoom(after: binaryAnnotations.count) {
                        binaryAnnotations.append(try decodeBinaryAnnotation(&r, ctx))
                    } else {
                        try r.skip(.struct)
                        tagBound.drop()
                    }
                }
                r.exitContainer()
            case (9, .bool): debug = try r.readBool()
            case (10, .i64): timestamp = try r.readI64()
            case (11, .i64): duration = try r.readI64()
            case (12, .i64): traceHigh = try r.readI64()
            default: try r.skip(field.type)
            }
        }
        r.endStruct(saved)

        let traceID = TraceID(high: UInt64(bitPattern: traceHigh), low: UInt64(bitPattern: traceLow))
        guard !traceID.isZero else { state.reject("trace_id is zero", at: offset, ordinal: ordinal); return }
        guard id != 0 else { state.reject("id is zero", at: offset, ordinal: ordinal); return }

        var kind = SpanKind.unspecified
        var local: Endpoint? = nil
        var remote: Endpoint? = nil
        var begin: Int64? = nil, finish: Int64? = nil
        var events: [SpanEvent] = []
        // Client side wins when one span carries both sides (a shared v1 span);
        // the server's annotations are then kept as events.
        let hasClient = annotations.contains { $0.value == "cs" || $0.value == "cr" }
        let hasServer = annotations.contains { $0.value == "sr" || $0.value == "ss" }
        for a in annotations {
            switch a.value {
            case "cs" where hasClient, "cr" where hasClient:
                kind = .client
                if a.value == "cs" { begin = a.timestamp } else { finish = a.timestamp }
                if local == nil { local = a.host }
            case "sr" where !hasClient, "ss" where !hasClient:
                kind = .server
                if a.value == "sr" { begin = a.timestamp } else { finish = a.timestamp }
                if local == nil { local = a.host }
            case "ms" where !hasClient && !hasServer, "mr" where !hasClient && !hasServer:
                kind = a.value == "ms" ? .producer : .consumer
                begin = begin ?? a.timestamp
                if local == nil { local = a.host }
            default:
                events.append(SpanEvent(timeUnixNano: Micros.nanos(a.timestamp), name: a.value))
            }
        }
        var tags: [Attribute] = []
        for b in binaryAnnotations {
            switch b.key {
            case "ca", "sa", "ma":
                if remote == nil { remote = b.host }
            case "lc":
                if local == nil { local = b.host }
                if !b.value.isEmpty { tags.append(Attribute("lc", value(b))) }
            default:
                tags.append(Attribute(b.key, value(b)))
            }
        }
        if local == nil { local = annotations.first(where: { $0.host != nil })?.host }
        if local == nil { local = binaryAnnotations.first(where: { $0.host != nil && !["ca", "sa", "ma"].contains($0.key) })?.host }

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
        if let remote {
            if !remote.serviceName.isEmpty, !tags.contains(where: { $0.key == "peer.service" }) {
                tags.append(Attribute("peer.service", .string(remote.serviceName)))
            }
            let ip = remote.ip
            if !ip.isEmpty, !tags.contains(where: { $0.key == "net.peer.ip" }) {
                tags.append(Attribute("net.peer.ip", .string(ip)))
            }
            if remote.port != 0, !tags.contains(where: { $0.key == "net.peer.port" }) {
                tags.append(Attribute("net.peer.port", .int(Int64(UInt16(bitPattern: remote.port)))))
            }
        }
        let endpoint = local ?? Endpoint()
        let serviceName = endpoint.serviceName.isEmpty ? "unknown_service" : endpoint.serviceName
        var resourceAttributes = [Attribute("service.name", .string(serviceName))]
        let hostIP = endpoint.ip
        if !hostIP.isEmpty { resourceAttributes.append(Attribute("net.host.ip", .string(hostIP))) }
        if endpoint.port != 0 {
            resourceAttributes.append(Attribute("net.host.port", .int(Int64(UInt16(bitPattern: endpoint.port)))))
        }
        let resource = ctx.resource(serviceName: serviceName, attributes: resourceAttributes)

        var start = timestamp ?? begin ?? annotations.map(\.timestamp).min() ?? 0
        var length = duration ?? 0
        if duration == nil, let begin, let finish, finish >= begin { length = finish &- begin }
        if duration == nil, timestamp == nil, begin == nil, let last = annotations.map(\.timestamp).max() {
            length = last &- start
        }
        start = max(0, start)
        length = max(0, length)
        ctx.spans.append(Span(
            traceID: traceID, spanID: SpanID(UInt64(bitPattern: id)),
            parentSpanID: parentID == 0 ? nil : SpanID(UInt64(bitPattern: parentID)),
            name: name, kind: kind, status: status,
            startTimeUnixNano: Micros.nanos(start), durationNano: Micros.nanos(length),
            attributes: tags, events: events, resource: resource, flags: debug ? 2 : 0,
            droppedAttributesCount: tagBound.dropped))
    }
}
