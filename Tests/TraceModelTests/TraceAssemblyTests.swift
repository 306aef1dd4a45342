import Synchronization
import Dispatch
import Testing
@testable import TraceModel

/// A small deterministic PRNG so shuffles are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let server1 = Resource(serviceName: "server-1")
let server2 = Resource(serviceName: "server-2")
let seedTraceID = TraceID(high: 0x877731db946805e5, low: 0xeab37af57c3f0bf4)
let ms: UInt64 = 1_000_000

func seedSpans() -> [Span] {
    let t0: UInt64 = 1_795_821_746_743_620_141
    return [
        Span(traceID: seedTraceID, spanID: SpanID(1), name: "server-1", kind: .server,
             startTimeUnixNano: t0, durationNano: 751 * ms, resource: server1),
        Span(traceID: seedTraceID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "server-1_to_server-2",
             kind: .client, startTimeUnixNano: t0 + 250 * ms, durationNano: 500 * ms, resource: server1),
        Span(traceID: seedTraceID, spanID: SpanID(3), parentSpanID: SpanID(2), name: "server-2",
             kind: .server, startTimeUnixNano: t0 + 251 * ms, durationNano: 498 * ms, resource: server2),
    ]
}

func permutations<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    var result: [[T]] = []
    for i in items.indices {
        var rest = items
        let head = rest.remove(at: i)
        for tail in permutations(rest) { result.append([head] + tail) }
    }
    return result
}

/// name -> (parent name, depth), read off the flattened tree.
func shape(_ trace: Trace) -> [String] {
    trace.tree.rows.map { node in
        String(repeating: "  ", count: Int(node.depth)) + trace.spans[Int(node.spanIndex)].name
    }
}

@Suite struct TraceAssemblyTests {
    @Test func seedTraceAssemblesInEveryArrivalOrder() {
        let orders = permutations(seedSpans())
        #expect(orders.count == 6)
        for order in orders {
            var store = TraceStore()
            for span in order { store.add(span) }
            let trace = store.trace(seedTraceID)
            #expect(trace.map(shape) == ["server-1", "  server-1_to_server-2", "    server-2"])
            let summary = store.summaries().first
            #expect(summary?.rootService == "server-1")
            #expect(summary?.rootOperation == "server-1")
            #expect(summary?.spanCount == 3)
            #expect(summary?.services == ["server-1", "server-2"])
            #expect(summary?.depth == 3)
            #expect(summary?.durationNano == 751 * ms)
            #expect(summary?.isIncomplete == false)
            #expect(summary?.hasError == false)
        }
    }

    @Test func selfTimeSubtractsTheUnionOfChildren() throws {
        let trace = Trace(traceID: seedTraceID, spans: seedSpans())
        let selfTimes = trace.tree.rows.map { $0.selfTimeNano }
        #expect(selfTimes == [251 * ms, 2 * ms, 498 * ms])

        // Overlapping children count once; a child that outlives its parent is clipped.
        let t0: UInt64 = 1000 * ms
        let parent = Span(traceID: seedTraceID, spanID: SpanID(10), name: "p", startTimeUnixNano: t0, durationNano: 100 * ms)
        let a = Span(traceID: seedTraceID, spanID: SpanID(11), parentSpanID: SpanID(10), name: "a",
                     startTimeUnixNano: t0 + 10 * ms, durationNano: 30 * ms)
        let b = Span(traceID: seedTraceID, spanID: SpanID(12), parentSpanID: SpanID(10), name: "b",
                     startTimeUnixNano: t0 + 20 * ms, durationNano: 30 * ms)
        let late = Span(traceID: seedTraceID, spanID: SpanID(13), parentSpanID: SpanID(10), name: "late",
                        startTimeUnixNano: t0 + 90 * ms, durationNano: 50 * ms)
        let t = Trace(traceID: seedTraceID, spans: [late, b, parent, a])
        let root = try #require(t.tree.rows.first)
        #expect(t.spans[Int(root.spanIndex)].name == "p")
        // covered: [10,50) + [90,100) = 50ms
        #expect(root.selfTimeNano == 50 * ms)
    }

