import Testing
@testable import TraceModel

/// Times in these traces are milliseconds after this base (never 0: Jaeger
/// treats a 0 time as absent).
private let cpBase: UInt64 = 1_000_000 * ms

private func cpSpan(_ id: UInt64, parent: UInt64? = nil, _ startMs: UInt64, _ endMs: UInt64,
                    kind: SpanKind = .internal, followsFrom: Bool = false) -> Span {
    Span(traceID: seedTraceID, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init),
         parentReference: followsFrom ? .followsFrom : .childOf, name: "s\(id)", kind: kind,
         startTimeUnixNano: cpBase + startMs * ms, durationNano: (endMs - startMs) * ms)
}

/// Sections as "spanID start..end" in milliseconds after `base`.
private func cuts(_ path: CriticalPath, _ trace: Trace, base: UInt64 = cpBase) -> [String] {
    path.sections.map { cut($0, trace, base: base) }
}

private func cut(_ section: CriticalPath.Section, _ trace: Trace, base: UInt64 = cpBase) -> String {
    let id = trace.spans[Int(section.spanIndex)].spanID.raw
    return "\(id) \((section.startUnixNano - base) / ms)..\((section.endUnixNano - base) / ms)"
}

/// Span index of a span id.
private func index(_ trace: Trace, _ id: UInt64) -> Int32 {
    Int32(trace.spans.firstIndex { $0.spanID == SpanID(id) } ?? -1)
}

private func path(_ spans: [Span]) -> (CriticalPath, Trace) {
    let trace = Trace(traceID: seedTraceID, spans: spans)
    return (CriticalPath(trace: trace), trace)
}

@Suite struct CriticalPathTests {
    @Test func loneRootIsTheWholePath() {
        let (cp, trace) = path([cpSpan(1, 0, 100)])
        #expect(cuts(cp, trace) == ["1 0..100"])
        #expect(cp.totalNanos == 100 * ms)
        #expect(cp.rootCount == 1)
        #expect(cp.nanosBySpan == [100 * ms])
        #expect(cp.sections(ofSpan: 0).map { cut($0, trace) } == ["1 0..100"])
        #expect(cp.sections(ofSpan: 1).isEmpty)
    }

