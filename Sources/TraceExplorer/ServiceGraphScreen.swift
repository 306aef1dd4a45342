import TraceModel
import TerminalUI

/// Who calls whom: the service graph as a text drawing (boxes in layers by
/// call depth, arrows labelled with calls, errors and p50), and under it the
/// edges one a line with a selection; Enter filters the trace list to the
/// traces that hold the selected call.
public struct ServiceGraphScreen: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case move(ListMove), filter, close
    }

    enum Outcome: Sendable, Equatable {
        case none, close
        /// Enter on an edge: filter the trace list with this query (`ServiceGraph.Edge.query`).
        case filter(String)
    }

    public private(set) var graph: ServiceGraph
    /// Laid out once per graph (`setGraph`), never per frame: layering and
    /// routing cost more than drawing, and the graph changes far less often
    /// than the screen is drawn.
    public private(set) var drawing: ServiceGraphDrawing
    /// What the graph covers, shown in the title: `all traces`, `filter: service=x`.
    public var scope: String
    /// A new graph is being built off the UI's path: the title says `computing…`.
    public var computing = false
    /// The selection in the edge list.
    public internal(set) var scroll = ScrollSelection()

    public init(graph: ServiceGraph = ServiceGraph(), scope: String = "all traces") {
        self.graph = graph
        self.drawing = ServiceGraphDrawing(graph)
        self.scope = scope
    }

    public var selectedEdge: ServiceGraph.Edge? {
        scroll.selected < graph.edges.count ? graph.edges[scroll.selected] : nil
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        ListMove.bindings(item: "edge", Action.move) + [
            KeyBinding([.enter], "list the traces that hold this call", hint: "traces", .filter),
            KeyBinding([.escape, .backspace, .char("D")], "close the service graph", hint: "back", .close),
        ]
    }

    mutating func perform(_ action: Action, _ context: ComponentContext) -> Outcome {
        let count = graph.edges.count
        let page = max(1, context.pageRows)
        switch action {
        case .move(let move): scroll.apply(move, count: count, page: page)
        case .filter:
            guard let edge = selectedEdge else { return .none }
            return .filter(edge.query)
        case .close: return .close
        }
        return .none
    }

    /// A new graph: laid out now, once. The selection stays on the same
    /// edge (parent and child) when it is still there.
    public mutating func setGraph(_ newGraph: ServiceGraph) {
        let before = selectedEdge.map { ($0.parent, $0.child) }
        if newGraph != graph {
            graph = newGraph
            drawing = ServiceGraphDrawing(newGraph)
        }
        computing = false
        if let before, let index = graph.edges.firstIndex(where: { $0.parent == before.0 && $0.child == before.1 }) {
            scroll.select(index, count: graph.edges.count)
        } else {
            scroll.select(scroll.selected, count: graph.edges.count)
        }
    }

    /// Keeps the selection on screen for the edge rows `area` leaves (the app calls it on resize).
    public mutating func clamp(area: Rect) {
        scroll.clamp(count: graph.edges.count, rows: ServiceGraphView.parts(self, area: area).edges.height - 1)
    }
}

/// The graph laid out as text, both ways: the layered drawing (nil when the
/// graph is too big to draw usefully) and the indented tree that stands in
/// when the drawing is wider than the screen.
public struct ServiceGraphDrawing: Sendable, Hashable {
    /// One row of the layered drawing each, so a frame copies only the rows on screen.
    public private(set) var rows: [CellBuffer] = []
    public private(set) var width = 0
    /// Calls back to an earlier layer (cycles): listed under the drawing, not drawn.
    public private(set) var backEdges: [ServiceGraph.Edge] = []
    /// Each drawn edge's label: row, column and width, to mark the selected edge.
    var labelSpots: [EdgeEnds: (row: Int, x: Int, width: Int)] = [:]
    public private(set) var tree: [TreeLine] = []

    /// Bigger graphs are left to the tree: a drawing of hundreds of boxes is
    /// no help on a terminal, and this keeps the layout's work bounded.
    public static let maxDrawnNodes = 60
    public static let maxDrawnRows = 400
    public static let maxDrawnWidth = 2000
    /// Longer names are cut in boxes (the edge list has them whole).
    static let maxBoxName = 24

    struct EdgeEnds: Hashable, Sendable {
        var parent: String
        var child: String
    }

