/// What the evaluator asks of one trace. Two views answer it: a
/// materialized `Trace` (`MaterializedTraceView`) and the store's packed
/// bytes (`PackedTraceView`); the boolean structure, span sets and tree
/// operators are evaluated once, here, for both.
protocol QueryTraceView {
    var traceID: TraceID { get }
    var spanCount: Int { get }
    mutating func durationNano() -> UInt64
    mutating func errorCount() -> Int
    mutating func serviceCount() -> Int
    /// Some span names a parent that is not in the trace.
    mutating func isIncomplete() -> Bool
    /// The root span as the summary chooses it: the first true root in tree
    /// order, else the first top-level span.
    mutating func rootSpan() -> Int?
    /// Whether span `span` (an index into the trace's spans) passes leaf `leaf`.
    mutating func test(leaf: Int, span: Int) -> Bool
    /// A span's parent in the tree (a span index), -1 for a top-level span.
    mutating func parent(of span: Int) -> Int
}

extension QueryProgram {
    func evaluate<View: QueryTraceView>(_ view: inout View) -> Bool {
        code.evaluate(trace: rootNode, &view)
    }
}

extension SpanFindProgram {
    /// Per span index: in the found set.
    func evaluate<View: QueryTraceView>(_ view: inout View) -> SpanBits {
        guard let rootSet else { return SpanBits(count: view.spanCount) }
        return code.evaluate(set: rootSet, &view)
    }
}

extension QueryCode {
    func evaluate<View: QueryTraceView>(trace node: Int32, _ view: inout View) -> Bool {
        switch traceNodes[Int(node)] {
        case .always:
            return true
        case .and(let run):
            for i in run.start..<run.start + run.count where !evaluate(trace: children[Int(i)], &view) { return false }
            return true
        case .or(let run):
            for i in run.start..<run.start + run.count where evaluate(trace: children[Int(i)], &view) { return true }
            return false
        case .not(let inner):
            return !evaluate(trace: inner, &view)
        case .fact(let fact):
            return Self.holds(fact, &view)
        case .existsFilter(let filter):
            // The common case: stop at the first span, build no set.
            for span in 0..<view.spanCount where matches(span: filter, span, &view) { return true }
            return false
        case .exists(let set):
            return !evaluate(set: set, &view).isEmpty
        case .root(let filter):
            guard let root = view.rootSpan() else { return false }
            return matches(span: filter, root, &view)
        }
    }

    static func holds<View: QueryTraceView>(_ fact: TraceFact, _ view: inout View) -> Bool {
        switch fact {
        case .duration(let ordered): return ordered.holds(view.durationNano())
        case .spanCount(let ordered): return ordered.holds(Int64(view.spanCount))
        case .serviceCount(let ordered): return ordered.holds(Int64(view.serviceCount()))
        case .errorCount(let ordered): return ordered.holds(Int64(view.errorCount()))
        case .traceID(let prefix): return prefix.matches(view.traceID)
        case .hasError: return view.errorCount() > 0
        case .isIncomplete: return view.isIncomplete()
        }
    }

    func matches<View: QueryTraceView>(span node: Int32, _ span: Int, _ view: inout View) -> Bool {
        switch spanNodes[Int(node)] {
        case .always:
            return true
        case .leaf(let leaf):
            return view.test(leaf: Int(leaf), span: span)
        case .and(let run):
            for i in run.start..<run.start + run.count where !matches(span: children[Int(i)], span, &view) { return false }
            return true
        case .or(let run):
            for i in run.start..<run.start + run.count where matches(span: children[Int(i)], span, &view) { return true }
            return false
        case .not(let inner):
            return !matches(span: inner, span, &view)
        }
    }

    private func filter<View: QueryTraceView>(_ node: Int32, _ view: inout View) -> SpanBits {
        var bits = SpanBits(count: view.spanCount)
        for span in 0..<view.spanCount where matches(span: node, span, &view) { bits.insert(span) }
        return bits
    }

