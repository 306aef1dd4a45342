/// The critical path of a trace, as Jaeger UI computes it (since v1.48): the
/// chain of work the trace's end waited on. Start at a root's end and walk
/// back in time: at each point the parent waits on its last-finishing child
/// that ended before that point; recurse into that child, then continue
/// from the child's start. Time not covered by a chosen child belongs to the
/// parent.
///
/// Before the walk, children are clipped to their parent's (clipped) window
/// and children lying wholly outside it are dropped with their subtrees.
/// Edges the parent does not wait on are left off with their subtrees:
/// `FOLLOWS_FROM` children, and a `.consumer` child of a `.producer` parent.
/// Span links are never edges. With several roots (orphans, missing
/// parents) the path is computed under each root and the sections merged.
public struct CriticalPath: Sendable, Hashable {
    /// A stretch of time one span spends on the path.
    public struct Section: Sendable, Hashable {
        /// Index into `trace.spans`.
        public var spanIndex: Int32
        public var startUnixNano: UInt64
        public var endUnixNano: UInt64
        public var durationNano: UInt64 { endUnixNano - startUnixNano }

        public init(spanIndex: Int32, startUnixNano: UInt64, endUnixNano: UInt64) {
            self.spanIndex = spanIndex
            self.startUnixNano = startUnixNano
            self.endUnixNano = endUnixNano
        }
    }

    /// Sections in time order (ascending start), zero-length sections dropped.
    /// Sections of different roots may overlap in time.
    public let sections: [Section]
    /// Per span index: its time on the path (sum of its sections).
    public let nanosBySpan: [UInt64]
    /// Sum of all sections. Under one root this is the root's duration; under
    /// several it is the sum of their paths (overlapping roots count twice).
    public let totalNanos: UInt64
    /// How many roots the path was computed under (1 for a whole trace).
    public let rootCount: Int

    /// The sections again, grouped by span (CSR layout): span `i`'s sections
    /// are `sectionsBySpan[spanOffsets[i]..<spanOffsets[i + 1]]`, in time order.
    private let sectionsBySpan: [Section]
    private let spanOffsets: [Int32]