    /// One line of the tree: `parent ─▶ child  label`, indented by depth; a
    /// service without edges alone; `seen` when the child was expanded above.
    public struct TreeLine: Sendable, Hashable {
        public var depth: Int
        public var parent: String?
        public var child: String
        public var label: String
        public var seen: Bool
    }

    public static func == (a: ServiceGraphDrawing, b: ServiceGraphDrawing) -> Bool {
        a.rows == b.rows && a.tree == b.tree && a.backEdges == b.backEdges
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rows)
        hasher.combine(tree)
    }

    public init(_ graph: ServiceGraph) {
        tree = Self.tree(graph)
        layOut(graph)
    }

    /// `12 calls · 1 err · p50 3.2ms` (no errors: no error part).
    public static func label(_ edge: ServiceGraph.Edge) -> String {
        (edge.calls == 1 ? "1 call" : "\(Formatting.count(edge.calls)) calls")
            + (edge.errors > 0 ? " · \(Formatting.count(edge.errors)) err" : "") + " · p50 " + Formatting.duration(edge.p50)
    }

    // MARK: Tree

    /// Depth first from the services nobody calls (then, for cycles, from any
    /// service not reached yet), each service expanded once: at most one line
    /// per edge and per lone service, and cycles end at `(↑ seen)`.
    static func tree(_ graph: ServiceGraph) -> [TreeLine] {
        let services = allServices(graph)
        var children: [String: [ServiceGraph.Edge]] = [:]
        var called = Set<String>()
        for edge in graph.edges {
            children[edge.parent, default: []].append(edge)
            called.insert(edge.child)
        }
        var lines: [TreeLine] = []
        var expanded = Set<String>()
        // An explicit stack: a deep call chain cannot overflow the thread's stack.
        func walk(_ root: String) {
            expanded.insert(root)
            var stack: [(edges: [ServiceGraph.Edge], next: Int, depth: Int)] = [(children[root] ?? [], 0, 0)]
            while var top = stack.popLast() {
                guard top.next < top.edges.count else { continue }
                let edge = top.edges[top.next]
                top.next += 1
                stack.append(top)
                let seen = expanded.contains(edge.child)
                lines.append(TreeLine(depth: top.depth, parent: edge.parent, child: edge.child, label: label(edge), seen: seen))
                if !seen {
                    expanded.insert(edge.child)
                    stack.append((children[edge.child] ?? [], 0, top.depth + 1))
                }
            }
        }
        for service in services where !called.contains(service) {
            if children[service] == nil {
                lines.append(TreeLine(depth: 0, parent: nil, child: service, label: "", seen: false))
                expanded.insert(service)
            } else {
                walk(service)
            }
        }
        for service in startOrder(graph) where !expanded.contains(service) && children[service] != nil { walk(service) }
        return lines
    }

    /// Where depth-first walks start: services nobody calls (by name), then,
    /// for services only reached around a cycle, the most caller-like first
    /// (most calls out less calls in), so a cycle is cut at its entry.
    static func startOrder(_ graph: ServiceGraph) -> [String] {
        var balance: [String: Int] = [:]
        var called = Set<String>()
        for edge in graph.edges {
            balance[edge.parent, default: 0] += edge.calls
            balance[edge.child, default: 0] -= edge.calls
            called.insert(edge.child)
        }
        let services = allServices(graph)
        return services.filter { !called.contains($0) }
            + services.filter { called.contains($0) }.sorted { (-(balance[$0] ?? 0), $0) < (-(balance[$1] ?? 0), $1) }
    }

    static func allServices(_ graph: ServiceGraph) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for name in graph.nodes.map(\.service) + graph.edges.flatMap({ [$0.parent, $0.child] }) where seen.insert(name).inserted {
            out.append(name)
        }
        return out.sorted()
    }

    // MARK: Layered drawing

    /// A box, or a dummy: one row a long edge passes through on its way past a layer.
    struct Node {
        var name: String
        var isDummy: Bool
        var layer: Int
        var y = 0
        var height = 3
        var inPorts: [Int] = []  // segment indexes, top to bottom
        var out: [Int] = []  // segment indexes
    }

    struct Segment {
        var from: Int
        var to: Int
        /// The real edge; its label goes on the segment into the real child.
        var edge: ServiceGraph.Edge
        var inRow = 0
    }

    /// Layers by longest path from the callers (a service reached at several
    /// depths goes in its deepest layer), with back edges of a depth-first
    /// walk set aside so that cycles cannot loop; long edges pass dummy rows;
    /// each layer's boxes placed top-down, each as level as it can be with
    /// its first caller; one vertical lane per caller in each gap.
    mutating func layOut(_ graph: ServiceGraph) {
        let services = Self.allServices(graph)
        guard !services.isEmpty, services.count <= Self.maxDrawnNodes else { return }
        var index: [String: Int] = [:]
        for (i, s) in services.enumerated() { index[s] = i }
        var outEdges = Array(repeating: [Int](), count: services.count)
        var inCount = Array(repeating: 0, count: services.count)
        for (e, edge) in graph.edges.enumerated() {
            guard let p = index[edge.parent], let c = index[edge.child], p != c else { continue }
            outEdges[p].append(e)
            inCount[c] += 1
        }
        // Back edges: those reaching a service still on the depth-first path.
        var state = Array(repeating: 0, count: services.count)  // 0 new, 1 on path, 2 done
        var back = Set<Int>()
        let starts = Self.startOrder(graph).compactMap { index[$0] }
        for start in starts where state[start] == 0 {
            state[start] = 1
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            while var top = stack.popLast() {
                if top.next >= outEdges[top.node].count {
                    state[top.node] = 2
                    continue
                }
                let e = outEdges[top.node][top.next]
                top.next += 1
                stack.append(top)
                guard let c = index[graph.edges[e].child] else { continue }
                if state[c] == 1 {
                    back.insert(e)
                } else if state[c] == 0 {
                    state[c] = 1
                    stack.append((c, 0))
                }
            }
        }
        backEdges = back.sorted().map { graph.edges[$0] }
        // Longest-path layers over the forward edges (Kahn's order).
        var indegree = Array(repeating: 0, count: services.count)
        var forward: [(Int, Int, Int)] = []
        for (p, edges) in outEdges.enumerated() {
            for e in edges where !back.contains(e) {
                guard let c = index[graph.edges[e].child] else { continue }
                forward.append((p, c, e))
                indegree[c] += 1
            }
        }
        var layer = Array(repeating: 0, count: services.count)
        var queue = services.indices.filter { indegree[$0] == 0 }
        var head = 0
        var forwardOut = Array(repeating: [(Int, Int)](), count: services.count)
        for (p, c, e) in forward { forwardOut[p].append((c, e)) }
        while head < queue.count {
            let n = queue[head]
            head += 1
            for (c, _) in forwardOut[n] {
                layer[c] = max(layer[c], layer[n] + 1)
                indegree[c] -= 1
                if indegree[c] == 0 { queue.append(c) }
            }
        }
        // Nodes and segments, dummies for edges longer than one layer.
        var nodes = services.indices.map { Node(name: services[$0], isDummy: false, layer: layer[$0]) }
        var segments: [Segment] = []
        for (p, c, e) in forward {
            var from = p
            for l in (layer[p] + 1)..<max(layer[p] + 1, layer[c]) {
                nodes.append(Node(name: "", isDummy: true, layer: l, height: 1))
                segments.append(Segment(from: from, to: nodes.count - 1, edge: graph.edges[e]))
                from = nodes.count - 1
            }
            segments.append(Segment(from: from, to: c, edge: graph.edges[e]))
        }
        guard nodes.count <= Self.maxDrawnNodes * 2 else { return }
        for (s, seg) in segments.enumerated() {
            nodes[seg.from].out.append(s)
            nodes[seg.to].inPorts.append(s)
        }
        for i in nodes.indices where !nodes[i].isDummy {
            nodes[i].height = 2 + max(1, nodes[i].inPorts.count)
        }
        let layerCount = (layer.max() ?? 0) + 1
        var layers = Array(repeating: [Int](), count: layerCount)
        for i in nodes.indices { layers[nodes[i].layer].append(i) }
        // The out port: a box's name row, a dummy's only row.
        func outRow(_ n: Node) -> Int { n.isDummy ? n.y : n.y + 1 }
        // Placement, layer by layer.
        var y = 0
        for i in layers[0] {
            nodes[i].y = y
            y += nodes[i].height + 1
        }
        for l in 1..<max(1, layerCount) {
            var desired: [Int: Int] = [:]
            for i in layers[l] {
                let top = nodes[i].inPorts.map { outRow(nodes[segments[$0].from]) }.min() ?? 0
                desired[i] = nodes[i].isDummy ? top : top - 1
            }
            layers[l].sort { (desired[$0] ?? 0, nodes[$0].name) < (desired[$1] ?? 0, nodes[$1].name) }
            var floor = 0
            for i in layers[l] {
                nodes[i].y = max(desired[i] ?? 0, floor)
                floor = nodes[i].y + nodes[i].height + 1
            }
        }
        // In ports top to bottom in the order of their callers' rows (fewest crossings).
        let placed = nodes
        for i in nodes.indices {
            nodes[i].inPorts.sort { outRow(placed[segments[$0].from]) < outRow(placed[segments[$1].from]) }
            for (k, s) in nodes[i].inPorts.enumerated() {
                segments[s].inRow = nodes[i].isDummy ? nodes[i].y : nodes[i].y + 1 + k
            }
        }
        // Columns: each layer's width, then per gap the lanes and the label room.
        var columnWidth = Array(repeating: 1, count: layerCount)
        for n in nodes where !n.isDummy {
            columnWidth[n.layer] = max(columnWidth[n.layer], min(Self.maxBoxName, DisplayWidth.of(TerminalText.sanitize(n.name))) + 2)
        }
        var columnX = Array(repeating: 0, count: layerCount)
        var lane: [Int: Int] = [:]  // node -> lane x
        var arrowX = Array(repeating: 0, count: layerCount)
        var labelX = Array(repeating: 0, count: layerCount)
        for l in 0..<layerCount {
            if l > 0 { columnX[l] = arrowX[l - 1] + 1 }
            guard l + 1 < layerCount else { break }
            let gapStart = columnX[l] + columnWidth[l]
            let sources = layers[l].filter { !nodes[$0].out.isEmpty }.sorted { nodes[$0].y < nodes[$1].y }
            for (k, n) in sources.enumerated() { lane[n] = gapStart + 1 + k }
            let maxLabel = layers[l + 1].filter { !nodes[$0].isDummy }.flatMap { nodes[$0].inPorts }
                .map { DisplayWidth.of(Self.label(segments[$0].edge)) }.max() ?? 0
            labelX[l] = gapStart + 1 + sources.count + 2
            arrowX[l] = gapStart + 1 + sources.count + (maxLabel > 0 ? maxLabel + 4 : 2)
        }
        let width = columnX[layerCount - 1] + columnWidth[layerCount - 1]
        let height = nodes.map { $0.y + $0.height }.max() ?? 0
        guard width <= Self.maxDrawnWidth, height <= Self.maxDrawnRows else { return }

        // Lines as direction bits per cell, then glyphs: crossings come out as ┼.
        let left: UInt8 = 1, right: UInt8 = 2, up: UInt8 = 4, down: UInt8 = 8
        var bits = Array(repeating: UInt8(0), count: width * height)
        func add(_ x: Int, _ y: Int, _ b: UInt8) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            bits[y * width + x] |= b
        }
        func horizontal(_ y: Int, from x0: Int, to x1: Int) {
            guard x0 <= x1 else { return }
            for x in x0...x1 { add(x, y, left | right) }
        }
        for n in nodes where n.isDummy {
            horizontal(n.y, from: columnX[n.layer], to: columnX[n.layer] + columnWidth[n.layer] - 1)
        }
        var buffer = CellBuffer(width: width, height: height)
        var arrows: [(Int, Int)] = []
        var labels: [(x: Int, y: Int, text: String, ends: EdgeEnds)] = []
        for seg in segments {
            let source = nodes[seg.from], target = nodes[seg.to]
            let l = source.layer
            let sr = outRow(source), tr = seg.inRow
            let laneX = lane[seg.from] ?? (columnX[l] + columnWidth[l] + 1)
            horizontal(sr, from: source.isDummy ? columnX[l] + columnWidth[l] : source.x(columnX) + min(Self.maxBoxName, DisplayWidth.of(TerminalText.sanitize(source.name))) + 2,
                       to: laneX - 1)
            add(laneX, sr, left)
            if tr == sr {
                add(laneX, sr, right)
            } else {
                let (a, b) = (min(sr, tr), max(sr, tr))
                add(laneX, a, down)
                add(laneX, b, up)
                if a + 1 < b { for yy in (a + 1)..<b { add(laneX, yy, up | down) } }
                add(laneX, tr, right)
            }
            horizontal(tr, from: laneX + 1, to: arrowX[l] - (target.isDummy ? 0 : 1))
            if !target.isDummy {
                arrows.append((arrowX[l], tr))
                labels.append((labelX[l], tr, Self.label(seg.edge), EdgeEnds(parent: seg.edge.parent, child: seg.edge.child)))
            }
        }
        for yy in 0..<height {
            for xx in 0..<width where bits[yy * width + xx] != 0 {
                buffer.put(Self.glyph(bits[yy * width + xx]), x: xx, y: yy, style: Theme.axis)
            }
        }
        for (ax, ay) in arrows { buffer.put("▶", x: ax, y: ay, style: Theme.axis) }
        for label in labels {
            let w = buffer.put(" " + label.text + " ", x: label.x - 1, y: label.y, style: .plain)
            labelSpots[label.ends] = (label.y, label.x, max(0, w - 2))
        }
        // Boxes last: `├` where the calls leave.
        for n in nodes where !n.isDummy {
            let nameWidth = min(Self.maxBoxName, DisplayWidth.of(TerminalText.sanitize(n.name)))
            let x = n.x(columnX)
            let bar = String(repeating: "─", count: nameWidth)
            buffer.put("┌" + bar + "┐", x: x, y: n.y)
            for yy in (n.y + 1)..<(n.y + n.height - 1) {
                buffer.put("│", x: x, y: yy)
                buffer.put(yy == n.y + 1 && !n.out.isEmpty ? "├" : "│", x: x + nameWidth + 1, y: yy)
            }
            buffer.putTruncated(n.name, x: x + 1, y: n.y + 1, style: Theme.service(n.name).with(.bold), maxWidth: nameWidth)
            buffer.put("└" + bar + "┘", x: x, y: n.y + n.height - 1)
        }
        self.width = width
        rows = (0..<height).map { yy in
            var row = CellBuffer(width: width, height: 1)
            row.blit(buffer, x: 0, y: -yy)
            return row
        }
    }

    static func glyph(_ b: UInt8) -> String {
        switch b {
        case 1, 2, 3: return "─"
        case 4, 8, 12: return "│"
        case 10: return "┌"
        case 9: return "┐"
        case 6: return "└"
        case 5: return "┘"
        case 11: return "┬"
        case 7: return "┴"
        case 14: return "├"
        case 13: return "┤"
        default: return "┼"
        }
    }
}

