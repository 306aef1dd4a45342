import Synchronization
import TraceFormats
import TraceModel

/// What every listener received, accepted and refused, plus what Jaeger
/// clients report about themselves (spans they dropped before sending, and
/// `seqNo` gaps: batches lost between them and us). Thread-safe: listeners
/// on NIO threads commit one delta per read burst; the UI and `record` read
/// value snapshots.
public final class IngestCounters: Sendable {
    /// Distinct malformed reasons kept per listener; further reasons share the "other" bucket.
    public let maxReasonsPerListener: Int
    /// Client processes whose cumulative stats and seqNo are tracked; the least
    /// recently heard is retired (its last figures kept in the totals) to make room.
    public let maxTrackedClients: Int
    /// Distinct trace ids counted exactly per listener; beyond it the count is a lower bound.
    public let maxTrackedTraces: Int

    private let state: Mutex<CountersState>

    public init(maxReasonsPerListener: Int = 32, maxTrackedClients: Int = 4096, maxTrackedTraces: Int = 100_000) {
        self.maxReasonsPerListener = max(1, maxReasonsPerListener)
        self.maxTrackedClients = max(1, maxTrackedClients)
        self.maxTrackedTraces = max(0, maxTrackedTraces)
        state = Mutex(CountersState())
    }

    /// Makes a listener appear in snapshots (with zeros) before anything arrives.
    public func register(_ listener: ListenerKind) {
        state.withLock { s in
            if s.listeners[listener] == nil { s.listeners[listener] = ListenerState() }
        }
    }

    /// A datagram or body that could not be used at all. `reason` should come
    /// from a small set (it is a bucket key); `example` is the full text.
    public func recordMalformed(_ listener: ListenerKind, reason: String, example: String, bytes: Int = 0) {
        var delta = ListenerDelta()
        delta.received = 1
        delta.bytes = bytes
        delta.malformed.append(MalformedEvent(reason: reason, example: example))
        commit(listener, delta)
    }

    /// A connection closed by us after `ReceiverLimits.idleTimeout` with no
    /// request in progress: a bound that bit, not an error of the sender's.
    public func recordClosedIdle(_ listener: ListenerKind) {
        var delta = ListenerDelta()
        delta.closedIdle = 1
        commit(listener, delta)
    }

    /// Spans that came in a good batch and were accepted.
    public func recordAccepted(_ listener: ListenerKind, spans: [Span], bytes: Int = 0, rejected: Int = 0,
                               rejection: String? = nil) {
        var delta = ListenerDelta()
        delta.received = 1
        delta.bytes = bytes
        delta.add(spans)
        delta.rejected = rejected
        delta.lastRejection = rejection
        commit(listener, delta)
    }

    func commit(_ listener: ListenerKind, _ delta: ListenerDelta) {
        guard !delta.isEmpty else { return }
        let reasonsBound = maxReasonsPerListener, clientBound = maxTrackedClients, traceBound = maxTrackedTraces
        state.withLock { s in
            // Mutated in place: a copy out of the dictionary would copy the
            // (up to 100k-entry) trace set on every datagram.
            Self.apply(delta, to: &s.listeners[listener, default: ListenerState()],
                       reasonsBound: reasonsBound, traceBound: traceBound)
            for report in delta.clients {
                s.record(report, bound: clientBound)
            }
        }
    }

    private static func apply(_ delta: ListenerDelta, to l: inout ListenerState, reasonsBound: Int, traceBound: Int) {
        l.received += delta.received
        l.bytes += delta.bytes
        l.spansAccepted += delta.accepted
        l.spansRejected += delta.rejected
        l.closedIdle += delta.closedIdle
        l.queueDrops += delta.queueDropped
        if let r = delta.lastRejection { l.lastRejection = r }
        for event in delta.malformed {
            l.malformed += 1
            let key: String
            if l.reasons[event.reason] != nil || l.reasons.count < reasonsBound {
                key = event.reason
            } else {
                key = MalformedReason.otherKey
            }
            l.reasons[key, default: ReasonState(firstSeen: l.malformed)].count += 1
            l.reasons[key]?.lastExample = event.example
        }
        for trace in delta.traces where !l.tracesSaturated {
            if l.traces.count >= traceBound {
                if !l.traces.contains(trace) { l.tracesSaturated = true }
            } else {
                l.traces.insert(trace)
            }
        }
    }

