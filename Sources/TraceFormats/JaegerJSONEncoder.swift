import TraceModel

/// Writes traces as Jaeger query/UI JSON, the shape Jaeger's `/api/traces`
/// answers and its UI downloads (Go's `model/json` structs, fields in their
/// order, empty lists as `[]`, `omitempty` fields left out):
///
///     {"data":[{"traceID":"…","spans":[…],"processes":{"p1":{"serviceName":"…","tags":[…]}},"warnings":null}],
///      "total":0,"limit":0,"offset":0,"errors":null}
///
/// so that Jaeger's UI can open what tracetty exports, and tracetty can read
/// it back with `DumpDecoder`.
///
/// How the model maps (the same rules as `JaegerThriftEncoder`, so both
/// Jaeger encodings carry a span alike):
/// - the parent is the first reference, `CHILD_OF`, or `FOLLOWS_FROM` when
///   `parentReference == .followsFrom`; the links follow (`CHILD_OF` when
///   their `referenceType` says so, else `FOLLOWS_FROM`, as the OTel
///   exporters write OTLP links). `parentSpanID` is not written: Jaeger's
///   own output has only references.
/// - kind, status and scope travel as the `span.kind`, `otel.status_code`,
///   `otel.status_description`, `error` and `otel.scope.name`/`version` tags
///   (added after the attributes unless already there).
/// - an event becomes a log whose fields are the event's attributes, with an
///   `event` field naming it first unless the fields already name it (what
///   the decoders read the name from).
/// - the resource becomes a process `p1`, `p2`, … per distinct resource in
///   the trace; a leading `service.name` equal to the service name is left
///   out of its tags (it is the process's `serviceName`; readers add it back
///   first).
///
/// Jaeger JSON cannot carry everything the model holds. Lost or changed on
/// the way through:
/// - times are whole microseconds: start, duration and event times lose
///   their sub-microsecond digits (truncated, as Jaeger's converter does);
/// - composite attributes (arrays, maps) become a JSON text string tag;
/// - link attributes, trace state, scope version without a name, scope
///   attributes are not written; the scope comes back as tags, not as a scope;
/// - a link with no `referenceType` (OTLP) comes back as `FOLLOWS_FROM`;
/// - status and scope tags, and an event's `event` field, come back as
///   attributes (only `span.kind` is taken back out of the tags);
/// - a resource without a `service.name` attribute comes back with one;
/// - a link into the span's own trace can be taken for the parent when the
///   span has none (or a `FOLLOWS_FROM` one and the link is `CHILD_OF`):
///   Jaeger's own rule for choosing the parent among references;
/// - a double that is NaN or infinite is written as the string `"NaN"`,
///   `"Infinity"`, `"-Infinity"` with type `float64` (JSON has no such
///   numbers; Go's encoder would refuse them).
public enum JaegerJSONEncoder {
    /// What precedes the data entries.
    static let documentHead: [UInt8] = Array(#"{"data":["#.utf8)
    /// What follows them: Jaeger's paging fields (zero for a fetched trace) and a newline.
    static let documentTail: [UInt8] = Array(#"],"total":0,"limit":0,"offset":0,"errors":null}"#.utf8) + [ASCII.newline]

    /// A whole document, one `data` entry per non-empty element of `traces`,
    /// followed by a newline.
    public static func encode(traces: [[Span]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(traces.reduce(128) { $0 + $1.count * 640 })
        out.append(contentsOf: documentHead)
        var first = true
        for trace in traces where !trace.isEmpty {
            if !first { out.append(ASCII.comma) }
            first = false
            encodeTrace(trace, into: &out)
        }
        out.append(contentsOf: documentTail)
        return out
    }

    /// One `data` entry (no separator) appended to `out`. The entry's
    /// `traceID` is the first span's; every span still writes its own, so a
    /// mixed array stays correct span by span.
    public static func encodeTrace(_ spans: [Span], into out: inout [UInt8]) {
        guard let first = spans.first else { return }
        // One process per distinct resource (by content, as Jaeger dedupes), numbered in order of first use.
        var processIndex: [Resource: Int] = [:]
        var processes: [Resource] = []
        var spanProcess: [Int] = []
        spanProcess.reserveCapacity(spans.count)
        for span in spans {
            if let index = processIndex[span.resource] {
                spanProcess.append(index)
            } else {
                processes.append(span.resource)
                processIndex[span.resource] = processes.count
                spanProcess.append(processes.count)
            }
        }

        out.append(contentsOf: #"{"traceID":""#.utf8)
        writeTraceID(first.traceID, into: &out)
        out.append(contentsOf: #"","spans":["#.utf8)
        for (i, span) in spans.enumerated() {
            if i > 0 { out.append(ASCII.comma) }
            writeSpan(span, processID: spanProcess[i], into: &out)
        }
        out.append(contentsOf: #"],"processes":{"#.utf8)
        // Go's encoder writes map keys sorted as strings (p1, p10, p2, …).
        let order = (1...processes.count).sorted { "p\($0)" < "p\($1)" }
        for (n, id) in order.enumerated() {
            if n > 0 { out.append(ASCII.comma) }
            out.append(contentsOf: #""p"#.utf8)
            OTLPJSONEncoder.writeDecimal(UInt64(id), into: &out)
            out.append(contentsOf: #"":"#.utf8)
            writeProcess(processes[id - 1], into: &out)
        }
        out.append(contentsOf: #"},"warnings":null}"#.utf8)
    }

    static func writeProcess(_ resource: Resource, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"serviceName":"#.utf8)
        OTLPJSONEncoder.writeString(resource.serviceName, into: &out)
        out.append(contentsOf: #","tags":"#.utf8)
        var tags = resource.attributes
        // Readers insert `service.name` first when the tags lack it: dropping
        // exactly that one keeps the round trip exact and the output Jaeger's.
        if let lead = tags.first, lead.key == "service.name", lead.value == .string(resource.serviceName) {
            tags.removeFirst()
        }
        writeTags(tags, into: &out)
        out.append(ASCII.closeBrace)
    }

    static func writeSpan(_ span: Span, processID: Int, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"traceID":""#.utf8)
        writeTraceID(span.traceID, into: &out)
        out.append(contentsOf: #"","spanID":""#.utf8)
        OTLPJSONEncoder.writeHex(span.spanID.raw, into: &out)
        out.append(ASCII.quote)
        if span.flags != 0 {
            out.append(contentsOf: #","flags":"#.utf8)
            OTLPJSONEncoder.writeDecimal(UInt64(span.flags), into: &out)
        }
        out.append(contentsOf: #","operationName":"#.utf8)
        OTLPJSONEncoder.writeString(span.name, into: &out)

        out.append(contentsOf: #","references":["#.utf8)
        var needsComma = false
        if let parent = span.parentSpanID, span.parentReference == .childOf {
            writeReference(type: "CHILD_OF", traceID: span.traceID, spanID: parent, into: &out)
            needsComma = true
        }
        // A FOLLOWS_FROM parent comes first among these, then the links.
        for link in ParentReferences.wireLinks(of: span) {
            if needsComma { out.append(ASCII.comma) }
            needsComma = true
            let type = link.referenceType?.uppercased() == "CHILD_OF" ? "CHILD_OF" : "FOLLOWS_FROM"
            writeReference(type: type, traceID: link.traceID, spanID: link.spanID, into: &out)
        }

        out.append(contentsOf: #"],"startTime":"#.utf8)
        OTLPJSONEncoder.writeDecimal(span.startTimeUnixNano / 1000, into: &out)
        out.append(contentsOf: #","duration":"#.utf8)
        OTLPJSONEncoder.writeDecimal(span.durationNano / 1000, into: &out)
        out.append(contentsOf: #","tags":"#.utf8)
        writeTags(JaegerThriftEncoder.spanTags(span), into: &out)

        out.append(contentsOf: #","logs":["#.utf8)
        for (i, event) in span.events.enumerated() {
            if i > 0 { out.append(ASCII.comma) }
            out.append(contentsOf: #"{"timestamp":"#.utf8)
            OTLPJSONEncoder.writeDecimal(event.timeUnixNano / 1000, into: &out)
            out.append(contentsOf: #","fields":"#.utf8)
            writeTags(logFields(event), into: &out)
            out.append(ASCII.closeBrace)
        }
        out.append(contentsOf: #"],"processID":"p"#.utf8)
        OTLPJSONEncoder.writeDecimal(UInt64(processID), into: &out)
        out.append(contentsOf: #"","warnings":null}"#.utf8)
    }

    /// The event's attributes, with an `event` field first when they do not
    /// already name the event as the readers would (`event`, else
    /// `message`, else "log").
    static func logFields(_ event: SpanEvent) -> [Attribute] {
        var fields = event.attributes
        if (JaegerThriftReader.namingField(fields) ?? "log") != event.name {
            fields.insert(Attribute("event", .string(event.name)), at: 0)
        }
        return fields
    }

    static func writeReference(type: String, traceID: TraceID, spanID: SpanID, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"refType":""#.utf8)
        out.append(contentsOf: type.utf8)
        out.append(contentsOf: #"","traceID":""#.utf8)
        writeTraceID(traceID, into: &out)
        out.append(contentsOf: #"","spanID":""#.utf8)
        OTLPJSONEncoder.writeHex(spanID.raw, into: &out)
        out.append(contentsOf: #""}"#.utf8)
    }

    /// 16 hex digits for a 64-bit id, 32 otherwise: Jaeger's `TraceID.String()`.
    static func writeTraceID(_ id: TraceID, into out: inout [UInt8]) {
        if id.high != 0 { OTLPJSONEncoder.writeHex(id.high, into: &out) }
        OTLPJSONEncoder.writeHex(id.low, into: &out)
    }

    /// Typed key/value tags: `{"key":…,"type":"string|bool|int64|float64|binary","value":…}`.
    static func writeTags(_ tags: [Attribute], into out: inout [UInt8]) {
        out.append(ASCII.openBracket)
        for (i, tag) in tags.enumerated() {
            if i > 0 { out.append(ASCII.comma) }
            out.append(contentsOf: #"{"key":"#.utf8)
            OTLPJSONEncoder.writeString(tag.key, into: &out)
            switch tag.value {
            case .string(let s):
                out.append(contentsOf: #","type":"string","value":"#.utf8)
                OTLPJSONEncoder.writeString(s, into: &out)
            case .bool(let b):
                out.append(contentsOf: #","type":"bool","value":"#.utf8)
                out.append(contentsOf: (b ? "true" : "false").utf8)
            case .int(let v):
                // A JSON number, as Go writes int64; the reader takes all 64 bits.
                out.append(contentsOf: #","type":"int64","value":"#.utf8)
                if v < 0 { out.append(ASCII.minus) }
                OTLPJSONEncoder.writeDecimal(v.magnitude, into: &out)
            case .double(let d):
                out.append(contentsOf: #","type":"float64","value":"#.utf8)
                if d.isNaN {
                    out.append(contentsOf: #""NaN""#.utf8)
                } else if d.isInfinite {
                    out.append(contentsOf: (d > 0 ? #""Infinity""# : #""-Infinity""#).utf8)
                } else {
                    // Swift's shortest round-tripping form: `1.5`, `1e-07`, `5.0` — all JSON numbers.
                    out.append(contentsOf: d.description.utf8)
                }
            case .bytes(let bytes):
                // Go marshals []byte as standard base64.
                out.append(contentsOf: #","type":"binary","value":""#.utf8)
                Base64.encode(bytes, into: &out)
                out.append(ASCII.quote)
            case .array, .map:
                // Jaeger has no composite tags: JSON text, as the OTel exporters write them.
                var json: [UInt8] = []
                JaegerThriftEncoder.writePlainJSON(tag.value, into: &json)
                out.append(contentsOf: #","type":"string","value":"#.utf8)
                OTLPJSONEncoder.writeString(String(decoding: json, as: UTF8.self), into: &out)
            }
            out.append(ASCII.closeBrace)
        }
        out.append(ASCII.closeBracket)
    }
}
