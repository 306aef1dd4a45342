import Testing
@testable import TraceModel

private let traceA = TraceID(low: 0xA)
private let traceB = TraceID(low: 0xB)
private let svc1 = Resource(serviceName: "svc1")
private let svc2 = Resource(serviceName: "svc2")

/// A span, times in milliseconds from 0.
private func cmpSpan(_ trace: TraceID, _ id: UInt64, parent: UInt64? = nil, _ resource: Resource, _ name: String,
                     _ startMs: UInt64, _ durationMs: UInt64, error: Bool = false) -> Span {
    Span(traceID: trace, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: name,
         status: error ? SpanStatus(code: .error) : .unset,
         startTimeUnixNano: startMs * ms, durationNano: durationMs * ms, resource: resource)
}

/// A compact view of a row: path, counts, totals in ms, difference in ms, presence.
private struct Line: Equatable, CustomStringConvertible {
    var path: [String]
    var countA, countB: Int
    var totalA, totalB: UInt64
    var difference: Int64
    var presence: TraceComparison.Presence

    init(_ path: [String], _ countA: Int, _ countB: Int, _ totalA: UInt64, _ totalB: UInt64, _ difference: Int64,
         _ presence: TraceComparison.Presence) {
        (self.path, self.countA, self.countB, self.totalA, self.totalB, self.difference, self.presence) =
            (path, countA, countB, totalA, totalB, difference, presence)
    }

    init(_ row: TraceComparison.Row) {
        self.init(row.path, row.countA, row.countB, row.totalA / ms, row.totalB / ms, row.difference / Int64(ms),
                  row.presence)
    }

    var description: String { "\(path) \(countA)/\(countB) \(totalA)/\(totalB) \(difference) \(presence)" }
}

private func lines(_ comparison: TraceComparison) -> [Line] { comparison.rows.map(Line.init) }

