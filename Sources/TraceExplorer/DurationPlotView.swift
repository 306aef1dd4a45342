import TraceModel
import TerminalUI

/// Above the trace list: each trace's start (x) against its duration (y), like
/// Jaeger's search scatter plot, in braille (2×4 dots a cell).
///
/// ```
///  1.5s ┤
///       │          ⢀           ⠠                        ⠠              ⡀
///       │   ⠄   ⠐          ⠂ ⢀  ⠠  ⠠       ⡀  ⠂
/// 750ms ┤⡀        ⠂    ◆ ⡀                        ⠈        ⠂  ⡀
///       │ ⠠         ⠈ ⠐               ⠐ ⠂      ⢀          ⠂  ⠁
///       │    ⢀                    ⠐  ⠂      ⠠    ⠈  ⠄⢀          ⡀⠠⠠
///     0 ┤      ⠄            ⡀            ⠠             ⠄            ⠠
///       └15:04:05──────15:04:20────15:04:30─────15:04:40────15:04:50──────15:05:03
/// ```
///
/// - Dots are `dotStyle`; a cell holding an error trace is `errorStyle` (the
///   error colour, bold and underlined so it still reads without colour); the
///   selected trace is a reverse-video `◆`.
/// - The caller passes the traces that pass the filter, and the time range:
///   live gives `(now - window)...now` so the plot scrolls; a dump gives nil
///   (the traces' own range). Traces starting outside the range are not drawn.
/// - y is linear from 0 to a rounded-up maximum, like Jaeger; `.automatic`
///   turns logarithmic when the slowest trace is over `logThreshold`× the
///   median one, where linear would flatten most traces onto the bottom row.
///   The axis row then says `log`.
/// - O(n) in the traces, two passes, no allocation per trace; pure.
public enum DurationPlotView {
    public enum Scale: Sendable, Hashable {
        /// Linear, unless the slowest trace is over `logThreshold`× the median.
        case automatic
        case linear
        case logarithmic
    }

    /// Below these the plot draws nothing and the caller gives the rows to the list.
    public static let minimumWidth = 20
    public static let minimumHeight = 4
    /// `.automatic` goes logarithmic when max > this × median (median to a factor of 2).
    public static let logThreshold: UInt64 = 20

    public static let dotStyle = Style(foreground: .palette(75))
    /// `Theme.error` plus underline: tells error cells apart without colour.
    public static let errorStyle = Theme.error.adding(.underline)
    public static let selectedStyle = Style(foreground: .palette(75), attributes: [.bold, .reverse])
    public static let selectedErrorStyle = Style(foreground: Theme.error.foreground, attributes: [.bold, .reverse])
    public static let selectedGlyph = "◆"

    /// How the last frame mapped traces to cells: for mouse hit-testing, for
    /// tests, and to pin the resolved scale (pass `scale` back as `.linear` /
    /// `.logarithmic` to stop it flipping while live data comes and goes).
    public struct Axes: Sendable, Hashable {
        /// The braille cells (without the gutter and the time axis row).
        public var plot: Rect
        public var timeRange: ClosedRange<UInt64>
        public var durationRange: ClosedRange<UInt64>
        /// `.linear` or `.logarithmic`, never `.automatic`.
        public var scale: Scale
        /// Traces inside the time range (drawn).
        public var plotted: Int
        /// Dot columns per nanosecond after the range's start.
        let xScale: Double
        /// Dot row boundaries, ascending: a duration's dot row counted from the
        /// bottom is the number of thresholds it reaches.
        let thresholds: [UInt64]

        var dotColumns: Int { plot.width * 2 }
        var dotRows: Int { plot.height * 4 }

        /// The dot of a trace: x from the left, y from the top; nil outside the
        /// time range. Durations above the range stick to the top row.
        public func dot(start: UInt64, duration: UInt64) -> (x: Int, y: Int)? {
            guard timeRange.contains(start) else { return nil }
            let x = Int((Double(start - timeRange.lowerBound) * xScale).rounded())
            let fromBottom = DurationPlotView.plotCount(thresholds, reachedBy: duration)
            return (min(max(0, x), dotColumns - 1), dotRows - 1 - fromBottom)
        }

        /// The buffer cell a trace's dot is drawn in.
        public func cell(start: UInt64, duration: UInt64) -> (x: Int, y: Int)? {
            guard let d = dot(start: start, duration: duration) else { return nil }
            return (plot.x + d.x / 2, plot.y + d.y / 4)
        }

