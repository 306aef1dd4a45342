import ArgumentParser
import Foundation
import Synchronization
import TraceModel
import TraceFormats
import TraceIngest
import TraceExplorer

struct ReplayDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Play dumps at their original pace: into the live explorer, or (--to URL) to another receiver.",
        discussion: """
            A span is played when it ended, as a tracer would have sent it. Keys in the explorer: + - speed \
            (x0.1 to x1000), p or Space pause, . step to the next span, > jump ahead 10 s. --to sends the spans \
            instead: otlp-http://HOST:4318 (OTLP protobuf), otlp-grpc://HOST:4317 (OTLP over gRPC, one HTTP/2 \
            connection), jaeger-udp://HOST:6831 (Thrift compact emitBatch), zipkin://HOST:9411 (Zipkin v2 JSON). \
            TRACETTY_TOKEN, when set, is sent as authorization: Bearer TOKEN over HTTP and gRPC.
            """
    )

    @OptionGroup var dump: DumpOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Speed: 1 is the original pace, 10 ten times faster, 0.5 half; max: as fast as possible.")
    var speed: ReplaySpeed = ReplaySpeed(value: 1)

    @Option(help: ArgumentHelp("Start this far into the dump (30s, 2m, 1h) or at a time (2026-11-27T23:22:30Z).", valueName: "offset|time"))
    var from: ReplayStart?

    @Flag(help: "Start over at the end (new trace ids each time round, so nothing is counted twice).")
    var loop = false

    @Option(help: ArgumentHelp("Send to another receiver instead of the screen: otlp-http://HOST:PORT, otlp-grpc://HOST:PORT, jaeger-udp://HOST:PORT or zipkin://HOST:PORT.",
                               valueName: "url"))
    var to: String?

    @Flag(help: "With --to: new trace ids, so that the same dump can be sent more than once.")
    var newIds = false

    @Option(help: "Colours: auto (NO_COLOR and the terminal decide), always (256 colours), never.")
    var color: ColorChoice = .auto

    func validate() throws {
        if let to { _ = try Self.target(to) }
        if newIds && to == nil { throw ValidationError("--new-ids goes with --to") }
        // Standard input can be read once: not again for a loop, nor twice for a filter pass.
        if dump.files.contains("-") && (loop || (to != nil && filter.filter != nil)) {
            throw ValidationError("- (standard input) cannot be replayed with --loop, or with --to and --filter")
        }
    }

    static func target(_ url: String) throws -> ReplayTarget {
        do {
            return try ReplayTarget(parsing: url)
        } catch {
            throw ValidationError("--to \(url): \(error)")
        }
    }

    func run() throws {
        let query = try filter.query()
        if let to {
            try sendTo(try Self.target(to), query: query)
            return
        }
        let store = SharedTraceStore(limits: dump.store.limits)
        let memory = MemoryWatch(limitBytes: dump.store.memory.limitBytes, targets: .init(store: store))
        defer { memory.stop() }
        // On screen the filter is the list's, judging traces as they grow (as `live --filter`).
        let feed = ReplayFeed(files: dump.files, store: store, speed: speed.value, start: from?.start ?? .beginning, loop: loop)
        feed.start()
        let title = "replay " + (dump.files.count == 1 ? dump.files[0] : "\(dump.files.count) files")
        var explorer = ExplorerLoop(store: store, feed: MemoryReportingFeed(inner: feed, watch: memory, queue: nil), title: title,
                                    colorMode: color.mode, utcOffsetSeconds: dump.store.utcOffsetSeconds)
        explorer.follow = true
        explorer.filter = query
        explorer.rawTimes = dump.store.rawTimes
        let exit = try explorer.run()
        for message in feed.reports { printError("tracetty: " + message) }
        if exit != 0 { throw ExitCode(exit) }
    }

    /// `--to`: the schedule drives a sender on this thread (the main thread, not a pool thread: an
    /// otlp-grpc send waits for its answer); progress on stderr each second.
    func sendTo(_ target: ReplayTarget, query: TraceQuery?) throws {
        // A filter judges whole traces: read the dump once to know which, then play only those.
        var keep: Set<TraceID>?
        if let query {
            // Unbounded: a trace evicted or cut short during this pass would be judged wrongly.
            var unbounded = dump
            unbounded.store.maxSpans = Int.max / 2
            unbounded.store.maxSpansPerTrace = Int.max / 2
            let (store, _) = try unbounded.loadWithoutUI(emptyIsAnError: true)
            keep = Set(store.withStore { $0.traceIDs(matching: query) })
        }
        let feed = ReplayFeed(files: dump.files, store: SharedTraceStore(limits: dump.store.limits), speed: speed.value,
                              start: from?.start ?? .beginning, loop: loop, keep: keep)
        let sender = ReplaySender(target: target, newIDs: newIds)
        // A receiver started with a token wants it on every request.
        if let token = ProcessInfo.processInfo.environment["TRACETTY_TOKEN"], !token.isEmpty { sender.authorization = "Bearer " + token }
        defer { sender.close() }
        feed.start()
        var lastReport = ContinuousClock.now
        var lastError: String?
        while true {
            let (due, status) = feed.takeDue(limit: 10_000)
            if !due.isEmpty, let error = sender.send(due) {
                let text = "\(error)"
                if text != lastError { printError("tracetty: replay --to \(target): \(text)") }
                lastError = text
            }
            if status.finished {
                // A round that played nothing would loop for ever.
                if loop && status.played > 0 {
                    feed.startOver()
                    sender.rekey()
                    continue
                }
                break
            }
            if ContinuousClock.now - lastReport >= .seconds(1) {
                lastReport = ContinuousClock.now
                printError("tracetty: replay: \(sender.stats.spansSent) spans sent, \(Int(status.percent))%")
            }
            if due.isEmpty { feed.waitForWork(maxMilliseconds: 50) }
        }
        for message in feed.reports { printError("tracetty: " + message) }
        let stats = sender.stats
        printError("tracetty: replay: \(stats.spansSent) spans sent to \(target) in \(stats.messages) messages"
                   + (stats.spansFailed > 0 ? ", \(stats.spansFailed) failed" : ""))
        if stats.spansSent == 0 {
            // Spans that failed were there: their error is said above.
            let empty = feed.reports.isEmpty && stats.spansFailed == 0
            printError("tracetty: replay: nothing was sent" + (empty ? " (no span in \(dump.files.joined(separator: ", ")))" : ""))
            throw ExitCode(1)
        }
    }
}

