import Foundation
import Testing

/// `@Suite(.ownThreads)`: the suite's tests run on threads of their own
/// instead of Swift's concurrency pool. These tests block while they wait
/// for child processes and tmux panes, and on 2 cores the pool has two
/// threads, which every other suite's async work needs (a tracer's run
/// loop, the demo's HTTP client, gRPC connections): with both held by
/// waiting end-to-end tests, those timed out in CI runs.
struct OwnThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        // A test's code (and the tasks it starts, which inherit the
        // preference) runs on `BlockingThreads`; the suite itself needs nothing.
        guard testCase != nil else { return try await function() }
        await Self.turns.acquire()
        do {
            try await withTaskExecutorPreference(BlockingThreads.shared) { try await function() }
        } catch {
            await Self.turns.release()
            throw error
        }
        await Self.turns.release()
    }

    /// At most two at a time, as when they ran on the pool: each starts
    /// processes and terminals, and twenty at once overloaded 2 cores until
    /// in-process servers missed their 2 s connect timeouts.
    static let turns = Turns(count: 2)
}

/// Permits waited for without holding a thread.
actor Turns {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        if free > 0 { free -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    static var ownThreads: Self { OwnThreadsTrait() }
}

/// A task executor that never leaves a job waiting behind a blocked one: it
/// starts a thread whenever the queued jobs outnumber its threads that are
/// not running one. Threads stay for the process's life, idle when unused.
final class BlockingThreads: TaskExecutor, @unchecked Sendable {
    static let shared = BlockingThreads()

    // All guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var threads = 0
    private var busy = 0
    private var mine: Set<UInt> = []

    /// Whether the calling thread is one of these.
    var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return mine.contains(UInt(bitPattern: Int(bitPattern: pthread_self())))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        if threads - busy < jobs.count {
            threads += 1
            let thread = Thread { [self] in work() }
            thread.stackSize = 8 << 20
            thread.start()
        }
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        condition.lock()
        mine.insert(UInt(bitPattern: Int(bitPattern: pthread_self())))
        while true {
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            busy += 1
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
            condition.lock()
            busy -= 1
        }
    }
}

@Suite(.ownThreads) struct OwnThreadsTests {
    /// Off the pool: a sync test and an async one both run on one of
    /// `BlockingThreads`' threads, and a test that blocks does not hold up
    /// another's jobs (were it to, this test would hang: the time limit
    /// covers that, and waiting for its turn behind the other suites).
    @Test func testsRunOnTheirOwnThreads() {
        #expect(BlockingThreads.shared.isCurrent)
    }

    @Test(.timeLimit(.minutes(15))) func aBlockedJobLeavesTheOthersRunning() async {
        #expect(BlockingThreads.shared.isCurrent)
        let gate = DispatchSemaphore(value: 0)
        async let blocked: Void = { gate.wait() }()  // holds its thread until the other task signals
        let signaller = Task { gate.signal() }
        await signaller.value
        await blocked
    }
}