        public func cell(of trace: TraceSummary) -> (x: Int, y: Int)? {
            cell(start: trace.startUnixNano, duration: trace.durationNano)
        }
    }

    /// Draws the plot of `traces` (already filtered) into `rect`.
    /// - Returns: the axes drawn, nil when nothing was plotted (too small, or
    ///   no trace in the range: then a dim "no traces" if it fits).
    @discardableResult
    public static func render(_ traces: [TraceSummary], selected: TraceSummary?, timeRange: ClosedRange<UInt64>? = nil,
                              scale: Scale = .automatic, utcOffsetSeconds: Int = 0,
                              at rect: Rect, into buffer: inout CellBuffer) -> Axes? {
        let rect = rect.intersection(buffer.area)
        guard rect.width >= minimumWidth, rect.height >= minimumHeight else { return nil }
        buffer.fill(rect, style: .plain)

        // Pass 1: range, extremes and a log2 histogram of the traces in range.
        var stats = PlotStats()
        let from = timeRange?.lowerBound ?? 0, to = timeRange?.upperBound ?? .max
        traces.withUnsafeBufferPointer { all in
            for i in all.indices {
                let start = all[i].startUnixNano
                guard start >= from, start <= to else { continue }
                stats.add(start: start, duration: all[i].durationNano)
            }
        }
        guard stats.count > 0 else {
            let text = "no traces"
            buffer.put(text, x: rect.x + max(0, (rect.width - text.count) / 2), y: rect.y + (rect.height - 1) / 2,
                       style: Theme.dim)
            return nil
        }

        // Axes.
        let time = timeRange ?? plotWidened(stats.minStart...stats.maxStart)
        let resolved = plotResolve(scale, stats)
        let durations = plotDurationRange(resolved, stats)
        let plotRows = rect.height - 1
        let dotRows = plotRows * 4
        let thresholds = plotThresholds(durations, scale: resolved, dotRows: dotRows)
        let labels = plotDurationLabels(durations, scale: resolved, plotRows: plotRows, thresholds: thresholds)
        let labelWidth = labels.reduce(resolved == .logarithmic ? 3 : 1) { max($0, DisplayWidth.of($1.text)) }
        let axisX = rect.x + labelWidth + 1
        let plot = Rect(x: axisX + 1, y: rect.y, width: rect.maxX - axisX - 1, height: plotRows)
        let dotColumns = plot.width * 2
        let span = time.upperBound - time.lowerBound
        let xScale = span == 0 ? 0 : Double(dotColumns - 1) / Double(span)
        let axes = Axes(plot: plot, timeRange: time, durationRange: durations, scale: resolved, plotted: stats.count,
                        xScale: xScale, thresholds: thresholds)

        // Pass 2: bin into dots (the same arithmetic as `Axes.dot`); per cell
        // the braille bits and an error flag.
        var cells = [UInt16](repeating: 0, count: plot.width * plotRows)
        cells.withUnsafeMutableBufferPointer { grid in
            thresholds.withUnsafeBufferPointer { limits in
                traces.withUnsafeBufferPointer { all in
                    for i in all.indices {
                        let start = all[i].startUnixNano
                        guard start >= time.lowerBound, start <= time.upperBound else { continue }
                        let x = min(Int((Double(start - time.lowerBound) * xScale).rounded()), dotColumns - 1)
                        let y = dotRows - 1 - plotCount(limits, reachedBy: all[i].durationNano)
                        let bit = plotBrailleBit(column: x & 1, row: y & 3)
                        let index = (y >> 2) * plot.width + (x >> 1)
                        grid[index] |= bit | (all[i].errorCount > 0 ? 0x100 : 0)
                    }
                }
            }
        }

        // Cells.
        for row in 0..<plotRows {
            for column in 0..<plot.width {
                let value = cells[row * plot.width + column]
                guard value & 0xFF != 0 else { continue }
                buffer.put(brailleGlyphs[Int(value & 0xFF)], x: plot.x + column, y: plot.y + row,
                           style: value & 0x100 != 0 ? errorStyle : dotStyle)
            }
        }
        if let selected, let cell = axes.cell(of: selected) {
            buffer.put(selectedGlyph, x: cell.x, y: cell.y, style: selected.hasError ? selectedErrorStyle : selectedStyle)
        }

        // Duration axis: labels right-aligned in the gutter, a tick on their rows.
        for row in 0..<plotRows {
            buffer.put("│", x: axisX, y: rect.y + row, style: Theme.axis)
        }
        for label in labels {
            let y = rect.y + label.row
            buffer.put(label.text, x: rect.x + labelWidth - DisplayWidth.of(label.text), y: y, style: Theme.axis)
            buffer.put("┤", x: axisX, y: y, style: Theme.axis)
        }

        // Time axis: the bottom row.
        let axisY = rect.maxY - 1
        if resolved == .logarithmic {
            buffer.put("log", x: rect.x + labelWidth - 3, y: axisY, style: Theme.dim)
        }
        buffer.put("└", x: axisX, y: axisY, style: Theme.axis)
        buffer.fill(Rect(x: plot.x, y: axisY, width: plot.width, height: 1), with: "─", style: Theme.axis)
        for label in plotTimeLabels(time, columns: plot.width, utcOffsetSeconds: utcOffsetSeconds) {
            buffer.put(label.text, x: plot.x + label.column, y: axisY, style: Theme.axis)
        }
        return axes
    }