    public init(trace: Trace) {
        let rows = trace.tree.rows
        let spans = trace.spans
        let rowCount = rows.count

        // Clipped window of each row, and whether it takes part at all.
        // Rows are depth-first, so a parent's window is final before its
        // children read it.
        var lo = [UInt64](repeating: 0, count: rowCount)
        var hi = [UInt64](repeating: 0, count: rowCount)
        var kept = [Bool](repeating: false, count: rowCount)
        var keptChildren = [Int32](repeating: 0, count: rowCount + 1)
        for r in 0..<rowCount {
            let node = rows[r]
            let s = Int(node.spanIndex)
            let start = spans[s].startTimeUnixNano
            let end = Self.end(start, spans[s].durationNano)
            let p = Int(node.parentRow)
            guard p >= 0 else {
                lo[r] = start
                hi[r] = end
                kept[r] = true
                continue
            }
            // A dropped or non-blocking parent takes its whole subtree with it.
            guard kept[p] else { continue }
            if node.marks.contains(.followsFrom) { continue }
            if spans[s].kind == .consumer, spans[Int(rows[p].spanIndex)].kind == .producer { continue }
            let parentStart = lo[p], parentEnd = hi[p]
            // Jaeger's sanitizeOverFlowingChildren, case by case.
            if start >= parentStart {
                if start >= parentEnd { continue }
                lo[r] = start
                hi[r] = min(end, parentEnd)
            } else {
                if end <= parentStart { continue }
                lo[r] = parentStart
                hi[r] = min(end, parentEnd)
            }
            kept[r] = true
            keptChildren[p + 1] += 1
        }

        // Kept children per row in one flat array, ordered by clipped end,
        // latest first; ties keep start order (Jaeger takes the first of its
        // start-ordered children on a tie). Rows are already in start order.
        for r in 0..<rowCount { keptChildren[r + 1] += keptChildren[r] }
        let childOffset = keptChildren
        var fill = keptChildren
        var childRows = [Int32](repeating: 0, count: Int(childOffset[rowCount]))
        for r in 0..<rowCount where kept[r] {
            let p = Int(rows[r].parentRow)
            if p >= 0 {
                childRows[Int(fill[p])] = Int32(r)
                fill[p] += 1
            }
        }
        hi.withUnsafeBufferPointer { ends in
            childRows.withUnsafeMutableBufferPointer { children in
                for r in 0..<rowCount where childOffset[r + 1] - childOffset[r] > 1 {
                    let range = Int(childOffset[r])..<Int(childOffset[r + 1])
                    children[range].sort { a, b in
                        let ea = ends[Int(a)], eb = ends[Int(b)]
                        return ea != eb ? ea > eb : a < b
                    }
                }
            }
        }

        // The walk, with an explicit stack: a 100,000-deep chain must not
        // overflow the thread's stack. Each frame is a span waiting at
        // `cursor` (the end of its next section) with `next` the first of its
        // children not yet passed over. Sections come out latest first.
        struct Frame {
            var row: Int32
            var cursor: UInt64
            var next: Int32
            /// No child returned yet: take the last-finishing child outright.
            var fresh: Bool
        }
        var sections: [Section] = []
        var stack: [Frame] = []
        stack.reserveCapacity(trace.tree.maxDepth + 1)
        var roots = 0
        for r0 in 0..<rowCount where rows[r0].parentRow < 0 {
            roots += 1
            let firstOfRoot = sections.count
            stack.append(Frame(row: Int32(r0), cursor: hi[r0], next: childOffset[r0], fresh: true))
            while var frame = stack.last {
                let row = Int(frame.row)
                let last = childOffset[row + 1]
                if !frame.fresh {
                    // Jaeger's strict `<`: a child ending exactly where the
                    // returning child starts is passed over.
                    while frame.next < last, hi[Int(childRows[Int(frame.next)])] >= frame.cursor { frame.next += 1 }
                }
                let spanIndex = rows[row].spanIndex
                if frame.next < last {
                    let child = Int(childRows[Int(frame.next)])
                    if hi[child] < frame.cursor {
                        sections.append(Section(spanIndex: spanIndex, startUnixNano: hi[child], endUnixNano: frame.cursor))
                    }
                    frame.cursor = lo[child]
                    frame.next += 1
                    frame.fresh = false
                    stack[stack.count - 1] = frame
                    stack.append(Frame(row: Int32(child), cursor: hi[child], next: childOffset[child], fresh: true))
                } else {
                    if lo[row] < frame.cursor {
                        sections.append(Section(spanIndex: spanIndex, startUnixNano: lo[row], endUnixNano: frame.cursor))
                    }
                    stack.removeLast()
                }
            }
            sections[firstOfRoot...].reverse()
        }
        // Each root's sections are in order; roots may interleave in time.
        if roots > 1 {
            sections.sort { a, b in
                if a.startUnixNano != b.startUnixNano { return a.startUnixNano < b.startUnixNano }
                if a.endUnixNano != b.endUnixNano { return a.endUnixNano < b.endUnixNano }
                return a.spanIndex < b.spanIndex
            }
        }

        var nanos = [UInt64](repeating: 0, count: spans.count)
        var offsets = [Int32](repeating: 0, count: spans.count + 1)
        var total: UInt64 = 0
        for section in sections {
            nanos[Int(section.spanIndex)] += section.durationNano
            offsets[Int(section.spanIndex) + 1] += 1
            total += section.durationNano
        }
        for i in 0..<spans.count { offsets[i + 1] += offsets[i] }
        var cursor = offsets
        var bySpan = sections
        for section in sections {
            let s = Int(section.spanIndex)
            bySpan[Int(cursor[s])] = section
            cursor[s] += 1
        }

        self.sections = sections
        self.nanosBySpan = nanos
        self.totalNanos = total
        self.rootCount = roots
        self.sectionsBySpan = bySpan
        self.spanOffsets = offsets
    }

    /// The sections of one span, in time order (for drawing segments of its bar).
    public func sections(ofSpan spanIndex: Int32) -> [Section] {
        let i = Int(spanIndex)
        guard i >= 0, i + 1 < spanOffsets.count else { return [] }
        return Array(sectionsBySpan[Int(spanOffsets[i])..<Int(spanOffsets[i + 1])])
    }

    /// Whether the span has any time on the path.
    public func contains(spanIndex: Int32) -> Bool {
        let i = Int(spanIndex)
        return i >= 0 && i < nanosBySpan.count && nanosBySpan[i] > 0
    }

    /// End of a span, saturating: a corrupt duration must not wrap around.
    private static func end(_ start: UInt64, _ duration: UInt64) -> UInt64 {
        let (sum, overflow) = start.addingReportingOverflow(duration)
        return overflow ? .max : sum
    }
}
