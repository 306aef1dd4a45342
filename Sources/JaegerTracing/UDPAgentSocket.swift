#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A UDP socket connected to the agent (as jaeger-client-go's `DialUDP`):
/// sends need no address, and a refused port shows up as a failed send.
/// Plain POSIX: a `sendmsg` per datagram, header, spans and trailer
/// gathered from their own buffers without a copy.
final class UDPAgentSocket: Sendable {
    let descriptor: Int32

    init(host: String, port: Int, sendBufferBytes: Int) throws(JaegerTracerError) {
        guard (1...65535).contains(port) else {
            throw .cannotResolveAgent(host: host, port: port, reason: "port out of range")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_DGRAM
        #else
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .cannotResolveAgent(host: host, port: port, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastErrno = errno; continue }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                var size = Int32(clamping: sendBufferBytes)
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                descriptor = fd
                return
            }
            lastErrno = errno
            close(fd)
        }
        throw .socket(operation: "connect to \(host):\(port)", errno: lastErrno)
    }

    deinit { close(descriptor) }

    /// Sends the three parts as one datagram; false when the kernel refused it.
    func send(_ head: [UInt8], _ body: UnsafeBufferPointer<UInt8>, _ tail: [UInt8]) -> Bool {
        let expected = head.count + body.count + tail.count
        let sent: Int = head.withUnsafeBufferPointer { h in
            tail.withUnsafeBufferPointer { t in
                var vectors = (
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress), iov_len: h.count),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: t.baseAddress), iov_len: t.count))
                return withUnsafeMutableBytes(of: &vectors) { raw in
                    var message = msghdr()
                    message.msg_iov = raw.baseAddress?.assumingMemoryBound(to: iovec.self)
                    message.msg_iovlen = 3
                    // Never block the flushing task: a full send buffer counts as a failed send.
                    var result: Int
                    repeat { result = sendmsg(descriptor, &message, Int32(MSG_DONTWAIT)) } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        return sent == expected
    }
}

/// Process facts jaeger-client-go reports as tags.
enum HostFacts {
    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first IPv4 address of an interface that is up and not loopback
    /// (jaeger-client-go's `HostIP`), else 127.0.0.1.
    static func ipv4() -> String {
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&list) == 0 else { return "127.0.0.1" }
        defer { freeifaddrs(list) }
        var current = list
        while let entry = current {
            current = entry.pointee.ifa_next
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0
            else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 -> Bool in
                var raw = ipv4.pointee.sin_addr
                return inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil
            }
            if ok { return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
        return "127.0.0.1"
    }
}