    // MARK: - Scales

    struct PlotStats {
        var count = 0
        var minStart = UInt64.max
        var maxStart: UInt64 = 0
        var maxDuration: UInt64 = 0
        var minPositiveDuration = UInt64.max
        /// Traces by bit length of their duration (0 for 0ns, 64 for ≥ 2^63).
        var histogram = PlotHistogram()

        @inline(__always)
        mutating func add(start: UInt64, duration: UInt64) {
            count += 1
            minStart = min(minStart, start)
            maxStart = max(maxStart, start)
            maxDuration = max(maxDuration, duration)
            if duration > 0 { minPositiveDuration = min(minPositiveDuration, duration) }
            histogram.add(64 - duration.leadingZeroBitCount)
        }

        /// The median duration to a factor of two: the middle of its octave.
        var approximateMedian: UInt64 {
            var seen = 0
            for bits in 0...64 {
                seen += histogram[bits]
                if seen * 2 >= count {
                    return bits == 0 ? 0 : (UInt64(1) << (bits - 1)) + (bits > 1 ? UInt64(1) << (bits - 2) : 0)
                }
            }
            return maxDuration
        }
    }

    /// 65 counters without a heap allocation.
    struct PlotHistogram {
        var counts: (SIMD64<Int32>, Int32) = (.zero, 0)

        @inline(__always)
        mutating func add(_ bits: Int) {
            if bits == 64 { counts.1 &+= 1 } else { counts.0[bits] &+= 1 }
        }

        subscript(bits: Int) -> Int { bits == 64 ? Int(counts.1) : Int(counts.0[bits]) }
    }

    static func plotResolve(_ scale: Scale, _ stats: PlotStats) -> Scale {
        guard stats.maxDuration > 0, stats.minPositiveDuration < stats.maxDuration else { return .linear }
        switch scale {
        case .linear, .logarithmic: return scale
        case .automatic:
            let median = max(1, stats.approximateMedian)
            return stats.maxDuration / median > logThreshold ? .logarithmic : .linear
        }
    }

    /// Linear: 0 to a rounded-up maximum. Log: rounded out on both sides.
    static func plotDurationRange(_ scale: Scale, _ stats: PlotStats) -> ClosedRange<UInt64> {
        let top = plotNiceCeiling(max(1, stats.maxDuration))
        guard scale == .logarithmic else { return 0...top }
        let bottom = min(plotNiceFloor(stats.minPositiveDuration), top / 10)
        return max(1, bottom)...top
    }

    /// Round values of the 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k series, ascending
    /// (in tenths: 10 = 1): the top of the plot sits close above the slowest trace.
    static let plotNiceSteps: [UInt64] = [10, 15, 20, 25, 30, 40, 50, 60, 80]

    /// Calls `body` with each round value in ascending order until it returns false.
    static func plotEachNiceValue(_ body: (UInt64) -> Bool) {
        var decade: UInt64 = 1
        while true {
            for step in plotNiceSteps {
                let (tenths, overflow) = step.multipliedReportingOverflow(by: decade)
                if overflow { return }
                if tenths % 10 == 0, !body(tenths / 10) { return }
            }
            let (next, overflow) = decade.multipliedReportingOverflow(by: 10)
            if overflow { return }
            decade = next
        }
    }