    @Test func orphanWaitsThenAttachesWhenItsParentArrives() {
        var store = TraceStore()
        let spans = seedSpans()
        store.add(spans[2])  // server-2, parent not here yet
        var trace = store.trace(seedTraceID)
        #expect(trace?.tree.rows.first?.marks.contains(.missingParent) == true)
        #expect(store.summaries().first?.isIncomplete == true)
        #expect(store.summaries().first?.rootOperation == "server-2")
        store.add(spans[0])
        trace = store.trace(seedTraceID)
        #expect(trace.map(shape) == ["server-1", "server-2"])
        #expect(trace?.tree.rootCount == 2)
        store.add(spans[1])
        trace = store.trace(seedTraceID)
        #expect(trace.map(shape) == ["server-1", "  server-1_to_server-2", "    server-2"])
        #expect(trace?.tree.rows.allSatisfy { $0.marks.isEmpty } == true)
        #expect(store.summaries().first?.isIncomplete == false)
    }

    @Test func traceWithoutItsRootStillShowsWithTheMissingParentMarked() {
        let spans = seedSpans()
        let trace = Trace(traceID: seedTraceID, spans: [spans[2], spans[1]])
        #expect(shape(trace) == ["server-1_to_server-2", "  server-2"])
        #expect(trace.tree.rows[0].marks == .missingParent)
        #expect(trace.summary.isIncomplete)
        #expect(trace.summary.rootOperation == "server-1_to_server-2")
    }

    @Test func severalRootsInOneTrace() {
        // The Go seed: server-2's middleware span is its own root.
        var spans = seedSpans()
        spans.append(Span(traceID: seedTraceID, spanID: SpanID(9), name: "/", kind: .server,
                          startTimeUnixNano: spans[0].startTimeUnixNano + 252 * ms, durationNano: ms, resource: server2))
        let trace = Trace(traceID: seedTraceID, spans: spans.reversed())
        #expect(trace.tree.rootCount == 2)
        #expect(shape(trace) == ["server-1", "  server-1_to_server-2", "    server-2", "/"])
        #expect(trace.summary.rootOperation == "server-1")
    }

    @Test func cyclesNeverLoopAndEverySpanAppearsOnce() {
        // a -> b -> c -> a, plus a self-parented span.
        let a = Span(traceID: seedTraceID, spanID: SpanID(1), parentSpanID: SpanID(3), name: "a", startTimeUnixNano: 10, durationNano: 5)
        let b = Span(traceID: seedTraceID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "b", startTimeUnixNano: 11, durationNano: 5)
        let c = Span(traceID: seedTraceID, spanID: SpanID(3), parentSpanID: SpanID(2), name: "c", startTimeUnixNano: 12, durationNano: 5)
        let me = Span(traceID: seedTraceID, spanID: SpanID(4), parentSpanID: SpanID(4), name: "me", startTimeUnixNano: 1, durationNano: 5)
        for order in permutations([a, b, c, me]) {
            let trace = Trace(traceID: seedTraceID, spans: order)
            #expect(trace.tree.rows.count == 4)
            #expect(Set(trace.tree.rows.map { $0.spanIndex }).count == 4)
            #expect(shape(trace) == ["me", "a", "  b", "    c"])
            #expect(trace.tree.rows[0].marks.contains(.cycle))
            #expect(trace.tree.rows[1].marks.contains(.cycle))
        }
    }

