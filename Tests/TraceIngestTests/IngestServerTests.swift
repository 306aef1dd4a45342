#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// A socket holding a 127.0.0.1 port (UDP, or TCP listening), closed on deinit.
final class PortHolder {
    let fd: Int32
    let port: Int

    init(udp: Bool) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue), 0)
        #else
        let fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SocketFailure("socket") }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, udp || listen(fd, 8) == 0 else {
            close(fd)
            throw SocketFailure("bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

@Suite struct IngestServerTests {
    @Test("a UDP port in use: portInUse naming the listener; nothing left bound", arguments: [true, false])
    func portInUse(udp: Bool) async throws {
        let holder = try PortHolder(udp: udp)
        let busy: ListenerKind = udp ? .zipkinCompact : .otlpHTTP
        // Earlier listeners bind first (ephemeral), then the busy one fails.
        var ports: [ListenerKind: Int] = [.jaegerCompact: 0, .jaegerCollector: 0]
        ports[busy] = holder.port
        let server = IngestServer(configuration: IngestConfiguration(ports: ports), sink: CollectingSink())
        do {
            _ = try await server.start()
            Issue.record("start() succeeded on a port in use")
        } catch {
            #expect(error == .portInUse(busy, host: "127.0.0.1", port: holder.port))
            #expect(error.description.contains("port \(holder.port)"))
            #expect(error.description.contains(busy.portOption))
        }
        #expect(server.listeners.isEmpty)
        // Starting again with the busy listener off works: the others were released.
        ports[busy] = nil
        let retry = IngestServer(configuration: IngestConfiguration(ports: ports), sink: CollectingSink())
        let bound = try await retry.start()
        #expect(bound.map(\.kind) == [.jaegerCompact, .jaegerCollector])
        await retry.shutdown()
    }

    @Test("a host that cannot be bound gives cannotBind with the reason")
    func cannotBind() async throws {
        let server = IngestServer(configuration: IngestConfiguration(host: "192.0.2.1", ports: [.jaegerCollector: 0]),
                                  sink: CollectingSink())
        await #expect(throws: IngestError.self) { _ = try await server.start() }
        do {
            _ = try await server.start()
        } catch {
            guard case .cannotBind(let kind, let host, _, let reason) = error else {
                Issue.record("expected cannotBind, got \(error)")
                return
            }
            #expect(kind == .jaegerCollector && host == "192.0.2.1" && !reason.isEmpty)
        }
    }

    @Test("every listener at once on ephemeral ports; listening lines; shutdown releases the ports")
    func allListeners() async throws {
        let running = try await RunningServer.start(ListenerKind.allCases)
        let lines = running.server.listeners.map(\.description)
        #expect(lines.count == 7)
        #expect(lines[0].hasPrefix("listening jaeger-compact udp 127.0.0.1:"))
        #expect(lines[3].hasPrefix("listening jaeger-collector http 127.0.0.1:"))
        #expect(lines[6].hasPrefix("listening otlp-grpc grpc 127.0.0.1:"))
        #expect(running.counters.snapshot().listeners.map(\.kind) == ListenerKind.allCases)
        #expect(running.counters.snapshot().summaryLines.first == "jaeger-compact: 0 spans in 0 traces, 0 datagrams, 0 malformed")
        await running.server.shutdown()
        // Shutdown releases the ports: the same ports bind again. Ports from
        // the ephemeral range (what port 0 gave) can be taken in between by
        // other tests' sockets, so this part uses ports below that range
        // (Linux hands out 32768-60999), where only explicit binds land.
        var generator = SystemRandomNumberGenerator()
        var first: [ListenerKind: Int] = [:]
        for attempt in 1...50 {
            let base = Int.random(in: 20_000..<32_000, using: &generator)
            let ports = Dictionary(uniqueKeysWithValues: ListenerKind.allCases.enumerated().map { ($1, base + $0) })
            let server = IngestServer(configuration: IngestConfiguration(ports: ports), sink: CollectingSink())
            do {
                _ = try await server.start()
                await server.shutdown()
                first = ports
                break
            } catch {
                guard case .portInUse = error, attempt < 50 else { throw error }
            }
        }
        let again = IngestServer(configuration: IngestConfiguration(ports: first), sink: CollectingSink())
        let bound = try await again.start()
        #expect(Dictionary(uniqueKeysWithValues: bound.map { ($0.kind, $0.port) }) == first)
        await again.shutdown()
    }
}
