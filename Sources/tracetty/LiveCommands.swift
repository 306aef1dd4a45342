import ArgumentParser
import Foundation
import Synchronization
import TraceModel
import TraceFormats
import TraceIngest
import TraceExplorer
import TerminalUI

/// Where the listeners bind. Shared by `live` and `record`.
struct ListenerOptions: ParsableArguments {
    @Option(help: "Address to listen on (0.0.0.0 for every interface: only when you mean it).")
    var host = "127.0.0.1"

    @Option(help: "UDP port for Jaeger Thrift compact (Agent.emitBatch); 0 picks a free one.")
    var jaegerCompactPort = ListenerKind.jaegerCompact.defaultPort

    @Option(help: "UDP port for Jaeger Thrift binary (Agent.emitBatch).")
    var jaegerBinaryPort = ListenerKind.jaegerBinary.defaultPort

    @Option(help: "UDP port for Thrift compact emitZipkinBatch / emitBatch.")
    var zipkinCompactPort = ListenerKind.zipkinCompact.defaultPort

    @Option(help: "HTTP port for the Jaeger collector (POST /api/traces, Thrift binary Batch).")
    var collectorPort = ListenerKind.jaegerCollector.defaultPort

    @Option(help: "HTTP port for OTLP/HTTP (POST /v1/traces, protobuf or JSON, gzip ok).")
    var otlpHttpPort = ListenerKind.otlpHTTP.defaultPort

    @Option(help: "HTTP port for Zipkin v2 JSON (POST /api/v2/spans).")
    var zipkinPort = ListenerKind.zipkinHTTP.defaultPort

    @Option(help: "HTTP/2 port for OTLP/gRPC (TraceService/Export, plaintext, gzip ok).")
    var otlpGrpcPort = ListenerKind.otlpGRPC.defaultPort

    @Option(name: .customLong("off"), help: ArgumentHelp(
        "Turn a listener off (repeatable): \(ListenerKind.allCases.map(\.rawValue).joined(separator: ", ")).",
        valueName: "listener"))
    var off: [String] = []

    @Option(help: "Largest HTTP body or gRPC message accepted, in bytes (413 / RESOURCE_EXHAUSTED past it).")
    var maxBodyBytes = 16 << 20

    @Option(help: ArgumentHelp(
        "Require 'Authorization: Bearer TOKEN' on every HTTP and gRPC receiver (401 / UNAUTHENTICATED otherwise); default: $TRACETTY_TOKEN. UDP cannot carry a token: turn the UDP listeners off with --off where that matters. Prefer the variable: a command line is visible to other users in ps.",
        valueName: "token"))
    var token: String?

    @Option(help: "Receive buffer asked for on each UDP socket, in bytes (the kernel caps it at net.core.rmem_max unless tracetty may force it).")
    var udpReceiveBufferBytes = IngestConfiguration.defaultUDPReceiveBufferBytes

    @Option(help: "Largest HTTP request head (request line and headers), in bytes: 431 past it. gRPC: the header list size, RESOURCE_EXHAUSTED past it (the transport itself stops at 16384).")
    var maxHeaderBytes = ReceiverLimits.defaultMaxHeaderBytes

    @Option(help: ArgumentHelp(
        "Time a request may take from its first byte to its last (30s, 2m, 500ms; a bare number is seconds): HTTP 408 and the connection closed, gRPC DEADLINE_EXCEEDED.",
        valueName: "duration"))
    var requestTimeout = DurationArgument(ReceiverLimits.defaultRequestTimeout)

    @Option(help: ArgumentHelp(
        "An HTTP or gRPC connection with no request in progress is closed after this (gRPC: with a GOAWAY first).",
        valueName: "duration"))
    var idleTimeout = DurationArgument(ReceiverLimits.defaultIdleTimeout)

    @Option(help: "Open connections per HTTP or gRPC receiver; past it a new HTTP connection is answered 503 (Retry-After: 1) and closed, a gRPC one closed.")
    var maxConnections = ReceiverLimits.defaultMaxConnections

