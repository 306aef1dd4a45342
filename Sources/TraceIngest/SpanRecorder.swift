#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import NIOPosix
import Synchronization
import TraceFormats
import TraceModel

/// What a recorder did, once finished.
public struct RecorderSummary: Sendable, Hashable {
    public var path: String
    public var spansWritten: Int
    public var spansDropped: Int
    /// Why spans were dropped (`recorder queue full`, `recorder closed`, `write failed: ...`), most first.
    public var dropReasons: [DropReason]

    public struct DropReason: Sendable, Hashable {
        public var reason: String
        public var spans: Int

        public init(reason: String, spans: Int) {
            self.reason = reason
            self.spans = spans
        }
    }

    /// `recorded 1,234 spans to out.jsonl, 0 dropped`
    public var summaryLine: String {
        var line = "recorded \(grouped(spansWritten)) spans to \(path), \(grouped(spansDropped)) dropped"
        if !dropReasons.isEmpty {
            line += " (" + dropReasons.map { "\($0.reason): \(grouped($0.spans))" }.joined(separator: "; ") + ")"
        }
        return line
    }
}

/// A live view of a recorder, for a status bar.
public struct RecorderStatus: Sendable, Hashable {
    public var queuedSpans: Int
    public var spansWritten: Int
    public var spansDropped: Int
    /// The first write, sync or close failure, once there was one.
    public var writeError: String?
}

public enum RecorderError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// Writing, syncing or closing failed; `summary` says what made it to the file.
    case writeFailed(path: String, reason: String, summary: RecorderSummary)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot record to \(path): \(reason)"
        case .writeFailed(let path, let reason, let summary):
            return "recording to \(path) failed: \(reason) (\(grouped(summary.spansWritten)) spans written, "
                + "\(grouped(summary.spansDropped)) not: " + summary.dropReasons.map { "\($0.reason): \(grouped($0.spans))" }.joined(separator: "; ") + ")"
        }
    }
}

/// Appends every span it is given to an OTLP JSON lines file without ever
/// blocking the caller: `accept` only enqueues (bounded, in spans; what does
/// not fit is dropped and counted with a reason), and a dedicated writer
/// thread drains the queue in batches, flushing whenever it catches up.
/// `finish()` writes everything queued, fsyncs and closes.
public final class SpanRecorder: SpanSink, Sendable {
    public static let queueFullReason = "recorder queue full"
    public static let closedReason = "recorder closed"
    public static let memoryReason = "memory limit"

    public let path: String
    /// Spans held in memory at most (queued plus being written).
    public let maxQueuedSpans: Int
    /// Bytes of spans (`Span.approximateBytes`) held at most, queued plus
    /// being written: under a flood the writer (at a lower priority) falls
    /// behind, and 2,000,000 queued spans alone would be a gigabyte.
    public let maxQueuedBytes: Int
    /// Small batches are gathered up to this many spans per `DumpWriter.write`
    /// call (lines hold up to 1,000 spans each); batches of `wholeBatchSpans`
    /// or more are written as they are, uncopied.
    static let writeChunk = 8192
    static let wholeBatchSpans = 256

    private let state = Mutex(RecorderState())
    /// Touched only by the writer thread once `init` returns (the lock is never contended).
    private let writer: Mutex<DumpWriter?>
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let thread: NIOThreadPool

    public init(path: String, append: Bool = false, maxQueuedSpans: Int = 2_000_000,
                maxQueuedBytes: Int = .max) throws(RecorderError) {
        self.path = path
        self.maxQueuedSpans = max(1, maxQueuedSpans)
        self.maxQueuedBytes = max(1, maxQueuedBytes)
        let file: DumpWriter
        do {
            file = try DumpWriter(path: path, append: append)
        } catch {
            switch error {
            case .cannotOpen(_, let reason): throw .cannotOpen(path: path, reason: reason)
            default: throw .cannotOpen(path: path, reason: error.description)
            }
        }
        writer = Mutex(file)
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { [self] _ in self.runWriter() }
    }

