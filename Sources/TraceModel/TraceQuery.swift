/// A filter over traces: the trace list's query line and `--filter`.
///
///     service=server-2 dur>700ms
///     {service=server-2 dur>400ms}
///     {op=server-1_to_server-2} > {service=server-2 error}
///     tag.http.status_code>=500 or error
///
/// Trace-level terms (`service=`, `op=`, `tag.K=`, a bare word) are true when
/// some span satisfies them; `{ ... }` is true when one span satisfies every
/// term inside; `{A} > {B}` and `{A} >> {B}` ask for a B whose parent
/// (ancestor) is an A. Juxtaposition is `and`; `not` > `and` > `or`.
/// Parsed once; evaluated on a materialized `Trace` here, or on the store's
/// packed form by `TraceStore.traceIDs(matching:)`, with the same answers.
public struct TraceQuery: Sendable, Hashable {
    /// The text it was parsed from.
    public let text: String
    let program: QueryProgram

    /// The empty query: every trace matches.
    public init() {
        text = ""
        program = QueryProgram(root: .always, leaves: [])
    }

    public static func parse(_ text: String) throws(QueryError) -> TraceQuery {
        let parsed = try QueryParser.parseTraceQuery(text)
        return TraceQuery(text: text, program: parsed)
    }

    private init(text: String, program: QueryProgram) {
        self.text = text
        self.program = program
    }

    /// True for a query with no terms: it matches every trace.
    public var isEmpty: Bool { program.isAlways }

    public func matches(_ trace: Trace) -> Bool {
        if isEmpty { return true }
        var view = MaterializedTraceView(trace: trace, leaves: program.leaves)
        return program.evaluate(&view)
    }

    // Two queries are the same when their texts are: the program is derived from it.
    public static func == (a: TraceQuery, b: TraceQuery) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

/// The find bar inside one trace: which spans to highlight.
///
/// Text that starts with `{` is span terms: one `{...}` group, or several
/// joined by `and`/`or`/`not` (on the same span), or a structural chain
/// `{A} > {B}` (the B spans). Any other text is plain: a case-insensitive
/// substring of a span's name, service, attribute keys and values (span and
/// resource), event names and event attribute keys and values.
public struct SpanQuery: Sendable, Hashable {
    public let text: String
    let program: SpanFindProgram

    public static func parse(_ text: String) throws(QueryError) -> SpanQuery {
        SpanQuery(text: text, program: try QueryParser.parseSpanQuery(text))
    }

    private init(text: String, program: SpanFindProgram) {
        self.text = text
        self.program = program
    }

    /// Empty (or blank) text finds nothing: there is nothing to highlight.
    public var isEmpty: Bool { program.isEmpty }

    /// Indices into `trace.spans` of the matching spans, in waterfall row order.
    public func matchingSpans(in trace: Trace) -> [Int32] {
        if isEmpty { return [] }
        var view = MaterializedTraceView(trace: trace, leaves: program.leaves)
        let matched = program.evaluate(&view)
        return trace.tree.rows.compactMap { matched.contains(Int($0.spanIndex)) ? $0.spanIndex : nil }
    }

    public static func == (a: SpanQuery, b: SpanQuery) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

/// Why a query did not parse, and where: `position 9: expected a value after '='`.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based, counted in Characters of the query text.
    public let position: Int
    /// What the parser wanted there, worded to follow "expected".
    public let expected: String

    public init(position: Int, expected: String) {
        self.position = position
        self.expected = expected
    }

    public var description: String { "position \(position): expected \(expected)" }
}

// MARK: The compiled form

/// A parsed trace query: a boolean tree over trace facts and span sets,
/// flattened into arrays of plain values (`QueryCode`), so that walking it
/// for each of 300,000 traces retains and releases nothing. Span terms are
/// leaves numbered into `leaves`, so an evaluator can keep a cache per leaf
/// (the packed evaluator's per-string-table answers).
struct QueryProgram: Sendable {
    let code: QueryCode
    let rootNode: Int32
    let leaves: [SpanLeaf]
    let leafCodes: [LeafCode]
    let isAlways: Bool
    /// Facts every matching trace has that its summary alone decides: the
    /// packed evaluator checks them before it touches a trace's spans.
    let requiredFacts: [TraceFact]
    /// Some term looks at spans (otherwise the summary decides everything).
    let readsSpans: Bool
    /// The tree as parsed (before prefilters), for tests and `structure`.
    let expression: TraceExpr

    init(root: TraceExpr, leaves: [SpanLeaf]) {
        expression = root
        var code = QueryCode()
        let guarded = Prefilter(leaves: leaves).guarded(root)
        requiredFacts = Self.required(guarded)
        readsSpans = Self.readsSpans(guarded)
        rootNode = code.add(guarded)
        self.code = code
        self.leaves = leaves
        leafCodes = leaves.map(\.code)
        if case .always = root { isAlways = true } else { isAlways = false }
    }
}

extension QueryProgram {
    private static func required(_ expr: TraceExpr) -> [TraceFact] {
        switch expr {
        case .fact(let fact): return fact.isInSummary ? [fact] : []
        case .and(let terms): return terms.flatMap(required)
        case .always, .or, .not, .exists, .root: return []
        }
    }