@Suite struct TraceComparisonTests {
    @Test func identicalTracesDifferByNothing() {
        let a = Trace(traceID: seedTraceID, spans: seedSpans())
        let b = Trace(traceID: seedTraceID, spans: seedSpans().reversed())
        let comparison = TraceComparison(a: a, b: b)
        let root = "server-1: server-1", client = "server-1: server-1_to_server-2", server = "server-2: server-2"
        // All ties: by path, a prefix before its extensions.
        #expect(lines(comparison) == [
            Line([root], 1, 1, 751, 751, 0, .both),
            Line([root, client], 1, 1, 500, 500, 0, .both),
            Line([root, client, server], 1, 1, 498, 498, 0, .both),
        ])
        #expect(comparison.rows.map(\.depth) == [0, 1, 2])
        #expect(comparison.rows.map(\.segment) == [root, client, server])
        #expect(comparison.rows.map(\.service) == ["server-1", "server-1", "server-2"])
        #expect(comparison.rows.map(\.operation) == ["server-1", "server-1_to_server-2", "server-2"])
        #expect(comparison.summary == TraceComparison.Summary(
            durationA: 751 * ms, durationB: 751 * ms, spansA: 3, spansB: 3, errorsA: 0, errorsB: 0))
        // Two computations of the same comparison are equal (separate path tables).
        #expect(TraceComparison(a: a, b: b) == comparison)
        #expect(TraceComparison(a: b, b: a) == comparison)
    }

    @Test func pathsOnlyInAOrOnlyInB() {
        let a = Trace(traceID: traceA, spans: [
            cmpSpan(traceA, 1, svc1, "GET", 0, 100),
            cmpSpan(traceA, 2, parent: 1, svc1, "db", 10, 10, error: true),
        ])
        let b = Trace(traceID: traceB, spans: [
            cmpSpan(traceB, 1, svc1, "GET", 0, 120),
            cmpSpan(traceB, 2, parent: 1, svc2, "auth", 5, 10),
        ])
        let comparison = TraceComparison(a: a, b: b)
        // db and auth tie on |difference| and |count difference|: "svc1: db" < "svc2: auth".
        #expect(lines(comparison) == [
            Line(["svc1: GET"], 1, 1, 100, 120, 20, .both),
            Line(["svc1: GET", "svc1: db"], 1, 0, 10, 0, -10, .onlyA),
            Line(["svc1: GET", "svc2: auth"], 0, 1, 0, 10, 10, .onlyB),
        ])
        #expect(comparison.summary == TraceComparison.Summary(
            durationA: 100 * ms, durationB: 120 * ms, spansA: 2, spansB: 2, errorsA: 1, errorsB: 0))
    }

    @Test func repeatedPathsAreCountedAndSummed() {
        let a = Trace(traceID: traceA, spans: [
            cmpSpan(traceA, 1, svc1, "GET", 0, 100),
            cmpSpan(traceA, 2, parent: 1, svc2, "query", 10, 10),
            cmpSpan(traceA, 3, parent: 1, svc2, "query", 30, 15),
            cmpSpan(traceA, 4, parent: 1, svc2, "query", 50, 20),
        ])
        let b = Trace(traceID: traceB, spans: [
            cmpSpan(traceB, 1, svc1, "GET", 0, 100),
            cmpSpan(traceB, 2, parent: 1, svc2, "query", 10, 5),
        ])
        #expect(lines(TraceComparison(a: a, b: b)) == [
            Line(["svc1: GET", "svc2: query"], 3, 1, 45, 5, -40, .both),
            Line(["svc1: GET"], 1, 1, 100, 100, 0, .both),
        ])
        #expect(TraceComparison(a: a, b: b).summary.spansA == 4)
        #expect(TraceComparison(a: a, b: b).summary.spansB == 2)
    }

    @Test func sameOperationAtDifferentDepthsIsDifferentPaths() {
        let a = Trace(traceID: traceA, spans: [
            cmpSpan(traceA, 1, svc1, "x", 0, 100),
            cmpSpan(traceA, 2, parent: 1, svc1, "x", 10, 50),
            cmpSpan(traceA, 3, parent: 2, svc1, "x", 20, 10),
        ])
        let b = Trace(traceID: traceB, spans: [
            cmpSpan(traceB, 1, svc1, "x", 0, 100),
            cmpSpan(traceB, 2, parent: 1, svc1, "x", 10, 50),
        ])
        let x = "svc1: x"
        #expect(lines(TraceComparison(a: a, b: b)) == [
            Line([x, x, x], 1, 0, 10, 0, -10, .onlyA),
            Line([x], 1, 1, 100, 100, 0, .both),
            Line([x, x], 1, 1, 50, 50, 0, .both),
        ])
        #expect(TraceComparison(a: a, b: b).rows.map(\.depth) == [2, 0, 1])
    }

    @Test func sortOrderByDifferenceThenCountThenPath() {
        // "svc1: z" and "svc1: a" both differ by 20ms; z differs by two spans,
        // a by one: z first although "a" sorts first by path. "svc1: b" and
        // "svc1: c" differ by 5ms and one span each: by path.
        let a = Trace(traceID: traceA, spans: [
            cmpSpan(traceA, 1, svc1, "root", 0, 100),
            cmpSpan(traceA, 2, parent: 1, svc1, "z", 1, 10),
            cmpSpan(traceA, 3, parent: 1, svc1, "z", 2, 10),
            cmpSpan(traceA, 4, parent: 1, svc1, "z", 3, 10),
            cmpSpan(traceA, 5, parent: 1, svc1, "c", 4, 5),
        ])
        let b = Trace(traceID: traceB, spans: [
            cmpSpan(traceB, 1, svc1, "root", 0, 130),
            cmpSpan(traceB, 2, parent: 1, svc1, "z", 1, 10),
            cmpSpan(traceB, 3, parent: 1, svc1, "a", 2, 20),
            cmpSpan(traceB, 4, parent: 1, svc1, "b", 3, 5),
        ])
        let root = "svc1: root"
        #expect(lines(TraceComparison(a: a, b: b)) == [
            Line([root], 1, 1, 100, 130, 30, .both),
            Line([root, "svc1: z"], 3, 1, 30, 10, -20, .both),
            Line([root, "svc1: a"], 0, 1, 0, 20, 20, .onlyB),
            Line([root, "svc1: b"], 0, 1, 0, 5, 5, .onlyB),
            Line([root, "svc1: c"], 1, 0, 5, 0, -5, .onlyA),
        ])
    }

    @Test func emptyTraces() {
        let empty = Trace(traceID: traceA, spans: [])
        let one = Trace(traceID: traceB, spans: [cmpSpan(traceB, 1, svc1, "GET", 0, 7, error: true)])
        #expect(TraceComparison(a: empty, b: empty).rows.isEmpty)
        let comparison = TraceComparison(a: empty, b: one)
        #expect(lines(comparison) == [Line(["svc1: GET"], 0, 1, 0, 7, 7, .onlyB)])
        #expect(comparison.summary == TraceComparison.Summary(
            durationA: 0, durationB: 7 * ms, spansA: 0, spansB: 1, errorsA: 0, errorsB: 1))
    }

    @Test func differencesClampToInt64() {
        #expect(signedDifference(5, 3) == 2)
        #expect(signedDifference(3, 5) == -2)
        #expect(signedDifference(.max, 0) == .max)
        #expect(signedDifference(0, .max) == .min)
        #expect(signedDifference(0, UInt64(Int64.max)) == -Int64.max)
    }

    /// A 10,000-deep chain has 10,000 distinct paths up to 10,000 segments
    /// long; interning keeps the work linear (path strings per span would be
    /// quadratic: 50 million segments).
    @Test func deepChainAgainstWideFanOut() {
        let n = 10_000
        let chain = (0..<n).map { (i: Int) -> Span in
            let parent: SpanID? = i == 0 ? nil : SpanID(UInt64(i))
            return Span(traceID: traceA, spanID: SpanID(UInt64(i + 1)), parentSpanID: parent, name: "op",
                        startTimeUnixNano: UInt64(i), durationNano: UInt64(2 * (n - i)), resource: svc1)
        }
        let fan = (0..<n).map { (i: Int) -> Span in
            let parent: SpanID? = i == 0 ? nil : SpanID(1)
            let duration: UInt64 = i == 0 ? UInt64(2 * n) : 1
            return Span(traceID: traceB, spanID: SpanID(UInt64(i + 1)), parentSpanID: parent, name: "op",
                        startTimeUnixNano: UInt64(i), durationNano: duration, resource: svc1)
        }
        let comparison = TraceComparison(a: Trace(traceID: traceA, spans: chain), b: Trace(traceID: traceB, spans: fan))
        #expect(comparison.rows.count == n)
        #expect(comparison.summary.spansA == n && comparison.summary.spansB == n)
        // The root path is shared; depth 1 holds one chain span and 9,999 fan-out children.
        let depth1 = comparison.rows.first { $0.depth == 1 }
        #expect(depth1?.countA == 1)
        #expect(depth1?.countB == n - 1)
        #expect(depth1?.totalA == UInt64(2 * (n - 1)))
        #expect(depth1?.totalB == UInt64(n - 1))
        #expect(depth1?.presence == .both)
        let root = comparison.rows.first { $0.depth == 0 }
        #expect(root?.difference == 0 && root?.presence == .both)
        let presences = comparison.rows.map(\.presence)
        #expect(presences.filter { $0 == TraceComparison.Presence.onlyA }.count == n - 2)
        #expect(!presences.contains(TraceComparison.Presence.onlyB))
        let deepest = comparison.rows.first { $0.depth == n - 1 }
        #expect(deepest?.path.count == n)
        #expect(deepest?.path.allSatisfy { $0 == "svc1: op" } == true)
        // Only-A chain rows: bigger spans (shallower) first.
        let onlyA = comparison.rows.filter { (row: TraceComparison.Row) in row.presence == .onlyA }.map { $0.depth }
        #expect(onlyA == Array(2..<n))
    }
}
