/// Keeps a process under a memory limit (`--max-memory`), as the OTel
/// Collector's memory limiter does: a soft limit where the store gives up
/// its oldest traces, and the hard limit where new spans are refused until
/// the process is back under it. Pure policy: a caller reads the resident
/// size now and then (`decide`) and applies what it says.
public struct MemoryGovernor: Sendable {
    public let limitBytes: Int
    /// The soft limit: the store's budget aims to keep the process here.
    public var softBytes: Int { limitBytes / 100 * 85 }
    /// Below this the store's budget never goes, so a process whose other
    /// memory alone nears the limit still shows the newest traces.
    public var minimumStoreBytes: Int { limitBytes / 8 }
    /// Refusing stops once the process is back under this: just under the
    /// limit, not the soft limit, since the allocator may keep freed memory
    /// (a process that stays between the two would refuse for good).
    public var resumeBytes: Int { limitBytes / 100 * 98 }
    public private(set) var isRefusing = false

    public struct Decision: Sendable, Equatable {
        /// What the store may hold (`TraceStore.setMaxBytes`).
        public var storeBudget: Int
        /// Refuse new spans (the queue and the recorder drop and count them).
        public var refuse: Bool
        /// Over the soft limit: hand freed memory back to the system (`malloc_trim`).
        public var trim: Bool
    }

    public init(limitBytes: Int) {
        self.limitBytes = max(1 << 20, limitBytes)
    }

    /// - Parameters:
    ///   - residentBytes: the process's resident size now.
    ///   - storeBytes: what the store holds (`TraceStore.bytesHeld`); 0 without one.
    public mutating func decide(residentBytes: Int, storeBytes: Int) -> Decision {
        // Everything but the stored traces: buffers, queues, the UI's lists,
        // the allocator's free memory not yet handed back.
        let rest = max(0, residentBytes - storeBytes)
        let budget = min(softBytes, max(minimumStoreBytes, softBytes - rest))
        return Decision(storeBudget: budget, refuse: refusal(residentBytes: residentBytes), trim: residentBytes > softBytes)
    }

    /// Whether new spans are refused, from the resident size alone: past the
    /// limit they are, until back under `resumeBytes`. Needs nothing from the
    /// store, so it can be decided while the store's lock is held elsewhere.
    public mutating func refusal(residentBytes: Int) -> Bool {
        if residentBytes > limitBytes {
            isRefusing = true
        } else if residentBytes < resumeBytes {
            isRefusing = false
        }
        return isRefusing
    }

    /// The default limit: 1 GiB, or half the machine's memory when that is smaller.
    public static func defaultLimit(physicalBytes: Int) -> Int {
        min(1 << 30, max(1 << 20, physicalBytes / 2))
    }

    /// Parses a size: a number of bytes, or with a unit: K, M, G (or KiB,
    /// MiB, GiB: powers of 1,024) and KB, MB, GB (powers of 1,000); case is ignored.
    public static func parseSize(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !digits.isEmpty, let number = Double(digits), number.isFinite, number >= 0 else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace.lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kib": scale = 1024
        case "m", "mib": scale = 1024 * 1024
        case "g", "gib": scale = 1024 * 1024 * 1024
        case "kb": scale = 1e3
        case "mb": scale = 1e6
        case "gb": scale = 1e9
        default: return nil
        }
        let bytes = number * scale
        guard bytes < 9e18 else { return nil }
        return Int(bytes)
    }
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