/// `--speed 10`, `--speed 0.5`, `--speed max`.
struct ReplaySpeed: ExpressibleByArgument {
    var value: Double

    init(value: Double) { self.value = value }

    /// `--help` says `1`, not the struct.
    var defaultValueDescription: String { value == ReplaySchedule.unlimited ? "max" : String(format: "%g", value) }

    init?(argument: String) {
        if argument == "max" || argument == "unlimited" {
            value = ReplaySchedule.unlimited
            return
        }
        guard let number = Double(argument.hasPrefix("x") ? String(argument.dropFirst()) : argument),
              number >= ReplaySchedule.minimumSpeed, number <= ReplaySchedule.maximumSpeed else { return nil }
        value = number
    }
}

/// `--request-timeout 30s`: a number and a unit (ns, us, ms, s, m, h).
struct DurationArgument: ExpressibleByArgument {
    static let smallest: Duration = .milliseconds(1)
    static let largest: Duration = .seconds(24 * 3600)

    var duration: Duration
    /// As given, for messages.
    var text: String

    init(_ duration: Duration) {
        self.duration = duration
        text = "\(duration.components.seconds)s"
    }

    /// A bare number is seconds here.
    init?(argument: String) {
        guard let nanos = Self.nanoseconds(argument, bareSeconds: true), nanos <= UInt64(Int64.max) else { return nil }
        duration = .nanoseconds(Int64(nanos))
        text = argument
    }

