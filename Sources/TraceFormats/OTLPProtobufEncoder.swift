import TraceModel

/// Writes spans as an OTLP protobuf `ExportTraceServiceRequest` (the same
/// bytes are a `TracesData`): grouped by resource then scope in order of
/// first appearance, fields in field-number order, proto3 defaults omitted,
/// status always present (as the Python and Go SDKs write it).
public enum OTLPProtobufEncoder {
    public static func encode(_ spans: [Span]) -> [UInt8] {
        let groups = SpanGrouping.byResourceAndScope(spans)
        var w = ProtobufWriter()
        w.bytes.reserveCapacity(spans.count * 200 + 64)
        for group in groups {
            w.message(1) { w in
                w.message(1) { w in
                    var attributes = group.resource.attributes
                    if !attributes.contains(where: { $0.key == "service.name" }) && group.resource.serviceName != "unknown_service" {
                        attributes.insert(Attribute("service.name", .string(group.resource.serviceName)), at: 0)
                    }
                    writeAttributes(attributes, field: 1, into: &w)
                }
                for scopeGroup in group.scopes {
                    w.message(2) { w in
                        let scope = scopeGroup.scope
                        w.message(1) { w in
                            if !scope.name.isEmpty { w.string(1, scope.name) }
                            if !scope.version.isEmpty { w.string(2, scope.version) }
                            writeAttributes(scope.attributes, field: 3, into: &w)
                        }
                        for index in scopeGroup.spans {
                            w.message(2) { w in writeSpan(spans[index], into: &w) }
                        }
                    }
                }
            }
        }
        return w.bytes
    }

    static func writeSpan(_ span: Span, into w: inout ProtobufWriter) {
        w.idField(1, span.traceID.high, span.traceID.low)
        w.idField(2, span.spanID.raw)
        if !span.traceState.isEmpty { w.string(3, span.traceState) }
        if let parent = span.parentSpanID { w.idField(4, parent.raw) }
        if !span.name.isEmpty { w.string(5, span.name) }
        if span.kind != .unspecified { w.varintField(6, UInt64(span.kind.rawValue)) }
        if span.startTimeUnixNano != 0 { w.fixed64(7, span.startTimeUnixNano) }
        if span.endTimeUnixNano != 0 { w.fixed64(8, span.endTimeUnixNano) }
        writeAttributes(span.attributes, field: 9, into: &w)
        if span.droppedAttributesCount > 0 { w.varintField(10, UInt64(span.droppedAttributesCount)) }
        for event in span.events {
            w.message(11) { w in
                if event.timeUnixNano != 0 { w.fixed64(1, event.timeUnixNano) }
                if !event.name.isEmpty { w.string(2, event.name) }
                writeAttributes(event.attributes, field: 3, into: &w)
            }
        }
        for link in ParentReferences.wireLinks(of: span) {
            w.message(13) { w in
                w.idField(1, link.traceID.high, link.traceID.low)
                w.idField(2, link.spanID.raw)
                var attributes = link.attributes
                if let ref = link.referenceType {
                    attributes.append(Attribute("opentracing.ref_type", .string(ref.lowercased())))
                }
                writeAttributes(attributes, field: 4, into: &w)
            }
        }
        w.message(15) { w in
            if !span.status.message.isEmpty { w.string(2, span.status.message) }
            if span.status.code != .unset { w.varintField(3, UInt64(span.status.code.rawValue)) }
        }
        if span.flags != 0 { w.fixed32(16, span.flags) }
    }

    static func writeAttributes(_ attributes: [Attribute], field: UInt32, into w: inout ProtobufWriter) {
        for attribute in attributes {
            w.message(field) { w in
                if !attribute.key.isEmpty { w.string(1, attribute.key) }
                w.message(2) { w in writeValue(attribute.value, into: &w) }
            }
        }
    }

    /// AnyValue: the oneof member is written even when it holds its default.
    static func writeValue(_ value: AttributeValue, into w: inout ProtobufWriter) {
        switch value {
        case .string(let s): w.string(1, s)
        case .bool(let b): w.varintField(2, b ? 1 : 0)
        case .int(let v): w.varintField(3, UInt64(bitPattern: v))
        case .double(let d): w.fixed64(4, d.bitPattern)
        case .array(let values):
            w.message(5) { w in
                for v in values { w.message(1) { w in writeValue(v, into: &w) } }
            }
        case .map(let attributes):
            w.message(6) { w in writeAttributes(attributes, field: 1, into: &w) }
        case .bytes(let b): w.bytesField(7, b)
        }
    }
}