extension ServiceGraphDrawing.Node {
    /// Boxes sit at their column's left edge.
    func x(_ columnX: [Int]) -> Int { columnX[layer] }
}

/// Draws the service graph screen into a full-screen area
/// (`ExplorerLayout.fullScreenArea`): a title row, the drawing (or the tree
/// when the drawing is wider than the area), then the edge list.
public enum ServiceGraphView {
    /// The title row, the drawing's rows and the edge list's rows (its column titles first).
    struct Parts {
        var title: Rect
        var drawing: Rect
        var edges: Rect
    }

    /// The drawing takes what it needs but leaves the edge list at least
    /// five rows (or all its edges, if fewer) and its title.
    static func parts(_ screen: ServiceGraphScreen, area: Rect) -> Parts {
        let lines = drawingLineCount(screen.drawing, width: area.width)
        let edgeRows = max(1, min(screen.graph.edges.count, 5))
        let drawingHeight = max(0, min(lines, area.height - 1 - 1 - edgeRows - 1))
        let title = Rect(x: area.x, y: area.y, width: area.width, height: min(1, area.height))
        let drawing = Rect(x: area.x, y: area.y + 1, width: area.width, height: drawingHeight)
        let edgesTop = drawing.maxY + (drawingHeight > 0 ? 1 : 0)
        let edges = Rect(x: area.x, y: edgesTop, width: area.width, height: max(0, area.maxY - edgesTop))
        return Parts(title: title, drawing: drawing, edges: edges)
    }