    var defaultValueDescription: String { text }

    /// `500ms` -> 500,000,000; nil for anything else, or past about 292 years.
    static func nanoseconds(_ text: String, bareSeconds: Bool) -> UInt64? {
        let units: [(String, Double)] = [("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var candidates = units.filter { text.hasSuffix($0.0) }.map { (text.dropLast($0.0.count), $0.1) }
        if bareSeconds { candidates.append((Substring(text), 1e9)) }
        for (digits, scale) in candidates {
            // Finite and in range: `inf` or `1e30s` would trap in the conversion.
            if let number = Double(digits), number >= 0, number * scale < 9.2e18 {
                return UInt64(number * scale)
            }
        }
        return nil
    }
}

/// `--from 30s` (into the dump) or `--from 2026-11-27T23:22:30Z`.
struct ReplayStart: ExpressibleByArgument {
    var start: ReplaySchedule.Start

    init?(argument: String) {
        if let nanos = DurationArgument.nanoseconds(argument, bareSeconds: false) {
            start = .offset(nanos: nanos)
            return
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard let date = formatter.date(from: argument) ?? plain.date(from: argument), date.timeIntervalSince1970 >= 0 else {
            return nil
        }
        start = .unixNanos(UInt64(date.timeIntervalSince1970 * 1e9))
    }
}

/// A dump played at its pace: a loader thread reads it into an inbox (while
/// the schedule wants more: bounded), and each poll moves the spans that are
/// due into the store. Keys change the speed, pause, step and jump.
final class ReplayFeed: ExplorerFeed, Sendable {
    /// The schedule and the loader state: touched by the UI thread (poll,
    /// control) and, for `--to`, the sending thread; one lock.
    private struct State {
        var schedule: ReplaySchedule
        var inbox: [[Span]] = []
        var inboxSpans = 0
        var loaderDone = false
        var loops = 0
        var rewriter: TraceIDRewriter?
    }

    private let files: [String]
    private let store: SharedTraceStore
    /// Only these traces are played (`--to --filter`); nil: all.
    private let keep: Set<TraceID>?
    private let loop: Bool
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let issues = Mutex<[String]>([])
    private let malformed = Atomic<Int>(0)
    /// The loader waits while this many spans are read ahead of the replay clock.
    static let readAhead = 500_000
    static let speeds: [Double] = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

    init(files: [String], store: SharedTraceStore, speed: Double, start: ReplaySchedule.Start, loop: Bool,
         keep: Set<TraceID>? = nil) {
        self.files = files
        self.store = store
        self.keep = keep
        self.loop = loop
        state = Mutex(State(schedule: ReplaySchedule(speed: speed, start: start)))
    }

    var reports: [String] { issues.withLock { $0 } }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    func start() {
        let thread = Thread { [self] in self.load() }
        thread.name = "tracetty.replay-loader"
        thread.start()
    }

    /// Reads every file into the inbox, waiting while enough is read ahead.
    private func load() {
        for file in files {
            do {
                let summary = try DumpReader(path: file).read(onSpans: { read in
                    let spans = self.keep.map { keep in read.filter { keep.contains($0.traceID) } } ?? read
                    guard !spans.isEmpty else { return }
                    while self.state.withLock({ $0.inboxSpans + $0.schedule.status(atWallNanos: Self.now()).pending }) > Self.readAhead {
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    self.state.withLock { s in
                        s.inbox.append(spans)
                        s.inboxSpans += spans.count
                    }
                    self.wake.signal()
                }, onProgress: { _ in })
                malformed.add(summary.issueCount, ordering: .relaxed)
                issues.withLock { $0 += summary.issues.map(\.description) }
            } catch {
                malformed.add(1, ordering: .relaxed)
                issues.withLock { $0.append("\(error)") }
            }
        }
        state.withLock { $0.loaderDone = true }
        wake.signal()
    }

    /// The spans due now (at most `limit`), and the schedule's status.
    func takeDue(limit: Int) -> ([Span], ReplaySchedule.Status) {
        let now = Self.now()
        return state.withLock { s in
            if !s.inbox.isEmpty {
                for batch in s.inbox { s.schedule.add(batch) }
                s.inbox.removeAll(keepingCapacity: true)
                s.inboxSpans = 0
            }
            if s.loaderDone { s.schedule.finishLoading() }
            var due = s.schedule.due(atWallNanos: now, limit: limit)
            if let rewriter = s.rewriter { due = due.map(rewriter.rewrite) }
            return (due, s.schedule.status(atWallNanos: now))
        }
    }

    /// Sleeps until the next span is due or the loader brings more (bounded).
    func waitForWork(maxMilliseconds: Int) {
        let now = Self.now()
        let next = state.withLock { $0.schedule.nextDueWallNanos(atWallNanos: now) }
        let wait = next.map { min(UInt64(maxMilliseconds) * 1_000_000, $0 > now ? $0 - now : 0) } ?? UInt64(maxMilliseconds) * 1_000_000
        guard wait > 0 else { return }
        _ = wake.wait(timeout: .now() + .nanoseconds(Int(wait)))
    }

    /// Round again: the schedule restarts, the loader reads the dump again,
    /// and (on screen) new trace ids keep the copies apart.
    func startOver() {
        state.withLock { s in
            s.schedule.startOver()
            s.inbox.removeAll()
            s.inboxSpans = 0
            s.loaderDone = false
            s.loops += 1
            s.rewriter = TraceIDRewriter()
        }
        start()
    }

    func poll(into store: SharedTraceStore) -> IngestStatus {
        let (due, status) = takeDue(limit: 50_000)
        if !due.isEmpty { store.add(due) }
        // Round again, unless the round played nothing (an empty or unreadable dump would loop for ever).
        if status.finished, loop, status.played > 0 { startOver() }
        var ingest = IngestStatus()
        ingest.sourceName = files.count == 1 ? files[0] : "\(files.count) files"
        ingest.malformed = malformed.load(ordering: .relaxed)
        ingest.firstIssue = issues.withLock { $0.first }
        let counters = store.counters
        ingest.spansDropped = counters.spansDroppedTraceFull
        ingest.tracesEvicted = counters.tracesEvicted
        var replay = ReplayStatus()
        replay.clockUnixNano = status.replayClockUnixNano
        replay.played = status.played
        replay.loaded = status.loaded
        replay.loadingFinished = status.loadingFinished
        replay.percent = status.percent
        replay.speed = status.speed
        replay.paused = status.paused
        replay.finished = status.finished && !loop
        replay.loops = state.withLock { $0.loops }
        ingest.spansRead = status.played
        ingest.replay = replay
        return ingest
    }

    func control(_ command: ReplayCommand) {
        let now = Self.now()
        state.withLock { s in
            let status = s.schedule.status(atWallNanos: now)
            switch command {
            case .faster where !status.speed.isFinite:
                break  // already as fast as it goes
            case .faster, .slower:
                let current = status.speed.isFinite ? status.speed : ReplaySchedule.maximumSpeed
                let next = command == .faster
                    ? Self.speeds.first { $0 > current * 1.001 } ?? ReplaySchedule.maximumSpeed
                    : Self.speeds.last { $0 < current * 0.999 } ?? ReplaySchedule.minimumSpeed
                s.schedule.setSpeed(next, atWallNanos: now)
            case .togglePause:
                if status.paused { s.schedule.resume(atWallNanos: now) } else { s.schedule.pause(atWallNanos: now) }
            case .step:
                if let span = s.schedule.step(atWallNanos: now) {
                    store.add([s.rewriter?.rewrite(span) ?? span])
                }
            case .jump(let seconds):
                s.schedule.jump(byNanos: UInt64(max(0, seconds)) * 1_000_000_000, atWallNanos: now)
            }
        }
        wake.signal()
    }
}
