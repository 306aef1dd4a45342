import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// Views that help a person understand one trace: FOLLOWS_FROM edges,
/// critical path, statistics, clock skew, logs, links, compare.
@Suite struct UnderstandingSnapshotTests {
    static let sizes = [(80, 24), (120, 40)]

    static func seed(width: Int, height: Int) -> ExplorerModel {
        var state = ExplorerFixtures.state(width: width, height: height)
        ExplorerFixtures.openSeed(&state)
        return state
    }

    static func press(_ state: inout ExplorerModel, _ keys: String) {
        for c in keys { _ = state.update(.key(c == "\n" ? .enter : .char(c))) }
    }

    @Test(arguments: sizes) func followsFromEdgeIsMarked(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        state.openTrace(ExplorerFixtures.producerConsumerTrace())
        Self.press(&state, "jj\n")
        #expect(state.traceView?.selectedSpanValue?.name == "consume order")
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("⇢ worker consume order") })
        #expect(lines.contains { $0.contains("FOLLOWS_FROM its parent") })
        assertSnapshot(lines, named: "follows-from-\(width)x\(height)")
    }

    /// `c` on the seed trace: solid bars on the path, shaded off it (text
    /// only: it reads without colour), each span's time on it, the total.
    @Test(arguments: sizes) func criticalPathInMonochrome(width: Int, height: Int) {
        var state = Self.seed(width: width, height: height)
        Self.press(&state, "c")
        #expect(state.traceView?.showsCriticalPath == true)
        let lines = ExplorerView.render(state).lines()
        #expect(lines[1].contains("critical path 751ms (100%)"))
        #expect(lines.contains { $0.contains("░") && $0.contains("server-1 server-1") })
        assertSnapshot(lines, named: "critical-path-\(width)x\(height)")
        Self.press(&state, "c")
        #expect(!ExplorerView.render(state).lines().joined().contains("░"))
    }

    @Test(arguments: sizes) func criticalPathInTheDetail(width: Int, height: Int) {
        var state = Self.seed(width: width, height: height)
        Self.press(&state, "cjj\n")
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("critical path 500ms (66.6% of trace)") })
        #expect(lines.contains { $0.contains("Clock skew  moved -853µs to fit its parent") })
        assertSnapshot(lines, named: "critical-path-detail-\(width)x\(height)")
    }

    /// `R`: the times as received; the skew mark and the status go.
    @Test func rawTimesToggle() {
        var state = Self.seed(width: 80, height: 24)
        var lines = ExplorerView.render(state).lines()
        #expect(lines[22].contains("clock skew: 1 span shifted"))
        #expect(lines[5].hasPrefix("~"))
        Self.press(&state, "R")
        lines = ExplorerView.render(state).lines()
        #expect(lines[22].contains("raw times"))
        #expect(lines[5].hasPrefix(" "))
        assertSnapshot(lines, named: "raw-times-80x24")
    }

    @Test(arguments: sizes) func statistics(width: Int, height: Int) {
        var state = Self.seed(width: width, height: height)
        Self.press(&state, "S")
        #expect(state.focus == .statistics)
        assertSnapshot(ExplorerView.render(state).lines(), named: "statistics-service-\(width)x\(height)")
        Self.press(&state, "bb")
        assertSnapshot(ExplorerView.render(state).lines(), named: "statistics-both-\(width)x\(height)")
    }

    @Test(arguments: sizes) func traceLog(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        state.openTrace(ExplorerFixtures.producerConsumerTrace())
        Self.press(&state, "L")
        #expect(state.focus == .traceLog)
        assertSnapshot(ExplorerView.render(state).lines(), named: "trace-log-\(width)x\(height)")
    }

    @Test(arguments: sizes) func linksInTheDetail(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        state.openTrace(ExplorerFixtures.linksTrace())
        Self.press(&state, "jj\nG")
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("› link  this trace, span 0000000000000011") })
        assertSnapshot(lines, named: "links-\(width)x\(height)")
    }

    @Test(arguments: sizes) func compare(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        let store = ExplorerFixtures.store()
        // Mark the error trace (A), open the seed trace (B), compare.
        state.openTrace(store.trace(TraceID(high: 0x1111, low: 0x2222))!)
        Self.press(&state, "m")
        _ = state.update(.key(.escape))
        ExplorerFixtures.openSeed(&state)
        #expect(state.notice?.hasPrefix("= compares with the marked trace") == true)
        let effects = state.update(.key(.char("=")))
        #expect(effects == [.compareTraces(a: TraceID(high: 0x1111, low: 0x2222), b: ExplorerFixtures.seedID)])
        #expect(ExplorerView.render(state).lines().joined().contains("comparing…"))
        let a = store.trace(TraceID(high: 0x1111, low: 0x2222))!, b = store.trace(ExplorerFixtures.seedID)!
        _ = state.update(.computed(.comparison(a: a.traceID, b: b.traceID, TraceComparison(a: a, b: b))))
        #expect(state.focus == .compare)
        _ = store
        assertSnapshot(ExplorerView.render(state).lines(), named: "compare-\(width)x\(height)")
    }
}