    /// A socket error the listener lived through (an accept that failed for
    /// want of file descriptors, an ICMP error on a UDP socket): kept as the
    /// listener's latest, and as the reason should it fail afterwards.
    public func recordSocketError(_ listener: ListenerKind, _ description: String) {
        state.withLock { s in s.listeners[listener, default: ListenerState()].lastSocketError = description }
    }

    /// The kernel's count of datagrams it dropped on this listener's socket
    /// (receive buffer full): a running total, so it is set, not added.
    public func recordKernelDrops(_ listener: ListenerKind, _ total: Int) {
        state.withLock { s in s.listeners[listener, default: ListenerState()].kernelDrops = total }
    }

    /// The listener stopped for good while the others go on (its socket was
    /// closed under it, its server task ended). The first reason is kept;
    /// without one, the last socket error it saw is the reason.
    public func recordFailure(_ listener: ListenerKind, reason: String?) {
        state.withLock { s in
            var l = s.listeners[listener] ?? ListenerState()
            if l.failure == nil { l.failure = reason ?? l.lastSocketError ?? "its socket was closed" }
            s.listeners[listener] = l
        }
    }

    public func snapshot() -> IngestSnapshot {
        state.withLock { s in s.snapshot() }
    }
}

// MARK: - Snapshot (value types)

/// One malformed-input bucket of a listener.
public struct MalformedReason: Sendable, Hashable {
    /// Where reasons beyond `maxReasonsPerListener` are counted.
    public static let otherKey = "other"
    public var reason: String
    public var count: Int
    /// The full text of the latest input counted here, e.g.
    /// `thrift compact: byte 3: truncated: 2 more bytes needed, 0 left`.
    public var lastExample: String

    public init(reason: String, count: Int, lastExample: String) {
        self.reason = reason
        self.count = count
        self.lastExample = lastExample
    }
}

/// One listener's figures.
public struct ListenerFigures: Sendable, Hashable {
    public var kind: ListenerKind
    /// Datagrams (UDP) or requests (HTTP), good or bad.
    public var received: Int
    public var bytes: Int
    public var spansAccepted: Int
    /// Distinct trace ids among the accepted spans (a lower bound when `tracesSaturated`).
    public var traces: Int
    public var tracesSaturated: Bool
    /// Spans skipped inside otherwise good batches (e.g. a zero trace id).
    public var spansRejected: Int
    public var lastRejection: String?
    /// Datagrams or requests refused as a whole.
    public var malformed: Int
    /// Most frequent first.
    public var malformedReasons: [MalformedReason]
    /// HTTP and gRPC: connections we closed for being idle past the idle timeout.
    public var connectionsClosedIdle: Int
    /// Datagrams the kernel dropped on the socket (receive buffer full) before
    /// tracetty could read them: with `received`, what the senders sent.
    public var kernelDrops: Int
    /// UDP: datagrams read but dropped because the queue before the decode
    /// thread was full (`IngestConfiguration.udpDecodeQueueBytes`).
    public var queueDrops: Int
    /// Set once the listener stopped for good (the others keep running): why.
    public var failure: String?
    /// The latest socket error it went on after.
    public var lastSocketError: String?

