import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore

/// A grpc-swift client for `TraceService/Export` that sends bytes already
/// encoded (by `OTLPProtobufEncoder`) and returns the reply's bytes: what the
/// receiver's tests and `grpc-bench` drive it with. One value is one HTTP/2
/// connection; calls on it are multiplexed as concurrent streams.
public struct OTLPGRPCSender: Sendable {
    let client: GRPCClient<HTTP2ClientTransport.Posix>

    /// Connects to `host:port` (plaintext), runs `body`, then closes the connection.
    /// `host` is an IPv4 or IPv6 address, or a name (resolved by the transport, every address tried).
    public static func withConnection<Result: Sendable>(
        host: String = "127.0.0.1", port: Int,
        _ body: (OTLPGRPCSender) async throws -> Result
    ) async throws -> Result {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.compression.enabledAlgorithms = [.gzip]
        let transport = try HTTP2ClientTransport.Posix(
            target: target(host: host, port: port), transportSecurity: .plaintext, config: config)
        return try await withGRPCClient(transport: transport) { client in
            try await body(OTLPGRPCSender(client: client))
        }
    }

    private static func target(host: String, port: Int) -> any ResolvableTarget {
        switch try? NIOCore.SocketAddress(ipAddress: host, port: port) {
        case .v4?: return ResolvableTargets.IPv4.ipv4(address: host, port: port)
        case .v6?: return ResolvableTargets.IPv6.ipv6(address: host, port: port)
        default: return ResolvableTargets.DNS.dns(host: host, port: port)
        }
    }

    /// One Export call. Throws `RPCError` for a non-OK status.
    /// - Parameters:
    ///   - authorization: the `authorization` metadata (`Bearer <token>`), when the receiver wants one.
    ///   - timeout: the call's deadline (DEADLINE_EXCEEDED past it), connecting included; nil: none.
    public func export(_ request: [UInt8], gzip: Bool = false, authorization: String? = nil,
                       timeout: Duration? = nil) async throws -> [UInt8] {
        try await call(OTLPTraceService.export, request, gzip: gzip, authorization: authorization, timeout: timeout)
    }

    /// A unary call of any method with raw bytes (tests call methods the receiver does not serve).
    public func call(_ method: MethodDescriptor, _ request: [UInt8], gzip: Bool = false,
                     authorization: String? = nil, timeout: Duration? = nil) async throws -> [UInt8] {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.compression = gzip ? .gzip : CompressionAlgorithm.none
        // Tests send messages past the server's bound on purpose; the client must not refuse them first.
        options.maxRequestMessageBytes = Int(Int32.max)
        var metadata = Metadata()
        if let authorization { metadata.addString(authorization, forKey: "authorization") }
        return try await client.unary(
            request: ClientRequest(message: request, metadata: metadata), descriptor: method,
            serializer: PassThroughSerializer(), deserializer: PassThroughDeserializer(), options: options
        ) { response in
            try response.message
        }
    }
}

/// Bytes in, bytes out: the request is already an encoded `ExportTraceServiceRequest`.
struct PassThroughSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

struct PassThroughDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
