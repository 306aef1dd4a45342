import Hummingbird
import Instrumentation

/// Reads trace context (`uber-trace-id`, `traceparent`, ...) from a
/// Hummingbird request's headers. Header names are case-insensitive.
struct RequestHeadersExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        headers.first { $0.name.canonicalName == key.lowercased() }?.value
    }
}

/// Writes trace context into a list of header fields, then added to an
/// async-http-client request.
struct HeaderListInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout [(String, String)]) {
        headers.append((key, value))
    }
}