    public init(kind: ListenerKind, received: Int = 0, bytes: Int = 0, spansAccepted: Int = 0, traces: Int = 0,
                tracesSaturated: Bool = false, spansRejected: Int = 0, lastRejection: String? = nil,
                malformed: Int = 0, malformedReasons: [MalformedReason] = [], connectionsClosedIdle: Int = 0,
                kernelDrops: Int = 0, queueDrops: Int = 0, failure: String? = nil, lastSocketError: String? = nil) {
        self.kind = kind
        self.received = received
        self.bytes = bytes
        self.spansAccepted = spansAccepted
        self.traces = traces
        self.tracesSaturated = tracesSaturated
        self.spansRejected = spansRejected
        self.lastRejection = lastRejection
        self.malformed = malformed
        self.malformedReasons = malformedReasons
        self.connectionsClosedIdle = connectionsClosedIdle
        self.kernelDrops = kernelDrops
        self.queueDrops = queueDrops
        self.failure = failure
        self.lastSocketError = lastSocketError
    }

    /// "datagrams" or "requests".
    public var unit: String { kind.transport == "udp" ? "datagrams" : "requests" }

    /// `jaeger-compact: 1,234 spans in 56 traces, 3 datagrams, 1 malformed (thrift compact: truncated 1, last "...")`
    public var summaryLine: String {
        var line = "\(kind.rawValue): \(grouped(spansAccepted)) spans in \(grouped(traces))\(tracesSaturated ? "+" : "") traces, "
            + "\(grouped(received)) \(unit), \(grouped(malformed)) malformed"
        if !malformedReasons.isEmpty {
            line += " (" + malformedReasons.map { "\($0.reason): \(grouped($0.count)), last \"\($0.lastExample)\"" }
                .joined(separator: "; ") + ")"
        }
        if spansRejected > 0 {
            line += ", \(grouped(spansRejected)) spans rejected"
            if let lastRejection { line += " (last \"\(lastRejection)\")" }
        }
        if connectionsClosedIdle > 0 {
            line += ", \(grouped(connectionsClosedIdle)) idle connection\(connectionsClosedIdle == 1 ? "" : "s") closed"
        }
        if kernelDrops > 0 {
            line += ", \(grouped(kernelDrops)) \(unit) dropped by the kernel (receive buffer full)"
        }
        if queueDrops > 0 {
            line += ", \(grouped(queueDrops)) \(unit) dropped waiting to be decoded (decode queue full)"
        }
        if let failure {
            line += ", FAILED: \(failure)"
        } else if let lastSocketError {
            line += ", last socket error: \(lastSocketError)"
        }
        return line
    }
}

/// What one service's clients said they dropped, summed over their processes
/// (the latest cumulative figure of each process).
public struct ServiceClientFigures: Sendable, Hashable {
    public var service: String
    public var processes: Int
    public var dropped: ClientStats
    /// Batches that never arrived, from `seqNo` gaps.
    public var missingBatches: Int64
    /// A process's seqNo went back (restart) or its stats went down.
    public var restarts: Int

    public init(service: String, processes: Int = 0, dropped: ClientStats = ClientStats(), missingBatches: Int64 = 0,
                restarts: Int = 0) {
        self.service = service
        self.processes = processes
        self.dropped = dropped
        self.missingBatches = missingBatches
        self.restarts = restarts
    }

    public var droppedTotal: Int64 {
        dropped.fullQueueDroppedSpans + dropped.tooLargeDroppedSpans + dropped.failedToEmitSpans
    }
}

public struct IngestSnapshot: Sendable, Hashable {
    /// In `ListenerKind` order: every registered listener, and any that counted something.
    public var listeners: [ListenerFigures]
    /// By service name.
    public var clients: [ServiceClientFigures]

    public init(listeners: [ListenerFigures] = [], clients: [ServiceClientFigures] = []) {
        self.listeners = listeners
        self.clients = clients
    }

    public subscript(_ kind: ListenerKind) -> ListenerFigures {
        listeners.first { $0.kind == kind } ?? ListenerFigures(kind: kind)
    }