    private static func readsSpans(_ expr: TraceExpr) -> Bool {
        switch expr {
        case .always: return false
        case .fact(let fact): return !fact.isInSummary
        case .and(let terms), .or(let terms): return terms.contains(where: readsSpans)
        case .not(let inner): return readsSpans(inner)
        case .exists, .root: return true
        }
    }
}

extension TraceFact {
    /// Known from the packed summary, without reading spans.
    var isInSummary: Bool {
        switch self {
        case .serviceCount: return false
        case .duration, .spanCount, .errorCount, .traceID, .hasError, .isIncomplete: return true
        }
    }
}

/// The find bar's parsed form: a span set, or nothing.
struct SpanFindProgram: Sendable {
    let code: QueryCode
    let rootSet: Int32?
    let leaves: [SpanLeaf]
    let leafCodes: [LeafCode]

    let expression: SpanSetExpr?

    init(root: SpanSetExpr?, leaves: [SpanLeaf]) {
        expression = root
        var code = QueryCode()
        rootSet = root.map { code.add($0) }
        self.code = code
        self.leaves = leaves
        leafCodes = leaves.map(\.code)
    }

    var isEmpty: Bool { rootSet == nil }
}

/// Nodes by index; `and`/`or` name a run of `children`.
struct QueryCode: Sendable {
    struct Run: Sendable {
        var start: Int32
        var count: Int32
    }

    enum TraceNode: Sendable {
        case always
        case and(Run)
        case or(Run)
        case not(Int32)
        case fact(TraceFact)
        /// A set node; `existsFilter` is the common case of one `{...}`, a span node.
        case exists(Int32)
        case existsFilter(Int32)
        case root(Int32)
    }

    enum SpanNode: Sendable {
        case always
        case and(Run)
        case or(Run)
        case not(Int32)
        case leaf(Int32)
    }

    enum SetNode: Sendable {
        case filter(Int32)
        case child(set: Int32, span: Int32)
        case descendant(set: Int32, span: Int32)
        case intersection(Run)
        case union(Run)
        case complement(Int32)
    }

    var traceNodes: [TraceNode] = []
    var spanNodes: [SpanNode] = []
    var setNodes: [SetNode] = []
    var children: [Int32] = []

    private mutating func run(_ ids: [Int32]) -> Run {
        let run = Run(start: Int32(children.count), count: Int32(ids.count))
        children.append(contentsOf: ids)
        return run
    }

    mutating func add(_ expr: TraceExpr) -> Int32 {
        let node: TraceNode
        switch expr {
        case .always: node = .always
        case .and(let terms): node = .and(run(terms.map { add($0) }))
        case .or(let terms): node = .or(run(terms.map { add($0) }))
        case .not(let inner): node = .not(add(inner))
        case .fact(let fact): node = .fact(fact)
        case .exists(.filter(let filter)): node = .existsFilter(add(filter))
        case .exists(let set): node = .exists(add(set))
        case .root(let filter): node = .root(add(filter))
        }
        traceNodes.append(node)
        return Int32(traceNodes.count - 1)
    }

    mutating func add(_ expr: SpanExpr) -> Int32 {
        let node: SpanNode
        switch expr {
        case .always: node = .always
        case .and(let terms): node = .and(run(terms.map { add($0) }))
        case .or(let terms): node = .or(run(terms.map { add($0) }))
        case .not(let inner): node = .not(add(inner))
        case .leaf(let id): node = .leaf(Int32(id))
        }
        spanNodes.append(node)
        return Int32(spanNodes.count - 1)
    }

    mutating func add(_ expr: SpanSetExpr) -> Int32 {
        let node: SetNode
        switch expr {
        case .filter(let filter): node = .filter(add(filter))
        case .child(let set, let filter): node = .child(set: add(set), span: add(filter))
        case .descendant(let set, let filter): node = .descendant(set: add(set), span: add(filter))
        case .intersection(let sets): node = .intersection(run(sets.map { add($0) }))
        case .union(let sets): node = .union(run(sets.map { add($0) }))
        case .complement(let inner): node = .complement(add(inner))
        }
        setNodes.append(node)
        return Int32(setNodes.count - 1)
    }
}

/// Trace facts that a span term implies, checked first: the packed summary
/// answers them without reading a span. `{service=server-2 error}` cannot
/// match a trace without errors; `{dur>400ms}` one shorter than 400ms (a
/// trace lasts at least as long as each of its spans). They only skip work:
/// the answer is the same without them.
struct Prefilter {
    let leaves: [SpanLeaf]

