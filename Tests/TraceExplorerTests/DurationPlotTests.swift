import Testing
import TraceModel
import TerminalUI
@testable import TraceExplorer

/// Summaries with fixed times for the duration plot.
enum PlotFixtures {
    static let ms: UInt64 = 1_000_000
    static let second: UInt64 = 1_000_000_000
    /// 2026-11-28 15:04:05.000 UTC (as ExplorerFixtures.t0)
    static let t0: UInt64 = 1_795_878_245_000_000_000

    static func summary(_ id: UInt64, start: UInt64, duration: UInt64, error: Bool = false) -> TraceSummary {
        let traceID = TraceID(low: id)
        let span = Span(traceID: traceID, spanID: SpanID(id), name: "op", kind: .server,
                        status: SpanStatus(code: error ? .error : .unset), startTimeUnixNano: start,
                        durationNano: duration, resource: Resource(serviceName: "server-1"))
        return Trace(traceID: traceID, spans: [span]).summary
    }

    /// 50 traces over a minute like the seed's (0.2-1.2s, a few fast ones),
    /// three of them errors; deterministic.
    static func seedLike() -> [TraceSummary] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        return (0..<50).map { i in
            let start = t0 + UInt64(i) * 1_200 * ms + next() % (400 * ms)
            let duration = i % 9 == 4 ? 20 * ms + next() % (60 * ms) : 200 * ms + next() % (1_000 * ms)
            return summary(UInt64(i + 1), start: start, duration: duration, error: i == 7 || i == 23 || i == 41)
        }
    }

    /// Legend for style snapshots.
    static let legend: [Style: Character] = [
        .plain: ".", DurationPlotView.dotStyle: "o", DurationPlotView.errorStyle: "E",
        DurationPlotView.selectedStyle: "S", DurationPlotView.selectedErrorStyle: "X",
        Theme.axis: "a", Theme.dim: "d",
    ]

    static func render(_ traces: [TraceSummary], selected: TraceSummary? = nil, timeRange: ClosedRange<UInt64>? = nil,
                       scale: DurationPlotView.Scale = .automatic, width: Int, height: Int) -> (CellBuffer, DurationPlotView.Axes?) {
        var buffer = CellBuffer(width: width, height: height)
        let axes = DurationPlotView.render(traces, selected: selected, timeRange: timeRange, scale: scale, utcOffsetSeconds: 0,
                                           at: buffer.area, into: &buffer)
        return (buffer, axes)
    }
}

@Suite struct DurationPlotTests {
    typealias F = PlotFixtures

    /// 40x6: labels `1s`/`500ms`/`0` (5 wide) + space + axis -> plot from
    /// column 7, 33 columns (66 dots) by 5 rows (20 dots).
    @Test func knownPointsLandInTheirCellAndBit() throws {
        let traces = [
            F.summary(1, start: F.t0, duration: F.second),                 // top-left dot
            F.summary(2, start: F.t0 + 10 * F.second, duration: 0),        // bottom-right dot
            F.summary(3, start: F.t0 + 5 * F.second, duration: 500 * F.ms),
        ]
        let (buffer, axes) = F.render(traces, timeRange: F.t0...(F.t0 + 10 * F.second), width: 40, height: 6)
        let a = try #require(axes)
        #expect(a.plot == Rect(x: 7, y: 0, width: 33, height: 5))
        #expect(a.scale == .linear)
        #expect(a.durationRange == 0...F.second)
        #expect(a.plotted == 3)
        // Dot (0, 0): column 0 row 0 of the cell -> bit 0x01.
        #expect(buffer[7, 0].grapheme == "\u{2801}")
        // Dot (65, 19): cell (32, 4), column 1 row 3 -> bit 0x80.
        #expect(buffer[39, 4].grapheme == "\u{2880}")
        // 5s of 10s -> dot x = round(32.5) = 33 (cell 16, column 1); 500ms of
        // 1s -> dot row 10 from the bottom = 9 from the top (cell row 2, row 1) -> bit 0x10.
        #expect(a.dot(start: F.t0 + 5 * F.second, duration: 500 * F.ms)! == (x: 33, y: 9))
        #expect(buffer[7 + 16, 2].grapheme == "\u{2810}")
        for (trace, glyph) in zip(traces, ["\u{2801}", "\u{2880}", "\u{2810}"]) {
            let cell = try #require(a.cell(of: trace))
            #expect(buffer[cell.x, cell.y].grapheme == glyph)
            #expect(buffer[cell.x, cell.y].style == DurationPlotView.dotStyle)
        }
    }

