import Testing
@testable import TraceModel

private let skewBase: UInt64 = 1_000_000 * ms
private let hostA = Resource(serviceName: "a")
private let hostB = Resource(serviceName: "b")

private func skewSpan(_ id: UInt64, parent: UInt64? = nil, _ startMs: UInt64, _ endMs: UInt64,
                      on resource: Resource, events: [SpanEvent] = []) -> Span {
    Span(traceID: seedTraceID, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: "s\(id)",
         startTimeUnixNano: skewBase + startMs * ms, durationNano: (endMs - startMs) * ms, events: events,
         resource: resource)
}

private func adjust(_ spans: [Span]) -> (ClockSkewAdjustment, Trace) {
    let trace = Trace(traceID: seedTraceID, spans: spans)
    return (ClockSkewAdjustment(trace: trace), trace)
}

/// Milliseconds each span's start moved, by span index.
private func shiftsMs(_ adjustment: ClockSkewAdjustment) -> [Int64] {
    adjustment.shiftBySpan.map { $0 / Int64(ms) }
}

/// "start..end" in ms after the base, by span index.
private func windows(_ trace: Trace) -> [String] {
    trace.spans.map { "\(($0.startTimeUnixNano - skewBase) / ms)..\(($0.endTimeUnixNano - skewBase) / ms)" }
}

private func sameStorage(_ a: [Span], _ b: [Span]) -> Bool {
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
}

@Suite struct ClockSkewTests {
    /// Asynchronous edges give no delta: a queue's consumer may rightly run
    /// after its producer ended. A same-host child still shares its parent's clock.
    @Test func asynchronousChildrenAreNotFittedIntoTheirParent() {
        var follower = skewSpan(2, parent: 1, 250, 300, on: hostB)
        follower.parentReference = .followsFrom
        var producer = skewSpan(3, parent: 1, 180, 220, on: hostA)  // ends after the root: shifted below
        producer.kind = .producer
        var consumer = skewSpan(4, parent: 3, 400, 450, on: hostB)
        consumer.kind = .consumer
        var sameHostFollower = skewSpan(5, parent: 3, 230, 240, on: hostA)
        sameHostFollower.parentReference = .followsFrom
        let (adj, _) = adjust([skewSpan(1, 100, 200, on: hostB), follower, producer, consumer, sameHostFollower])
        // The producer (another host than the root) is centred: -50ms; its
        // same-host follower moves with it; the consumer and the root's follower stay.
        #expect(shiftsMs(adj) == [0, 0, -50, 0, -50])
        #expect(adj.adjustedRoots == [2])
    }

