import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// A feed that adds the next batch of spans to the store on each poll: a
/// loader or the listeners, minus the sockets.
final class ScriptedFeed: ExplorerFeed {
    var batches: [[Span]]
    var status = IngestStatus()
    private(set) var polls = 0

    init(batches: [[Span]] = [], live: Bool = false) {
        self.batches = batches
        if live {
            var liveStatus = LiveStatus()
            liveStatus.listeners = 1
            status.live = liveStatus
        }
    }

    func poll(into store: SharedTraceStore) -> IngestStatus {
        polls += 1
        if !batches.isEmpty { store.add(batches.removeFirst()) }
        return status
    }
}

/// The one runtime, driven by a test terminal and a hand-moved clock.
@Suite struct ExplorerRuntimeTests {
    static func seedStore() -> SharedTraceStore {
        let store = SharedTraceStore()
        var source = ExplorerFixtures.store()
        for id in source.allTraceIDs { store.add(source.traceSpans(id) ?? []) }
        _ = source.summaries()
        return store
    }

    static func runtime(_ terminal: BufferTerminal, store: SharedTraceStore, feed: ScriptedFeed, clock: ManualClock,
                        follow: Bool = false) -> ExplorerRuntime {
        terminal.onIdle = { clock.advance(milliseconds: $0) }
        var model = ExplorerModel(width: terminal.width, height: terminal.height, title: "test")
        model.list.showsPlot = false
        if follow { model.setFollow(true) }
        var runtime = ExplorerRuntime(model: model, store: store, feed: feed, backend: terminal, clock: clock, worker: .inline())
        runtime.refreshIntervalNanos = 100_000_000
        return runtime
    }

    static func newTrace(_ low: UInt64, at seconds: UInt64) -> [Span] {
        ExplorerFixtures.seedTrace(id: TraceID(low: low), start: ExplorerFixtures.t0 + seconds * 1_000_000_000)
    }