    @Test func dotsInOneCellShareItsGlyph() {
        // Both columns of the first cell, top and bottom rows of the top cell.
        let range = F.t0...(F.t0 + 65 * F.ms)  // 66 dot columns: 1ms a dot
        let traces = [
            F.summary(1, start: F.t0, duration: F.second),
            F.summary(2, start: F.t0 + 1 * F.ms, duration: F.second),
            F.summary(3, start: F.t0, duration: 840 * F.ms),  // dot row 3 from the top: 16/19 ≈ 842ms
        ]
        let (buffer, _) = F.render(traces, timeRange: range, width: 40, height: 6)
        #expect(buffer[7, 0].grapheme == String(UnicodeScalar(0x2800 + 0x01 + 0x08 + 0x40)!))
    }

    @Test func errorCellsTakeTheErrorStyleEvenWhenShared() throws {
        let range = F.t0...(F.t0 + 10 * F.second)
        let ok = F.summary(1, start: F.t0, duration: F.second)
        let error = F.summary(2, start: F.t0 + 10 * F.second, duration: F.second, error: true)
        let sharing = F.summary(3, start: F.t0 + 10 * F.second - 100 * F.ms, duration: 950 * F.ms)
        let (buffer, axes) = F.render([ok, error, sharing], timeRange: range, width: 40, height: 6)
        let a = try #require(axes)
        let okCell = try #require(a.cell(of: ok)), errorCell = try #require(a.cell(of: error))
        #expect(a.cell(of: sharing)! == errorCell)
        #expect(buffer[okCell.x, okCell.y].style == DurationPlotView.dotStyle)
        #expect(buffer[errorCell.x, errorCell.y].style == DurationPlotView.errorStyle)
        #expect(buffer[errorCell.x, errorCell.y].style.foreground == Theme.error.foreground)
        // Without colour an error cell still differs from a plain one.
        #expect(DurationPlotView.errorStyle.degraded(to: .none) != DurationPlotView.dotStyle.degraded(to: .none))
        // Both dots are in the shared cell.
        let bits = buffer[errorCell.x, errorCell.y].grapheme.unicodeScalars.first!.value - 0x2800
        #expect(bits.nonzeroBitCount == 2)
    }

    @Test func theSelectedTraceIsADiamondInReverse() throws {
        let traces = F.seedLike()
        let selected = traces[10], selectedError = traces[23]
        #expect(!selected.hasError && selectedError.hasError)
        for pick in [selected, selectedError] {
            let (buffer, axes) = F.render(traces, selected: pick, width: 80, height: 8)
            let cell = try #require(axes?.cell(of: pick))
            #expect(buffer[cell.x, cell.y].grapheme == "◆")
            let style = buffer[cell.x, cell.y].style
            #expect(style == (pick.hasError ? DurationPlotView.selectedErrorStyle : DurationPlotView.selectedStyle))
            #expect(style.degraded(to: .none).attributes.contains(.reverse))
            #expect(buffer.lines().joined().filter { $0 == "◆" }.count == 1)
        }
        // A selected trace outside the time range is not drawn.
        let (buffer, _) = F.render(traces, selected: selected, timeRange: (selected.startUnixNano + 1)...(F.t0 + 70 * F.second),
                                   width: 80, height: 8)
        #expect(!buffer.text.contains("◆"))
    }

    @Test func axesAreLabelled() throws {
        let traces = [F.summary(1, start: F.t0, duration: 750 * F.ms), F.summary(2, start: F.t0 + 30 * F.second, duration: 100 * F.ms)]
        let (buffer, axes) = F.render(traces, width: 60, height: 6)
        let lines = buffer.lines()
        // Rounded-up top (750ms -> 800ms), middle, zero, right-aligned before the axis.
        #expect(lines[0].hasPrefix("800ms ┤"))
        #expect(lines[2].hasPrefix("400ms ┤"))
        #expect(lines[4].hasPrefix("    0 ┤"))
        #expect(lines[1].hasPrefix("      │"))
        // Start at the left of the time axis, end at its right, round times
        // between: 53 columns for 30s and a label plus gap (12 columns) is 6.8s,
        // so every 10s; 15:04:10 is too near the start, 15:04:30 to the end.
        #expect(lines[5] == "      └15:04:05──────────────15:04:20───────────────15:04:35")
        // 15:04:20 is centred on its column.
        let a = try #require(axes)
        let column = a.cell(start: F.t0 + 15 * F.second, duration: 0)!.x
        #expect(String(lines[5].dropFirst(column - 4).prefix(8)) == "15:04:20")
    }