    /// The spans in a set.
    func evaluate<View: QueryTraceView>(set node: Int32, _ view: inout View) -> SpanBits {
        let count = view.spanCount
        switch setNodes[Int(node)] {
        case .filter(let filter):
            return self.filter(filter, &view)
        case .child(let parentSet, let filter):
            // The right side first: when no span passes it, neither the left
            // side nor the tree is needed.
            var found = self.filter(filter, &view)
            guard !found.isEmpty else { return found }
            let above = evaluate(set: parentSet, &view)
            guard !above.isEmpty else { return SpanBits(count: count) }
            for span in 0..<count where found.contains(span) {
                let parent = view.parent(of: span)
                if parent < 0 || !above.contains(parent) { found.remove(span) }
            }
            return found
        case .descendant(let ancestorSet, let filter):
            var found = self.filter(filter, &view)
            guard !found.isEmpty else { return found }
            let above = evaluate(set: ancestorSet, &view)
            guard !above.isEmpty else { return SpanBits(count: count) }
            found.formIntersection(Self.descendants(of: above, &view))
            return found
        case .intersection(let run):
            var found = SpanBits(count: count)
            found.complement()
            for i in run.start..<run.start + run.count { found.formIntersection(evaluate(set: children[Int(i)], &view)) }
            return found
        case .union(let run):
            var found = SpanBits(count: count)
            for i in run.start..<run.start + run.count { found.formUnion(evaluate(set: children[Int(i)], &view)) }
            return found
        case .complement(let inner):
            var found = evaluate(set: inner, &view)
            found.complement()
            return found
        }
    }

    /// Spans with a proper ancestor in `set`. Parents form a forest (no
    /// cycles), so each walk up ends; answers are kept, so all walks together
    /// are O(n) even on a 100,000-deep chain.
    private static func descendants<View: QueryTraceView>(of set: SpanBits, _ view: inout View) -> SpanBits {
        let count = view.spanCount
        // Per span: 0 unknown, 1 no, 2 yes.
        var state = [UInt8](repeating: 0, count: count)
        var path: [Int] = []
        var below = SpanBits(count: count)
        for span in 0..<count {
            if state[span] == 0 {
                var current = span
                var answer: UInt8 = 1
                while true {
                    let parent = view.parent(of: current)
                    if parent < 0 { break }
                    if set.contains(parent) { answer = 2; break }
                    if state[parent] != 0 { answer = state[parent]; break }
                    path.append(parent)
                    current = parent
                }
                state[span] = answer
                for visited in path { state[visited] = answer }
                path.removeAll(keepingCapacity: true)
            }
            if state[span] == 2 { below.insert(span) }
        }
        return below
    }
}

/// A set of span indices: one word for a trace of up to 64 spans (most of
/// them), so a structural query allocates nothing for a small trace.
struct SpanBits {
    let count: Int
    private var small: UInt64 = 0
    private var large: [UInt64] = []

    init(count: Int) {
        self.count = count
        if count > 64 { large = [UInt64](repeating: 0, count: (count + 63) / 64) }
    }