    @Test func childInsideItsParentStays() {
        let (adj, trace) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 110, 150, on: hostB)])
        #expect(adj.shiftBySpan == [0, 0])
        #expect(adj.shiftedCount == 0)
        #expect(adj.adjustedRoots.isEmpty)
        #expect(sameStorage(adj.trace.spans, trace.spans))
    }

    @Test func childStartingBeforeItsParentIsCentred() {
        // Latency (100 - 40) / 2 = 30: the child moves to 130..170.
        let (adj, _) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 80, 120, on: hostB)])
        #expect(shiftsMs(adj) == [0, 50])
        #expect(adj.shiftBySpan[1] == 50 * Int64(ms))
        #expect(windows(adj.trace) == ["100..200", "130..170"])
        #expect(adj.shiftedCount == 1)
        #expect(adj.adjustedRoots == [1])
    }

    @Test func childEndingAfterItsParentIsCentred() {
        let (adj, _) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 180, 220, on: hostB)])
        #expect(adj.shiftBySpan == [0, -50 * Int64(ms)])
        #expect(windows(adj.trace) == ["100..200", "130..170"])
    }

    @Test func centringTruncatesAnOddLatency() {
        // (1001 - 100) / 2 = 450 ns after the parent's start; the child began 10 ns before it.
        let parent = Span(traceID: seedTraceID, spanID: SpanID(1), name: "p", startTimeUnixNano: skewBase,
                          durationNano: 1001, resource: hostA)
        let child = Span(traceID: seedTraceID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "c",
                         startTimeUnixNano: skewBase - 10, durationNano: 100, resource: hostB)
        let (adj, _) = adjust([parent, child])
        #expect(adj.shiftBySpan == [0, 460])
        #expect(adj.trace.spans[1].startTimeUnixNano == skewBase + 450)
        #expect(adj.trace.spans[1].durationNano == 100)
    }

    @Test func childLongerThanItsParentIsAlignedToItsStart() {
        let (adj, _) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 90, 300, on: hostB)])
        #expect(adj.shiftBySpan == [0, 10 * Int64(ms)])
        #expect(windows(adj.trace) == ["100..200", "100..310"])

        // Longer and starting inside the parent: Jaeger leaves it (async work).
        let (late, _) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 150, 400, on: hostB)])
        #expect(late.shiftBySpan == [0, 0])
        #expect(late.shiftedCount == 0)
    }

    @Test func sameResourceChildInheritsItsParentsDelta() {
        // 2 moves +50; 3 runs on 2's host and moves with it, though it sat inside 1.
        let (adj, _) = adjust([
            skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 80, 120, on: hostB),
            skewSpan(3, parent: 2, 105, 115, on: hostB),
        ])
        #expect(shiftsMs(adj) == [0, 50, 50])
        #expect(windows(adj.trace) == ["100..200", "130..170", "155..165"])
        #expect(adj.shiftedCount == 2)
        #expect(adj.adjustedRoots == [1])
    }

    @Test func wholeSubtreeMovesAndAHostChangeStartsAfresh() {
        // 2 (host b) moves +50 with its b-descendants 3 and 4. 5 runs on host
        // a again: it is compared with 2's adjusted window (130..170) and
        // already fits, so it stays, and so does its a-child 6.
        let (adj, _) = adjust([
            skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 80, 120, on: hostB),
            skewSpan(3, parent: 2, 85, 115, on: hostB), skewSpan(4, parent: 3, 90, 100, on: hostB),
            skewSpan(5, parent: 2, 140, 150, on: hostA), skewSpan(6, parent: 5, 141, 142, on: hostA),
        ])
        #expect(shiftsMs(adj) == [0, 50, 50, 50, 0, 0])
        #expect(adj.shiftedCount == 3)
        #expect(adj.adjustedRoots == [1])
        // The rebuilt tree keeps the shape.
        #expect(shape(adj.trace) == ["s1", "  s2", "    s3", "      s4", "    s5", "      s6"])
    }

    @Test func sameResourceChildOutsideItsParentIsNotAdjusted() {
        // Same host, same clock: whatever the times say, there is no skew.
        let (adj, trace) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 250, 300, on: hostA)])
        #expect(adj.shiftBySpan == [0, 0])
        #expect(adj.shiftedCount == 0)
        #expect(sameStorage(adj.trace.spans, trace.spans))

        // Equal resources that are distinct objects are one host too.
        let (twin, _) = adjust([
            skewSpan(1, 100, 200, on: hostA),
            skewSpan(2, parent: 1, 250, 300, on: Resource(serviceName: "a")),
        ])
        #expect(twin.shiftedCount == 0)
    }

    @Test func eventsMoveWithTheirSpan() {
        let events = [SpanEvent(timeUnixNano: skewBase + 85 * ms, name: "sent"),
                      SpanEvent(timeUnixNano: skewBase + 110 * ms, name: "received")]
        let (adj, _) = adjust([
            skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 80, 120, on: hostB, events: events),
        ])
        #expect(adj.trace.spans[1].events.map { ($0.timeUnixNano - skewBase) / ms } == [135, 160])
        #expect(adj.trace.spans[1].events.map(\.name) == ["sent", "received"])
        #expect(adj.trace.spans[0].events.isEmpty)
    }

    @Test func nothingSkewedReturnsTheSameTrace() {
        let trace = Trace(traceID: seedTraceID, spans: seedSpans(), lastUpdate: 7)
        let adj = ClockSkewAdjustment(trace: trace)
        #expect(adj.shiftedCount == 0)
        #expect(adj.shiftBySpan == [0, 0, 0])
        #expect(adj.adjustedRoots.isEmpty)
        #expect(sameStorage(adj.trace.spans, trace.spans))
        #expect(adj.trace.tree.rows == trace.tree.rows)
        #expect(adj.trace.summary == trace.summary)
    }

    @Test func rootsAreNeverMoved() {
        // 2's parent is missing: it is a root, with nothing to compare against.
        let (adj, _) = adjust([skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 999, 50, 500, on: hostB)])
        #expect(adj.shiftBySpan == [0, 0])
    }

    @Test func relinkedTreeEqualsAFreshBuild() {
        // A Zipkin shared span (id 2 on both hosts), an orphan, a
        // FOLLOWS_FROM child, a self-parented span, and skew that reorders
        // siblings: 3 (host b, +50) moves after 4.
        var follower = skewSpan(6, parent: 1, 150, 160, on: hostA)
        follower.parentReference = .followsFrom
        let spans = [
            skewSpan(1, 100, 200, on: hostA), skewSpan(2, parent: 1, 110, 190, on: hostA),
            skewSpan(2, parent: 1, 60, 120, on: hostB), skewSpan(3, parent: 1, 80, 120, on: hostB),
            skewSpan(4, parent: 1, 125, 130, on: hostA), skewSpan(5, parent: 77, 10, 20, on: hostB),
            follower, skewSpan(8, parent: 8, 300, 310, on: hostA),
        ]
        let (adj, _) = adjust(spans)
        #expect(adj.shiftedCount == 2)
        let fresh = Trace(traceID: seedTraceID, spans: adj.trace.spans)
        #expect(adj.trace.tree.rows == fresh.tree.rows)
        #expect(adj.trace.tree.rowOfSpan == fresh.tree.rowOfSpan)
        #expect(adj.trace.tree.rootCount == fresh.tree.rootCount)
        #expect(adj.trace.tree.maxDepth == fresh.tree.maxDepth)
        #expect(adj.trace.summary == fresh.summary)
        #expect(shape(adj.trace) == ["s5", "s1", "  s2", "    s2", "  s4", "  s3", "  s6", "s8"])
    }

    @Test func largeSkewedTraceIsAdjusted() {
        let spans = skewedFanOutSpans(count: 100_000, seed: 42)
        let trace = Trace(traceID: seedTraceID, spans: spans, lastUpdate: 3)
        let adj = ClockSkewAdjustment(trace: trace)
        #expect(adj.trace.spans.count == 100_000)
        #expect(adj.shiftedCount > 0)
        #expect(adj.shiftedCount == adj.shiftBySpan.filter { $0 != 0 }.count)
        #expect(adj.trace.summary.lastUpdate == 3)
        // The relinked tree is the tree a fresh build gives.
        let fresh = Trace(traceID: seedTraceID, spans: adj.trace.spans, lastUpdate: 3)
        #expect(adj.trace.tree.rows == fresh.tree.rows)
        #expect(adj.trace.tree.rowOfSpan == fresh.tree.rowOfSpan)
        #expect(adj.trace.summary == fresh.summary)
        // Span order is kept, and every cross-host child no longer than its
        // parent now lies inside it.
        var outside = 0
        for (i, span) in adj.trace.spans.enumerated() {
            #expect(span.spanID == spans[i].spanID)
            let node = adj.trace.tree.rows[Int(adj.trace.tree.rowOfSpan[i])]
            guard node.parentRow >= 0 else { continue }
            let parent = adj.trace.span(atRow: Int(node.parentRow))
            if parent.resource != span.resource, span.durationNano <= parent.durationNano,
               span.startTimeUnixNano < parent.startTimeUnixNano || span.endTimeUnixNano > parent.endTimeUnixNano {
                outside += 1
            }
        }
        #expect(outside == 0)
    }
}