    /// The smallest round value >= `value` (`value` itself past the series).
    static func plotNiceCeiling(_ value: UInt64) -> UInt64 {
        var result = value
        plotEachNiceValue { nice in
            if nice >= value { result = nice; return false }
            return true
        }
        return result
    }

    /// The largest round value <= `value`, at least 1.
    static func plotNiceFloor(_ value: UInt64) -> UInt64 {
        var result: UInt64 = 1
        plotEachNiceValue { nice in
            if nice > value { return false }
            result = nice
            return true
        }
        return result
    }

    /// The duration at a fraction (0 bottom, 1 top) of the axis.
    static func plotValue(at fraction: Double, _ range: ClosedRange<UInt64>, scale: Scale) -> Double {
        let lo = Double(range.lowerBound), hi = Double(range.upperBound)
        if scale == .logarithmic {
            return lo * plotExp2(fraction * plotLog2(hi / lo))
        }
        return lo + (hi - lo) * fraction
    }

    /// Dot row k (from the bottom) holds the durations from the midpoint below
    /// its value to the midpoint above: threshold k is the midpoint above row k.
    static func plotThresholds(_ range: ClosedRange<UInt64>, scale: Scale, dotRows: Int) -> [UInt64] {
        (0..<(dotRows - 1)).map { k in
            let v = plotValue(at: (Double(k) + 0.5) / Double(dotRows - 1), range, scale: scale).rounded(.up)
            return v >= 1.8e19 ? UInt64.max : UInt64(v)
        }
    }

