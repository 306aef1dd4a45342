import Foundation
import Testing
@testable import TraceModel

/// The exact nearest-rank percentile of `values`: the value at 1-based rank
/// `ceil(n * perMille / 1000)` of the sorted values (the rule
/// `LatencyIndex.rank` and HdrHistogram's `valueAtPercentile` use).
private func exactPercentile(_ sorted: [UInt64], _ perMille: Int) -> UInt64 {
    sorted[Int(LatencyIndex.rank(perMille, of: UInt64(sorted.count))) - 1]
}

/// HDR's answer is the top of the exact value's bucket (at most the largest
/// recorded): never below the exact value, and above it by less than a
/// bucket, which at 3 significant digits is under 0.1% of the value.
private func expectClose(_ hdr: UInt64, _ exact: UInt64, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(hdr >= exact, "\(what): \(hdr) below exact \(exact)", sourceLocation: sourceLocation)
    #expect(hdr - min(hdr, exact) <= exact / 1000, "\(what): \(hdr) vs exact \(exact)", sourceLocation: sourceLocation)
}

private func expectRow(_ row: LatencyIndex.Row?, matches values: [UInt64], _ what: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    guard let row else {
        Issue.record("\(what): no row", sourceLocation: sourceLocation)
        return
    }
    let sorted = values.sorted()
    #expect(row.count == values.count, sourceLocation: sourceLocation)
    expectClose(row.p50, exactPercentile(sorted, 500), "\(what) p50", sourceLocation: sourceLocation)
    expectClose(row.p90, exactPercentile(sorted, 900), "\(what) p90", sourceLocation: sourceLocation)
    expectClose(row.p99, exactPercentile(sorted, 990), "\(what) p99", sourceLocation: sourceLocation)
    expectClose(row.max, sorted[sorted.count - 1], "\(what) max", sourceLocation: sourceLocation)
}

private func distribution(_ name: String, count: Int, seed: UInt64) -> [UInt64] {
    var rng = LatencyRNG(seed: seed)
    let unit = { Double(rng.next() >> 11) / Double(1 << 53) }
    return (0..<count).map { _ in
        switch name {
        case "uniform": return 1_000 + UInt64(unit() * 999_000_000)
        case "exponential": return UInt64(-log(1 - unit()) * 5_000_000) + 1
        case "bimodal":
            return unit() < 0.9 ? 1_000_000 + UInt64(unit() * 200_000) : 500_000_000 + UInt64(unit() * 50_000_000)
        default:  // 1 µs to 1 h, uniform in log
            return UInt64(exp(log(1_000.0) + unit() * (log(3_600e9) - log(1_000.0))))
        }
    }
}

@Suite struct LatencyIndexTests {
    @Test func oneValueIsEveryPercentile() {
        var index = LatencyIndex()
        index.add(service: "a", operation: "x", durationNanos: 123_456_789, isError: true)
        let rows = index.rows()
        #expect(rows.map(\.key) == [LatencyIndex.Key(service: "a"), LatencyIndex.Key(service: "a", operation: "x")])
        for row in rows {
            #expect(row.count == 1 && row.errors == 1 && row.errorRate == 1)
            // The largest recorded value caps every answer: exact for one value.
            #expect([row.p50, row.p90, row.p99, row.max] == [123_456_789, 123_456_789, 123_456_789, 123_456_789])
        }
    }

