import Foundation
import Testing
import TraceFormats
import TraceModel
@testable import JaegerTracing
import Instrumentation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
import TestSupport
#endif

/// A real UDP socket on 127.0.0.1, port 0: the agent the tracer sends to.
final class UDPSink: @unchecked Sendable {  // one test owns it; the fd is only read
    let descriptor: Int32
    let port: Int

    init() throws {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_DGRAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw SinkError.socket(errno) }
        // Past rmem_max when allowed (root), so tests that read after the fact lose nothing.
        var size: Int32 = 32 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            size = 8 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw SinkError.socket(errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }

    enum SinkError: Error { case socket(Int32) }

    /// The next datagram, or nil after `timeout` seconds of silence.
    func receive(timeout: Double = 2) -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 70_000)
        let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return n >= 0 ? Array(buffer.prefix(n)) : nil
    }

    /// `receive` for async tests: polls without blocking a cooperative
    /// thread, so the tracer's own tasks keep running while the test waits.
    /// Timeouts are generous: in a full `swift test` other suites' blocking
    /// waits can hold both of a 2-core machine's pool threads for seconds.
    func nextDatagram(timeout: Double = 5) async -> [UInt8]? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            if let datagram = receive(timeout: 0) { return datagram }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return receive(timeout: 0)
    }

    /// `receiveAll` for async tests.
    func drain(quiet: Double = 0.3) async -> [[UInt8]] {
        var all: [[UInt8]] = []
        while let datagram = await nextDatagram(timeout: quiet) { all.append(datagram) }
        return all
    }

    /// Every datagram until `quiet` seconds pass without one.
    func receiveAll(quiet: Double = 0.3) -> [[UInt8]] {
        var all: [[UInt8]] = []
        while let datagram = receive(timeout: quiet) { all.append(datagram) }
        return all
    }

    func decode(_ datagram: [UInt8]) throws -> AgentBatch {
        try JaegerAgentDecoder.decode(datagram, protocolKind: .compact)
    }
}

func makeTracer(_ sink: UDPSink, service: String = "test-service",
                _ adjust: (inout JaegerTracerConfiguration) -> Void = { _ in }) throws -> JaegerTracer {
    var configuration = JaegerTracerConfiguration(serviceName: service, agentHost: "127.0.0.1", agentPort: sink.port)
    adjust(&configuration)
    return try JaegerTracer(configuration: configuration)
}

/// Headers as a plain dictionary (case-sensitive keys).
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// Headers looked up case-insensitively, as HTTP header types do.
struct HTTPStyleExtractor: Extractor {
    func extract(key: String, from carrier: [(String, String)]) -> String? {
        carrier.first { $0.0.lowercased() == key.lowercased() }?.1
    }
}

/// The raw shape of a Thrift compact value: enough to compare field ids and
/// order with what jaeger-client-go writes, independent of the decoder.
indirect enum CompactShape: Equatable, CustomStringConvertible {
    case scalar(type: UInt8)
    case binary([UInt8])
    case structure([(id: Int16, value: CompactShape)])
    case list(element: UInt8, [CompactShape])

    static func == (a: CompactShape, b: CompactShape) -> Bool { a.description == b.description }

    var fieldIDs: [Int16] {
        if case .structure(let fields) = self { return fields.map(\.id) }
        return []
    }

    func field(_ id: Int16) -> CompactShape? {
        if case .structure(let fields) = self { return fields.first { $0.id == id }?.value }
        return nil
    }

    var elements: [CompactShape] {
        if case .list(_, let values) = self { return values }
        return []
    }

    var text: String? {
        if case .binary(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var description: String {
        switch self {
        case .scalar(let type): return "t\(type)"
        case .binary(let bytes): return "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .structure(let fields): return "{" + fields.map { "\($0.id):\($0.value)" }.joined(separator: ",") + "}"
        case .list(let element, let values): return "[\(element):" + values.map(\.description).joined(separator: ",") + "]"
        }
    }
}

/// Reads an emitBatch message into its message type and the args struct's shape.
struct CompactShapeReader {
    enum Failure: Error { case truncated, unsupported(UInt8) }
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Failure.truncated }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw Failure.truncated
    }

    /// (message type, method name, args shape).
    mutating func message() throws -> (type: UInt8, name: String, args: CompactShape) {
        guard try byte() == 0x82 else { throw Failure.unsupported(bytes[0]) }
        let typeAndVersion = try byte()
        _ = try varint()
        let length = Int(try varint())
        guard position + length <= bytes.count else { throw Failure.truncated }
        let name = String(decoding: bytes[position..<position + length], as: UTF8.self)
        position += length
        return (typeAndVersion >> 5, name, try value(type: 12))
    }

    mutating func value(type: UInt8) throws -> CompactShape {
        switch type {
        case 1, 2: return .scalar(type: 1)
        case 3: _ = try byte(); return .scalar(type: 3)
        case 4, 5, 6: _ = try varint(); return .scalar(type: type)
        case 7: guard position + 8 <= bytes.count else { throw Failure.truncated }; position += 8; return .scalar(type: 7)
        case 8:
            let length = Int(try varint())
            guard position + length <= bytes.count else { throw Failure.truncated }
            defer { position += length }
            return .binary(Array(bytes[position..<position + length]))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 { count = Int(try varint()) }
            var values: [CompactShape] = []
            for _ in 0..<count { values.append(try value(type: header & 0x0F)) }
            return .list(element: header & 0x0F, values)
        case 12:
            var fields: [(id: Int16, value: CompactShape)] = []
            var last: Int16 = 0
            while true {
                let header = try byte()
                if header == 0 { return .structure(fields) }
                let delta = Int16(header >> 4)
                let id: Int16
                if delta == 0 {
                    let raw = try varint()
                    id = Int16(truncatingIfNeeded: Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
                } else {
                    id = last + delta
                }
                last = id
                fields.append((id: id, value: try value(type: header & 0x0F)))
            }
        default: throw Failure.unsupported(type)
        }
    }
}