    @Test func shortRangesShowMilliseconds() {
        let traces = [F.summary(1, start: F.t0, duration: 5 * F.ms), F.summary(2, start: F.t0 + 900 * F.ms, duration: 3 * F.ms)]
        let (buffer, _) = F.render(traces, width: 60, height: 5)
        let axis = buffer.line(4)
        #expect(axis.contains("└15:04:05.000"))
        #expect(axis.hasSuffix("15:04:05.900"))
    }

    @Test func timesAreInTheInjectedZone() {
        let traces = [F.summary(1, start: F.t0, duration: 5 * F.ms), F.summary(2, start: F.t0 + 60 * F.second, duration: 3 * F.ms)]
        var buffer = CellBuffer(width: 60, height: 5)
        DurationPlotView.render(traces, selected: nil, utcOffsetSeconds: 5 * 3600 + 1800, at: buffer.area, into: &buffer)
        // +05:30; ticks at round local times (every 15s here; 20:34:15 and
        // 20:35:00 are too near the ends).
        #expect(buffer.line(4) == "      └20:34:05──────────20:34:30─────20:34:45──────20:35:05")
    }

    @Test func yearsApartStillLabelsTheEnds() {
        // A bogus start (the epoch) next to a real one: only the two ends.
        let traces = [F.summary(1, start: 0, duration: 5 * F.ms), F.summary(2, start: F.t0, duration: 3 * F.ms)]
        let (buffer, _) = F.render(traces, width: 60, height: 5)
        let axis = buffer.line(4)
        #expect(axis.hasPrefix("      └00:00:00─"))
        #expect(axis.hasSuffix("─15:04:05"))
        #expect(axis.filter { $0 == ":" }.count == 4)
    }

    @Test func aLoneTraceGetsASecondAroundIt() throws {
        let trace = F.summary(1, start: F.t0, duration: 5 * F.ms)
        let (buffer, axes) = F.render([trace], selected: trace, width: 40, height: 5)
        let a = try #require(axes)
        #expect(a.timeRange == (F.t0 - 500 * F.ms)...(F.t0 + 500 * F.ms))
        #expect(buffer.text.contains("◆"))
    }

    @Test func onlyTracesInTheTimeRangeAreDrawn() throws {
        // Live: the window is the last 10s; older traces scroll off the left.
        let traces = (0..<20).map { F.summary(UInt64($0 + 1), start: F.t0 + UInt64($0) * F.second, duration: 100 * F.ms) }
        let now = F.t0 + 19 * F.second
        let (buffer, axes) = F.render(traces, timeRange: (now - 10 * F.second)...now, width: 60, height: 6)
        let a = try #require(axes)
        #expect(a.plotted == 11)
        #expect(a.cell(of: traces[8]) == nil)
        #expect(a.cell(of: traces[9])!.x == a.plot.x)
        #expect(a.cell(of: traces[19])!.x == a.plot.maxX - 1)
        #expect(buffer.line(5).hasSuffix("15:04:24"))
        // A second later everything moves left.
        let (_, later) = F.render(traces, timeRange: (now - 9 * F.second)...(now + F.second), width: 60, height: 6)
        #expect(later!.cell(of: traces[19])!.x < a.cell(of: traces[19])!.x)
    }

    @Test func tooSmallDrawsNothing() {
        let traces = F.seedLike()
        for (width, height) in [(19, 10), (80, 3), (0, 0)] {
            var buffer = CellBuffer(width: 80, height: 10)
            let before = buffer
            let axes = DurationPlotView.render(traces, selected: traces[0], at: Rect(x: 0, y: 0, width: width, height: height),
                                               into: &buffer)
            #expect(axes == nil)
            #expect(buffer == before)
        }
        // The rect is clipped to the buffer first.
        var small = CellBuffer(width: 30, height: 3)
        #expect(DurationPlotView.render(traces, selected: nil, at: Rect(x: 0, y: 0, width: 30, height: 8), into: &small) == nil)
    }

    @Test func noTracesSaysSo() {
        let (buffer, axes) = F.render([], width: 40, height: 6)
        #expect(axes == nil)
        #expect(buffer.line(2) == "               no traces                ")
        #expect(buffer[15, 2].style == Theme.dim)
        let (outside, none) = F.render(F.seedLike(), timeRange: 0...1, width: 40, height: 6)
        #expect(none == nil)
        #expect(outside.text.contains("no traces"))
    }

