import Hummingbird
import Tracing

/// One server span per request, reported by an explicit tracer.
///
/// Not Hummingbird's `TracingMiddleware`, because that one
/// - takes its tracer from the global `InstrumentationSystem`, while the demo
///   runs server-1 and server-2 in one process, each with its own
///   `JaegerTracer` (its own service name);
/// - renames the span to the matched route after the handler, while the
///   seed's server spans are named after the service (`server-1`, `server-2`);
/// - writes the newer semantic-convention keys (`http.request.method`,
///   `url.path`, `http.response.status_code`), while the seed's spans carry
///   `http.method`, `http.target` and `http.status_code`, as Jaeger clients do.
///
/// The span: named `operationName`, kind server, a child of the context
/// extracted from the request headers (a root without one); tags
/// `http.method`, `http.target` and, once answered, `http.status_code`; an
/// error status on 5xx or a thrown error. The handler runs with the span's
/// context as `ServiceContext.current`, so its own spans become children.
struct ServerTracingMiddleware<Context: RequestContext, T: Tracer>: RouterMiddleware {
    let tracer: T
    let operationName: String

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.topLevel
        tracer.extract(request.headers, into: &parent, using: RequestHeadersExtractor())
        let span = tracer.startSpan(operationName, context: parent, ofKind: .server)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["http.method"] = request.method.rawValue
            attributes["http.target"] = request.head.path ?? "/"
        }
        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await next(request, context)
            }
            let code = Int(response.status.code)
            span.attributes["http.status_code"] = code
            if code >= 500 {
                span.setStatus(SpanStatus(code: .error, message: "HTTP \(code)"))
            }
            return response
        } catch {
            let code = Int((error as? any HTTPResponseError)?.status.code ?? 500)
            span.attributes["http.status_code"] = code
            if code >= 500 {
                span.setStatus(SpanStatus(code: .error, message: "HTTP \(code)"))
                span.recordError(error)
            }
            throw error
        }
    }
}

/// A responder that runs one middleware around one handler: each demo server
/// answers every path itself (server-1 takes the name from the path), so
/// there is no routing to do.
struct TracedResponder<Context: RequestContext, T: Tracer>: HTTPResponder {
    let middleware: ServerTracingMiddleware<Context, T>
    let handler: @Sendable (Request, Context) async throws -> Response

    func respond(to request: Request, context: Context) async throws -> Response {
        try await middleware.handle(request, context: context, next: handler)
    }
}