    func validate() throws {
        for name in off where ListenerKind(rawValue: name) == nil {
            throw ValidationError("--off \(name): no such listener; one of \(ListenerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for (kind, port) in ports where !(0...65_535).contains(port) {
            throw ValidationError("\(kind.portOption) \(port): a port is 0...65535")
        }
        if ports.count == off.count { throw ValidationError("every listener is turned off") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive") }
        guard (4096...(1 << 30)).contains(udpReceiveBufferBytes) else {
            throw ValidationError("--udp-receive-buffer-bytes: 4096...1073741824")
        }
        guard (1024...(1 << 20)).contains(maxHeaderBytes) else { throw ValidationError("--max-header-bytes: 1024...1048576") }
        for (option, value) in [("--request-timeout", requestTimeout), ("--idle-timeout", idleTimeout)]
        where !(DurationArgument.smallest...DurationArgument.largest).contains(value.duration) {
            throw ValidationError("\(option) \(value.text): 1ms...24h")
        }
        guard (1...65_536).contains(maxConnections) else { throw ValidationError("--max-connections: 1...65536") }
    }

    var ports: [(ListenerKind, Int)] {
        [(.jaegerCompact, jaegerCompactPort), (.jaegerBinary, jaegerBinaryPort), (.zipkinCompact, zipkinCompactPort),
         (.jaegerCollector, collectorPort), (.otlpHTTP, otlpHttpPort), (.zipkinHTTP, zipkinPort),
         (.otlpGRPC, otlpGrpcPort)]
    }

    /// The listeners' settings under a memory limit: a gzip body may
    /// inflate to an eighth of it (at most 64 MiB, never below
    /// `--max-body-bytes`), so a bomb's transient buffer cannot take the
    /// process past its limit.
    func configuration(memoryLimit: Int) -> IngestConfiguration {
        let disabled = Set(off.compactMap(ListenerKind.init(rawValue:)))
        var ports: [ListenerKind: Int] = [:]
        for (kind, port) in self.ports where !disabled.contains(kind) { ports[kind] = port }
        return IngestConfiguration(host: host, ports: ports, maxBodyBytes: maxBodyBytes, udpReceiveBufferBytes: udpReceiveBufferBytes,
                                   udpDecodeQueueBytes: min(IngestConfiguration.defaultUDPDecodeQueueBytes, memoryLimit / 4),
                                   maxDecompressedBytes: max(maxBodyBytes, min(64 << 20, memoryLimit / 8)),
                                   token: BearerToken(token ?? ProcessInfo.processInfo.environment["TRACETTY_TOKEN"] ?? ""),
                                   limits: ReceiverLimits(maxHeaderBytes: maxHeaderBytes, requestTimeout: requestTimeout.duration,
                                                          idleTimeout: idleTimeout.duration, maxConnections: maxConnections))
    }
}

/// Spans from the listeners: into the UI's queue, and to the recorder if any.
struct LiveSink: SpanSink {
    let queue: SpanQueue?
    let recorder: SpanRecorder?
    /// How long a UDP decode thread waits for room in the UI's queue at most.
    static let maxUDPWait: Duration = .seconds(30)

    func accept(_ spans: [Span], from listener: ListenerKind) {
        let isUDP = listener.transport == "udp"
        // Sized once (on the listener's thread) for the bounds that count
        // `Span` bytes: the recorder's, and the queue's for HTTP and gRPC.
        let bytes = recorder != nil || (queue != nil && !isUDP) ? spans.reduce(0) { $0 + $1.approximateBytes } : 0
        recorder?.accept(spans, bytes: bytes, from: listener)
        guard let queue else { return }
        if isUDP {
            // On the UDP listener's decode thread: packed here, the store's
            // thread (the UI's) only copies the bytes in, and a packed span
            // waits in fewer bytes (`tracetty store-bench` measures both).
            // The thread waits while the UI's queue is full: the backlog then
            // waits in the decode queue as datagrams, ~180 bytes a span, and
            // only what that bounded queue cannot take is dropped (counted).
            // No waiting once the UI is gone.
            let packed = PackedSpans(packing: spans)
            queue.pushWaiting(.packed(packed), bytes: packed.approximateBytes, maxWait: Self.maxUDPWait)
        } else {
            queue.push(spans, bytes: bytes)  // on an event loop: never waits
        }
    }
}

/// Live: drains the listeners' queue into the store on the loop's thread and
/// reports rates and counters.
final class LiveFeed: ExplorerFeed {
    let queue: SpanQueue
    let counters: IngestCounters
    let listeners: [BoundListener]
    let recorder: SpanRecorder?
    let recordPath: String?
    /// Read for the kernel's drops on the UDP sockets, once a second.
    let server: IngestServer
    private var window: [(ContinuousClock.Instant, Int)] = []
    private var lastKernelSample: ContinuousClock.Instant?

    init(queue: SpanQueue, counters: IngestCounters, server: IngestServer, listeners: [BoundListener], recorder: SpanRecorder?,
         recordPath: String?) {
        self.server = server
        self.queue = queue
        self.counters = counters
        self.listeners = listeners
        self.recorder = recorder
        self.recordPath = recordPath
    }

    func poll(into store: SharedTraceStore) -> IngestStatus {
        for batch in queue.drain() { store.add(batch) }
        let now = ContinuousClock.now
        if lastKernelSample.map({ now - $0 >= .seconds(1) }) ?? true {
            server.sampleKernelDrops()
            lastKernelSample = now
        }
        let snapshot = counters.snapshot()
        // spans/s over the last second: accepted totals sampled each tick.
        window.append((now, snapshot.spansAccepted))
        while let first = window.first, now - first.0 > .seconds(1), window.count > 2 { window.removeFirst() }
        var live = LiveStatus()
        live.listeners = listeners.count
        live.addresses = listeners.map(\.description)
        live.failedListeners = snapshot.failedListeners.map { "\($0.kind.rawValue): \($0.failure ?? "")" }
        if let first = window.first, let last = window.last, last.0 > first.0 {
            let seconds = Double((last.0 - first.0).components.attoseconds) / 1e18 + Double((last.0 - first.0).components.seconds)
            live.spansPerSecond = Double(last.1 - first.1) / max(seconds, 1e-3)
        }
        live.spansReceived = snapshot.spansAccepted
        live.malformed = snapshot.malformed
        live.kernelDropped = snapshot.kernelDrops
        live.decodeQueueDropped = snapshot.queueDrops
        // The commonest reason of the first listener with bad input, e.g.
        // "jaeger-compact: thrift compact: byte 3: truncated".
        if let figures = snapshot.listeners.first(where: { $0.malformed > 0 }),
           let reason = figures.malformedReasons.max(by: { $0.count < $1.count }) {
            live.lastMalformedReason = figures.kind.rawValue + ": " + reason.lastExample
        }
        // Spans refused for memory are shown apart (`MemoryReportingFeed`).
        live.dropped = queue.totals.dropped - queue.droppedForMemory + (recorder?.status.spansDropped ?? 0)
        live.clientDropped = Int(snapshot.clientDropped)
        live.seqGaps = Int(snapshot.missingBatches)
        live.recordingTo = recordPath
        var status = IngestStatus()
        status.live = live
        let counters = store.counters
        status.spansDropped = counters.spansDroppedTraceFull
        status.tracesEvicted = counters.tracesEvicted
        return status
    }
}

/// Starts the listeners; a taken port is a one-line error before anything else happens.
func startListeners(_ options: ListenerOptions, memoryLimit: Int, udpDecodeQueueBytes: Int? = nil, sink: SpanSink,
                    counters: IngestCounters) async throws -> (IngestServer, [BoundListener]) {
    var configuration = options.configuration(memoryLimit: memoryLimit)
    if let udpDecodeQueueBytes { configuration.udpDecodeQueueBytes = udpDecodeQueueBytes }
    let server = IngestServer(configuration: configuration, sink: sink, counters: counters)
    do {
        let bound = try await server.start()
        return (server, bound)
    } catch {
        printError("tracetty: \(error)")
        throw ExitCode(2)
    }
}

struct LiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Receive spans (Jaeger agent UDP, Jaeger collector, OTLP/HTTP, Zipkin) and explore them as they arrive."
    )

