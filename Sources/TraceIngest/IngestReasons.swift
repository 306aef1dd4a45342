import NIOCore
import TraceFormats
import TraceModel

/// Bucket keys for malformed input: a few dozen at most, so the counters'
/// bounded reason table holds them all; the full text is the example.
enum IngestReason {
    static func key(_ error: WireDecodeError) -> String {
        "\(error.format.rawValue): \(label(error.reason))"
    }

    static func label(_ reason: WireDecodeError.Reason) -> String {
        switch reason {
        case .truncated: return "truncated"
        case .lengthBeyondInput: return "length beyond input"
        case .negativeLength: return "negative length"
        case .collectionTooLarge: return "collection too large"
        case .depthExceeded: return "nesting too deep"
        case .malformedVarint: return "malformed varint"
        case .invalidType: return "invalid thrift type"
        case .invalidWireType: return "invalid protobuf wire type"
        case .invalidFieldNumber: return "invalid protobuf field number"
        case .badProtocolID: return "not a thrift message"
        case .badVersion: return "unsupported thrift version"
        case .unsupportedMessageType: return "unsupported message type"
        case .unknownMethod: return "unknown method"
        case .missingField: return "missing field"
        case .gzip: return "gzip"
        }
    }

    static let json = "json: syntax"
    static let notFound = "http 404: unknown path"
    static let methodNotAllowed = "http 405: method not allowed"
    static let tooLarge = "http 413: body too large"
    static let unsupportedMediaType = "http 415: unsupported content type"
    static let unsupportedEncoding = "http 415: unsupported content encoding"
    static let badGzip = "gzip: corrupt body"
    static let inflationBusy = "http 503: gzip bodies inflating at once past their shared bound"
    static let grpcInflationBusy = "grpc UNAVAILABLE: gzip messages inflating at once past their shared bound"
    static let badRequest = "http 400: bad request"
    static let grpcTooLarge = "grpc RESOURCE_EXHAUSTED: message too large"
    static let grpcUnknownMethod = "grpc UNIMPLEMENTED: unknown method"
    static let grpcUnsupportedEncoding = "grpc UNIMPLEMENTED: unsupported grpc-encoding"
    static let grpcBadFrame = "grpc INTERNAL: bad message frame"
    static let grpcMessageCount = "grpc INVALID_ARGUMENT: not one message"
    static let unauthorized = "http 401: missing or wrong token"
    static let grpcUnauthenticated = "grpc UNAUTHENTICATED: missing or wrong token"
    static let headTooLarge = "http 431: request head too large"
    static let requestTimeout = "http 408: request timeout"
    static let tooManyConnections = "http 503: too many connections"
    static let grpcHeadersTooLarge = "grpc RESOURCE_EXHAUSTED: headers too large"
    static let grpcHeadersRefused = "grpc: HTTP/2 frame refused (headers past 16 KiB, or undecodable)"
    static let grpcDeadline = "grpc DEADLINE_EXCEEDED: request not complete"
    static let grpcTooManyConnections = "grpc: too many connections"
}

enum ClientIdentity {
    /// One client process of a service: the `client-uuid` process tag when
    /// the tracer sets it, else hostname and ip, plus the UDP source address
    /// (one reporter socket per tracer) when known.
    static func of(_ process: Resource, source: SocketAddress?) -> String {
        var parts: [String] = []
        var uuid: String?
        var hostname: String?
        var ip: String?
        for attribute in process.attributes {
            switch attribute.key {
            case "client-uuid": uuid = text(attribute.value)
            case "hostname", "host.name": hostname = hostname ?? text(attribute.value)
            case "ip", "host.ip": ip = ip ?? text(attribute.value)
            default: break
            }
        }
        if let uuid {
            parts.append("uuid=\(uuid)")
        } else {
            if let hostname { parts.append("host=\(hostname)") }
            if let ip { parts.append("ip=\(ip)") }
        }
        if let source { parts.append("from=\(source.ipAddress ?? "?"):\(source.port ?? 0)") }
        return parts.joined(separator: " ")
    }

    private static func text(_ value: AttributeValue) -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return "\(value)"
        }
    }
}
