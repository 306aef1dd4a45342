import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

@Suite struct ExplorerSnapshotTests {
    static let sizes = [(80, 24), (120, 40)]

    @Test(arguments: sizes) func traceList(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        // Select the seed trace: the list is newest first.
        while state.selectedTraceID != ExplorerFixtures.seedID { _ = state.handle(.key(.down)) }
        assertSnapshot(ExplorerView.render(state).lines(), named: "trace-list-\(width)x\(height)")
    }

    @Test(arguments: sizes) func waterfall(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        ExplorerFixtures.openSeed(&state)
        _ = state.handle(.key(.down))
        _ = state.handle(.key(.down))  // server-2
        #expect(state.traceView?.selectedSpanValue?.name == "server-2")
        assertSnapshot(ExplorerView.render(state).lines(), named: "waterfall-\(width)x\(height)")
    }

    @Test(arguments: sizes) func spanDetail(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        ExplorerFixtures.openSeed(&state)
        _ = state.handle(.key(.char("j")))
        _ = state.handle(.key(.char("j")))
        _ = state.handle(.key(.enter))
        #expect(state.context == .detail)
        assertSnapshot(ExplorerView.render(state).lines(), named: "detail-\(width)x\(height)")
    }

    @Test(arguments: sizes) func help(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        ExplorerFixtures.openSeed(&state)
        _ = state.handle(.key(.char("?")))
        #expect(state.context == .help)
        assertSnapshot(ExplorerView.render(state).lines(), named: "help-\(width)x\(height)")
    }

    @Test(arguments: sizes) func liveTraceListFollowing(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        state.ingest = IngestStatus()
        var live = LiveStatus()
        live.listeners = 6
        live.spansPerSecond = 1234
        live.spansReceived = 9
        live.malformed = 2
        live.lastMalformedReason = "jaeger-compact: thrift compact: byte 3: truncated"
        live.clientDropped = 5
        live.recordingTo = "live.ndjson"
        state.ingest.live = live
        _ = state.handle(.key(.char("f")))
        assertSnapshot(ExplorerView.render(state).lines(), named: "live-list-\(width)x\(height)")
    }

    @Test func aFailedListenerIsShownFirstAndTheOthersStayLive() {
        var state = ExplorerFixtures.state(width: 100, height: 24)
        var live = LiveStatus()
        live.listeners = 2
        live.spansReceived = 9
        live.failedListeners = ["otlp-http: accept4: Invalid argument"]
        state.ingest.live = live
        let status = ExplorerView.render(state).lines().last { $0.contains("live") } ?? ""
        #expect(status.contains("● live  FAILED otlp-http: accept4: Invalid argument"), "\(status)")
        live.failedListeners = ["otlp-http: a", "jaeger-compact: b"]
        state.ingest.live = live
        let none = ExplorerView.render(state).lines().last { $0.contains("FAILED") } ?? ""
        #expect(none.contains("○ no listener  FAILED otlp-http: a  FAILED jaeger-compact: b"), "\(none)")
    }

    @Test func liveWaitingScreenListsTheListeners() {
        var state = ExplorerModel(width: 80, height: 24)
        var live = LiveStatus()
        live.listeners = 2
        live.addresses = ["listening jaeger-compact udp 127.0.0.1:6831", "listening otlp-http http 127.0.0.1:4318"]
        state.ingest.live = live
        let text = ExplorerView.render(state).lines().joined(separator: "\n")
        #expect(text.contains("waiting for spans"))
        #expect(text.contains("listening jaeger-compact udp 127.0.0.1:6831"))
        #expect(text.contains("f follow"))
        // Dumps have no follow or pause in the hint bar.
        let dump = ExplorerView.render(ExplorerFixtures.state(width: 120, height: 24)).lines().joined()
        #expect(!dump.contains("follow"))
    }

    @Test func tooSmall() {
        let state = ExplorerFixtures.state(width: 39, height: 9)
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("terminal too small: 39x9, need 40x10") })
        // Exactly 40x10 draws the explorer.
        let fits = ExplorerView.render(ExplorerFixtures.state(width: 40, height: 10)).lines()
        #expect(fits[0].contains("tracetty"))
        #expect(fits.count == 10 && fits.allSatisfy { DisplayWidth.of($0) == 40 })
    }

    @Test func everySizeFromTheMinimumUpKeepsRowsExactlyAsWideAsTheScreen() {
        for width in stride(from: 40, through: 200, by: 7) {
            for height in [10, 13, 24, 50] {
                var state = ExplorerFixtures.state(width: width, height: height)
                let list = ExplorerView.render(state).lines()
                ExplorerFixtures.openSeed(&state)
                _ = state.handle(.key(.enter))
                let detail = ExplorerView.render(state).lines()
                for line in list + detail {
                    #expect(DisplayWidth.of(line) == width, "\(width)x\(height): \(line)")
                }
            }
        }
    }
}
