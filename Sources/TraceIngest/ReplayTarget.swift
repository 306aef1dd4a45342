/// Where `ReplaySender` sends: `otlp-http://HOST[:PORT]`,
/// `otlp-grpc://HOST[:PORT]`, `jaeger-udp://HOST[:PORT]` or
/// `zipkin://HOST[:PORT]` (IPv6 as `[::1]`). A missing port means the
/// protocol's usual one (4318, 4317, 6831, 9411).
public struct ReplayTarget: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, CaseIterable {
        /// OTLP/HTTP protobuf, `POST /v1/traces`.
        case otlpHTTP = "otlp-http"
        /// OTLP/gRPC, `TraceService/Export` over one plaintext HTTP/2 connection.
        case otlpGRPC = "otlp-grpc"
        /// Jaeger agent, Thrift compact `emitBatch` datagrams.
        case jaegerUDP = "jaeger-udp"
        /// Zipkin v2 JSON, `POST /api/v2/spans`.
        case zipkin = "zipkin"

        public var defaultPort: Int {
            switch self {
            case .otlpHTTP: return 4318
            case .otlpGRPC: return 4317
            case .jaegerUDP: return 6831
            case .zipkin: return 9411
            }
        }

        /// The HTTP/1.1 path, nil for UDP and gRPC (whose method names the path).
        public var path: String? {
            switch self {
            case .otlpHTTP: return "/v1/traces"
            case .otlpGRPC, .jaegerUDP: return nil
            case .zipkin: return "/api/v2/spans"
            }
        }
    }

    public var scheme: Scheme
    public var host: String
    public var port: Int

    public init(scheme: Scheme, host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
    }

    /// Parses `SCHEME://HOST[:PORT][/]`; the error says what is wrong and what is accepted.
    public init(parsing text: String) throws(ReplayTargetError) {
        let trimmed = text.trimmingSpaces
        guard let separator = trimmed.firstRange(of: "://") else {
            throw .notAURL(text)
        }
        let schemeText = String(trimmed[..<separator.lowerBound]).lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else {
            throw .unknownScheme(schemeText)
        }
        var rest = Substring(trimmed[separator.upperBound...])
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw .unexpectedPath(text) }
        var host: Substring
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .badHost(text) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .badHost(text) }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw .missingHost(text) }
        var port: Int? = nil
        if let portText {
            guard let p = Int(portText), (1...65_535).contains(p) else { throw .badPort(String(portText)) }
            port = p
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// `otlp-http://127.0.0.1:4318`
    public var description: String {
        "\(scheme.rawValue)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}

public enum ReplayTargetError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAURL(String)
    case unknownScheme(String)
    case missingHost(String)
    case badHost(String)
    case badPort(String)
    case unexpectedPath(String)

    static var accepted: String {
        ReplayTarget.Scheme.allCases.map { "\($0.rawValue)://HOST[:PORT]" }.joined(separator: ", ")
    }

    public var description: String {
        switch self {
        case .notAURL(let t): return "\"\(t)\" is not a target URL: use one of \(Self.accepted)"
        case .unknownScheme(let s): return "unknown scheme \"\(s)\": use one of \(Self.accepted)"
        case .missingHost(let t): return "\"\(t)\" has no host: use one of \(Self.accepted)"
        case .badHost(let t): return "\"\(t)\" has a malformed host (IPv6 goes in brackets: [::1]:4318)"
        case .badPort(let p): return "bad port \"\(p)\": a number from 1 to 65535"
        case .unexpectedPath(let t): return "\"\(t)\" has a path: give only SCHEME://HOST[:PORT] (the path is the protocol's own)"
        }
    }
}

extension String {
    /// Without leading and trailing blanks (no Foundation in this target).
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s = s.dropLast() }
        return s
    }
}