    @Test func duplicateSpanIDsNestUnderTheFirstAndKeepTheirChildren() {
        // Zipkin shared span: client and server halves share id 2.
        let spans = seedSpans()
        let shared = Span(traceID: seedTraceID, spanID: SpanID(2), parentSpanID: SpanID(1), name: "server-2 (shared)",
                          kind: .server, startTimeUnixNano: spans[1].startTimeUnixNano + ms, durationNano: 400 * ms, resource: server2)
        let child = Span(traceID: seedTraceID, spanID: SpanID(5), parentSpanID: SpanID(2), name: "db",
                         startTimeUnixNano: spans[1].startTimeUnixNano + 2 * ms, durationNano: 10 * ms, resource: server2)
        for order in permutations([spans[0], spans[1], shared, child]) {
            let trace = Trace(traceID: seedTraceID, spans: order)
            #expect(trace.tree.rows.count == 4)
            let names = shape(trace)
            #expect(names.first == "server-1")
            #expect(trace.tree.rows.filter { $0.marks.contains(.duplicateID) }.count == 2)
            #expect(trace.tree.maxDepth <= 3)
        }
    }

    @Test func generatedTenThousandSpanTraceAssemblesInAnyOrder() {
        // A random tree: each span's parent is an earlier span.
        var rng = SplitMix64(state: 42)
        let count = 10_000
        var spans: [Span] = []
        var expectedDepth = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let parent: Int? = i == 0 ? nil : Int.random(in: max(0, i - 50)..<i, using: &rng)
            if let parent { expectedDepth[i] = expectedDepth[parent] + 1 }
            spans.append(Span(traceID: seedTraceID, spanID: SpanID(UInt64(i + 1)),
                              parentSpanID: parent.map { SpanID(UInt64($0 + 1)) },
                              name: "op-\(i)", startTimeUnixNano: UInt64(1000 + i), durationNano: 10))
        }
        var orders = [spans, spans.reversed()]
        orders.append(spans.shuffled(using: &rng))
        orders.append(spans.shuffled(using: &rng))
        for order in orders {
            var store = TraceStore()
            store.add(contentsOf: order)
            guard let trace = store.trace(seedTraceID) else {
                Issue.record("trace missing")
                continue
            }
            #expect(trace.tree.rows.count == count)
            #expect(trace.tree.rootCount == 1)
            #expect(trace.tree.rows.allSatisfy { $0.marks.isEmpty })
            for node in trace.tree.rows {
                let span = trace.spans[Int(node.spanIndex)]
                #expect(Int(node.depth) == expectedDepth[Int(span.spanID.raw - 1)])
                if node.parentRow >= 0 {
                    #expect(trace.spans[Int(trace.tree.rows[Int(node.parentRow)].spanIndex)].spanID == span.parentSpanID)
                }
            }
            #expect(store.summaries().first?.depth == (expectedDepth.max() ?? 0) + 1)
        }
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        let count = 50_000
        var spans: [Span] = []
        for i in 0..<count {
            let parent: SpanID? = i == 0 ? nil : SpanID(UInt64(i))
            spans.append(Span(traceID: seedTraceID, spanID: SpanID(UInt64(i + 1)), parentSpanID: parent,
                              name: "d", startTimeUnixNano: UInt64(i), durationNano: 1))
        }
        let trace = Trace(traceID: seedTraceID, spans: spans.reversed())
        #expect(trace.tree.maxDepth == count - 1)
        #expect(trace.tree.rows[0].subtreeEnd == Int32(count))
    }

    @Test func errorsAreCountedFromStatusAndTag() {
        var spans = seedSpans()
        spans[2].attributes = [Attribute("error", .bool(true))]
        spans[1].status = SpanStatus(code: .error, message: "boom")
        let trace = Trace(traceID: seedTraceID, spans: spans)
        #expect(trace.summary.errorCount == 2)
        #expect(trace.summary.hasError)
    }
}

