import Testing
@testable import TraceModel

private let statsTraceID = TraceID(low: 0x5747)
private let serviceA = Resource(serviceName: "A")
private let serviceB = Resource(serviceName: "B")

/// A span of `statsTraceID`, times in milliseconds from 0.
private func statSpan(_ id: UInt64, parent: UInt64? = nil, _ resource: Resource, _ name: String,
                      _ startMs: UInt64, _ durationMs: UInt64, error: Bool = false) -> Span {
    Span(traceID: statsTraceID, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: name,
         status: error ? SpanStatus(code: .error) : .unset,
         startTimeUnixNano: startMs * ms, durationNano: durationMs * ms, resource: resource)
}

/// root (A, "root") 0..100ms; two children (B, "work") at 10..30 and 50..90;
/// a grandchild (A, "db", an error) at 60..70 under the second. Spans are
/// listed out of tree order so that span indices differ from row order:
/// rows are root(2), work(3), work(1), db(0).
private func sampleTrace() -> Trace {
    Trace(traceID: statsTraceID, spans: [
        statSpan(4, parent: 3, serviceA, "db", 60, 10, error: true),
        statSpan(3, parent: 1, serviceB, "work", 50, 40),
        statSpan(1, serviceA, "root", 0, 100),
        statSpan(2, parent: 1, serviceB, "work", 10, 20),
    ])
}

private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

@Suite struct TraceStatisticsTests {
    @Test func byServiceEveryColumn() {
        let stats = TraceStatistics(trace: sampleTrace(), grouping: .service)
        #expect(stats.grouping == .service)
        #expect(stats.traceDurationNanos == 100 * ms)
        #expect(stats.sortColumn == .total && stats.descending)
        #expect(stats.rows.map(\.name) == ["A", "B"])
        let a = stats.rows[0], b = stats.rows[1]
        #expect(a.service == "A" && a.operation == nil)
        #expect(a.count == 2)
        #expect(a.totalNanos == 110 * ms)
        #expect(a.averageNanos == 55 * ms)
        #expect(a.minNanos == 10 * ms)
        #expect(a.maxNanos == 100 * ms)
        // root 100 - (20 + 40) = 40; db 10.
        #expect(a.selfTotalNanos == 50 * ms)
        #expect(a.selfAverageNanos == 25 * ms)
        #expect(a.selfMinNanos == 10 * ms)
        #expect(a.selfMaxNanos == 40 * ms)
        #expect(close(a.percentOfTrace, 50))
        #expect(a.errorCount == 1)
        #expect(a.spanIndices == [2, 0])

        #expect(b.service == "B" && b.operation == nil)
        #expect(b.count == 2)
        #expect(b.totalNanos == 60 * ms)
        #expect(b.averageNanos == 30 * ms)
        #expect(b.minNanos == 20 * ms)
        #expect(b.maxNanos == 40 * ms)
        // work 20 (no children); work 40 - db 10 = 30.
        #expect(b.selfTotalNanos == 50 * ms)
        #expect(b.selfAverageNanos == 25 * ms)
        #expect(b.selfMinNanos == 20 * ms)
        #expect(b.selfMaxNanos == 30 * ms)
        #expect(close(b.percentOfTrace, 50))
        #expect(b.errorCount == 0)
        #expect(b.spanIndices == [3, 1])
    }

