import TraceModel

/// Writes spans as a Zipkin v2 JSON array (`POST /api/v2/spans`), the shape
/// `ZipkinJSONDecoder` reads back.
///
/// What Zipkin can carry: trace id (16 hex digits when the high half is zero,
/// else 32), span id, parent id, name, kind (CLIENT/SERVER/PRODUCER/CONSUMER;
/// internal and unspecified are left out, as Zipkin has no such kinds),
/// timestamp and duration in microseconds, the resource's service name (and
/// `net.host.ip`/`net.host.port`) as `localEndpoint`, attributes as string tags,
/// events as annotations (their name as the value).
///
/// What it cannot, and so is lost: links and FOLLOWS_FROM (Zipkin has a single
/// parent), event attributes, scope, trace state, flags, typed tag values
/// (an int 5 becomes "5", arrays and maps become JSON text). Status becomes the
/// tags the decoder maps back: `error` (the message, possibly empty) for an
/// error, `otel.status_code: OK` for ok (with `otel.status_description`
/// when there is a message). A nonzero duration under 1 µs is written as 1 (Zipkin treats
/// 0 as unknown, as Brave rounds up too).
public enum ZipkinJSONEncoder {
    public static func encode(_ spans: [Span]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(spans.count * 320 + 2)
        encode(spans, into: &out)
        return out
    }

    public static func encode(_ spans: [Span], into out: inout [UInt8]) {
        out.append(ASCII.openBracket)
        for (i, span) in spans.enumerated() {
            if i > 0 { out.append(ASCII.comma) }
            writeSpan(span, into: &out)
        }
        out.append(ASCII.closeBracket)
    }

    /// Zipkin's kind name, nil for kinds Zipkin does not have.
    static func kindName(_ kind: SpanKind) -> String? {
        switch kind {
        case .client: return "CLIENT"
        case .server: return "SERVER"
        case .producer: return "PRODUCER"
        case .consumer: return "CONSUMER"
        case .internal, .unspecified: return nil
        }
    }

    static func writeSpan(_ span: Span, into out: inout [UInt8]) {
        func key(_ name: StaticString) {
            name.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        key(#"{"traceId":""#)
        if span.traceID.high != 0 { OTLPJSONEncoder.writeHex(span.traceID.high, into: &out) }
        OTLPJSONEncoder.writeHex(span.traceID.low, into: &out)
        key(#"","id":""#)
        OTLPJSONEncoder.writeHex(span.spanID.raw, into: &out)
        out.append(ASCII.quote)
        if let parent = span.parentSpanID {
            key(#","parentId":""#)
            OTLPJSONEncoder.writeHex(parent.raw, into: &out)
            out.append(ASCII.quote)
        }
        key(#","name":"#)
        OTLPJSONEncoder.writeString(span.name, into: &out)
        if let kind = kindName(span.kind) {
            key(#","kind":"#)
            OTLPJSONEncoder.writeString(kind, into: &out)
        }
        let timestamp = span.startTimeUnixNano / 1000
        if timestamp != 0 {
            key(#","timestamp":"#)
            OTLPJSONEncoder.writeDecimal(timestamp, into: &out)
        }
        if span.durationNano != 0 {
            key(#","duration":"#)
            OTLPJSONEncoder.writeDecimal(max(1, span.durationNano / 1000), into: &out)
        }
        writeLocalEndpoint(span.resource, into: &out)

        var shared = false
        var tags: [(String, String)] = []
        tags.reserveCapacity(span.attributes.count + 2)
        for attribute in span.attributes {
            if attribute.key == "zipkin.shared", attribute.value == .bool(true) {
                shared = true
                continue
            }
            tags.append((attribute.key, tagText(attribute.value)))
        }
        func lacks(_ k: String) -> Bool { !tags.contains { $0.0 == k } }
        let status = span.status
        switch status.code {
        case .error:
            // Zipkin's convention: the `error` tag's value is the message.
            if lacks("error") { tags.append(("error", status.message)) }
        case .ok, .unset:
            if status.code == .ok && lacks("otel.status_code") { tags.append(("otel.status_code", "OK")) }
            if !status.message.isEmpty && lacks("otel.status_description") {
                tags.append(("otel.status_description", status.message))
            }
        }
        if !span.events.isEmpty {
            key(#","annotations":["#)
            for (i, event) in span.events.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                key(#"{"timestamp":"#)
                OTLPJSONEncoder.writeDecimal(event.timeUnixNano / 1000, into: &out)
                key(#","value":"#)
                OTLPJSONEncoder.writeString(event.name, into: &out)
                out.append(ASCII.closeBrace)
            }
            out.append(ASCII.closeBracket)
        }
        if !tags.isEmpty {
            key(#","tags":{"#)
            for (i, tag) in tags.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                OTLPJSONEncoder.writeString(tag.0, into: &out)
                out.append(ASCII.colon)
                OTLPJSONEncoder.writeString(tag.1, into: &out)
            }
            out.append(ASCII.closeBrace)
        }
        if shared { key(#","shared":true"#) }
        out.append(ASCII.closeBrace)
    }

    static func writeLocalEndpoint(_ resource: Resource, into out: inout [UInt8]) {
        out.append(contentsOf: #","localEndpoint":{"serviceName":"#.utf8)
        OTLPJSONEncoder.writeString(resource.serviceName, into: &out)
        for attribute in resource.attributes {
            switch (attribute.key, attribute.value) {
            case ("net.host.ip", .string(let ip)) where !ip.isEmpty:
                out.append(contentsOf: (ip.contains(":") ? #","ipv6":"# : #","ipv4":"#).utf8)
                OTLPJSONEncoder.writeString(ip, into: &out)
            case ("net.host.port", .int(let port)) where port > 0 && port <= 65_535:
                out.append(contentsOf: #","port":"#.utf8)
                OTLPJSONEncoder.writeDecimal(UInt64(port), into: &out)
            default: break
            }
        }
        out.append(ASCII.closeBrace)
    }

    /// Zipkin tags are strings: scalars as their text, composites as JSON.
    static func tagText(_ value: AttributeValue) -> String {
        switch value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let v): return String(v)
        case .double(let d): return d.description
        case .bytes, .array, .map:
            var json: [UInt8] = []
            JaegerThriftEncoder.writePlainJSON(value, into: &json)
            if case .bytes = value, json.count >= 2 { return String(decoding: json.dropFirst().dropLast(), as: UTF8.self) }
            return String(decoding: json, as: UTF8.self)
        }
    }
}
