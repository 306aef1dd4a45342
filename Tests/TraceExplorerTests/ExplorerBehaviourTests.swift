import Foundation
import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

@Suite struct ExplorerBehaviourTests {
    @Test func selectedTraceIsKeptWhenTheListChanges() {
        var store = ExplorerFixtures.store()
        var state = ExplorerModel(width: 100, height: 30)
        state.setTraces(from: &store)
        _ = state.handle(.key(.char("G")))
        let chosen = state.selectedTraceID
        #expect(chosen == ExplorerFixtures.seedID)  // oldest is last, newest first
        // A newer trace arrives: it goes on top, the selection stays put.
        store.add(contentsOf: ExplorerFixtures.seedTrace(id: TraceID(low: 0x5555), start: ExplorerFixtures.t0 + 9_000_000_000))
        state.setTraces(from: &store)
        #expect(state.selectedTraceID == chosen)
        #expect(state.traces.first?.traceID == TraceID(low: 0x5555))
        #expect(state.selectedIndex == state.traces.count - 1)
    }

    @Test func sortByDurationAndReverse() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        _ = state.handle(.key(.char("s")))
        #expect(state.sort == .duration)
        let durations = state.traces.map(\.durationNano)
        #expect(durations == durations.sorted(by: >))
        _ = state.handle(.key(.char("r")))
        #expect(state.traces.map(\.durationNano) == durations.sorted())
        _ = state.handle(.key(.char("s")))
        #expect(state.sort == .spans)
        _ = state.handle(.key(.char("s")))
        #expect(state.sort == .errors)
        #expect(state.traces.first?.errorCount == 2)
        _ = state.handle(.key(.char("s")))
        #expect(state.sort == .start)
        let starts = state.traces.map(\.startUnixNano)
        #expect(starts == starts.sorted(by: >))
    }

    @Test func enterAsksForTheTraceAndEscapeGoesBack() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        let id = state.selectedTraceID
        #expect(state.handle(.key(.enter)) == [.loadTrace(id!)])
        ExplorerFixtures.openSeed(&state)
        #expect(state.context == .waterfall)
        _ = state.handle(.key(.enter))
        #expect(state.context == .detail)
        _ = state.handle(.key(.tab))
        #expect(state.context == .waterfall)
        _ = state.handle(.key(.escape))  // closes the detail
        #expect(state.traceView?.isDetailOpen == false)
        _ = state.handle(.key(.backspace))
        #expect(state.context == .traceList)
        #expect(state.handle(.key(.char("q"))) == [.quit(status: 0)])
        #expect(state.handle(.key(.ctrl("c"))) == [.quit(status: 0)])
    }

    @Test func collapseAndExpandSubtrees() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        ExplorerFixtures.openSeed(&state)
        #expect(state.traceView?.visibleRows.count == 3)
        _ = state.handle(.key(.char(" ")))  // collapse root
        #expect(state.traceView?.visibleRows.count == 1)
        let rows = ExplorerView.render(state).lines()
        #expect(rows.contains { $0.contains("▸ server-1 server-1 (+2)") })
        _ = state.handle(.key(.char("E")))
        #expect(state.traceView?.visibleRows.count == 3)
        _ = state.handle(.key(.down))
        _ = state.handle(.key(.left))  // collapse the hop
        #expect(state.traceView?.visibleRows.count == 2)
        _ = state.handle(.key(.left))  // already collapsed: go to parent
        #expect(state.traceView?.selectedSpanValue?.name == "server-1")
        _ = state.handle(.key(.char("C")))
        #expect(state.traceView?.visibleRows.count == 1)
    }

    @Test func aGrowingTraceKeepsSelectionAndCollapse() {
        var store = TraceStore()
        let spans = ExplorerFixtures.seedTrace()
        store.add(spans[1])
        store.add(spans[0])
        var state = ExplorerModel(width: 100, height: 30)
        state.setTraces(from: &store)
        state.openTrace(store.trace(ExplorerFixtures.seedID)!)
        _ = state.handle(.key(.down))
        #expect(state.traceView?.selectedSpanValue?.name == "server-1_to_server-2")
        store.add(spans[2])
        state.updateOpenTrace(store.trace(ExplorerFixtures.seedID)!)
        #expect(state.traceView?.visibleRows.count == 3)
        #expect(state.traceView?.selectedSpanValue?.name == "server-1_to_server-2")
    }

    @Test func hugeTraceRendersOnlyVisibleRows() {
        var spans: [Span] = []
        let id = TraceID(low: 42)
        for i in 0..<100_000 {
            let parent: SpanID? = i == 0 ? nil : SpanID(UInt64((i - 1) / 10 + 1))
            spans.append(Span(traceID: id, spanID: SpanID(UInt64(i + 1)), parentSpanID: parent, name: "op",
                              startTimeUnixNano: UInt64(i) * 1000, durationNano: 5000, resource: ExplorerFixtures.server1))
        }
        var state = ExplorerModel(width: 120, height: 40)
        state.openTrace(Trace(traceID: id, spans: spans))
        _ = state.handle(.key(.char("G")))
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("100000/100000") })
    }

    @Test func hostileTextIsEscapedNeverRaw() {
        var state = ExplorerFixtures.state(width: 120, height: 40)
        let buffer = ExplorerView.render(state)
        let text = buffer.lines().joined()
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
        #expect(text.contains("evil\\x1b[2Jname\\x07"))
        // And in the detail of the hostile span.
        let store = ExplorerFixtures.store()
        state.openTrace(store.trace(TraceID(low: 0x99))!)
        _ = state.handle(.key(.enter))
        let detail = ExplorerView.render(state).lines().joined(separator: "\n")
        #expect(!detail.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7f })
        #expect(detail.contains("line2\\x1b]0;pwned\\x07"))
        #expect(detail.contains("値 🙂 e\u{301}"))
    }

    @Test func detailWrapsLongValuesInsteadOfCuttingThem() {
        var store = TraceStore()
        let long = String(repeating: "abcdefghij", count: 30)
        store.add(Span(traceID: TraceID(low: 1), spanID: SpanID(1), name: "op", startTimeUnixNano: 0, durationNano: 1,
                       attributes: [Attribute("long", .string(long))]))
        var state = ExplorerModel(width: 80, height: 40)
        state.setTraces(from: &store)
        state.openTrace(store.trace(TraceID(low: 1))!)
        _ = state.handle(.key(.enter))
        let text = ExplorerView.render(state).lines().map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(text.contains(long))
    }

    @Test func clicksSelectThenOpenAndTheWheelScrolls() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        let body = ExplorerLayout(state).listBody
        let seedRow = state.traces.firstIndex { $0.traceID == ExplorerFixtures.seedID }!
        #expect(state.handle(.mouse(MouseEvent(.press(.left), x: 5, y: body.y + seedRow))).isEmpty)
        #expect(state.selectedTraceID == ExplorerFixtures.seedID)
        #expect(state.handle(.mouse(MouseEvent(.press(.left), x: 5, y: body.y + seedRow))) == [.loadTrace(ExplorerFixtures.seedID)])
        ExplorerFixtures.openSeed(&state)
        let waterfall = ExplorerLayout(state).waterfallBody
        _ = state.handle(.mouse(MouseEvent(.press(.left), x: 10, y: waterfall.y + 2)))
        #expect(state.traceView?.selectedSpanValue?.name == "server-2")
        _ = state.handle(.mouse(MouseEvent(.press(.left), x: 10, y: waterfall.y + 2)))
        #expect(state.traceView?.isDetailOpen == true)
        _ = state.handle(.mouse(MouseEvent(.wheelUp, x: 10, y: ExplorerLayout(state).waterfallBody.y)))
        #expect(state.traceView?.selectedSpanValue?.name == "server-1_to_server-2")
    }

    @Test func followSelectsTheNewestAndMovingByHandLeavesIt() {
        var store = ExplorerFixtures.store()
        var state = ExplorerModel(width: 100, height: 30)
        state.setTraces(from: &store)
        _ = state.handle(.key(.char("s")))  // by duration
        _ = state.handle(.key(.char("f")))
        #expect(state.follow && state.sort == .start)
        #expect(state.selectedIndex == 0)
        store.add(contentsOf: ExplorerFixtures.seedTrace(id: TraceID(low: 0x7777), start: ExplorerFixtures.t0 + 60_000_000_000))
        state.setTraces(from: &store)
        #expect(state.selectedTraceID == TraceID(low: 0x7777))
        _ = state.handle(.key(.down))
        #expect(!state.follow)
        store.add(contentsOf: ExplorerFixtures.seedTrace(id: TraceID(low: 0x8888), start: ExplorerFixtures.t0 + 70_000_000_000))
        let kept = state.selectedTraceID
        state.setTraces(from: &store)
        #expect(state.selectedTraceID == kept)
    }

    @Test func pauseTogglesFromTheListAndTheWaterfall() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        _ = state.handle(.key(.char(" ")))
        #expect(state.paused)
        ExplorerFixtures.openSeed(&state)
        _ = state.handle(.key(.char("p")))
        #expect(!state.paused)
        _ = state.handle(.key(.down))
        _ = state.handle(.key(.char("u")))  // up to the parent
        #expect(state.traceView?.selectedSpanValue?.name == "server-1")
    }

    @Test func formattingOfDurationsAndTimes() {
        #expect(Formatting.duration(12) == "12ns")
        #expect(Formatting.duration(3_400) == "3.4µs")
        #expect(Formatting.duration(750_909_443) == "751ms")
        #expect(Formatting.duration(12_345_678) == "12.3ms")
        #expect(Formatting.duration(1_250_000_000) == "1.25s")
        #expect(Formatting.duration(123_000_000_000) == "2m03s")
        #expect(Formatting.timestamp(ExplorerFixtures.t0) == "2026-11-28 15:04:05.000")
        #expect(Formatting.timestamp(ExplorerFixtures.t0, utcOffsetSeconds: -3600, withDate: false) == "14:04:05.000")
        #expect(Formatting.timestamp(0) == "1970-01-01 00:00:00.000")
    }
}
