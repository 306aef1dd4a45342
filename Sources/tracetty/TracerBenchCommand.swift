import ArgumentParser
import Foundation
import JaegerTracing
import Synchronization
import TraceFormats
import Tracing

/// `tracetty tracer-bench`: the JaegerTracer's cost per span (start, set
/// tags, end, report) on one or more caller threads, and the spans it gets
/// onto the wire into a real UDP sink on 127.0.0.1 (see BENCHMARKS.md). The
/// tracer has the default configuration unless `--queue` is given.
struct TracerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tracer-bench",
        abstract: "JaegerTracer overhead per span and spans/s emitted into a UDP sink (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Option(help: "Spans per run.")
    var spans = 1_000_000

    @Option(help: "Attributes set on each span (string, int, string, bool, ...).")
    var tags = 4

    @Option(help: "Runs; the median is reported.")
    var runs = 3

    @Option(help: "The tracer's maxQueuedSpans (default: the configuration's default).")
    var queue: Int?

    @Option(help: "Caller threads ending spans flat out; --spans are split between them.")
    var threads = 1

    /// How the tags are set: the ways an app calls the public Tracing API.
    enum AttributeAPI: String, ExpressibleByArgument, CaseIterable {
        /// `span.attributes["http.status_code"] = 200`: a String, Int or Bool, as app code writes it.
        case `subscript`
        /// `span.updateAttributes { $0["http.status_code"] = 200 }`: all of a span's tags in one call.
        case update
        /// `span.attributes["http.status_code"] = SpanAttribute.int64(200)`: a prebuilt enum
        /// value (the subscript boxes it: the enum is larger than an existential's inline buffer).
        case `enum`
    }

    @Option(help: "How tags are set: subscript (typed values, as app code writes them), update (updateAttributes), enum (prebuilt SpanAttribute values).")
    var api = AttributeAPI.`subscript`

    func validate() throws {
        guard spans > 0, tags >= 0, runs > 0, threads > 0, queue.map({ $0 > 0 }) ?? true else {
            throw ValidationError("--spans, --runs, --threads and --queue must be positive")
        }
    }

    func run() throws {
        let sink = try TracerBenchSink()
        let keys = (0..<tags).map { index in
            ["http.method", "http.status_code", "http.url", "cache.hit"].indices.contains(index)
                ? ["http.method", "http.status_code", "http.url", "cache.hit"][index] : "tag.\(index)"
        }
        let values: [SpanAttribute] = (0..<tags).map { index in
            switch index % 4 {
            case 0: return .string("GET")
            case 1: return .int64(200)
            case 2: return .string("/alice")
            default: return .bool(false)
            }
        }
        let defaults = JaegerTracerConfiguration(serviceName: "tracer-bench")
        print("tracer-bench: \(spans) spans x \(runs) runs, \(tags) tags each (\(api.rawValue)), \(threads) caller thread(s), "
              + "queue \(queue ?? defaults.maxQueuedSpans)\(queue == nil ? " (default configuration)" : ""), "
              + "sink 127.0.0.1:\(sink.port)")
        print("run | ns/span (caller: start + \(tags) tags + end) | spans/s (caller) | spans/s emitted | spans/s received | datagrams | dropped (queue full) "
              + "| CPU ns/span: callers | whole process")
        var results: [(nsPerSpan: Double, caller: Double, emitted: Double, received: Double, dropped: Double,
                       callerCPU: Double, processCPU: Double)] = []
        for run in 1...runs {
            sink.reset()
            var configuration = JaegerTracerConfiguration(serviceName: "tracer-bench", agentHost: "127.0.0.1", agentPort: sink.port)
            if let queue { configuration.maxQueuedSpans = queue }
            let tracer = try JaegerTracer(configuration: configuration)
            let runner = Task.detached { try? await tracer.run() }
            // Let the flush loop start before timing.
            while !sink.isReady { usleep(1_000) }
            usleep(20_000)

            let clock = ContinuousClock()
            let start = clock.now
            let processCPUStart = Self.cpuNanos(CLOCK_PROCESS_CPUTIME_ID)
            // The spans come from a thread of their own, as from an event loop: the
            // concurrency pool (where the flush loop runs) keeps all its threads.
            // With several threads, ns/span is wall time per span of all of them.
            let (callerElapsed, callerCPUNanos) = TracerBenchSink.onThreads(threads) { [spans, threads, api] thread in
                let mine = spans / threads + (thread < spans % threads ? 1 : 0)
                switch api {
                case .`subscript`:
                    for _ in 0..<mine {
                        let span = tracer.startSpan("GET /alice", ofKind: .server)
                        // One modify of `span.attributes` per tag, as `span.attributes[k] = v` does.
                        for index in 0..<keys.count { Self.setTag(index, keys[index], on: &span.attributes) }
                        span.end()
                    }
                case .update:
                    for _ in 0..<mine {
                        let span = tracer.startSpan("GET /alice", ofKind: .server)
                        span.updateAttributes { attributes in
                            for index in 0..<keys.count { Self.setTag(index, keys[index], on: &attributes) }
                        }
                        span.end()
                    }
                case .enum:
                    for _ in 0..<mine {
                        let span = tracer.startSpan("GET /alice", ofKind: .server)
                        for index in 0..<keys.count { span.attributes[keys[index]] = values[index] }
                        span.end()
                    }
                }
            }
            tracer.shutdown()  // the final flush: part of "emitted"
            let emittedElapsed = clock.now - start
            let processCPUNanos = Self.cpuNanos(CLOCK_PROCESS_CPUTIME_ID) - processCPUStart
            runner.cancel()
            let received = sink.waitForQuiet()
            let statistics = tracer.statistics

            let callerSeconds = seconds(callerElapsed)
            let emittedSeconds = seconds(emittedElapsed)
            let receivedSeconds = max(emittedSeconds, received.lastArrival.map { seconds($0 - start) } ?? emittedSeconds)
            let result = (nsPerSpan: callerSeconds * 1e9 / Double(spans), caller: Double(spans) / callerSeconds,
                          emitted: Double(statistics.spansReported) / emittedSeconds,
                          received: Double(received.spans) / receivedSeconds, dropped: Double(statistics.droppedQueueFull),
                          callerCPU: Double(callerCPUNanos) / Double(spans), processCPU: Double(processCPUNanos) / Double(spans))
            results.append(result)
            print("\(run) | \(String(format: "%.0f", result.nsPerSpan)) | \(Int(result.caller)) | \(Int(result.emitted)) | "
                  + "\(Int(result.received)) (\(received.spans) spans) | \(received.datagrams) | \(statistics.droppedQueueFull)"
                  + (statistics.sendFailures > 0 ? " (send failed: \(statistics.sendFailures))" : "")
                  + (statistics.callerSends > 0 ? " (caller sent \(statistics.callerSends)x)" : "")
                  + " | \(String(format: "%.0f", result.callerCPU)) | \(String(format: "%.0f", result.processCPU))")
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print("median | \(String(format: "%.0f", median(results.map(\.nsPerSpan)))) ns/span | \(Int(median(results.map(\.caller)))) | "
              + "\(Int(median(results.map(\.emitted)))) | \(Int(median(results.map(\.received)))) | | "
              + "\(Int(median(results.map(\.dropped)))) | \(String(format: "%.0f", median(results.map(\.callerCPU)))) | "
              + String(format: "%.0f", median(results.map(\.processCPU))))
    }

    /// The index-th tag, a String, Int or Bool as app code writes it: on the
    /// span's attributes (`.subscript`) or on those `updateAttributes` lends.
    @inline(__always)
    static func setTag(_ index: Int, _ key: String, on attributes: inout SpanAttributes) {
        switch index % 4 {
        case 0: attributes[key] = "GET"
        case 1: attributes[key] = 200
        case 2: attributes[key] = "/alice"
        default: attributes[key] = false
        }
    }

    /// CPU time of the process or the calling thread, which a busy machine
    /// does not inflate as it does wall time.
    static func cpuNanos(_ clock: clockid_t) -> Int {
        var now = timespec()
        clock_gettime(clock, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A UDP socket on 127.0.0.1:0 read by its own thread: datagrams are kept
/// (up to 1 GB) and decoded after the run, so the timing pays only for recv.
final class TracerBenchSink: Sendable {
    struct Received {
        var datagrams = 0
        var spans = 0
        var lastArrival: ContinuousClock.Instant?
    }

    private struct State {
        var datagrams: [[UInt8]] = []
        var bytes = 0
        var count = 0
        var lastArrival: ContinuousClock.Instant?
        var ready = false
    }

    let port: Int
    private let descriptor: Int32
    private let state = Mutex(State())
    private static let maxKeptBytes = 1 << 30

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 64 << 20
        // SO_RCVBUFFORCE passes rmem_max when allowed; otherwise the plain option caps at it.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw ValidationError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in receiveLoop() }
        thread.start()
    }

    var isReady: Bool { state.withLock { $0.ready } }

    /// Runs `body(0..<count)` on `count` new threads and returns the time
    /// from their start until the last one finished, and their CPU time.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> (wall: Duration, cpuNanos: Int) {
        let clock = ContinuousClock()
        let done = DispatchSemaphore(value: 0)
        let cpuNanos = Atomic<Int>(0)
        let start = clock.now
        for index in 0..<count {
            Thread {
                let cpuStart = TracerBenchCommand.cpuNanos(CLOCK_THREAD_CPUTIME_ID)
                body(index)
                cpuNanos.wrappingAdd(TracerBenchCommand.cpuNanos(CLOCK_THREAD_CPUTIME_ID) - cpuStart, ordering: .relaxed)
                done.signal()
            }.start()
        }
        for _ in 0..<count { done.wait() }
        return (clock.now - start, cpuNanos.load(ordering: .relaxed))
    }

    private func receiveLoop() {
        state.withLock { $0.ready = true }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let clock = ContinuousClock()
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let now = clock.now
            let datagram = Array(buffer.prefix(n))
            state.withLock { s in
                s.count += 1
                s.lastArrival = now
                if s.bytes + n <= Self.maxKeptBytes {
                    s.bytes += n
                    s.datagrams.append(datagram)
                }
            }
        }
    }

    func reset() {
        state.withLock { s in
            s.datagrams = []
            s.bytes = 0
            s.count = 0
            s.lastArrival = nil
        }
    }

    /// Waits until 300 ms pass without a datagram, then counts the spans received.
    func waitForQuiet() -> Received {
        var lastCount = -1
        while true {
            usleep(300_000)
            let count = state.withLock { $0.count }
            if count == lastCount { break }
            lastCount = count
        }
        let (datagrams, count, last) = state.withLock { s in
            let taken = s.datagrams
            s.datagrams = []
            return (taken, s.count, s.lastArrival)
        }
        let decoder = WireDecoder()
        var spans = 0
        for datagram in datagrams {
            spans += (try? decoder.decodeAgent(datagram, protocolKind: .compact).spans.count) ?? 0
        }
        return Received(datagrams: count, spans: spans, lastArrival: last)
    }
}