    /// How many thresholds `value` reaches: its dot row from the bottom.
    @inline(__always)
    static func plotCount<C: RandomAccessCollection<UInt64>>(_ thresholds: C, reachedBy value: UInt64) -> Int where C.Index == Int {
        var low = thresholds.startIndex, high = thresholds.endIndex
        while low < high {
            let mid = (low + high) >> 1
            if thresholds[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low - thresholds.startIndex
    }

    struct PlotLabel: Equatable {
        var row: Int
        var column: Int = 0
        var text: String
    }

    /// Top, bottom and middle (and quarters from 9 rows), one per row.
    static func plotDurationLabels(_ range: ClosedRange<UInt64>, scale: Scale, plotRows: Int,
                                   thresholds: [UInt64]) -> [PlotLabel] {
        let fractions: [Double] = plotRows >= 9 ? [1, 0.75, 0.5, 0.25, 0] : plotRows >= 3 ? [1, 0.5, 0] : [1, 0]
        var labels: [PlotLabel] = []
        for fraction in fractions {
            let value: UInt64
            switch fraction {
            case 1: value = range.upperBound
            case 0: value = range.lowerBound
            default: value = UInt64(plotValue(at: fraction, range, scale: scale).rounded())
            }
            let row = (plotRows * 4 - 1 - plotCount(thresholds, reachedBy: value)) / 4
            guard !labels.contains(where: { $0.row == row }) else { continue }
            labels.append(PlotLabel(row: row, text: value == 0 ? "0" : Formatting.duration(value)))
        }
        return labels
    }

    /// One trace (or several at one instant) still gets a readable axis.
    static func plotWidened(_ range: ClosedRange<UInt64>) -> ClosedRange<UInt64> {
        guard range.lowerBound == range.upperBound else { return range }
        let half: UInt64 = 500_000_000
        // Within 64 bits: a trace at the last instant widens downwards only.
        let lower = min(range.lowerBound >= half ? range.lowerBound - half : 0, .max - 2 * half)
        return lower...(lower + 2 * half)
    }

    /// Tick steps for the time axis, in nanoseconds: round clock times.
    static let plotTimeSteps: [UInt64] = {
        let ms: UInt64 = 1_000_000, s = 1_000 * ms, m = 60 * s, h = 60 * m
        return [1 * ms, 2 * ms, 5 * ms, 10 * ms, 20 * ms, 50 * ms, 100 * ms, 200 * ms, 500 * ms,
                1 * s, 2 * s, 5 * s, 10 * s, 15 * s, 30 * s, 1 * m, 2 * m, 5 * m, 10 * m, 15 * m, 30 * m,
                1 * h, 2 * h, 3 * h, 6 * h, 12 * h, 24 * h]
    }()

    /// The exact start at the left and end at the right of the time axis, and
    /// between them round clock times (every 5s, 1m, …) centred on their
    /// column, at least 4 columns apart. Seconds, or milliseconds when the
    /// step is under a second or the two ends would read the same.
    static func plotTimeLabels(_ range: ClosedRange<UInt64>, columns: Int, utcOffsetSeconds: Int) -> [PlotLabel] {
        let gap = 4
        let span = range.upperBound - range.lowerBound
        let dotColumns = columns * 2
        func text(_ time: UInt64, millis: Bool) -> String {
            var text = Formatting.timestamp(time, utcOffsetSeconds: utcOffsetSeconds, withDate: false)
            if !millis { text.removeLast(4) }
            return text
        }
        // The step: the smallest whose ticks are a label and a gap apart
        // (none past a day a label: then only the ends).
        var step: UInt64?
        var millis = false
        for candidate in plotTimeSteps {
            let width = candidate < 1_000_000_000 ? 12 : 8
            if Double(candidate) * Double(columns) >= Double(width + gap) * Double(max(span, 1)) {
                step = candidate
                millis = candidate < 1_000_000_000
                break
            }
        }
        if !millis, text(range.lowerBound, millis: false) == text(range.upperBound, millis: false) {
            millis = true
        }
        var width = millis ? 12 : 8
        if columns < width { millis = false; width = 8 }
        guard columns >= width else { return [] }
        var labels = [PlotLabel(row: 0, column: 0, text: text(range.lowerBound, millis: millis))]
        guard columns >= 2 * width + gap else { return labels }
        let endColumn = columns - width
        guard let step else {
            labels.append(PlotLabel(row: 0, column: endColumn, text: text(range.upperBound, millis: millis)))
            return labels
        }
        // Round times in the local clock: the first multiple of the step after the start.
        let offset = Int64(utcOffsetSeconds) * 1_000_000_000
        let localStart = Int64(bitPattern: range.lowerBound) &+ offset
        let remainder = ((localStart % Int64(step)) + Int64(step)) % Int64(step)
        // Near the end of 64 bits the first round time may not exist: then no ticks
        // (a wrapped tick would sit before the start and trap `tick - lowerBound`).
        let (firstTick, pastTheEnd) = range.lowerBound.addingReportingOverflow(UInt64(Int64(step) - remainder))
        var tick = firstTick
        var lastEnd = width
        while !pastTheEnd, tick < range.upperBound {
            let dot = Int((Double(tick - range.lowerBound) * Double(dotColumns - 1) / Double(max(span, 1))).rounded())
            let column = dot / 2 - width / 2
            if column >= lastEnd + gap, column + width + gap <= endColumn {
                labels.append(PlotLabel(row: 0, column: column, text: text(tick, millis: millis)))
                lastEnd = column + width
            }
            let (next, overflow) = tick.addingReportingOverflow(step)
            if overflow { break }
            tick = next
        }
        labels.append(PlotLabel(row: 0, column: endColumn, text: text(range.upperBound, millis: millis)))
        return labels
    }

    // MARK: - Braille

    /// The dot's bit in U+2800 + bits: columns 0/1, rows 0-3 from the top.
    @inline(__always)
    static func plotBrailleBit(column: Int, row: Int) -> UInt16 {
        if row == 3 { return column == 0 ? 0x40 : 0x80 }
        return UInt16(1) << (row + 3 * column)
    }

    /// The 256 braille patterns, index = dot bits.
    static let brailleGlyphs: [String] = (0..<256).map { String(Character(Unicode.Scalar(UInt32(0x2800 + $0))!)) }

    // MARK: - log2 / exp2 without Foundation (per frame, not per trace)

    static func plotLog2(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 0 }
        // x = m · 2^e, m in [1, 2); ln m = 2 atanh((m-1)/(m+1)).
        let m = x.significand
        let z = (m - 1) / (m + 1), z2 = z * z
        var term = z, sum = 0.0
        for n in stride(from: 1, through: 41, by: 2) {
            sum += term / Double(n)
            term *= z2
        }
        return Double(x.exponent) + 2 * sum / 0.693_147_180_559_945_3
    }

    static func plotExp2(_ y: Double) -> Double {
        guard y.isFinite else { return y > 0 ? .infinity : 0 }
        let whole = y.rounded(.down)
        let f = (y - whole) * 0.693_147_180_559_945_3
        var term = 1.0, sum = 1.0
        for n in 1...20 {
            term *= f / Double(n)
            sum += term
        }
        return Double(sign: .plus, exponent: Int(whole), significand: sum)
    }
}
