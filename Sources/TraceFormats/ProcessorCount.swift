#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many cores this process may run on: its CPU affinity on Linux (so
/// under `taskset -c 0` it is one), the online count elsewhere.
public enum ProcessorCount {
    public static let available: Int = {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #if os(Linux)
        // glibc's sched_getaffinity is not in the Glibc module (it wants
        // _GNU_SOURCE); the kernel prints the same mask in /proc.
        if let allowed = allowedMask(), allowed > 0 { return min(allowed, online) }
        #endif
        return online
    }()

    /// Bits set in `Cpus_allowed:` of /proc/self/status (hex words split by commas).
    static func allowedMask() -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            var bits = 0
            for character in text.dropFirst("Cpus_allowed:".count) {
                if let digit = character.hexDigitValue { bits += digit.nonzeroBitCount }
            }
            return bits
        }
        return nil
    }
}