    @Test func byOperationEveryColumn() {
        let stats = TraceStatistics(trace: sampleTrace(), grouping: .operation)
        #expect(stats.rows.map(\.name) == ["root", "work", "db"])
        let table = stats.rows.map {
            [$0.count, Int($0.totalNanos / ms), Int($0.averageNanos / ms), Int($0.minNanos / ms),
             Int($0.maxNanos / ms), Int($0.selfTotalNanos / ms), Int($0.selfAverageNanos / ms), $0.errorCount]
        }
        #expect(table == [
            [1, 100, 100, 100, 100, 40, 40, 0],
            [2, 60, 30, 20, 40, 50, 25, 0],
            [1, 10, 10, 10, 10, 10, 10, 1],
        ])
        #expect(stats.rows.map(\.service) == [nil, nil, nil])
        #expect(stats.rows.map(\.operation) == ["root", "work", "db"])
        #expect(zip(stats.rows.map(\.percentOfTrace), [40.0, 50, 10]).allSatisfy { close($0, $1) })
        #expect(stats.rows.map(\.spanIndices) == [[2], [3, 1], [0]])
    }

    @Test func byServiceAndOperation() {
        let stats = TraceStatistics(trace: sampleTrace(), grouping: .serviceAndOperation, sortBy: .name,
                                    descending: false)
        #expect(stats.rows.map(\.name) == ["A: db", "A: root", "B: work"])
        #expect(stats.rows.map(\.service) == ["A", "A", "B"])
        #expect(stats.rows.map(\.operation) == ["db", "root", "work"])
        #expect(stats.rows.map(\.count) == [1, 1, 2])
        #expect(stats.rows.map(\.totalNanos) == [10 * ms, 100 * ms, 60 * ms])
        #expect(stats.rows.map(\.selfTotalNanos) == [10 * ms, 40 * ms, 50 * ms])
        #expect(stats.rows.map(\.errorCount) == [1, 0, 0])
        #expect(stats.rows.map(\.spanIndices) == [[0], [2], [3, 1]])
    }

    @Test func seedTraceTables() {
        let trace = Trace(traceID: seedTraceID, spans: seedSpans())
        let byService = TraceStatistics(trace: trace, grouping: .service)
        #expect(byService.rows.map(\.name) == ["server-1", "server-2"])
        let s1 = byService.rows[0], s2 = byService.rows[1]
        #expect(s1.count == 2 && s1.totalNanos == 1251 * ms && s1.averageNanos == 625_500_000)
        #expect(s1.minNanos == 500 * ms && s1.maxNanos == 751 * ms)
        #expect(s1.selfTotalNanos == 253 * ms && s1.selfAverageNanos == 126_500_000)
        #expect(close(s1.percentOfTrace, 253.0 / 751.0 * 100))
        #expect(s1.spanIndices == [0, 1])
        #expect(s2.count == 1 && s2.totalNanos == 498 * ms && s2.averageNanos == 498 * ms)
        #expect(s2.minNanos == 498 * ms && s2.maxNanos == 498 * ms)
        #expect(s2.selfTotalNanos == 498 * ms && s2.selfAverageNanos == 498 * ms)
        #expect(close(s2.percentOfTrace, 498.0 / 751.0 * 100))
        // Self times partition a one-root trace: the shares add up to 100.
        #expect(close(s1.percentOfTrace + s2.percentOfTrace, 100))

        let byOperation = TraceStatistics(trace: trace, grouping: .operation, sortBy: .selfTotal)
        #expect(byOperation.rows.map(\.name) == ["server-2", "server-1", "server-1_to_server-2"])
        #expect(byOperation.rows.map(\.selfTotalNanos) == [498 * ms, 251 * ms, 2 * ms])

        let byBoth = TraceStatistics(trace: trace, grouping: .serviceAndOperation, sortBy: .percent)
        #expect(byBoth.rows.map(\.name) == ["server-2: server-2", "server-1: server-1",
                                            "server-1: server-1_to_server-2"])
        #expect(byBoth.rows.map(\.spanIndices) == [[2], [0], [1]])
    }

    /// By service the two rows tie on count, self total, self average and
    /// percent: the tie goes to the name, ascending, in both directions.
    @Test func sortingByEveryColumnWithTies() {
        var stats = TraceStatistics(trace: sampleTrace(), grouping: .service)
        let expected: [TraceStatistics.Column: (ascending: [String], descending: [String])] = [
            .name: (["A", "B"], ["B", "A"]),
            .count: (["A", "B"], ["A", "B"]),
            .total: (["B", "A"], ["A", "B"]),
            .average: (["B", "A"], ["A", "B"]),
            .min: (["A", "B"], ["B", "A"]),
            .max: (["B", "A"], ["A", "B"]),
            .selfTotal: (["A", "B"], ["A", "B"]),
            .selfAverage: (["A", "B"], ["A", "B"]),
            .percent: (["A", "B"], ["A", "B"]),
        ]
        for column in TraceStatistics.Column.allCases {
            stats.sort(by: column, descending: false)
            #expect(stats.rows.map(\.name) == expected[column]?.ascending, "\(column) ascending")
            #expect(stats.sortColumn == column && !stats.descending)
            stats.sort(by: column, descending: true)
            #expect(stats.rows.map(\.name) == expected[column]?.descending, "\(column) descending")
            #expect(stats.sortColumn == column && stats.descending)
        }
    }

    @Test func sortingOperationsByEveryColumn() {
        // root: 1, 100, avg 100, min 100, max 100, self 40, self avg 40, 40%
        // work: 2,  60, avg  30, min  20, max  40, self 50, self avg 25, 50%
        // db:   1,  10, avg  10, min  10, max  10, self 10, self avg 10, 10%
        let expected: [TraceStatistics.Column: [String]] = [
            .name: ["db", "root", "work"],
            .count: ["db", "root", "work"],
            .total: ["db", "work", "root"],
            .average: ["db", "work", "root"],
            .min: ["db", "work", "root"],
            .max: ["db", "work", "root"],
            .selfTotal: ["db", "root", "work"],
            .selfAverage: ["db", "work", "root"],
            .percent: ["db", "root", "work"],
        ]
        let descendingCount = ["work", "db", "root"]  // db and root tie: by name
        for column in TraceStatistics.Column.allCases {
            let ascending = TraceStatistics(trace: sampleTrace(), grouping: .operation, sortBy: column,
                                            descending: false)
            #expect(ascending.rows.map(\.name) == expected[column], "\(column) ascending")
            let descending = TraceStatistics(trace: sampleTrace(), grouping: .operation, sortBy: column)
            let reversed = column == .count ? descendingCount : expected[column].map { Array($0.reversed()) }
            #expect(descending.rows.map(\.name) == reversed, "\(column) descending")
        }
    }

    @Test func sameDisplayNameDifferentGroups() {
        // ("a: b", "c") and ("a", "b: c") both read "a: b: c" but are two groups.
        let id = TraceID(low: 77)
        let spans = [
            Span(traceID: id, spanID: SpanID(1), name: "c", startTimeUnixNano: 0, durationNano: 5,
                 resource: Resource(serviceName: "a: b")),
            Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "b: c", startTimeUnixNano: 1,
                 durationNano: 1, resource: Resource(serviceName: "a")),
        ]
        var stats = TraceStatistics(trace: Trace(traceID: id, spans: spans), grouping: .serviceAndOperation)
        #expect(stats.rows.map(\.name) == ["a: b: c", "a: b: c"])
        stats.sort(by: .name, descending: false)
        #expect(stats.rows.map(\.service) == ["a", "a: b"])
        stats.sort(by: .count, descending: true)
        #expect(stats.rows.map(\.service) == ["a", "a: b"])
        stats.sort(by: .name, descending: true)
        #expect(stats.rows.map(\.service) == ["a: b", "a"])
    }

    @Test func servicesMatchByNameAcrossResources() {
        // Two batches of one service carry two Resource objects: one group.
        let id = TraceID(low: 78)
        let spans = [
            Span(traceID: id, spanID: SpanID(1), name: "x", startTimeUnixNano: 0, durationNano: 10,
                 resource: Resource(serviceName: "svc")),
            Span(traceID: id, spanID: SpanID(2), parentSpanID: SpanID(1), name: "x", startTimeUnixNano: 0,
                 durationNano: 3, resource: Resource(serviceName: "svc", attributes: [Attribute("k", .int(1))])),
        ]
        let stats = TraceStatistics(trace: Trace(traceID: id, spans: spans), grouping: .service)
        #expect(stats.rows.count == 1)
        #expect(stats.rows.first?.count == 2)
        #expect(stats.rows.first?.spanIndices == [0, 1])
    }

    @Test func emptyAndZeroLengthTraces() {
        let empty = TraceStatistics(trace: Trace(traceID: statsTraceID, spans: []), grouping: .service)
        #expect(empty.rows.isEmpty)
        #expect(empty.traceDurationNanos == 0)

        let instant = Trace(traceID: statsTraceID, spans: [statSpan(1, serviceA, "tick", 5, 0)])
        let stats = TraceStatistics(trace: instant, grouping: .operation)
        #expect(stats.rows.count == 1)
        #expect(stats.rows.first?.percentOfTrace == 0)
        #expect(stats.rows.first?.averageNanos == 0)
    }

    @Test func averagesRoundToNearestAndSumsSaturate() {
        #expect(roundedAverage(3, 2) == 2)
        #expect(roundedAverage(5, 4) == 1)
        #expect(roundedAverage(7, 4) == 2)
        #expect(roundedAverage(10, 0) == 0)
        #expect(roundedAverage(.max, 1) == .max)
        #expect(roundedAverage(.max, 2) == UInt64.max / 2 + 1)
        #expect(saturatingAdd(.max - 1, 5) == .max)

        let id = TraceID(low: 79)
        let spans = (1...3).map { i in
            Span(traceID: id, spanID: SpanID(UInt64(i)), name: "huge", startTimeUnixNano: 0,
                 durationNano: .max / 2, resource: serviceA)
        }
        let stats = TraceStatistics(trace: Trace(traceID: id, spans: spans), grouping: .operation)
        #expect(stats.rows.first?.totalNanos == .max)
        #expect(stats.rows.first?.count == 3)
    }
}
