import Testing
@testable import TraceModel
import TerminalUI
@testable import TraceExplorer

/// The latency view (`P`) and the service graph (`D`): drawn by hand-built
/// indexes and graphs with known figures, so the snapshots change only when
/// the drawing does.
@Suite struct LatencyAndGraphSnapshotTests {
    static let sizes = [(80, 24), (120, 40)]
    static let ms: UInt64 = 1_000_000
    static let context = ComponentContext(isLive: false, pageRows: 5)

    /// Three services; durations spread so that the percentiles differ.
    static func index() -> LatencyIndex {
        var index = LatencyIndex()
        for i in 1...100 {
            index.add(service: "api-gateway", operation: "GET /orders", durationNanos: UInt64(i) * ms, isError: i % 40 == 0)
        }
        for i in 1...20 {
            index.add(service: "api-gateway", operation: "POST /orders", durationNanos: UInt64(i * 5) * ms, isError: i > 18)
        }
        for i in 1...50 {
            index.add(service: "orders", operation: "db query", durationNanos: UInt64(i * i) * 4_000, isError: false)
        }
        for i in 1...10 {
            index.add(service: "orders", operation: "checkout", durationNanos: UInt64(100 + i * 90) * ms, isError: false)
        }
        for i in 1...30 {
            index.add(service: "payments", operation: "charge", durationNanos: UInt64(20 + i * i / 3) * ms, isError: i % 6 == 0)
        }
        return index
    }

    /// The screen as the app keeps it: rows in, the selected key's histogram fetched.
    static func latencyScreen(_ index: LatencyIndex, area: Rect, moves: Int = 0) -> LatencyScreen {
        var screen = LatencyScreen()
        screen.setRows(index.rows(), histogram: [])
        for _ in 0..<moves { _ = screen.perform(.move(.down), context) }
        if let key = screen.selectedKey {
            screen.setHistogram(index.histogram(key, buckets: LatencyView.histogramBuckets(in: area)), for: key)
        }
        return screen
    }

    static func area(_ width: Int, _ height: Int) -> Rect {
        ExplorerLayout(width: width, height: height, detailOpen: false).fullScreenArea
    }

    static func draw(_ width: Int, _ height: Int, _ body: (Rect, inout CellBuffer) -> Void) -> [String] {
        var buffer = CellBuffer(width: width, height: height)
        body(area(width, height), &buffer)
        return buffer.lines()
    }

    @Test func fullScreenAreaIsBetweenTheAppBarAndTheStatusBar() {
        #expect(Self.area(80, 24) == Rect(x: 0, y: 1, width: 80, height: 21))
        #expect(Self.area(120, 40) == Rect(x: 0, y: 1, width: 120, height: 37))
    }

    @Test(arguments: sizes) func latencyWithHistogram(width: Int, height: Int) {
        let index = Self.index()
        let screen = Self.latencyScreen(index, area: Self.area(width, height), moves: 1)
        #expect(screen.selectedKey == LatencyIndex.Key(service: "api-gateway", operation: "GET /orders"))
        let lines = Self.draw(width, height) { LatencyView.render(screen, area: $0, into: &$1) }
        #expect(lines[1].contains("Latency · all traces"))
        #expect(lines.contains { $0.contains("◀ p50") })
        #expect(lines.contains { $0.contains("p99") && $0.contains("◀") })
        #expect(lines.contains { $0.contains("█") })
        #expect(lines[0].trimmingPrefix(while: { $0 == " " }).isEmpty)
        #expect(lines[height - 2].allSatisfy { $0 == " " })
        assertSnapshot(lines, named: "latency-\(width)x\(height)")
    }

    @Test(arguments: sizes) func latencySortedByP99Descending(width: Int, height: Int) {
        let index = Self.index()
        var screen = Self.latencyScreen(index, area: Self.area(width, height))
        // name -> count -> errors -> error rate -> p50 -> p90 -> p99
        for _ in 0..<6 { _ = screen.perform(.nextColumn, Self.context) }
        #expect(screen.column == .p99)
        #expect(screen.descending)
        screen.computing = true
        screen.scope = "filter: dur>1ms"
        let lines = Self.draw(width, height) { LatencyView.render(screen, area: $0, into: &$1) }
        #expect(lines[1].contains("filter: dur>1ms"))
        #expect(lines[1].contains("computing…"))
        #expect(lines[2].contains("▼P99"))
        assertSnapshot(lines, named: "latency-p99-\(width)x\(height)")
    }