    @Test func aLongTailSwitchesToLogAndCanBePinned() throws {
        // 99 traces of 5-30ms and one 30s timeout.
        var traces = (0..<99).map { F.summary(UInt64($0 + 1), start: F.t0 + UInt64($0) * 100 * F.ms, duration: (5 + UInt64($0 % 26)) * F.ms) }
        traces.append(F.summary(100, start: F.t0 + 9_900 * F.ms, duration: 30 * F.second, error: true))
        let (buffer, axes) = F.render(traces, width: 60, height: 7)
        let a = try #require(axes)
        #expect(a.scale == .logarithmic)
        #expect(a.durationRange == (5 * F.ms)...(30 * F.second))
        let lines = buffer.lines()
        #expect(lines[0].hasPrefix("  30s ┤"))
        #expect(lines[2].hasPrefix("387ms ┤"))  // the geometric middle (√(5ms·30s))
        #expect(lines[5].hasPrefix("  5ms ┤"))
        #expect(lines[6].hasPrefix("  log └"))
        // The fast traces spread over rows instead of lying on the bottom one.
        let rowsUsed = Set(traces.dropLast().map { a.cell(of: $0)!.y })
        #expect(rowsUsed.count >= 2)
        let (linearBuffer, linear) = F.render(traces, scale: .linear, width: 60, height: 7)
        #expect(linear?.scale == .linear)
        #expect(Set(traces.dropLast().map { linear!.cell(of: $0)!.y }) == [5])
        #expect(!linearBuffer.line(6).contains("log"))
        // Similar durations stay linear.
        #expect(F.render(F.seedLike(), width: 60, height: 7).1?.scale == .linear)
    }

    @Test func niceValuesAndMath() {
        #expect(DurationPlotView.plotNiceCeiling(750_909_443) == 800_000_000)
        #expect(DurationPlotView.plotNiceCeiling(1) == 1)
        #expect(DurationPlotView.plotNiceCeiling(9) == 10)
        #expect(DurationPlotView.plotNiceCeiling(1_001) == 1_500)
        #expect(DurationPlotView.plotNiceCeiling(2_100) == 2_500)
        #expect(DurationPlotView.plotNiceCeiling(UInt64.max) == UInt64.max)
        #expect(DurationPlotView.plotNiceFloor(1_234_567) == 1_000_000)
        #expect(DurationPlotView.plotNiceFloor(0) == 1)
        #expect(DurationPlotView.plotNiceFloor(7_999) == 6_000)
        for x in [1.0, 2.0, 3.0, 1e-3, 123.456, 6e9, 1.8e19] {
            let y = DurationPlotView.plotExp2(DurationPlotView.plotLog2(x))
            #expect(abs(y - x) / x < 1e-12)
        }
        #expect(DurationPlotView.plotLog2(1024) == 10)
    }

    @Test func threeHundredThousandTraces() throws {
        let template = F.summary(1, start: F.t0, duration: F.ms)
        var traces = [TraceSummary](repeating: template, count: 300_000)
        for i in traces.indices {
            traces[i].startUnixNano = F.t0 + UInt64(i) * 1_000_000  // 1ms apart: 5 minutes
            traces[i].durationNano = UInt64((i * 7_919) % 1_000) * F.ms
            traces[i].errorCount = i % 1_000 == 0 ? 1 : 0
        }
        let (buffer, axes) = F.render(traces, selected: traces[150_000], width: 120, height: 10)
        let a = try #require(axes)
        #expect(a.plotted == 300_000)
        #expect(buffer.text.contains("◆"))
        #expect(buffer.styleMap(F.legend).joined().contains("E"))
    }

    @Test(arguments: [(80, 8), (120, 10)]) func snapshot(width: Int, height: Int) {
        let traces = F.seedLike()
        let (buffer, _) = F.render(traces, selected: traces[10], width: width, height: height)
        assertSnapshot(buffer.lines(), named: "duration-plot-\(width)x\(height)")
        assertSnapshot(buffer.styleMap(F.legend), named: "duration-plot-\(width)x\(height)-styles")
    }

    /// Drawn into a part of a bigger buffer: nothing outside the rect changes.
    @Test func staysInItsRect() {
        var buffer = CellBuffer(width: 100, height: 12)
        buffer.fill(buffer.area, with: "x", style: .plain)
        let rect = Rect(x: 10, y: 2, width: 60, height: 7)
        DurationPlotView.render(F.seedLike(), selected: nil, at: rect, into: &buffer)
        for y in 0..<12 {
            for x in 0..<100 where !rect.contains(x: x, y: y) {
                #expect(buffer[x, y].grapheme == "x")
            }
        }
        #expect(buffer.line(8).dropFirst(10).hasPrefix("      └15:04:05"))
    }
}