    public func accept(_ spans: [Span], from listener: ListenerKind) {
        accept(spans, bytes: maxQueuedBytes == .max ? 0 : spans.reduce(0) { $0 + $1.approximateBytes }, from: listener)
    }

    /// `accept` with the spans' `approximateBytes` already summed (a caller
    /// that sized them for its own queue too).
    public func accept(_ spans: [Span], bytes: Int, from listener: ListenerKind) {
        guard !spans.isEmpty else { return }
        let bound = maxQueuedSpans, byteBound = maxQueuedBytes
        let signal = state.withLock { s -> Bool in
            if s.finishing {
                s.drop(spans.count, Self.closedReason)
                return false
            }
            if s.refusing {
                s.drop(spans.count, Self.memoryReason)
                return false
            }
            let room = bound - s.queuedSpans
            // (An empty recorder takes any one batch, however big.)
            if room <= 0 || (s.queuedSpans > 0 && s.queuedBytes + s.writingBytes + bytes > byteBound) {
                s.drop(spans.count, Self.queueFullReason)
                return false
            }
            s.queuedBytes += bytes
            if spans.count <= room {
                s.queue.append(spans)
                s.queuedSpans += spans.count
            } else {
                s.queue.append(Array(spans.prefix(room)))
                s.queuedSpans += room
                s.drop(spans.count - room, Self.queueFullReason)
            }
            if s.writerWaiting {
                s.writerWaiting = false
                return true
            }
            return false
        }
        if signal { wake.signal() }
    }

    /// While set, spans are refused and counted (`memory limit`): the process is at its `--max-memory`.
    public func setRefusing(_ refusing: Bool) {
        state.withLock { $0.refusing = refusing }
    }

    public var status: RecorderStatus {
        state.withLock { s in
            RecorderStatus(queuedSpans: s.queuedSpans, spansWritten: s.written, spansDropped: s.dropped, writeError: s.writeError)
        }
    }

    /// Writes everything accepted so far, fsyncs and closes the file. Spans
    /// offered afterwards are dropped as `recorder closed`. Blocks until done;
    /// call it after the listeners have stopped. Safe to call more than once.
    public func finish() throws(RecorderError) -> RecorderSummary {
        let signal = state.withLock { s -> Bool in
            s.finishing = true
            if s.writerWaiting {
                s.writerWaiting = false
                return true
            }
            return false
        }
        if signal { wake.signal() }
        done.wait()
        done.signal()  // let any other caller of finish() through too
        let (summary, failure, firstFinish) = state.withLock { s in
            let first = !s.threadReleased
            s.threadReleased = true
            return (s.summary(path: path), s.writeError, first)
        }
        if firstFinish { thread.shutdownGracefully { _ in } }
        if let failure { throw .writeFailed(path: path, reason: failure, summary: summary) }
        return summary
    }

    // MARK: Writer thread

    private func runWriter() {
        #if os(Linux)
        // This thread only (Linux nice is per thread): under a flood the
        // listeners win the CPU and the writer catches up from its queue
        // (bounded by `maxQueuedSpans`) afterwards, rather than the kernel
        // dropping datagrams while the writer encodes.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
        #endif
        while true {
            let (work, finishing) = state.withLock { s -> ([[Span]], Bool) in
                if s.queue.isEmpty {
                    if s.finishing { return ([], true) }
                    s.writerWaiting = true
                    return ([], false)
                }
                let work = s.queue
                s.queue = []
                s.writingBytes = s.queuedBytes
                s.queuedBytes = 0
                return (work, false)
            }
            if finishing { break }
            if work.isEmpty {
                flushIdle()
                wake.wait()
                continue
            }
            write(work)
            state.withLock { $0.writingBytes = 0 }  // `work` is freed as this turn ends
        }
        let outcome = writer.withLock { w -> FileOutcome in
            defer { w = nil }
            return FileOutcome(w) { file throws(DumpError) in
                try file.sync()
                try file.close()
            }
        }
        state.withLock { $0.settle(outcome) }
        done.signal()
    }