    @Test func sortingKeepsServicesGrouped() {
        var screen = LatencyScreen()
        screen.setRows(Self.index().rows(), histogram: [])
        for _ in 0..<6 { _ = screen.perform(.nextColumn, Self.context) }
        let keys = screen.rows.map(\.key)
        // Services by their p99 (orders' checkout makes it slowest), operations by theirs (POST's 100ms before GET's 99ms).
        #expect(keys == [
            .init(service: "orders"), .init(service: "orders", operation: "checkout"), .init(service: "orders", operation: "db query"),
            .init(service: "payments"), .init(service: "payments", operation: "charge"),
            .init(service: "api-gateway"), .init(service: "api-gateway", operation: "POST /orders"),
            .init(service: "api-gateway", operation: "GET /orders"),
        ])
        _ = screen.perform(.reverse, Self.context)
        #expect(screen.rows.map(\.key.service) == ["api-gateway", "api-gateway", "api-gateway", "payments", "payments",
                                                    "orders", "orders", "orders"])
        #expect(screen.rows.map(\.key.operation) == [nil, "GET /orders", "POST /orders", nil, "charge", nil, "db query", "checkout"])
        // Each service's summary row heads its operations whatever the column.
        for _ in LatencyScreen.Column.allCases {
            _ = screen.perform(.previousColumn, Self.context)
            var current: String?
            var seen = Set<String>()
            for row in screen.rows {
                if row.key.operation == nil {
                    #expect(seen.insert(row.key.service).inserted)
                    current = row.key.service
                } else {
                    #expect(row.key.service == current)
                }
            }
        }
    }

    @Test func setRowsKeepsTheSelectedKey() {
        var index = Self.index()
        var screen = LatencyScreen()
        #expect(screen.setRows(index.rows(), histogram: []) == LatencyIndex.Key(service: "api-gateway"))
        _ = screen.perform(.move(.down), Self.context)
        let outcome = screen.perform(.move(.down), Self.context)
        let key = LatencyIndex.Key(service: "api-gateway", operation: "POST /orders")
        #expect(outcome == .selected(key))
        #expect(screen.selectedKey == key)
        // A new service sorts first (by name): the selection follows its key down a row.
        index.add(service: "accounts", operation: "login", durationNanos: 3 * Self.ms, isError: false)
        let buckets = index.histogram(key, buckets: 6)
        #expect(screen.setRows(index.rows(), histogram: buckets) == nil)
        #expect(screen.selectedKey == key)
        #expect(screen.scroll.selected == 4)
        #expect(screen.histogramKey == key && screen.histogram == buckets)
        // A stale histogram is dropped.
        screen.setHistogram([], for: LatencyIndex.Key(service: "orders"))
        #expect(screen.histogram == buckets)
        // The selected key gone: the selection stays in place and asks for the new key's histogram.
        let rows = index.rows().filter { $0.key != key }
        #expect(screen.setRows(rows, histogram: buckets) == LatencyIndex.Key(service: "orders"))
        #expect(screen.histogram.isEmpty && screen.histogramKey == nil)
    }

    @Test func latencyOutcomes() {
        var screen = LatencyScreen()
        #expect(screen.perform(.slowest, Self.context) == .none)
        screen.setRows(Self.index().rows(), histogram: [])
        #expect(screen.perform(.slowest, Self.context) == .slowestTraces(service: "api-gateway", operation: nil))
        _ = screen.perform(.move(.down), Self.context)
        #expect(screen.perform(.slowest, Self.context) == .slowestTraces(service: "api-gateway", operation: "GET /orders"))
        #expect(screen.perform(.move(.last), Self.context) == .selected(.init(service: "payments", operation: "charge")))
        #expect(screen.perform(.move(.last), Self.context) == .none)
        for key in [Key.escape, .backspace, .char("P")] {
            #expect(screen.action(for: key, Self.context) == .close)
        }
        #expect(screen.action(for: .enter, Self.context) == .slowest)
        #expect(screen.action(for: .right, Self.context) == .nextColumn)
        #expect(screen.action(for: .char("a"), Self.context) == .previousColumn)
        #expect(screen.perform(.close, Self.context) == .close)
    }

    @Test func latencyPlainText() {
        var index = LatencyIndex()
        for i in 1...4 {
            index.add(service: "server-1", operation: "GET /", durationNanos: UInt64(i) * Self.ms, isError: i == 4)
        }
        index.add(service: "server-2", operation: "hop", durationNanos: 500 * Self.ms, isError: false)
        #expect(LatencyView.plainText(rows: index.rows(), width: 80) == [
            " SERVICE / OPERATION          COUNT  ERR %      P50      P90      P99      MAX",
            "!server-1                         4    25%      2ms      4ms      4ms      4ms",
            "!  GET /                          4    25%      2ms      4ms      4ms      4ms",
            " server-2                         1     0%    500ms    500ms    500ms    500ms",
            "   hop                            1     0%    500ms    500ms    500ms    500ms",
        ])
    }

    @Test func histogramMarksThePercentiles() {
        let row = LatencyIndex.Row(key: .init(service: "s"), count: 10, errors: 0, errorRate: 0, p50: 150, p90: 900, p99: 990, max: 990)
        let buckets = [LatencyIndex.Bucket(lower: 1, upper: 99, count: 2), .init(lower: 100, upper: 499, count: 4),
                       .init(lower: 500, upper: 999, count: 4)]
        #expect(LatencyView.percentileMarks(row, buckets: buckets) == [1: "◀ p50", 2: "◀ p90 p99"])
    }

    // MARK: Service graph

    static func edge(_ parent: String, _ child: String, _ calls: Int, _ errors: Int = 0, _ p50: UInt64 = 3_200_000) -> ServiceGraph.Edge {
        ServiceGraph.Edge(parent: parent, child: child, calls: calls, errors: errors, p50: p50)
    }

    static func graph(_ edges: [ServiceGraph.Edge]) -> ServiceGraph {
        let names = Set(edges.flatMap { [$0.parent, $0.child] }).sorted()
        return ServiceGraph(nodes: names.map { ServiceGraph.Node(service: $0, spanCount: 10) },
                            edges: edges.sorted { ($0.parent, $0.child) < ($1.parent, $1.child) })
    }

    static let fanOut = graph([Self.edge("A", "B", 12, 1), Self.edge("A", "C", 3, 0, 800_000), Self.edge("A", "D", 7, 0, 45_000_000)])
    static let diamond = graph([Self.edge("A", "B", 12), Self.edge("A", "C", 4, 1), Self.edge("B", "D", 12, 0, 1_000_000),
                                Self.edge("C", "D", 4, 2, 2_500_000)])

    static func graphLines(_ graph: ServiceGraph, _ width: Int, _ height: Int, moves: Int = 0) -> [String] {
        var screen = ServiceGraphScreen(graph: graph)
        for _ in 0..<moves { _ = screen.perform(.move(.down), context) }
        return draw(width, height) { ServiceGraphView.render(screen, area: $0, into: &$1) }
    }

    @Test(arguments: sizes) func seedGraph(width: Int, height: Int) {
        let graph = ExplorerFixtures.store().serviceGraph()
        #expect(graph.edges.map { "\($0.parent)>\($0.child)" } == ["server-1>server-2"])
        let lines = Self.graphLines(graph, width, height)
        #expect(lines.contains { $0.contains("│server-1├") && $0.contains("▶│server-2│") })
        #expect(lines.contains { $0.contains("server-1 ─▶ server-2   calls") })
        assertSnapshot(lines, named: "graph-seed-\(width)x\(height)")
    }

    @Test(arguments: sizes) func fanOutGraph(width: Int, height: Int) {
        let lines = Self.graphLines(Self.fanOut, width, height, moves: 1)
        #expect(lines.contains { $0.contains("┬─ 12 calls · 1 err · p50 3.2ms") })
        #expect(lines.contains { $0.contains("└─ 7 calls · p50 45ms") })
        assertSnapshot(lines, named: "graph-fan-out-\(width)x\(height)")
    }

    @Test(arguments: sizes) func diamondGraph(width: Int, height: Int) {
        let lines = Self.graphLines(Self.diamond, width, height)
        // D is in the last layer, once, with a port for each caller.
        #expect(lines.filter { $0.contains("│D│") }.count == 1)
        #expect(lines.map { $0.split(separator: "▶│", omittingEmptySubsequences: false).count - 1 }.reduce(0, +) == 4)
        assertSnapshot(lines, named: "graph-diamond-\(width)x\(height)")
    }

    @Test func treeFallbackAt40Columns() {
        let graph = Self.graph([Self.edge("frontend", "checkout", 20), Self.edge("frontend", "catalog", 55),
                                Self.edge("checkout", "payments", 18, 2), Self.edge("catalog", "inventory", 40),
                                Self.edge("checkout", "inventory", 9), Self.edge("inventory", "frontend", 1)])
        var screen = ServiceGraphScreen(graph: graph)
        #expect(screen.drawing.width > 40)
        _ = screen.perform(.move(.last), Self.context)
        var buffer = CellBuffer(width: 40, height: 24)
        ServiceGraphView.render(screen, area: Self.area(40, 24), into: &buffer)
        let lines = buffer.lines()
        // The cycle is entered at frontend (most calls out), not at the first name.
        #expect(lines[2].hasPrefix(" frontend ─▶ catalog  55 calls"))
        #expect(lines.contains { $0.contains("(↑ seen)") })
        assertSnapshot(lines, named: "graph-tree-40x24")
    }

    @Test func cyclesEndAndDrawInTheirLayers() {
        // A -> B -> C -> A, and A -> C: C at depth 2 (its deepest), C -> A set aside.
        let graph = Self.graph([Self.edge("A", "B", 1), Self.edge("B", "C", 1), Self.edge("C", "A", 1), Self.edge("A", "C", 1)])
        let drawing = ServiceGraphDrawing(graph)
        #expect(drawing.backEdges.map { "\($0.parent)>\($0.child)" } == ["C>A"])
        #expect(!drawing.rows.isEmpty)
        let first = drawing.rows[1].line(0)
        #expect(first.firstRange(of: "A")!.lowerBound < first.firstRange(of: "B")!.lowerBound)
        #expect(drawing.tree.map { "\($0.parent ?? "")>\($0.child)\($0.seen ? "*" : "")" } == ["A>B", "B>C", "C>A*", "A>C*"])
    }

    @Test func graphOutcomesAndSelection() {
        var screen = ServiceGraphScreen(graph: Self.diamond)
        #expect(screen.perform(.filter, Self.context) == .filter(#"{service="A"} > {service="B"}"#))
        _ = screen.perform(.move(.down), Self.context)
        _ = screen.perform(.move(.down), Self.context)
        #expect(screen.selectedEdge?.parent == "B")
        // A new graph with an edge before it: the selection stays on B -> D.
        screen.setGraph(Self.graph(Self.diamond.edges + [Self.edge("A", "A2", 1)]))
        #expect(screen.selectedEdge.map { "\($0.parent)>\($0.child)" } == "B>D")
        #expect(screen.perform(.filter, Self.context) == .filter(#"{service="B"} > {service="D"}"#))
        for key in [Key.escape, .backspace, .char("D")] {
            #expect(screen.action(for: key, Self.context) == .close)
        }
        var empty = ServiceGraphScreen()
        #expect(empty.perform(.filter, Self.context) == .none)
    }

    @Test func graphPlainText() {
        let graph = Self.graph([Self.edge("server-1", "server-2", 12, 1)])
        #expect(ServiceGraphView.plainText(graph: graph, width: 80) == [
            " ┌────────┐                                   ┌────────┐",
            " │server-1├─── 12 calls · 1 err · p50 3.2ms ─▶│server-2│",
            " └────────┘                                   └────────┘",
            "",
            "!server-1 ─▶ server-2   calls 12   errors 1   p50 3.2ms",
        ])
        // Too narrow for the drawing: the tree, and the figures cut with `…`.
        #expect(ServiceGraphView.plainText(graph: graph, width: 40) == [
            " server-1 ─▶ server-2  12 calls · 1 er…",
            "",
            "!server-1 ─▶ server-2   calls 12   erro…",
        ])
    }
}
