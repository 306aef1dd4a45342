import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import Tracing

/// server-1: `GET /NAME` waits `delay`, asks server-2 (`POST` NAME, in a
/// client span `server-1_to_server-2` whose context travels in the headers),
/// and answers `Hello NAME! time is Mon Jan _2 15:04:05 2006` with the time
/// the request came in. server-2 down or failing: 502 with a one-line reason,
/// and the client span marked as an error.
struct Server1Handler<T: Tracer>: Sendable {
    static var hopName: String { "server-1_to_server-2" }

    let tracer: T
    let client: HTTPClient
    /// Where server-2 takes its POST (`http://127.0.0.1:8081/`).
    let server2URL: String
    let delay: Duration
    let maxNameBytes: Int
    let upstreamTimeout: Duration

    func respond(_ request: Request) async throws -> Response {
        let received = Date()
        guard request.method == .get || request.method == .head else {
            return .text(.methodNotAllowed, "server-1 answers GET /NAME (e.g. curl localhost:8082/alice)", allow: "GET")
        }
        // The name is the whole path, percent-decoded; bounded before decoding too.
        let path = request.uri.path
        guard path.utf8.count <= 3 * maxNameBytes + 1 else { return Self.tooLong(maxNameBytes) }
        let raw = String(path.drop { $0 == "/" })
        let name = raw.removingPercentEncoding ?? raw
        guard name.utf8.count <= maxNameBytes else { return Self.tooLong(maxNameBytes) }
        guard !name.isEmpty else {
            return .text(.badRequest, "server-1 answers GET /NAME: say whom to greet (e.g. curl localhost:8082/alice)")
        }
        try await Task.sleep(for: delay)
        if let failure = await callServer2(with: name) {
            return .text(.badGateway, "server-1: \(failure)")
        }
        return .text(.ok, "Hello \(name)! time is \(GoTimeLayout.ansic(received))", newline: false)
    }

    static func tooLong(_ limit: Int) -> Response {
        .text(.uriTooLong, "server-1: the name is longer than \(limit) bytes")
    }

    /// The hop, in its own client span; nil when server-2 answered 200, else why not (one line).
    func callServer2(with name: String) async -> String? {
        let span = tracer.startSpan(Self.hopName, context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["http.method"] = "POST"
            attributes["http.url"] = server2URL
            attributes["peer.service"] = DemoService.server2.rawValue
        }
        var headers: [(String, String)] = []
        tracer.inject(span.context, into: &headers, using: HeaderListInjector())
        var request = HTTPClientRequest(url: server2URL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: name))
        do {
            let response = try await client.execute(request, timeout: TimeAmount(upstreamTimeout))
            let body = try await response.body.collect(upTo: 4096)
            let code = Int(response.status.code)
            span.attributes["http.status_code"] = code
            guard response.status == .ok else {
                let reason = "server-2 answered \(code)" + Self.firstLine(String(buffer: body), prefix: ": ")
                span.setStatus(SpanStatus(code: .error, message: reason))
                return reason
            }
            return nil
        } catch {
            let reason = "server-2 at \(server2URL) failed: " + Self.describe(error)
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: reason))
            return reason
        }
    }

    /// `Connection refused` rather than `connection reset (error set): Connection refused) (errno: 111)`.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "connect timeout"
            case .deadlineExceeded, .readTimeout: return "no answer in time"
            default: break
            }
        }
        return firstLine("\(error)", prefix: "")
    }

    /// The first non-empty line of `text`, at most 200 characters, after `prefix`; "" if none.
    static func firstLine(_ text: String, prefix: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !line.isEmpty else { return "" }
        return prefix + (line.count > 200 ? String(line.prefix(200)) + "…" : line)
    }
}

/// server-2: `POST` with a name as the body (at most `maxNameBytes`) waits
/// `delay` and answers `Hello NAME!`; any other method gets 405.
struct Server2Handler: Sendable {
    let delay: Duration
    let maxNameBytes: Int

    func respond(_ request: Request) async throws -> Response {
        guard request.method == .post else {
            return .text(.methodNotAllowed, "server-2 answers POST with a name as the body", allow: "POST")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxNameBytes)
        } catch is NIOTooManyBytesError {
            return .text(.contentTooLarge, "server-2: the name is longer than \(maxNameBytes) bytes")
        }
        let name = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        try await Task.sleep(for: delay)
        return .text(.ok, "Hello \(name)!", newline: false)
    }
}

extension Response {
    /// A `text/plain` answer; messages (not greetings) end with a newline, for curl.
    static func text(_ status: HTTPResponse.Status, _ text: String, allow: String? = nil, newline: Bool = true) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if let allow { headers[.allow] = allow }
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: newline ? text + "\n" : text)))
    }
}
