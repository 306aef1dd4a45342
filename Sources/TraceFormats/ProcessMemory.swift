#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's memory as the system sees it, for `--max-memory`
/// (`MemoryGovernor` decides what to do with it).
public enum ProcessMemory {
    /// Resident size now: /proc/self/statm's second field; nil where there is none.
    public static func residentBytes() -> Int? {
        guard let file = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The machine's memory, or the cgroup's limit (a container's share) when lower.
    public static func physicalBytes() -> Int {
        var bytes = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        if let file = fopen("/sys/fs/cgroup/memory.max", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 64)
            if fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let limit = Int(text), limit > 0 { bytes = min(bytes, limit) }
            }
        }
        return max(1, bytes)
    }

    private typealias TrimFunction = @convention(c) (Int) -> Int32
    /// glibc's malloc_trim, looked up at run time: the Glibc module does not
    /// declare it, and other C libraries do not have it.
    private static let trimFunction: TrimFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: TrimFunction.self)
    }()

    private typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
    private static let malloptFunction: MalloptFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: MalloptFunction.self)
    }()

    /// glibc gives each thread that meets a locked arena a new one, up to
    /// 8 per core, and each keeps the memory freed in it: under a mixed load
    /// (listeners, decoders, the UI, the recorder) that cost ~50 MiB of
    /// resident memory that no eviction could give back (Benchmarks/soak.py,
    /// 189 against 141 MiB at the plateau). Call before threads start.
    /// False where the C library has no such setting.
    @discardableResult
    public static func limitArenas(to count: Int32 = 2) -> Bool {
        // M_ARENA_MAX in glibc's malloc.h (not exported to Swift).
        let arenaMax: Int32 = -8
        guard let mallopt = malloptFunction else { return false }
        return mallopt(arenaMax, count) == 1
    }

    /// Buffers of at least `bytes` get pages of their own (mmap), handed back
    /// to the system when freed. glibc's default starts at 128 KiB but rises
    /// to the size of each big buffer freed, up to 32 MiB, after which
    /// batches, receive buffers and inflated bodies come from the heap and
    /// stay resident: under the soak's flood (Benchmarks/soak.py, 120 s at
    /// 500k spans/s, 256 MiB limit) the resident size rode at 240 MiB with
    /// peaks of 276; fixed at 256 KiB, 196 with peaks of 222. Setting it
    /// also turns glibc's adjustment off. Call before threads start.
    /// False where the C library has no such setting.
    @discardableResult
    public static func fixMmapThreshold(at bytes: Int32 = 256 << 10) -> Bool {
        // M_MMAP_THRESHOLD in glibc's malloc.h (not exported to Swift).
        let mmapThreshold: Int32 = -3
        guard let mallopt = malloptFunction else { return false }
        return mallopt(mmapThreshold, bytes) == 1
    }

    /// Hands free heap memory back to the system (glibc keeps freed memory
    /// in its arenas, so evicted traces would not lower the resident size).
    /// False where the C library cannot.
    @discardableResult
    public static func trim() -> Bool {
        guard let trim = trimFunction else { return false }
        _ = trim(0)
        return true
    }
}