@Suite struct TraceStoreBoundsTests {
    @Test func spansPastThePerTraceBoundAreCountedAndDropped() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 100, maxSpansPerTrace: 2))
        store.add(contentsOf: seedSpans())
        #expect(store.spanCount == 2)
        #expect(store.counters.spansDroppedTraceFull == 1)
    }

    @Test func oldestTracesAreEvictedPastTheSpanBound() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 10, maxSpansPerTrace: 10))
        for t in 1...5 {
            for s in 1...3 {
                store.add(Span(traceID: TraceID(low: UInt64(t)), spanID: SpanID(UInt64(s)), name: "x",
                               startTimeUnixNano: 0, durationNano: 1))
            }
        }
        #expect(store.spanCount <= 10)
        #expect(store.counters.tracesEvicted == 2)
        #expect(store.counters.spansEvicted == 6)
        #expect(store.trace(TraceID(low: 1)) == nil)
        #expect(store.trace(TraceID(low: 5))?.spans.count == 3)
        #expect(store.summaries().count == 3)
    }
}

@Suite struct IdentifierTests {
    @Test func hexParsingZeroExtendsAndRejectsGarbage() {
        #expect(TraceID(hex: "5B8EFFF798038103D269B633813FC60C") == TraceID(high: 0x5b8efff798038103, low: 0xd269b633813fc60c))
        #expect(TraceID(hex: "d269b633813fc60c") == TraceID(high: 0, low: 0xd269b633813fc60c))
        #expect(TraceID(hex: "d269b633813fc60c")?.shortHex == "d269b633813fc60c")
        #expect(TraceID(hex: "") == nil)
        #expect(TraceID(hex: "xyz") == nil)
        #expect(TraceID(hex: String(repeating: "a", count: 33)) == nil)
        #expect(SpanID(hex: "EEE19B7EC3C1B174")?.hex == "eee19b7ec3c1b174")
        #expect(SpanID(hex: "1") == SpanID(1))
        #expect(SpanID(hex: "00000000000000001") == nil)
        #expect(TraceID(low: 0xabc).hex == "00000000000000000000000000000abc")
    }

    @Test func internerSharesLongStringsAndIsBounded() {
        var interner = StringInterner(capacity: 2)
        let a = interner.intern("a-rather-long-service-name")
        let b = interner.intern(String("a-rather-long-service-name-x".dropLast(2)))
        #expect(a == b)
        #expect(interner.count == 1)
        _ = interner.intern("another-long-operation-name")
        _ = interner.intern("a-third-long-operation-name")
        #expect(interner.count == 2)
        #expect(interner.misses == 1)
    }
}

@Suite struct SpanQueueTests {
    /// A UDP decode thread hands over batches packed (`live`): they count
    /// as their spans against the bounds and reach the store whole.
    @Test func packedBatchesCountAsTheirSpansAndReachTheStore() {
        let queue = SpanQueue(capacity: 4, byteCapacity: 1 << 20)
        let packed = PackedSpans(packing: seedSpans())
        #expect(packed.approximateBytes > 0)
        #expect(queue.push(.packed(packed), bytes: packed.approximateBytes))
        #expect(!queue.push(.packed(packed), bytes: packed.approximateBytes))  // 6 > 4: refused whole, counted
        #expect(queue.tryPush(.packed(packed), bytes: 1 << 20) == .full)  // past the byte bound: left with the caller
        var store = TraceStore()
        for batch in queue.drain() { store.add(batch) }
        #expect(store.spanCount == 3)
        #expect(store.trace(seedTraceID)?.tree.maxDepth == 2)
        #expect(queue.totals.pushed == 3 && queue.totals.dropped == 3)
    }

    @Test func drainsInOrderAndCountsWhatDoesNotFit() {
        let queue = SpanQueue(capacity: 4)
        let spans = seedSpans()
        #expect(queue.push(spans))
        #expect(!queue.push(spans))  // 6 > 4: refused whole, counted
        #expect(queue.push([spans[0]]))
        let drained = queue.drain()
        #expect(drained.map(\.count) == [3, 1])
        #expect(queue.totals.pushed == 4)
        #expect(queue.totals.dropped == 3)
        #expect(queue.drain().isEmpty)
        #expect(queue.push(spans))  // room again after the drain
    }

