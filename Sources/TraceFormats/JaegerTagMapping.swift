import TraceModel

/// Jaeger carries kind and status as tags: `span.kind` becomes the model's
/// kind (and leaves the tags), `otel.status_code` / `otel.status_description`
/// set the status (and stay, as Jaeger shows them). Shared by the Jaeger
/// JSON and Thrift decoders so both map alike.
enum JaegerTagMapping {
    static func kindAndStatus(from tags: inout [Attribute]) -> (SpanKind, SpanStatus) {
        var kind = SpanKind.unspecified
        var status = SpanStatus.unset
        var kindIndex: Int? = nil
        for i in tags.indices {
            // Only keys as long as the three below are compared.
            let length = tags[i].key.utf8.count
            guard length == 9 || length == 16 || length == 23, case .string(let v) = tags[i].value else { continue }
            switch tags[i].key {
            case "span.kind":
                if let k = SpanKind(name: v) { kind = k; kindIndex = i }
            case "otel.status_code":
                status.code = v == "ERROR" ? .error : v == "OK" ? .ok : status.code
            case "otel.status_description":
                status.message = v
            default: break
            }
        }
        if let kindIndex { tags.remove(at: kindIndex) }
        return (kind, status)
    }
}