    func contains(_ i: Int) -> Bool {
        count <= 64 ? small & (1 << UInt64(i)) != 0 : large[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    mutating func insert(_ i: Int) {
        if count <= 64 { small |= 1 << UInt64(i) } else { large[i >> 6] |= 1 << UInt64(i & 63) }
    }

    mutating func remove(_ i: Int) {
        if count <= 64 { small &= ~(1 << UInt64(i)) } else { large[i >> 6] &= ~(1 << UInt64(i & 63)) }
    }

    var isEmpty: Bool { count <= 64 ? small == 0 : large.allSatisfy { $0 == 0 } }

    /// Every span in, or out, the other way round.
    mutating func complement() {
        for i in 0..<count {
            if contains(i) { remove(i) } else { insert(i) }
        }
    }

    mutating func formIntersection(_ other: SpanBits) {
        if count <= 64 { small &= other.small } else { for w in large.indices { large[w] &= other.large[w] } }
    }

    mutating func formUnion(_ other: SpanBits) {
        if count <= 64 { small |= other.small } else { for w in large.indices { large[w] |= other.large[w] } }
    }
}

extension TextTest {
    /// On an attribute value: exact against its text form, or a substring of it.
    func matches(_ value: AttributeValue) -> Bool {
        switch self {
        case .equals(let wanted):
            if case .string(let s) = value { return s == wanted }
            return value.queryText == wanted
        case .contains(let needle):
            return needle.isFound(in: value)
        }
    }
}

/// Leaf tests on a resource: what every span of that resource shares. The
/// packed view caches these per resource table entry.
extension SpanLeaf {
    func resourcePart(_ resource: Resource) -> Bool {
        switch self {
        case .service(let test):
            return test.matches(resource.serviceName)
        case .tag(let key, let test):
            return resource.attributes.contains { $0.key == key && (test?.matches($0.value) ?? true) }
        case .word(let needle):
            return needle.isFound(in: resource.serviceName) || resource.attributes.contains { needle.isFound(in: $0.value) }
        case .findText(let needle):
            return needle.isFound(in: resource.serviceName)
                || resource.attributes.contains { needle.isFound(in: $0.key) || needle.isFound(in: $0.value) }
        case .operation, .duration, .selfTime, .kind, .status, .error, .orphan, .event:
            return false
        }
    }

    /// Leaf tests on one string that is a span's name, a string attribute
    /// value or an event name (the packed view caches these per table string).
    func stringPart(_ string: String) -> Bool {
        switch self {
        case .operation(let test), .service(let test), .event(let test): return test.matches(string)
        case .tag(_, let test): return test?.matches(.string(string)) ?? true
        case .word(let needle), .findText(let needle): return needle.isFound(in: string)
        case .duration, .selfTime, .kind, .status, .error, .orphan: return false
        }
    }

    /// Tests strings of the table (`stringPart`): names, values, event names.
    var readsStrings: Bool {
        switch self {
        case .service, .operation, .event, .tag, .word, .findText: return true
        case .duration, .selfTime, .kind, .status, .error, .orphan: return false
        }
    }

    /// The key test of a `tag` leaf (equality) or a `findText` leaf (substring).
    func keyPart(_ key: String) -> Bool {
        switch self {
        case .tag(let wanted, _): return key == wanted
        case .findText(let needle): return needle.isFound(in: key)
        case .service, .operation, .event, .word, .duration, .selfTime, .kind, .status, .error, .orphan: return false
        }
    }

    /// Leaf tests on an attribute value (the span's, or an event's).
    func valuePart(_ value: AttributeValue) -> Bool {
        switch self {
        case .event(let test): return test.matches(value)
        case .tag(_, let test): return test?.matches(value) ?? true
        case .word(let needle), .findText(let needle): return needle.isFound(in: value)
        case .operation, .service, .duration, .selfTime, .kind, .status, .error, .orphan: return false
        }
    }
}

/// A materialized trace, as `Trace` holds it: summary, tree and `Span`s.
struct MaterializedTraceView: QueryTraceView {
    let trace: Trace
    let leaves: [SpanLeaf]

    init(trace: Trace, leaves: [SpanLeaf]) {
        self.trace = trace
        self.leaves = leaves
    }

    var traceID: TraceID { trace.traceID }
    var spanCount: Int { trace.spans.count }
    func durationNano() -> UInt64 { trace.summary.durationNano }
    func errorCount() -> Int { trace.summary.errorCount }
    func serviceCount() -> Int { trace.summary.services.count }
    func isIncomplete() -> Bool { trace.summary.isIncomplete }

    func rootSpan() -> Int? {
        var root: Int?
        for node in trace.tree.rows where node.parentRow < 0 {
            let index = Int(node.spanIndex)
            if trace.spans[index].parentSpanID == nil { return index }
            if root == nil { root = index }
        }
        return root
    }

    func parent(of span: Int) -> Int {
        let parentRow = node(of: span).parentRow
        return parentRow < 0 ? -1 : Int(trace.tree.rows[Int(parentRow)].spanIndex)
    }

    private func node(of span: Int) -> TraceTree.Node {
        trace.tree.rows[Int(trace.tree.rowOfSpan[span])]
    }

    func test(leaf id: Int, span index: Int) -> Bool {
        let span = trace.spans[index]
        let leaf = leaves[id]
        switch leaf {
        case .service(let test): return test.matches(span.resource.serviceName)
        case .operation(let test): return test.matches(span.name)
        case .duration(let ordered): return ordered.holds(span.durationNano)
        case .selfTime(let ordered): return ordered.holds(node(of: index).selfTimeNano)
        case .kind(let kind): return span.kind == kind
        case .status(let code): return span.status.code == code
        case .error: return span.isError
        case .orphan: return node(of: index).marks.contains(.missingParent)
        case .event(let test):
            return span.events.contains { event in
                test.matches(event.name) || event.attributes.contains { test.matches($0.value) }
            }
        case .tag(let key, let test):
            return span.attributes.contains { $0.key == key && (test?.matches($0.value) ?? true) }
                || leaf.resourcePart(span.resource)
        case .word(let needle):
            return needle.isFound(in: span.name) || leaf.resourcePart(span.resource)
                || span.attributes.contains { needle.isFound(in: $0.value) }
                || span.events.contains { event in
                    needle.isFound(in: event.name) || event.attributes.contains { needle.isFound(in: $0.value) }
                }
        case .findText(let needle):
            return needle.isFound(in: span.name) || leaf.resourcePart(span.resource)
                || span.attributes.contains { needle.isFound(in: $0.key) || needle.isFound(in: $0.value) }
                || span.events.contains { event in
                    needle.isFound(in: event.name)
                        || event.attributes.contains { needle.isFound(in: $0.key) || needle.isFound(in: $0.value) }
                }
        }
    }
}
