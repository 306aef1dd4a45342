import Foundation
import Synchronization
import TraceModel
import TraceFormats
import TraceExplorer

/// Reads dumps into the shared store on a background thread, publishing
/// progress for the status bar. The UI never waits for it.
final class DumpLoader: Sendable {
    let store: SharedTraceStore
    let files: [String]
    /// Where read spans go when not straight to the store (packed where
    /// they were decoded): a filter, or (replay) a schedule's inbox.
    private let sink: (@Sendable ([Span]) -> Void)?
    private let status = Mutex(IngestStatus())
    private let finished = Mutex(false)
    private let failures = Mutex<[String]>([])
    private let reports = Mutex<[String]>([])

    init(files: [String], store: SharedTraceStore, sink: (@Sendable ([Span]) -> Void)? = nil) {
        self.files = files
        self.store = store
        self.sink = sink
        status.withLock { $0.sourceName = files.count == 1 ? files[0] : "\(files.count) files"; $0.loading = true }
    }

    var currentStatus: IngestStatus { status.withLock { $0 } }
    var isFinished: Bool { finished.withLock { $0 } }
    /// Files that could not be read at all, as one-line messages.
    var fileErrors: [String] { failures.withLock { $0 } }
    /// Malformed lines, `file:line: reason`, for stderr once the screen is free.
    var issueReports: [String] { reports.withLock { $0 } }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "tracetty.loader"
        thread.start()
    }

    /// Reads every file; safe to call on any thread (also directly, for `print`).
    func run() {
        let started = Date()
        var bytesBefore = 0
        var spansBefore = 0
        for file in files {
            let reader = DumpReader(path: file)
            var fileBytes = 0
            do {
                let onProgress = { (progress: DumpProgress) in
                    fileBytes = progress.bytesRead
                    let elapsed = max(1e-6, Date().timeIntervalSince(started))
                    self.status.withLock { s in
                        s.bytesRead = bytesBefore + progress.bytesRead
                        s.totalBytes = progress.totalBytes.map { bytesBefore + $0 }
                        s.spansRead = spansBefore + progress.spans
                        s.bytesPerSecond = Double(s.bytesRead) / elapsed
                    }
                }
                let summary: DumpReadSummary
                if let sink {
                    summary = try reader.read(onSpans: { spans in sink(spans) }, onProgress: onProgress)
                } else {
                    summary = try reader.read(onPacked: { packed in self.store.add(packed) }, onProgress: onProgress)
                }
                bytesBefore += fileBytes
                spansBefore += summary.spans
                status.withLock { s in
                    s.malformed += summary.issueCount
                    if s.firstIssue == nil, let first = summary.issues.first { s.firstIssue = first.description }
                    s.spansRead = spansBefore
                    s.bytesRead = bytesBefore
                }
                // Kept, not printed: while the explorer runs, stderr is the screen.
                reports.withLock { lines in
                    lines += summary.issues.map(\.description)
                    if summary.issueCount > summary.issues.count {
                        lines.append("\(file): \(summary.issueCount - summary.issues.count) more malformed lines not shown")
                    }
                }
            } catch {
                let message = "\(error)"
                failures.withLock { $0.append(message) }
                status.withLock { s in
                    s.malformed += 1
                    if s.firstIssue == nil { s.firstIssue = message }
                }
            }
        }
        let counters = store.counters
        status.withLock { s in
            s.loading = false
            s.spansDropped = counters.spansDroppedTraceFull
            s.tracesEvicted = counters.tracesEvicted
        }
        finished.withLock { $0 = true }
    }
}