    private func write(_ work: [[Span]]) {
        // Big batches (a full datagram's spans) are written where they lie;
        // small ones are gathered first, so lines do not shrink to a span each.
        var gathered: [Span] = []
        for batch in work {
            if batch.count >= Self.wholeBatchSpans {
                if !gathered.isEmpty { writeOut(gathered); gathered.removeAll(keepingCapacity: true) }
                writeOut(batch)
            } else {
                gathered.append(contentsOf: batch)
                if gathered.count >= Self.writeChunk { writeOut(gathered); gathered.removeAll(keepingCapacity: true) }
            }
        }
        if !gathered.isEmpty { writeOut(gathered) }
    }

    private func writeOut(_ spans: [Span]) {
        let outcome = writer.withLock { w -> FileOutcome in
            guard w != nil else { return FileOutcome(failure: "writer is closed", unwritten: spans.count) }
            return FileOutcome(w) { file throws(DumpError) in try file.write(spans) }
        }
        state.withLock { s in
            s.queuedSpans -= spans.count
            s.settle(outcome)
        }
    }

    /// Caught up: hand the buffered lines to the kernel, so a crash loses little.
    private func flushIdle() {
        let outcome = writer.withLock { w in FileOutcome(w) { file throws(DumpError) in try file.flush() } }
        state.withLock { $0.settle(outcome) }
    }
}

/// What the file says after an operation: its own counts of spans that
/// reached it whole and spans a failed write lost (so a span buffered when
/// the disk filled up is counted lost, not written), and the failure.
private struct FileOutcome {
    var flushed: Int?
    var lost: Int?
    var failure: String?
    /// Spans that never reached the writer (it was gone).
    var unwritten = 0

    init(failure: String, unwritten: Int) {
        self.failure = failure
        self.unwritten = unwritten
    }

    init(_ file: DumpWriter?, _ operation: (DumpWriter) throws(DumpError) -> Void) {
        guard let file else { return }
        do {
            try operation(file)
        } catch {
            failure = "\(error)"
        }
        flushed = file.spansFlushed
        lost = file.spansLost
    }
}

private struct RecorderState {
    var queue: [[Span]] = []
    var queuedSpans = 0
    /// Bytes of the spans queued, and of the batch the writer holds (freed
    /// only once all of it is written).
    var queuedBytes = 0
    var writingBytes = 0
    var writerWaiting = false
    var finishing = false
    /// The process is at its memory limit (`setRefusing`).
    var refusing = false
    var threadReleased = false
    var written = 0
    var dropped = 0
    var dropReasons: [String: Int] = [:]
    var writeError: String?
    /// The file's lost count already taken into `dropped`.
    var lostSeen = 0

    /// Takes in the file's counts after a write, flush or close.
    mutating func settle(_ outcome: FileOutcome) {
        if let flushed = outcome.flushed { written = flushed }
        let reason = "write failed: \(outcome.failure ?? "unknown")"
        if let lost = outcome.lost, lost > lostSeen {
            drop(lost - lostSeen, reason)
            lostSeen = lost
        }
        if outcome.unwritten > 0 { drop(outcome.unwritten, reason) }
        if writeError == nil, let failure = outcome.failure { writeError = failure }
    }

    mutating func drop(_ count: Int, _ reason: String) {
        dropped += count
        if dropReasons[reason] != nil || dropReasons.count < 16 {
            dropReasons[reason, default: 0] += count
        } else {
            dropReasons["other", default: 0] += count
        }
    }

    func summary(path: String) -> RecorderSummary {
        RecorderSummary(
            path: path, spansWritten: written, spansDropped: dropped,
            dropReasons: dropReasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { RecorderSummary.DropReason(reason: $0.key, spans: $0.value) })
    }
}

/// Hands every batch to each sink in turn (e.g. the store feeding the UI, and a recorder).
public struct FanOutSink: SpanSink {
    public let sinks: [any SpanSink]

    public init(_ sinks: [any SpanSink]) {
        self.sinks = sinks
    }

    public func accept(_ spans: [Span], from listener: ListenerKind) {
        for sink in sinks { sink.accept(spans, from: listener) }
    }
}