    @Test func smallValuesAreExact() {
        // Below 2,048 ns each value has a bucket of its own.
        var index = LatencyIndex()
        for v: UInt64 in 1...100 { index.add(service: "a", operation: "x", durationNanos: v, isError: v % 10 == 0) }
        let row = index.row(LatencyIndex.Key(service: "a", operation: "x"))
        #expect(row == LatencyIndex.Row(key: .init(service: "a", operation: "x"), count: 100, errors: 10, errorRate: 0.1,
                                        p50: 50, p90: 90, p99: 99, max: 100))
        // p50 of two values is the first (nearest rank 1).
        var two = LatencyIndex()
        two.add(service: "a", operation: "x", durationNanos: 7, isError: false)
        two.add(service: "a", operation: "x", durationNanos: 9, isError: false)
        #expect(two.row(.init(service: "a"))?.p50 == 7)
        #expect(two.row(.init(service: "a"))?.p90 == 9)
    }

    @Test(arguments: ["uniform", "exponential", "bimodal", "1µs-1h"])
    func percentilesAgreeWithSorting(_ name: String) {
        let values = distribution(name, count: 20_000, seed: 7)
        var index = LatencyIndex()
        for (i, v) in values.enumerated() {
            index.add(service: "s", operation: i % 2 == 0 ? "even" : "odd", durationNanos: v, isError: false)
        }
        expectRow(index.row(.init(service: "s")), matches: values, "\(name) service")
        let evens = values.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        expectRow(index.row(.init(service: "s", operation: "even")), matches: evens, "\(name) even")
    }

    @Test(arguments: ["uniform", "1µs-1h"])
    func removalIsExact(_ name: String) {
        // 20,000 added, 15,000 removed in a shuffled order: past the
        // compaction floor, so the removed values are folded back once.
        let values = distribution(name, count: 20_000, seed: 11)
        var index = LatencyIndex()
        for v in values { index.add(service: "s", operation: "x", durationNanos: v, isError: v % 3 == 0) }
        var rng = LatencyRNG(seed: 3)
        let order = values.shuffled(using: &rng)
        for v in order.prefix(15_000) { index.remove(service: "s", operation: "x", durationNanos: v, isError: v % 3 == 0) }
        let kept = Array(order.dropFirst(15_000))
        expectRow(index.row(.init(service: "s", operation: "x")), matches: kept, "\(name) after removal")
        #expect(index.row(.init(service: "s"))?.errors == kept.filter { $0 % 3 == 0 }.count)
        // Removing a few more (not compacted this time) stays exact too.
        for v in kept.prefix(100) { index.remove(service: "s", operation: "x", durationNanos: v, isError: v % 3 == 0) }
        expectRow(index.row(.init(service: "s", operation: "x")), matches: Array(kept.dropFirst(100)), "\(name) after more")
        for v in kept.dropFirst(100) {
            index.remove(service: "s", operation: "x", durationNanos: v, isError: v % 3 == 0)
        }
        #expect(index.rows().isEmpty)
        #expect(index.isEmpty && index.spanCount == 0)
    }

    @Test func removingTheMaximumLowersIt() {
        var index = LatencyIndex()
        for v: UInt64 in [1_000, 2_000_000, 3_000_000_000] {
            index.add(service: "s", operation: "x", durationNanos: v, isError: false)
        }
        index.remove(service: "s", operation: "x", durationNanos: 3_000_000_000, isError: false)
        let row = index.row(.init(service: "s", operation: "x"))
        expectClose(row?.max ?? 0, 2_000_000, "max")
        expectClose(row?.p99 ?? 0, 2_000_000, "p99")
        #expect(row?.p50 == 1_000)
    }

    @Test func rowsPutEachServiceBeforeItsOperations() {
        var index = LatencyIndex()
        for (s, o, d, e) in [("b", "z", 10, false), ("a", "y", 20, true), ("b", "x", 30, false), ("a", "y", 40, false)] {
            index.add(service: s, operation: o, durationNanos: UInt64(d), isError: e)
        }
        let rows = index.rows(by: .operation)
        #expect(rows.map(\.key) == [.init(service: "a"), .init(service: "a", operation: "y"),
                                    .init(service: "b"), .init(service: "b", operation: "x"),
                                    .init(service: "b", operation: "z")])
        #expect(rows.map(\.count) == [2, 2, 2, 1, 1])
        #expect(rows[0].errors == 1 && rows[0].errorRate == 0.5)
        #expect(rows[0].p50 == 20 && rows[0].max == 40)
        #expect(index.rows(by: .service).map(\.key) == [.init(service: "a"), .init(service: "b")])
    }

    @Test func keysPastTheBoundAreCountedAsOther() {
        var index = LatencyIndex(maxKeys: 4)
        // a, a/1, a/2: a new service needs room for one operation too, so b
        // and c go to "(other)"; a/3 and a/4 to a's "(other)" operation.
        for (s, o) in [("a", "1"), ("a", "2"), ("b", "1"), ("a", "3"), ("a", "4"), ("c", "1")] {
            index.add(service: s, operation: o, durationNanos: 100, isError: false)
        }
        let keys = index.rows().map(\.key)
        #expect(keys == [.init(service: "a"), .init(service: "a", operation: "1"), .init(service: "a", operation: "2"),
                         .init(service: "a", operation: "(other)"),
                         .init(service: "(other)"), .init(service: "(other)", operation: "(other)")])
        #expect(index.row(.init(service: "a", operation: "(other)"))?.count == 2)
        #expect(index.row(.init(service: "a"))?.count == 4)
        #expect(index.overflowSpans == 4)
        for (s, o) in [("a", "1"), ("a", "2"), ("b", "1"), ("a", "3"), ("a", "4"), ("c", "1")] {
            index.remove(service: s, operation: o, durationNanos: 100, isError: false)
        }
        #expect(index.rows().isEmpty && index.overflowSpans == 0)
        // Keys are kept (and the bound with them), so later spans go where earlier ones went.
        index.add(service: "c", operation: "1", durationNanos: 5, isError: false)
        #expect(index.row(.init(service: "(other)", operation: "(other)"))?.count == 1)
    }

    @Test func histogramBarsCoverEveryValue() {
        var index = LatencyIndex()
        let values = distribution("1µs-1h", count: 5_000, seed: 5)
        for v in values { index.add(service: "s", operation: "x", durationNanos: v, isError: false) }
        let bars = index.histogram(.init(service: "s", operation: "x"), buckets: 20)
        #expect(bars.count <= 20 && bars.count >= 15)
        #expect(bars.reduce(0) { $0 + $1.count } == 5_000)
        for (a, b) in zip(bars, bars.dropFirst()) { #expect(b.lower == a.upper + 1) }
        let lowest = values.min() ?? 0, highest = values.max() ?? 0
        #expect(bars.first?.lower ?? .max <= lowest && bars.last?.upper ?? 0 >= highest)
        // Each value counted in the bar holding it, to within the HDR bucket.
        var expected = [Int](repeating: 0, count: bars.count)
        for v in values {
            if let i = bars.firstIndex(where: { v <= $0.upper }) { expected[i] += 1 }
        }
        let misplaced = zip(expected, bars).reduce(0) { $0 + abs($1.0 - $1.1.count) }
        #expect(misplaced <= 5_000 / 100)
        // Log scale: the bars widen.
        #expect((bars.last.map { $0.upper - $0.lower } ?? 0) > (bars.first.map { $0.upper - $0.lower } ?? 0) * 1000)

        var single = LatencyIndex()
        single.add(service: "s", operation: "x", durationNanos: 42, isError: false)
        #expect(single.histogram(.init(service: "s"), buckets: 10) == [.init(lower: 42, upper: 42, count: 1)])
        #expect(single.histogram(.init(service: "t"), buckets: 10).isEmpty)
    }

    @Test func storeKeepsItUpToDateThroughEviction() {
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 3_000))
        for n in 0..<5_000 { store.add(contentsOf: LatencyFixtures.seedTrace(n)) }
        #expect(store.counters.tracesEvicted > 0)
        // The same figures as an index built from the spans held now.
        var fresh = LatencyIndex()
        for id in store.allTraceIDs {
            for s in store.traceSpans(id) ?? [] {
                fresh.add(service: s.resource.serviceName, operation: s.name, durationNanos: s.durationNano,
                          isError: s.isError)
            }
        }
        let kept = store.latency.rows()
        let expected = fresh.rows()
        #expect(kept.map(\.key) == expected.map(\.key))
        #expect(kept.map(\.count) == expected.map(\.count))
        #expect(kept.map(\.errors) == expected.map(\.errors))
        #expect(store.latency.spanCount == store.spanCount)
        for (k, e) in zip(kept, expected) {
            // Both are a value of the bucket holding the exact percentile.
            for (a, b) in [(k.p50, e.p50), (k.p90, e.p90), (k.p99, e.p99), (k.max, e.max)] {
                #expect(max(a, b) - min(a, b) <= b / 1000, "\(k.key): \(a) vs \(b)")
            }
        }
        #expect(kept.first?.key == .init(service: "server-1") && kept.first?.count == 2_000)
        #expect(expected.first(where: { $0.key == .init(service: "server-2") })?.errors == 50)
    }

    @Test func smallDurationsSurviveEvictionExactly() {
        // Durations below 2,048 ns: every bucket is one value, so the kept
        // rows equal rows built afresh, percentiles included.
        var store = TraceStore(limits: TraceStoreLimits(maxSpans: 300))
        for n in 0..<1_000 {
            store.add(contentsOf: LatencyFixtures.seedTrace(n, durations: (UInt64(1_000 + n), UInt64(500 + n % 7),
                                                                             UInt64(100 + n % 50))))
        }
        var fresh = LatencyIndex()
        for id in store.allTraceIDs {
            for s in store.traceSpans(id) ?? [] {
                fresh.add(service: s.resource.serviceName, operation: s.name, durationNanos: s.durationNano,
                          isError: s.isError)
            }
        }
        #expect(store.latency.rows() == fresh.rows())
        #expect(store.latency.row(.init(service: "server-1", operation: "GET /"))?.max == 1_999)
        #expect(store.latency.row(.init(service: "server-1", operation: "GET /"))?.p50 == 1_949)
    }

    @Test func onlyTheMatchingTracesWhenFiltered() throws {
        var store = TraceStore()
        for n in 0..<400 { store.add(contentsOf: LatencyFixtures.seedTrace(n)) }
        #expect(store.latencyIndex(matching: nil).spanCount == 1_200)
        #expect(store.latencyRows(matching: try TraceQuery.parse("")).count == 5)
        let errors = store.latencyIndex(matching: try TraceQuery.parse("error"))
        #expect(errors.spanCount == 60)
        let rows = errors.rows()
        #expect(rows.map(\.count) == [40, 20, 20, 20, 20])
        #expect(rows.map(\.errors) == [20, 0, 20, 20, 20])
        // Trace n = 20k: durations 10 ms + (n % 97) * 10 µs for the root.
        let roots = (0..<20).map { UInt64(10_000_000 + (($0 * 20) % 97) * 10_000) }
        expectRow(errors.row(.init(service: "server-1", operation: "GET /")), matches: roots, "error roots")
        #expect(store.latencyRows(matching: try TraceQuery.parse("service=nowhere")).isEmpty)
    }
}