    @Test func aProducerThatWaitsLosesNothingToASlowConsumer() {
        let queue = SpanQueue(capacity: 10)
        let spans = seedSpans()
        let batches = 100
        let consumed = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // Takes a batch or so every millisecond: the producer outruns it.
            while consumed.load(ordering: .acquiring) < batches * spans.count {
                consumed.add(queue.drain().reduce(0) { $0 + $1.count }, ordering: .releasing)
                _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(1))
            }
            done.signal()
        }
        var taken = 0
        for _ in 0..<batches where queue.pushWaiting(spans, bytes: 0, maxWait: .seconds(120)) { taken += 1 }
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(taken == batches)
        #expect(queue.totals.dropped == 0)
        #expect(consumed.load(ordering: .acquiring) == batches * spans.count)
    }

    @Test func fullIsLeftWithTheCallerRefusingAndGivingUpAreCounted() {
        let spans = seedSpans()  // 3 spans
        let queue = SpanQueue(capacity: 3)
        #expect(queue.push(spans))
        #expect(queue.tryPush(spans, bytes: 0) == .full)
        #expect(queue.totals.dropped == 0, "full is not a drop: the caller still holds the batch")
        // At the deadline a waiting producer gives up: dropped, counted.
        #expect(!queue.pushWaiting(spans, bytes: 0, maxWait: .milliseconds(20)))
        #expect(queue.totals.dropped == 3)
        // Once the consumer is gone nobody waits (a hang here would stall the run for ten minutes).
        queue.closeForWaiting()
        #expect(queue.isClosedForWaiting)
        #expect(!queue.pushWaiting(spans, bytes: 0, maxWait: .seconds(600)))
        #expect(queue.totals.dropped == 6)
        #expect(queue.droppedAfterClose == 3, "counted apart: the consumer was gone")
        _ = queue.drain()
        #expect(!queue.push(spans), "room again, but nobody would take it")
        #expect(queue.tryPush(spans, bytes: 0) == .refused)
        #expect(queue.droppedAfterClose == 9)
        #expect(queue.drain().isEmpty)
        // A batch that could never fit is not waited for either.
        let small = SpanQueue(capacity: 2)
        #expect(!small.pushWaiting(spans, bytes: 0, maxWait: .seconds(600)))
        #expect(small.totals.dropped == 3)
        // Refusing (memory) drops and counts at once.
        let refusing = SpanQueue(capacity: 100)
        refusing.setRefusing(true)
        #expect(refusing.tryPush(spans, bytes: 0) == .refused)
        #expect(!refusing.pushWaiting(spans, bytes: 0, maxWait: .seconds(600)))
        #expect(refusing.totals.dropped == 6)
        #expect(refusing.droppedForMemory == 6)
    }
}

@Suite struct SpanValueTests {
    @Test func aSpanStaysSmall() {
        // Millions are stored: the rare parts live behind one reference.
        #expect(MemoryLayout<Span>.size <= 96)
    }

    @Test func extrasHaveValueSemantics() {
        var a = seedSpans()[2]
        a.events = [SpanEvent(timeUnixNano: 1, name: "e")]
        var b = a
        b.events.append(SpanEvent(timeUnixNano: 2, name: "f"))
        b.status = SpanStatus(code: .error, message: "boom")
        b.links = [SpanLink(traceID: seedTraceID, spanID: SpanID(9), referenceType: "FOLLOWS_FROM")]
        #expect(a.events.count == 1 && b.events.count == 2)
        #expect(a.status == .unset && b.status.message == "boom" && b.isError)
        #expect(a.links.isEmpty && b.links.count == 1)
        #expect(a != b)
        b.events = a.events
        b.status = .unset
        b.links = []
        #expect(a == b)
        #expect(a.parentSpanID == SpanID(2))
        b.parentSpanID = nil
        #expect(b.parentSpanID == nil && a != b)
    }
}