    public var received: Int { listeners.reduce(0) { $0 + $1.received } }
    public var spansAccepted: Int { listeners.reduce(0) { $0 + $1.spansAccepted } }
    public var spansRejected: Int { listeners.reduce(0) { $0 + $1.spansRejected } }
    public var malformed: Int { listeners.reduce(0) { $0 + $1.malformed } }
    public var kernelDrops: Int { listeners.reduce(0) { $0 + $1.kernelDrops } }
    /// UDP datagrams read but dropped before decoding (all listeners).
    public var queueDrops: Int { listeners.reduce(0) { $0 + $1.queueDrops } }
    /// Spans clients reported dropping before they sent (all services).
    public var clientDropped: Int64 { clients.reduce(0) { $0 + $1.droppedTotal } }
    /// Batches lost between clients and us, from `seqNo` gaps (all services).
    public var missingBatches: Int64 { clients.reduce(0) { $0 + $1.missingBatches } }

    /// Listeners that stopped for good (the others kept running).
    public var failedListeners: [ListenerFigures] { listeners.filter { $0.failure != nil } }

    /// One line per listener, then one line about client-side losses when there were any.
    public var summaryLines: [String] {
        var lines = listeners.map(\.summaryLine)
        let lossy = clients.filter { $0.droppedTotal > 0 || $0.missingBatches > 0 }
        if !lossy.isEmpty {
            lines.append("clients: " + lossy.map { c in
                var parts: [String] = []
                if c.dropped.fullQueueDroppedSpans > 0 { parts.append("\(grouped(c.dropped.fullQueueDroppedSpans)) dropped (queue full)") }
                if c.dropped.tooLargeDroppedSpans > 0 { parts.append("\(grouped(c.dropped.tooLargeDroppedSpans)) dropped (too large)") }
                if c.dropped.failedToEmitSpans > 0 { parts.append("\(grouped(c.dropped.failedToEmitSpans)) failed to emit") }
                if c.missingBatches > 0 { parts.append("\(grouped(c.missingBatches)) batches missing (seqNo gaps)") }
                return "\(c.service): " + parts.joined(separator: ", ")
            }.joined(separator: "; "))
        }
        return lines
    }

    public var summaryText: String { summaryLines.joined(separator: "\n") }
}

/// `1234567` -> `1,234,567`.
func grouped<I: BinaryInteger>(_ n: I) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}

// MARK: - Deltas committed by the listeners

struct MalformedEvent {
    var reason: String
    var example: String
}

/// What a Jaeger client said about itself in one batch.
struct ClientReport {
    var service: String
    /// Identifies one client process of the service (client-uuid tag, or
    /// hostname/ip, plus the UDP source address when there is one).
    var identity: String
    var seqNo: Int64?
    var stats: ClientStats?
}

/// A listener's counts since its last commit (one read burst, one request).
struct ListenerDelta {
    var received = 0
    var bytes = 0
    var accepted = 0
    var rejected = 0
    var lastRejection: String?
    var malformed: [MalformedEvent] = []
    var clients: [ClientReport] = []
    var closedIdle = 0
    var queueDropped = 0
    /// Trace ids of accepted spans, consecutive duplicates folded.
    var traces: [TraceID] = []

    var isEmpty: Bool {
        received == 0 && accepted == 0 && rejected == 0 && malformed.isEmpty && clients.isEmpty && bytes == 0 && closedIdle == 0
            && queueDropped == 0
    }

    mutating func add(_ spans: [Span]) {
        accepted += spans.count
        var last = traces.last
        for span in spans where span.traceID != last {
            traces.append(span.traceID)
            last = span.traceID
        }
    }
}

// MARK: - Locked state

struct ReasonState {
    var count = 0
    var lastExample = ""
    var firstSeen: Int
}

struct ListenerState {
    var received = 0
    var bytes = 0
    var spansAccepted = 0
    var spansRejected = 0
    var lastRejection: String?
    var malformed = 0
    var reasons: [String: ReasonState] = [:]
    var traces: Set<TraceID> = []
    var tracesSaturated = false
    var closedIdle = 0
    var kernelDrops = 0
    var queueDrops = 0
    var failure: String?
    var lastSocketError: String?
}

struct ClientKey: Hashable {
    var service: String
    var identity: String
}