/// A fan-out trace of `count` spans over three hosts, one clock 3 ms fast
/// and one 2 ms slow: breadth-first, 2 to 5 children per span, each child
/// inside its parent in true time, a third of them on another host.
func skewedFanOutSpans(count: Int, seed: UInt64) -> [Span] {
    var rng = SplitMix64(state: seed)
    let hosts = [Resource(serviceName: "frontend"), Resource(serviceName: "api"), Resource(serviceName: "db")]
    let offsets: [Int64] = [0, 3_000_000, -2_000_000]
    let base: UInt64 = 1_700_000_000_000_000_000
    var spans: [Span] = []
    spans.reserveCapacity(count)
    var trueStart: [UInt64] = [base]
    var trueDuration: [UInt64] = [10_000_000_000]
    var host: [Int] = [0]
    spans.append(Span(traceID: seedTraceID, spanID: SpanID(1), name: "root", kind: .server,
                      startTimeUnixNano: base, durationNano: trueDuration[0], resource: hosts[0]))
    var next = 0
    while spans.count < count, next < spans.count {
        let p = next
        next += 1
        let children = Int.random(in: 2...5, using: &rng)
        for _ in 0..<children where spans.count < count {
            let d = trueDuration[p]
            let start = trueStart[p] + (d > 1 ? UInt64.random(in: 0..<(d / 2), using: &rng) : 0)
            let room = trueStart[p] + d - start
            let duration = room > 1 ? UInt64.random(in: 1...room, using: &rng) : room
            let h = Int.random(in: 0..<3, using: &rng) == 0 ? Int.random(in: 0..<3, using: &rng) : host[p]
            let id = UInt64(spans.count + 1)
            trueStart.append(start)
            trueDuration.append(duration)
            host.append(h)
            let shown = UInt64(Int64(start) + offsets[h])
            spans.append(Span(traceID: seedTraceID, spanID: SpanID(id), parentSpanID: SpanID(UInt64(p + 1)),
                              name: "op\(id % 50)", kind: h == host[p] ? .internal : .server,
                              startTimeUnixNano: shown, durationNano: duration, resource: hosts[h]))
        }
    }
    return spans
}