    @OptionGroup var listeners: ListenerOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var filter: FilterOption

    @Option(help: "Also append every accepted span to FILE (OTLP JSON lines).")
    var record: String?

    @Option(help: "Colours: auto (NO_COLOR and the terminal decide), always (256 colours), never.")
    var color: ColorChoice = .auto

    func run() async throws {
        let query = try filter.query()
        let memoryLimit = store.memory.limitBytes
        // Decoded spans wait here between the UI's turns: a sixteenth of the
        // limit (at 1 GiB ~190k seed spans as `Span` values, ~300k packed) keeps the store busy. A UDP
        // flood's backlog waits before decoding instead, as datagrams (half
        // the limit: ~2.9M spans), the denser form (see `LiveSink`).
        let queue = SpanQueue(capacity: max(store.maxSpans, 100_000), byteCapacity: memoryLimit / 16)
        let counters = IngestCounters()
        var recorder: SpanRecorder?
        if let record {
            signal(SIGXFSZ, SIG_IGN)  // as `record` does: a failed write is counted, not fatal
            do {
                // At most an eighth of the limit waits for the disk.
                recorder = try SpanRecorder(path: record, maxQueuedBytes: memoryLimit / 8)
            } catch {
                printError("tracetty: \(error)")
                throw ExitCode(2)
            }
        }
        let (server, bound) = try await startListeners(listeners, memoryLimit: memoryLimit, udpDecodeQueueBytes: memoryLimit / 2,
                                                       sink: LiveSink(queue: queue, recorder: recorder),
                                                       counters: counters)
        let sharedStore = SharedTraceStore(limits: store.limits)
        let memory = MemoryWatch(limitBytes: memoryLimit, targets: .init(store: sharedStore, queue: queue, recorder: recorder))
        defer { memory.stop() }
        let title = "live · \(bound.count) listeners on \(listeners.host)"
        let colorMode = color.mode, utcOffset = store.utcOffsetSeconds, rawTimes = store.rawTimes, recordPath = record, liveRecorder = recorder
        let exit: Int32
        do {
            // The UI loop runs on a thread of its own that yields to the
            // listeners: a list refresh of a few hundred thousand traces takes
            // a core for ~100 ms, and a listener starved that long overflows
            // its socket buffer (kernel drops, lost for good). A slower
            // redraw loses nothing.
            exit = try await runOnOwnThread(yieldingToIngest: true) { () throws -> Int32 in
                let feed = MemoryReportingFeed(
                    inner: LiveFeed(queue: queue, counters: counters, server: server, listeners: bound, recorder: liveRecorder,
                                   recordPath: recordPath),
                    watch: memory, queue: queue)
                var loop = ExplorerLoop(store: sharedStore, feed: feed, title: title, colorMode: colorMode,
                                        utcOffsetSeconds: utcOffset)
                loop.rawTimes = rawTimes
                loop.follow = true
                loop.filter = query
                return try loop.run()
            }.get()
        } catch {
            queue.closeForWaiting()
            await server.shutdown()
            _ = try? recorder?.finish()
            throw error
        }
        // The UI is gone: what the listeners still hand over is counted, not waited for.
        queue.closeForWaiting()
        await server.shutdown()
        // What came in, on stderr once the terminal is back (scripts read it).
        for line in counters.snapshot().summaryLines { printError(line) }
        // Accepted spans that never reached the store: its queue was full, the
        // memory limit refused them, or they still waited (decoded or as
        // datagrams) when the explorer quit.
        let queued = queue.totals
        if queued.dropped > 0 {
            let atQuit = queue.droppedAfterClose, forMemory = queue.droppedForMemory
            let full = queued.dropped - atQuit - forMemory
            printError("tracetty: \(queued.dropped) accepted spans dropped before the store ("
                       + [full > 0 ? "queue full: \(full)" : nil, forMemory > 0 ? "memory limit: \(forMemory)" : nil,
                          atQuit > 0 ? "still waiting at quit: \(atQuit)" : nil].compactMap { $0 }.joined(separator: "; ") + ")")
        }
        if let recorder, let record {
            let summary = try recorder.finish()
            let reasons = summary.dropReasons.map { "\($0.reason): \($0.spans)" }.joined(separator: "; ")
            printError("tracetty: recorded \(summary.spansWritten) spans to \(record)"
                       + (summary.spansDropped > 0 ? ", \(summary.spansDropped) dropped (\(reasons))" : ""))
        }
        if exit != 0 { throw ExitCode(exit) }
    }
}

struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Receive spans with no UI and append them to a dump (OTLP JSON lines); SIGINT, SIGTERM or SIGHUP stops, flushes and prints a summary."
    )

    @OptionGroup var listeners: ListenerOptions

    @Option(name: .shortAndLong, help: "The dump to append to (OTLP JSON lines).")
    var output: String

    @OptionGroup var memory: MemoryOption

    func run() async throws {
        // Past a file-size limit a write fails (EFBIG) and is counted, rather than the signal ending the process.
        signal(SIGXFSZ, SIG_IGN)
        let recorder: SpanRecorder
        do {
            // With no store to fill, the queues may take three quarters of the
            // limit: a quarter for decoded spans waiting for the disk, half for
            // datagrams waiting to be decoded (below), the smallest form a
            // backlog takes (~180 bytes a span against ~400 decoded). Decoding
            // is what falls behind in a flood (~1M spans/s a core). The
            // resident-size watch still refuses everything at the limit.
            recorder = try SpanRecorder(path: output, maxQueuedBytes: memory.limitBytes / 4)
        } catch {
            printError("tracetty: \(error)")
            throw ExitCode(2)
        }
        let counters = IngestCounters()
        // Handle the stop signals ourselves before any listener is up.
        let stop = StopSignal()
        let (server, bound) = try await startListeners(listeners, memoryLimit: memory.limitBytes,
                                                       udpDecodeQueueBytes: memory.limitBytes / 2,
                                                       sink: LiveSink(queue: nil, recorder: recorder), counters: counters)
        let watch = MemoryWatch(limitBytes: memory.limitBytes, targets: .init(recorder: recorder))
        defer { watch.stop() }
        for listener in bound { printNow(listener.description) }
        for listener in bound { if let warning = Self.bufferWarning(listener, asked: listeners.udpReceiveBufferBytes) { printNow(warning) } }
        // A failing disk or listener is said at once, not only at the end.
        let watcher = Task.detached { [output] in
            var diskSaid = false
            var listenersSaid: Set<ListenerKind> = []
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                server.sampleKernelDrops()
                if !diskSaid, let failure = recorder.status.writeError {
                    printError("tracetty: recording to \(output) is failing: \(failure); spans that cannot be written are counted")
                    diskSaid = true
                }
                for failed in counters.snapshot().failedListeners where !listenersSaid.contains(failed.kind) {
                    printError("tracetty: listener \(failed.kind.rawValue) failed: \(failed.failure ?? ""); the others keep running")
                    listenersSaid.insert(failed.kind)
                }
            }
        }
        let signal = await stop.wait()
        watcher.cancel()
        await server.shutdown()
        let summary = try recorder.finish()
        let reasons = summary.dropReasons.map { "\($0.reason): \($0.spans)" }.joined(separator: "; ")
        let name = signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "SIGTERM"
        printNow("stopped by \(name): wrote \(summary.spansWritten) spans to \(output)"
                 + (summary.spansDropped > 0 ? ", \(summary.spansDropped) dropped (\(reasons))" : ""))
        let figures = counters.snapshot()
        for line in figures.summaryLines { printNow(line) }
        if !figures.failedListeners.isEmpty {
            printError("tracetty: \(figures.failedListeners.map(\.kind.rawValue).joined(separator: ", ")) failed while recording")
            throw ExitCode(1)
        }
    }

    /// Linux reports twice the buffer it grants (bookkeeping); a grant below
    /// what was asked means bursts will be dropped sooner.
    static func bufferWarning(_ listener: BoundListener, asked: Int) -> String? {
        guard let reported = listener.receiveBufferBytes, reported / 2 < asked else { return nil }
        return "note: \(listener.kind.rawValue) got a \(reported / 2 / 1024) KiB receive buffer, asked \(asked / 1024) KiB"
            + " (net.core.rmem_max caps it without CAP_NET_ADMIN): bursts beyond it are dropped by the kernel"
    }
}