    @Test func opensATraceAndQuitsWithStatusZero() {
        let terminal = BufferTerminal(width: 100, height: 30, script: [
            .idle(1), .event(.key(.char("G"))), .event(.key(.enter)), .idle(1),
        ])
        terminal.whenScriptEnds = nil
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: ScriptedFeed(), clock: ManualClock())
        terminal.append([.event(.key(.char("q")))])
        let status = runtime.run()
        #expect(status == 0)
        #expect(runtime.model.trace?.trace.traceID == ExplorerFixtures.seedID)
        #expect(terminal.lines.contains { $0.contains("server-2 server-2") })
        #expect(terminal.cursor == nil)
    }

    @Test func ctrlLRepaintsTheWholeScreenWhereverFocusIs() {
        let terminal = BufferTerminal(width: 80, height: 24, script: [
            .event(.key(.ctrl("l"))), .event(.key(.enter)), .event(.key(.ctrl("l"))), .event(.key(.char("?"))), .event(.key(.ctrl("l"))),
        ])
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: ScriptedFeed(), clock: ManualClock())
        _ = runtime.run()
        #expect(terminal.repaints == 3)
    }

    @Test func stopSignalsEndWithZeroOthersWithTheirStatusAndCtrlZSuspends() {
        let terminal = BufferTerminal(width: 80, height: 24, script: [.event(.key(.ctrl("z"))), .event(.quit(.signal(15)))])
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: ScriptedFeed(), clock: ManualClock())
        #expect(runtime.run() == 0, "SIGTERM is a stop asked for")
        #expect(terminal.suspensions == 1)
        for (signal, status) in [(Int32(1), Int32(0)), (2, 0), (3, 131)] {
            let quitting = BufferTerminal(width: 80, height: 24, script: [.event(.quit(.signal(signal)))])
            var other = Self.runtime(quitting, store: Self.seedStore(), feed: ScriptedFeed(), clock: ManualClock())
            #expect(other.run() == status, "signal \(signal)")
        }
    }

    @Test func refreshesAreThrottledTo100Milliseconds() {
        // A trace arrives on every poll; each idle read moves the clock 10 ms.
        let batches = (0..<40).map { Self.newTrace(0x1000 + UInt64($0), at: UInt64($0)) }
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(5)])
        terminal.whenScriptEnds = .quit(.controlC)
        let clock = ManualClock()
        var runtime = Self.runtime(terminal, store: SharedTraceStore(), feed: ScriptedFeed(batches: batches), clock: clock)
        runtime.pollMilliseconds = 10
        _ = runtime.run()
        // 6 polls (5 idle reads and the quit): the first refresh at once, the
        // next not before 100 ms; the list still shows only the first trace.
        #expect(runtime.model.list.totalCount == 1)

        let later = BufferTerminal(width: 100, height: 30, script: [.idle(25)])
        var second = Self.runtime(later, store: SharedTraceStore(), feed: ScriptedFeed(batches: batches), clock: ManualClock())
        second.pollMilliseconds = 10
        _ = second.run()
        // 26 polls over 250 ms: refreshes at 0, 100 and 200 ms, so 21 of 26 traces are shown.
        #expect(second.model.list.totalCount == 21)
    }

    @Test func byDefaultALiveListTakesInArrivalsOnceASecond() {
        // A trace arrives on every poll, a poll every 10 ms, for 2.5 s.
        let batches = (0..<250).map { Self.newTrace(0x1800 + UInt64($0), at: UInt64($0)) }
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(250)])
        terminal.whenScriptEnds = .quit(.controlC)
        let clock = ManualClock()
        var runtime = Self.runtime(terminal, store: SharedTraceStore(), feed: ScriptedFeed(batches: batches), clock: clock)
        runtime.refreshIntervalNanos = ExplorerRuntime.defaultRefreshIntervalNanos
        runtime.pollMilliseconds = 10
        _ = runtime.run()
        // Refreshes at 0, 1 and 2 s: the first trace at once, then 100 more each second.
        #expect(runtime.model.list.totalCount == 201)
    }

    @Test func pauseFreezesTheListAndResumeCatchesUp() {
        let batches = [[]] + (0..<10).map { Self.newTrace(0x2000 + UInt64($0), at: UInt64($0)) }
        let feed = ScriptedFeed(batches: batches, live: true)
        let terminal = BufferTerminal(width: 100, height: 30, script: [
            .idle(1), .event(.key(.char("p"))), .idle(30),
        ])
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: feed, clock: ManualClock())
        _ = runtime.run()
        #expect(runtime.model.paused)
        #expect(runtime.model.list.totalCount == 4)
        #expect(terminal.lines.contains { $0.contains("PAUSED") })

        let resumed = BufferTerminal(width: 100, height: 30, script: [
            .idle(1), .event(.key(.char("p"))), .idle(12), .event(.key(.char("p"))), .idle(12),
        ])
        var again = Self.runtime(resumed, store: Self.seedStore(), feed: ScriptedFeed(batches: batches, live: true),
                                 clock: ManualClock())
        _ = again.run()
        #expect(!again.model.paused)
        #expect(again.model.list.totalCount == 14)
    }

    @Test func followSelectsEachNewTraceAsItArrives() {
        let batches = [[], [], [], [], []] + (0..<3).map { Self.newTrace(0x3000 + UInt64($0), at: 100 + UInt64($0)) }
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(40)])
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: ScriptedFeed(batches: batches, live: true),
                                   clock: ManualClock(), follow: true)
        _ = runtime.run()
        #expect(runtime.model.list.selectedID == TraceID(low: 0x3002))
        #expect(terminal.lines.contains { $0.contains("FOLLOW") })
        // Moving by hand leaves follow: the selection stays where the user put it.
        let manual = BufferTerminal(width: 100, height: 30, script: [.idle(1), .event(.key(.char("j"))), .idle(40)])
        var second = Self.runtime(manual, store: Self.seedStore(), feed: ScriptedFeed(batches: batches, live: true),
                                  clock: ManualClock(), follow: true)
        _ = second.run()
        #expect(!second.model.list.follow)
        #expect(second.model.list.selectedID != TraceID(low: 0x3002))
    }

    @Test func anOpenTraceGrowsFromTheSameSnapshotAsTheList() {
        let spans = ExplorerFixtures.seedTrace(id: TraceID(low: 0x4444), start: ExplorerFixtures.t0)
        let feed = ScriptedFeed(batches: [[spans[1]], [], [], [spans[0]], [], [], [], [], [], [], [], [], [spans[2]]])
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(1), .event(.key(.enter)), .idle(40)])
        var runtime = Self.runtime(terminal, store: SharedTraceStore(), feed: feed, clock: ManualClock())
        _ = runtime.run()
        #expect(runtime.model.trace?.trace.spans.count == 3)
        #expect(runtime.model.list.rows.first?.spanCount == 3)
        #expect(terminal.lines.contains { $0.contains("server-2 server-2") })
    }

    @Test func resizeRedrawsAtTheNewSize() {
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(1)])
        terminal.resize(width: 60, height: 15)
        var runtime = Self.runtime(terminal, store: Self.seedStore(), feed: ScriptedFeed(), clock: ManualClock())
        _ = runtime.run()
        #expect(terminal.screen.width == 60 && terminal.screen.height == 15)
        #expect(terminal.lines.allSatisfy { DisplayWidth.of($0) == 60 })
    }
}