    func guarded(_ expr: TraceExpr) -> TraceExpr {
        switch expr {
        case .always, .fact, .root: return expr
        case .and(let terms): return .and(terms.map(guarded))
        case .or(let terms): return .or(terms.map(guarded))
        case .not(let inner): return .not(guarded(inner))
        case .exists(let set):
            let facts = implied(by: set)
            return facts.isEmpty ? expr : .and(facts.map(TraceExpr.fact) + [expr])
        }
    }

    private func implied(by set: SpanSetExpr) -> [TraceFact] {
        switch set {
        case .filter(let expr): return implied(by: expr)
        case .child(let above, let expr), .descendant(let above, let expr): return implied(by: above) + implied(by: expr)
        case .intersection(let sets): return sets.flatMap(implied(by:))
        case .union, .complement: return []
        }
    }

    private func implied(by expr: SpanExpr) -> [TraceFact] {
        switch expr {
        case .and(let terms): return terms.flatMap(implied(by:))
        case .always, .or, .not: return []
        case .leaf(let id):
            switch leaves[id] {
            case .error, .status(.error): return [.hasError]
            case .orphan: return [.isIncomplete]
            case .duration(let ordered):
                switch ordered.op {
                case .greater: return [.duration(ordered)]
                case .greaterOrEqual, .equal: return [.duration(Ordered(op: .greaterOrEqual, bound: ordered.bound))]
                default: return []
                }
            default: return []
            }
        }
    }
}

/// A leaf's kind with its plain-value payload: what the packed evaluator
/// switches on per span without copying the leaf's strings.
enum LeafCode: Sendable {
    case service, operation, event, tag
    case word(NeedleHints)
    case findText(NeedleHints)
    case duration(Ordered<UInt64>)
    case selfTime(Ordered<UInt64>)
    case kind(UInt8)
    case status(UInt8)
    case error
    case orphan
}

indirect enum TraceExpr: Sendable {
    case always
    case and([TraceExpr])
    case or([TraceExpr])
    case not(TraceExpr)
    case fact(TraceFact)
    /// Some span is in the set.
    case exists(SpanSetExpr)
    /// The root span (as the summary chooses it) satisfies the expression.
    case root(SpanExpr)
}

/// What is known of a trace without looking at its spans one by one.
enum TraceFact: Sendable {
    case duration(Ordered<UInt64>)
    case spanCount(Ordered<Int64>)
    case serviceCount(Ordered<Int64>)
    case errorCount(Ordered<Int64>)
    case traceID(TraceIDPrefix)
    /// Some span is an error.
    case hasError
    /// Some span's parent is not in the trace.
    case isIncomplete
}

indirect enum SpanSetExpr: Sendable {
    case filter(SpanExpr)
    /// Spans matching the expression whose tree parent is in the set.
    case child(of: SpanSetExpr, SpanExpr)
    /// Spans matching the expression with an ancestor in the set.
    case descendant(of: SpanSetExpr, SpanExpr)
    // Set algebra, for the find bar only.
    case intersection([SpanSetExpr])
    case union([SpanSetExpr])
    case complement(SpanSetExpr)
}

indirect enum SpanExpr: Sendable {
    case always
    case and([SpanExpr])
    case or([SpanExpr])
    case not(SpanExpr)
    /// Index into the program's `leaves`.
    case leaf(Int)
}

/// One test of one span.
enum SpanLeaf: Sendable {
    case service(TextTest)
    case operation(TextTest)
    case duration(Ordered<UInt64>)
    case selfTime(Ordered<UInt64>)
    case kind(SpanKind)
    case status(SpanStatus.Code)
    case error
    /// The span names a parent that is not in the trace.
    case orphan
    /// An event's name or one of its attribute values.
    case event(TextTest)
    /// A span or resource attribute with this key (whose value passes the test, when there is one).
    case tag(key: String, ValueTest?)
    /// Service, name, span and resource attribute values, event names and event attribute values.
    case word(Needle)
    /// The find bar's plain text: `word`'s places plus attribute and event attribute keys.
    case findText(Needle)

    var code: LeafCode {
        switch self {
        case .service: return .service
        case .operation: return .operation
        case .event: return .event
        case .tag: return .tag
        case .word(let needle): return .word(needle.hints)
        case .findText(let needle): return .findText(needle.hints)
        case .duration(let ordered): return .duration(ordered)
        case .selfTime(let ordered): return .selfTime(ordered)
        case .kind(let kind): return .kind(kind.rawValue)
        case .status(let code): return .status(code.rawValue)
        case .error: return .error
        case .orphan: return .orphan
        }
    }

    /// Reads only the span's fixed fields: cheap on the packed form.
    var isHeaderOnly: Bool {
        switch self {
        case .service, .operation, .duration, .kind, .status, .error: return true
        case .selfTime, .orphan, .event, .tag, .word, .findText: return false
        }
    }
}

extension TraceQuery {
    /// `text` as a query value in double quotes, `"` and `\` escaped as the
    /// parser reads them: for queries built from names (the service graph's
    /// edges, statistics rows, the latency view's slowest traces).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        out.append("\"")
        return out
    }
}