struct ClientState {
    var lastSeqNo: Int64?
    var stats = ClientStats()
    var lastHeard: UInt64
}

struct ServiceTotals {
    /// Final figures of processes that restarted or were retired from the table.
    var retired = ClientStats()
    var missingBatches: Int64 = 0
    var restarts = 0
}

struct CountersState {
    var listeners: [ListenerKind: ListenerState] = [:]
    var clients: [ClientKey: ClientState] = [:]
    var services: [String: ServiceTotals] = [:]
    var tick: UInt64 = 0

    mutating func record(_ report: ClientReport, bound: Int) {
        guard report.seqNo != nil || report.stats != nil else { return }
        tick &+= 1
        let key = ClientKey(service: report.service, identity: report.identity)
        if clients[key] == nil && clients.count >= bound { retireLeastRecent() }
        var client = clients[key] ?? ClientState(lastHeard: tick)
        var totals = services[report.service] ?? ServiceTotals()
        client.lastHeard = tick
        var restarted = false
        if let seq = report.seqNo {
            if let last = client.lastSeqNo {
                if seq > last {
                    totals.missingBatches += seq - last - 1
                } else if seq < last {
                    restarted = true  // a new process on the same identity; a duplicate (seq == last) is ignored
                }
            }
            client.lastSeqNo = seq
        }
        if let stats = report.stats {
            // Cumulative per process: a figure that goes down means the counters restarted.
            if stats.fullQueueDroppedSpans < client.stats.fullQueueDroppedSpans
                || stats.tooLargeDroppedSpans < client.stats.tooLargeDroppedSpans
                || stats.failedToEmitSpans < client.stats.failedToEmitSpans {
                restarted = true
            }
            if restarted {
                totals.retired.add(client.stats)
            }
            client.stats = stats
        }
        if restarted { totals.restarts += 1 }
        clients[key] = client
        services[report.service] = totals
    }

    private mutating func retireLeastRecent() {
        guard let oldest = clients.min(by: { $0.value.lastHeard < $1.value.lastHeard }) else { return }
        services[oldest.key.service, default: ServiceTotals()].retired.add(oldest.value.stats)
        clients[oldest.key] = nil
    }

    func snapshot() -> IngestSnapshot {
        var figures: [ListenerFigures] = []
        for kind in ListenerKind.allCases {
            guard let l = listeners[kind] else { continue }
            let reasons = l.reasons
                .sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.value.firstSeen < $1.value.firstSeen }
                .map { MalformedReason(reason: $0.key, count: $0.value.count, lastExample: $0.value.lastExample) }
            figures.append(ListenerFigures(
                kind: kind, received: l.received, bytes: l.bytes, spansAccepted: l.spansAccepted,
                traces: l.traces.count, tracesSaturated: l.tracesSaturated, spansRejected: l.spansRejected,
                lastRejection: l.lastRejection, malformed: l.malformed, malformedReasons: reasons,
                connectionsClosedIdle: l.closedIdle, kernelDrops: l.kernelDrops, queueDrops: l.queueDrops, failure: l.failure,
                lastSocketError: l.lastSocketError))
        }
        var perService: [String: ServiceClientFigures] = [:]
        for (service, totals) in services {
            perService[service] = ServiceClientFigures(service: service, dropped: totals.retired,
                                                       missingBatches: totals.missingBatches, restarts: totals.restarts)
        }
        for (key, client) in clients {
            var f = perService[key.service] ?? ServiceClientFigures(service: key.service)
            f.processes += 1
            f.dropped.add(client.stats)
            perService[key.service] = f
        }
        return IngestSnapshot(listeners: figures, clients: perService.values.sorted { $0.service < $1.service })
    }
}

extension ClientStats {
    mutating func add(_ other: ClientStats) {
        fullQueueDroppedSpans += other.fullQueueDroppedSpans
        tooLargeDroppedSpans += other.tooLargeDroppedSpans
        failedToEmitSpans += other.failedToEmitSpans
    }
}