    @Test func gapsBetweenSequentialChildrenBelongToTheParent() {
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 10, 30), cpSpan(3, parent: 1, 50, 80),
        ])
        #expect(cuts(cp, trace) == ["1 0..10", "2 10..30", "1 30..50", "3 50..80", "1 80..100"])
        #expect(cp.totalNanos == 100 * ms)
        #expect(cp.nanosBySpan[Int(index(trace, 1))] == 50 * ms)
        #expect(cp.nanosBySpan[Int(index(trace, 2))] == 20 * ms)
        #expect(cp.nanosBySpan[Int(index(trace, 3))] == 30 * ms)
        #expect(cp.sections(ofSpan: index(trace, 1)).map { cut($0, trace) } == ["1 0..10", "1 30..50", "1 80..100"])
    }

    @Test func childEndingExactlyAtTheNextChildsStartIsPassedOver() {
        // jaeger-ui takes a child only if it ended strictly before the
        // returning child's start: 2 ends at 50, 3 starts at 50.
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 10, 50), cpSpan(3, parent: 1, 50, 80),
        ])
        #expect(cuts(cp, trace) == ["1 0..50", "3 50..80", "1 80..100"])
        #expect(cp.nanosBySpan[Int(index(trace, 2))] == 0)
    }

    @Test func laterEndingOverlappingChildWins() {
        // 3 ends last; 2 overlaps 3's start (ends at 60 > 40) so it is off
        // the path; 4 ended before 3 started, so it is on.
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 10, 60), cpSpan(3, parent: 1, 40, 90),
            cpSpan(4, parent: 1, 20, 35),
        ])
        #expect(cuts(cp, trace) == ["1 0..20", "4 20..35", "1 35..40", "3 40..90", "1 90..100"])
        #expect(cp.nanosBySpan[Int(index(trace, 2))] == 0)
        #expect(cp.totalNanos == 100 * ms)
    }

    @Test func onEqualEndsTheEarlierStartingChildWins() {
        let (cp, trace) = path([cpSpan(1, 0, 100), cpSpan(2, parent: 1, 20, 50), cpSpan(3, parent: 1, 10, 50)])
        #expect(cuts(cp, trace) == ["1 0..10", "3 10..50", "1 50..100"])
    }

    @Test func childOverflowingTheParentsEndIsClipped() {
        // 2 is clipped to 50..100; its child 4 (90..130) to 90..100, against
        // the clipped window; its child 5 (120..140) lies past it and is dropped.
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 50, 150), cpSpan(4, parent: 2, 90, 130),
            cpSpan(5, parent: 2, 120, 140),
        ])
        #expect(cuts(cp, trace) == ["1 0..50", "2 50..90", "4 90..100"])
        #expect(cp.totalNanos == 100 * ms)
        #expect(cp.nanosBySpan[Int(index(trace, 5))] == 0)
    }

    @Test func childStartingBeforeTheParentIsClipped() {
        let (cp, trace) = path([cpSpan(1, 100, 200), cpSpan(2, parent: 1, 50, 150)])
        #expect(cuts(cp, trace) == ["2 100..150", "1 150..200"])
        #expect(cp.totalNanos == 100 * ms)
    }

    @Test func childEntirelyOutsideTheParentIsDropped() {
        // 2 starts at the parent's end, 3 after it, 4 ends before it starts;
        // 3's own child 6 (inside 1's window) goes with it.
        let (cp, trace) = path([
            cpSpan(1, 100, 200), cpSpan(2, parent: 1, 200, 210), cpSpan(3, parent: 1, 250, 300),
            cpSpan(4, parent: 1, 20, 50), cpSpan(5, parent: 1, 110, 120), cpSpan(6, parent: 3, 150, 160),
        ])
        #expect(cuts(cp, trace) == ["1 100..110", "5 110..120", "1 120..200"])
        #expect(cp.totalNanos == 100 * ms)
    }

    @Test func followsFromChildIsOffThePathEvenWhenItEndsLast() {
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 10, 40),
            cpSpan(3, parent: 1, 50, 100, followsFrom: true), cpSpan(4, parent: 3, 60, 90),
        ])
        #expect(cuts(cp, trace) == ["1 0..10", "2 10..40", "1 40..100"])
        #expect(cp.nanosBySpan[Int(index(trace, 3))] == 0)
        #expect(cp.nanosBySpan[Int(index(trace, 4))] == 0)
    }

    @Test func consumerUnderProducerIsOffThePath() {
        let (cp, trace) = path([
            cpSpan(1, 0, 100, kind: .server), cpSpan(2, parent: 1, 10, 20, kind: .producer),
            cpSpan(3, parent: 2, 15, 95, kind: .consumer),
        ])
        #expect(cuts(cp, trace) == ["1 0..10", "2 10..20", "1 20..100"])
        #expect(cp.nanosBySpan[Int(index(trace, 3))] == 0)

        // Under a client the consumer blocks: clipped to 15..20 and on the path.
        let (cp2, trace2) = path([
            cpSpan(1, 0, 100, kind: .server), cpSpan(2, parent: 1, 10, 20, kind: .client),
            cpSpan(3, parent: 2, 15, 95, kind: .consumer),
        ])
        #expect(cuts(cp2, trace2) == ["1 0..10", "2 10..15", "3 15..20", "1 20..100"])
    }

    @Test func asyncChildEndingAfterItsParentIsClippedToIt() {
        // 3 outlives both 2 and the root; it is clipped to 2's window, 40..60.
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 1, 10, 60), cpSpan(3, parent: 2, 40, 200),
        ])
        #expect(cuts(cp, trace) == ["1 0..10", "2 10..40", "3 40..60", "1 60..100"])
        #expect(cp.nanosBySpan[Int(index(trace, 3))] == 20 * ms)
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        // Span k starts k ns after the root and ends k ns before it ends.
        let depth = 100_000
        let rootDuration: UInt64 = 1_000_000
        var spans: [Span] = []
        spans.reserveCapacity(depth)
        for k in 0..<depth {
            spans.append(Span(traceID: seedTraceID, spanID: SpanID(UInt64(k + 1)),
                              parentSpanID: k == 0 ? nil : SpanID(UInt64(k)), name: "c",
                              startTimeUnixNano: cpBase + UInt64(k), durationNano: rootDuration - 2 * UInt64(k)))
        }
        let (cp, trace) = path(spans)
        #expect(trace.tree.maxDepth == depth - 1)
        #expect(cp.rootCount == 1)
        #expect(cp.totalNanos == rootDuration)
        #expect(cp.sections.count == 2 * (depth - 1) + 1)
        #expect(cp.nanosBySpan[0] == 2)
        #expect(cp.nanosBySpan[depth - 2] == 2)
        #expect(cp.nanosBySpan[depth - 1] == rootDuration - 2 * UInt64(depth - 1))
        #expect(cp.sections.first == CriticalPath.Section(spanIndex: 0, startUnixNano: cpBase, endUnixNano: cpBase + 1))
        #expect(cp.sections.last == CriticalPath.Section(spanIndex: 0, startUnixNano: cpBase + rootDuration - 1,
                                                         endUnixNano: cpBase + rootDuration))
    }

    @Test func eachRootGetsItsOwnPath() {
        // 2 names a parent that never came: a second root.
        let (cp, trace) = path([
            cpSpan(1, 0, 100), cpSpan(2, parent: 999, 50, 80), cpSpan(3, parent: 2, 60, 70),
        ])
        #expect(cp.rootCount == 2)
        #expect(cuts(cp, trace) == ["1 0..100", "2 50..60", "3 60..70", "2 70..80"])
        #expect(cp.totalNanos == 130 * ms)
    }

    @Test func seedTrace() {
        let t0: UInt64 = 1_795_821_746_743_620_141
        let expected = ["1 0..250", "2 250..251", "3 251..749", "2 749..750", "1 750..751"]
        // Whatever the arrival order, sections name the right spans.
        for order in permutations(seedSpans()) {
            let (cp, trace) = path(order)
            #expect(cuts(cp, trace, base: t0) == expected)
            #expect(cp.totalNanos == 751 * ms)
            #expect(cp.rootCount == 1)
            #expect(cp.nanosBySpan[Int(index(trace, 1))] == 251 * ms)
            #expect(cp.nanosBySpan[Int(index(trace, 2))] == 2 * ms)
            #expect(cp.nanosBySpan[Int(index(trace, 3))] == 498 * ms)
            #expect(cp.sections(ofSpan: index(trace, 2)).map { cut($0, trace, base: t0) } == ["2 250..251", "2 749..750"])
        }
    }

    @Test func emptyTrace() {
        let cp = CriticalPath(trace: Trace(traceID: seedTraceID, spans: []))
        #expect(cp.sections.isEmpty)
        #expect(cp.totalNanos == 0)
        #expect(cp.rootCount == 0)
        #expect(cp.sections(ofSpan: 0).isEmpty)
    }
}