/// A line to stdout at once (stdout may be a pipe a script is reading),
/// sanitized: summary lines quote services and malformed input.
func printNow(_ line: String) {
    StandardStreams.writeOut(TerminalText.sanitize(line) + "\n")
}

/// Waits for SIGINT, SIGTERM or SIGHUP (an SSH session that drops); their
/// default action is turned off, so `record` flushes and exits 0.
final class StopSignal: Sendable {
    struct State {
        var waiter: CheckedContinuation<Int32, Never>?
        var received: Int32?
    }

    /// A class, so the signal handlers can hold it (a Mutex is not copyable).
    final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    // Kept only so the sources live as long as this object: written once in
    // init, never read or mutated afterwards, so sharing it is safe.
    nonisolated(unsafe) private let sources: [DispatchSourceSignal]

    init() {
        var made: [DispatchSourceSignal] = []
        let shared = self.shared
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let waiter = shared.state.withLock { s -> CheckedContinuation<Int32, Never>? in
                    if s.received == nil { s.received = sig }
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume(returning: sig)
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    /// The first stop signal, as soon as it has arrived (or already had).
    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            let early = shared.state.withLock { s -> Int32? in
                if s.received == nil { s.waiter = c }
                return s.received
            }
            if let early { c.resume(returning: early) }
        }
    }
}
