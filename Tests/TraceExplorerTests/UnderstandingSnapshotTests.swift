import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// Views that help a person understand one trace: FOLLOWS_FROM edges,
/// critical path, statistics, clock skew, logs, links, compare.
@Suite struct UnderstandingSnapshotTests {
    static let sizes = [(80, 24), (120, 40)]

    @Test(arguments: sizes) func followsFromEdgeIsMarked(width: Int, height: Int) {
        var state = ExplorerFixtures.state(width: width, height: height)
        state.openTrace(ExplorerFixtures.producerConsumerTrace())
        _ = state.handle(.key(.char("j")))
        _ = state.handle(.key(.char("j")))
        _ = state.handle(.key(.enter))
        #expect(state.traceView?.selectedSpanValue?.name == "consume order")
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("⇢ worker consume order") })
        #expect(lines.contains { $0.contains("FOLLOWS_FROM its parent") })
        assertSnapshot(lines, named: "follows-from-\(width)x\(height)")
    }
}
