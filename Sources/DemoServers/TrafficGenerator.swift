import AsyncHTTPClient
import NIOCore
import ServiceLifecycle
import Synchronization

/// What the traffic generator sends: `GET server-1/NAME`, names in turn.
public struct TrafficConfiguration: Sendable {
    /// Requests per second; 0 sends none.
    public var rate: Double
    public var names: [String]
    /// Requests in flight at most; a tick finding this many is skipped (and counted).
    public var maxInFlight: Int
    /// How long one request may take before it counts as failed.
    public var requestTimeout: Duration

    public static let defaultNames = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                                      "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
                                      "trent", "victor", "walter"]

    public init(rate: Double = 1, names: [String] = TrafficConfiguration.defaultNames, maxInFlight: Int = 64,
                requestTimeout: Duration = .seconds(10)) {
        self.rate = rate
        self.names = names.isEmpty ? Self.defaultNames : names
        self.maxInFlight = max(1, maxInFlight)
        self.requestTimeout = requestTimeout
    }
}

/// What the generator did so far.
public struct TrafficStatistics: Sendable, Equatable {
    public var sent = 0
    /// Answered 200.
    public var succeeded = 0
    /// Another status, or no answer.
    public var failed = 0
    /// Why the last failed request failed (a status or an error), for the summary and tests.
    public var lastFailure: String?
    /// Ticks skipped: `maxInFlight` requests were still waiting.
    public var skipped = 0
}

/// Sends `GET /NAME` to server-1 at a fixed rate so the explorer fills by
/// itself. A service: on graceful shutdown it stops sending and waits for the
/// requests in flight (their traces complete before the servers stop).
final class TrafficGenerator: Service, Sendable {
    let client: HTTPClient
    /// server-1's base URL, `http://127.0.0.1:8082`.
    let target: String
    let configuration: TrafficConfiguration
    private let stats = Mutex(TrafficStatistics())
    private let inFlight = Atomic<Int>(0)

    init(client: HTTPClient, target: String, configuration: TrafficConfiguration) {
        self.client = client
        self.target = target
        self.configuration = configuration
    }

    var statistics: TrafficStatistics { stats.withLock { $0 } }

    func run() async throws {
        guard configuration.rate > 0 else { return }
        let interval = Duration.nanoseconds(Int64(max(1e9 / configuration.rate, 1e3)))
        var next = ContinuousClock.now
        var index = 0
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                if inFlight.load(ordering: .relaxed) >= configuration.maxInFlight {
                    stats.withLock { $0.skipped += 1 }
                } else {
                    let name = configuration.names[index % configuration.names.count]
                    index += 1
                    inFlight.add(1, ordering: .relaxed)
                    stats.withLock { $0.sent += 1 }
                    group.addTask { await self.send(name) }
                }
                next += interval
                guard await Self.sleepUnlessShuttingDown(until: next) else { break }
            }
        }
    }

    private func send(_ name: String) async {
        defer { inFlight.subtract(1, ordering: .relaxed) }
        var failure: String?
        do {
            let response = try await client.execute(HTTPClientRequest(url: target + "/" + name), timeout: TimeAmount(configuration.requestTimeout))
            _ = try? await response.body.collect(upTo: 4096)
            if response.status != .ok { failure = "status \(response.status.code)" }
        } catch {
            failure = "\(error)"
        }
        stats.withLock { s in
            if let failure {
                s.failed += 1
                s.lastFailure = failure
            } else {
                s.succeeded += 1
            }
        }
    }

    /// Sleeps until `deadline`; false as soon as graceful shutdown (or cancellation) begins.
    static func sleepUnlessShuttingDown(until deadline: ContinuousClock.Instant) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(until: deadline)) != nil }
            group.addTask {
                try? await gracefulShutdown()
                return false
            }
            let slept = await group.next() ?? false
            group.cancelAll()
            return slept && !Task.isShuttingDownGracefully
        }
    }
}
