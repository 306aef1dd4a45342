import ArgumentParser
import Foundation
import Synchronization
import TraceExplorer
import TraceFormats
import TraceIngest
import TraceModel

/// Holds the process to `--max-memory`: ten times a second it reads the
/// resident size and applies `MemoryGovernor`'s decision: the store's byte
/// budget (it evicts its oldest traces), refusing new spans at the queue and
/// the recorder past the hard limit, and handing freed memory back to the
/// system. A thread of its own, so a busy UI does not delay it.
final class MemoryWatch: Sendable {
    struct Targets: Sendable {
        var store: SharedTraceStore?
        var queue: SpanQueue?
        var recorder: SpanRecorder?
    }

    let limitBytes: Int
    private let targets: Targets
    private let state: Mutex<(governor: MemoryGovernor, latest: MemoryStatus?, stopped: Bool, lastTrim: ContinuousClock.Instant)>
    private let done = DispatchSemaphore(value: 0)

    init(limitBytes: Int, targets: Targets) {
        self.limitBytes = limitBytes
        self.targets = targets
        let governor = MemoryGovernor(limitBytes: limitBytes)
        state = Mutex((governor, nil, false, ContinuousClock.now - .seconds(10)))
        // Until the first reading, the store may fill to the soft limit.
        targets.store?.setMaxBytes(governor.softBytes)
        tick()
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                // Reading /proc/self/statm costs microseconds; a burst of
                // 150 MB/s moves 15 MB between two readings.
                usleep(100_000)
                tick()
            }
            done.signal()
        }
        thread.name = "memory-watch"
        thread.start()
    }

    /// The last reading, for the status bar.
    var status: MemoryStatus? { state.withLock { $0.latest } }

    func stop() {
        let wasRunning = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        if wasRunning { done.wait() }
    }

    private func tick() {
        guard let resident = ProcessMemory.residentBytes() else { return }
        // Refusing first, from the reading alone: the store's lock (next) may
        // be held for a while by a refresh of a big list, and a flood does
        // not wait. (A 500k spans/s soak went to 1.3 GB under a 256 MiB limit.)
        let refuse = state.withLock { $0.governor.refusal(residentBytes: resident) }
        targets.queue?.setRefusing(refuse)
        targets.recorder?.setRefusing(refuse)
        let storeBytes = targets.store?.bytesHeld ?? 0
        let now = ContinuousClock.now
        let (decision, trimNow) = state.withLock { s -> (MemoryGovernor.Decision, Bool) in
            let decision = s.governor.decide(residentBytes: resident, storeBytes: storeBytes)
            s.latest = MemoryStatus(residentBytes: resident, limitBytes: limitBytes, refusing: decision.refuse)
            // malloc_trim walks the heap: at most once a second.
            let trimNow = decision.trim && now - s.lastTrim > .seconds(1)
            if trimNow { s.lastTrim = now }
            return (decision, trimNow)
        }
        targets.store?.setMaxBytes(decision.storeBudget)
        targets.queue?.setRefusing(decision.refuse)
        targets.recorder?.setRefusing(decision.refuse)
        if trimNow { ProcessMemory.trim() }
    }
}

/// `--max-memory SIZE`, for the commands that keep spans in memory.
struct MemoryOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Keep the process under SIZE (e.g. 512MiB, 2G): the oldest traces are evicted near it, new spans refused at it. Default: 1 GiB or half the machine's memory, whichever is smaller.",
        valueName: "size"))
    var maxMemory: String?

    func validate() throws {
        if let maxMemory, MemoryGovernor.parseSize(maxMemory) == nil {
            throw ValidationError("--max-memory: '\(maxMemory)' is not a size (say 512MiB, 2G or a number of bytes)")
        }
        if let bytes = maxMemory.flatMap(MemoryGovernor.parseSize), bytes < 16 << 20 {
            throw ValidationError("--max-memory must be at least 16MiB")
        }
    }

    var limitBytes: Int {
        maxMemory.flatMap(MemoryGovernor.parseSize) ?? MemoryGovernor.defaultLimit(physicalBytes: ProcessMemory.physicalBytes())
    }
}

/// A feed whose status also tells the memory limit's side: traces evicted
/// and spans refused for it, and the resident size once it runs short.
struct MemoryReportingFeed: ExplorerFeed {
    let inner: any ExplorerFeed
    let watch: MemoryWatch
    let queue: SpanQueue?

    func poll(into store: SharedTraceStore) -> IngestStatus {
        var status = inner.poll(into: store)
        let counters = store.counters
        status.tracesEvictedForMemory = counters.tracesEvictedForMemory
        status.spansRefusedMemory = counters.spansRefusedMemory + (queue?.droppedForMemory ?? 0)
        status.memory = watch.status
        return status
    }

    func control(_ command: ReplayCommand) { inner.control(command) }
}
