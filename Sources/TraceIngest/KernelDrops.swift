#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Datagrams the kernel dropped on our own UDP sockets because their receive
/// buffer was full: lost before tracetty could see them, so without this
/// count a burst would vanish without trace. Linux keeps the figure per
/// socket in the `drops` column of /proc/net/udp (and udp6); a socket is
/// found there by its inode, which /proc/self/fd names.
enum KernelDrops {
    /// The inode of this process's UDP socket bound to `port`, if there is one (Linux).
    static func socketInode(udpPort port: Int) -> UInt64? {
        guard let entries = try? directoryEntries("/proc/self/fd") else { return nil }
        for name in entries {
            guard let fd = Int32(name) else { continue }
            var type: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0, type == Int32(SOCK_DGRAM.rawValue) else { continue }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0, boundPort(storage) == port else { continue }
            var info = stat()
            if fstat(fd, &info) == 0 { return UInt64(info.st_ino) }
        }
        return nil
    }

    /// The `drops` of each socket in `inodes`, from /proc/net/udp and udp6.
    static func drops(inodes: Set<UInt64>) -> [UInt64: Int] {
        var found: [UInt64: Int] = [:]
        for table in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = readSmallFile(table) else { continue }
            found.merge(parse(text, inodes: inodes)) { $1 }
        }
        return found
    }

    /// Rows are `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops`.
    static func parse(_ text: String, inodes: Set<UInt64>) -> [UInt64: Int] {
        var found: [UInt64: Int] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 13, let inode = UInt64(fields[9]), inodes.contains(inode),
                  let drops = Int(fields[12]) else { continue }
            found[inode] = drops
        }
        return found
    }

    private static func boundPort(_ storage: sockaddr_storage) -> Int? {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }

    private static func directoryEntries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            names.append(name)
        }
        return names
    }

    /// A /proc file (its size reads as 0, so read until EOF), at most 4 MiB.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 4 << 20 {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { bytes += chunk[0..<n] } else if n < 0, errno == EINTR { continue } else { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