    /// Rows the drawing (layered if it fits `width`, else the tree) and its back-edge notes take.
    static func drawingLineCount(_ drawing: ServiceGraphDrawing, width: Int) -> Int {
        let layered = !drawing.rows.isEmpty && drawing.width <= width - 2
        return (layered ? drawing.rows.count : drawing.tree.count) + (layered ? drawing.backEdges.count : 0)
    }

    public static func render(_ screen: ServiceGraphScreen, layout: ExplorerLayout, into buffer: inout CellBuffer) {
        render(screen, area: layout.fullScreenArea, into: &buffer)
    }

    public static func render(_ screen: ServiceGraphScreen, area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0, area.width > 0 else { return }
        buffer.fill(area, style: .plain)
        let parts = parts(screen, area: area)
        var x = area.x + 1
        func put(_ text: String, _ style: Style) {
            guard x < area.maxX - 1 else { return }
            x += buffer.putTruncated(text, x: x, y: area.y, style: style, maxWidth: area.maxX - 1 - x)
        }
        put("Service graph", .bold)
        put(" · " + screen.scope, .plain)
        if screen.computing {
            put("  computing…", Theme.dim)
        } else {
            let services = screen.graph.nodes.count, edges = screen.graph.edges.count
            put("  \(services) service" + (services == 1 ? "" : "s") + ", \(edges) call path" + (edges == 1 ? "" : "s"), Theme.dim)
            if screen.graph.droppedCalls > 0 { put("  \(screen.graph.droppedCalls) calls not counted (too many edges)", Theme.warning) }
        }
        let lines = drawingLineCount(screen.drawing, width: area.width)
        drawDrawing(screen.drawing, selected: screen.selectedEdge, area: parts.drawing, into: &buffer)
        if lines > parts.drawing.height, parts.drawing.height > 0 {
            let y = parts.drawing.maxY - 1
            buffer.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: .plain)
            buffer.put("⋯ \(lines - parts.drawing.height + 1) more rows: tracetty stats --graph prints it all", x: area.x + 1, y: y,
                       style: Theme.dim, maxWidth: area.width - 2)
        }
        if screen.graph.edges.isEmpty {
            if parts.edges.height > 0 {
                buffer.put(screen.computing ? "computing…" : "no calls between services yet", x: area.x + 2, y: parts.edges.y,
                           style: Theme.dim)
            }
            return
        }
        var scroll = screen.scroll
        scroll.clamp(count: screen.graph.edges.count, rows: max(0, parts.edges.height - 1))
        drawEdges(screen.graph.edges, scroll: scroll, header: true, area: parts.edges, into: &buffer)
    }

    /// The layered drawing when it fits (the selected edge's label marked),
    /// else the tree. Only the rows that fit are copied.
    static func drawDrawing(_ drawing: ServiceGraphDrawing, selected: ServiceGraph.Edge?, area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0 else { return }
        if !drawing.rows.isEmpty, drawing.width <= area.width - 2 {
            for (i, row) in drawing.rows.prefix(area.height).enumerated() {
                buffer.blit(row, x: area.x + 1, y: area.y + i)
            }
            var y = area.y + drawing.rows.count
            for edge in drawing.backEdges where y < area.maxY {
                buffer.putTruncated("↺ " + edge.parent + " ─▶ " + edge.child + " (back to an earlier layer)  " + ServiceGraphDrawing.label(edge),
                                    x: area.x + 1, y: y, style: Theme.dim, maxWidth: area.width - 2)
                y += 1
            }
            if let selected, let spot = drawing.labelSpots[.init(parent: selected.parent, child: selected.child)],
               spot.row < area.height, spot.x + 1 + spot.width <= area.width {
                buffer.setStyle(Rect(x: area.x + 1 + spot.x, y: area.y + spot.row, width: spot.width, height: 1), Theme.selected)
            }
            return
        }
        for (i, line) in drawing.tree.prefix(area.height).enumerated() {
            let y = area.y + i
            var x = area.x + 1 + min(line.depth, 8) * 2
            let end = area.maxX - 1
            func put(_ text: String, _ style: Style) {
                guard x < end else { return }
                x += buffer.putTruncated(text, x: x, y: y, style: style, maxWidth: end - x)
            }
            if let parent = line.parent {
                put(parent, Theme.service(parent))
                put(" ─▶ ", Theme.axis)
            }
            put(line.child, Theme.service(line.child))
            if line.seen { put(" (↑ seen)", Theme.dim) }
            if !line.label.isEmpty { put("  " + line.label, .plain) }
        }
    }

    /// `server-1 ─▶ server-2   calls 12   errors 1   p50 3.2ms`, the figures aligned.
    static func drawEdges(_ edges: [ServiceGraph.Edge], scroll: ScrollSelection, header: Bool, area: Rect, into buffer: inout CellBuffer) {
        guard area.height > 0 else { return }
        var top = area.y
        if header {
            buffer.fill(Rect(x: area.x, y: area.y, width: area.width, height: 1), style: Theme.header)
            buffer.put(" CALLS BETWEEN SERVICES (Enter: their traces)", x: area.x, y: area.y, style: Theme.header, maxWidth: area.width)
            top += 1
        }
        let visible = max(0, area.maxY - top)
        let shown = edges.indices.dropFirst(scroll.top).prefix(visible)
        // Widths from the rows on screen only: bounded work however many edges.
        let nameWidth = min(max(12, area.width / 2), shown.map {
            DisplayWidth.of(TerminalText.sanitize(edges[$0].parent)) + 4 + DisplayWidth.of(TerminalText.sanitize(edges[$0].child))
        }.max() ?? 0)
        let callsWidth = shown.map { String(edges[$0].calls).count }.max() ?? 1
        let errorsWidth = shown.map { String(edges[$0].errors).count }.max() ?? 1
        for (line, index) in shown.enumerated() {
            let edge = edges[index]
            let y = top + line
            let selected = index == scroll.selected
            let base: Style = selected ? Theme.selected : .plain
            if selected { buffer.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: base) }
            if edge.errors > 0 { buffer.put("!", x: area.x, y: y, style: Theme.onRow(Theme.error, selected: selected)) }
            var x = area.x + 1
            let nameEnd = x + nameWidth
            x += buffer.putTruncated(edge.parent, x: x, y: y, style: Theme.onRow(Theme.service(edge.parent), selected: selected),
                                     maxWidth: max(1, nameEnd - x - 5))
            x += buffer.put(" ─▶ ", x: x, y: y, style: base)
            buffer.putTruncated(edge.child, x: x, y: y, style: Theme.onRow(Theme.service(edge.child), selected: selected),
                                maxWidth: max(1, nameEnd - x))
            let calls = String(edge.calls), errors = String(edge.errors)
            let figures = "   calls " + String(repeating: " ", count: callsWidth - calls.count) + calls
                + "   errors " + String(repeating: " ", count: errorsWidth - errors.count) + errors
                + "   p50 " + Formatting.duration(edge.p50)
            buffer.putTruncated(figures, x: nameEnd, y: y, style: base, maxWidth: area.maxX - nameEnd)
            if edge.errors > 0, nameEnd + DisplayWidth.of(figures) <= area.maxX {
                let errorsX = nameEnd + 3 + 6 + callsWidth + 3
                buffer.put("errors " + String(repeating: " ", count: errorsWidth - errors.count) + errors, x: errorsX, y: y,
                           style: Theme.onRow(Theme.error, selected: selected), maxWidth: max(0, area.maxX - errorsX))
            }
        }
    }

    /// The drawing (layered if it fits `width`, else the tree), a blank
    /// line, then every edge: what `tracetty stats --graph` writes.
    public static func plainText(graph: ServiceGraph, width: Int) -> [String] {
        let drawing = ServiceGraphDrawing(graph)
        let lines = drawingLineCount(drawing, width: width)
        var top = CellBuffer(width: width, height: max(1, lines))
        drawDrawing(drawing, selected: nil, area: Rect(x: 0, y: 0, width: width, height: lines), into: &top)
        var list = CellBuffer(width: width, height: max(1, graph.edges.count))
        drawEdges(graph.edges, scroll: ScrollSelection(selected: -1), header: false,
                  area: Rect(x: 0, y: 0, width: width, height: graph.edges.count), into: &list)
        if graph.edges.isEmpty && graph.nodes.isEmpty { return ["no services"] }
        return (lines > 0 ? top.lines(trimmingTrailingSpaces: true) + [""] : [])
            + (graph.edges.isEmpty ? [] : list.lines(trimmingTrailingSpaces: true))
    }
}
