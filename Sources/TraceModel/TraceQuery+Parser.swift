/// Recursive descent over the query's Characters, so that an error's
/// position is what a person counts on screen. Bounded: the text's length
/// and the nesting depth (parentheses, braces, `not`, `>` links) are
/// limited, so a hostile query can neither blow the stack here nor in the
/// evaluators, which recurse over the same tree.
struct QueryParser {
    static let maxBytes = 4096
    static let maxDepth = 64

    /// Worded as the issue has it: the three fields people reach for first.
    static let unknownField = "a field (service, op, dur, ...)"

    private let chars: [Character]
    private var index = 0
    private var depth = 0
    private var leaves: [SpanLeaf] = []

    private init(_ text: String) {
        chars = Array(text)
    }

    // MARK: Entry points

    static func parseTraceQuery(_ text: String) throws(QueryError) -> QueryProgram {
        try checkLength(text)
        var parser = QueryParser(text)
        parser.skipSpaces()
        if parser.atEnd { return QueryProgram(root: .always, leaves: []) }
        let root = try parser.traceOr()
        try parser.expectEnd()
        return QueryProgram(root: root, leaves: parser.leaves)
    }

    static func parseSpanQuery(_ text: String) throws(QueryError) -> SpanFindProgram {
        guard let first = text.first(where: { !$0.isWhitespace }) else {
            return SpanFindProgram(root: nil, leaves: [])
        }
        guard first == "{" else {
            // Plain text: searched as typed, never an error.
            return SpanFindProgram(root: .filter(.leaf(0)), leaves: [.findText(Needle(text))])
        }
        try checkLength(text)
        var parser = QueryParser(text)
        let root = try parser.findOr()
        try parser.expectEnd()
        return SpanFindProgram(root: root, leaves: parser.leaves)
    }

    private static func checkLength(_ text: String) throws(QueryError) {
        guard text.utf8.count > maxBytes else { return }
        // Point at the Character that crosses the bound.
        var bytes = 0
        var position = 0
        for character in text {
            position += 1
            bytes += character.utf8.count
            if bytes > maxBytes { break }
        }
        throw QueryError(position: position, expected: "a query of at most \(maxBytes) bytes")
    }

    // MARK: Trace level

    private mutating func traceOr() throws(QueryError) -> TraceExpr {
        var terms = [try traceAnd()]
        while takeKeyword("or") { terms.append(try traceAnd()) }
        return terms.count == 1 ? terms[0] : .or(Self.ordered(terms.flatMap(\.orTerms)))
    }

    private mutating func traceAnd() throws(QueryError) -> TraceExpr {
        var terms = [try traceUnary()]
        while true {
            if takeKeyword("and") || startsAnotherTerm() {
                terms.append(try traceUnary())
            } else {
                break
            }
        }
        return terms.count == 1 ? terms[0] : .and(Self.ordered(terms.flatMap(\.andTerms)))
    }

    private mutating func traceUnary() throws(QueryError) -> TraceExpr {
        skipSpaces()
        let start = index
        if takeKeyword("not") {
            try enter(at: start)
            defer { depth -= 1 }
            return .not(try traceUnary())
        }
        return try tracePrimary()
    }

    private mutating func tracePrimary() throws(QueryError) -> TraceExpr {
        skipSpaces()
        guard let c = peek() else { throw error("a term") }
        switch c {
        case "(":
            let inner: TraceExpr = try parenthesized { (p: inout QueryParser) throws(QueryError) in try p.traceOr() }
            return inner
        case "{":
            return .exists(try spanChain())
        case "\"":
            let word = try readQuoted()
            return .exists(.filter(leaf(.word(Needle(word)))))
        default:
            let start = index
            let word = readWord()
            guard !word.isEmpty, !Self.isJoiner(word) else { throw QueryError(position: start + 1, expected: "a term") }
            return try traceTerm(word, at: start)
        }
    }

    private mutating func traceTerm(_ word: String, at start: Int) throws(QueryError) -> TraceExpr {
        let field = word.lowercased()
        guard let (op, opStart) = readOperator() else {
            switch field {
            case "error": return .fact(.hasError)
            case "orphan": return .fact(.isIncomplete)
            default:
                if let key = try tagKey(word, at: start) { return .exists(.filter(leaf(.tag(key: key, nil)))) }
                return .exists(.filter(leaf(.word(Needle(word)))))
            }
        }
        switch field {
        case "service", "op", "root.service", "root.op":
            try allow(op, [.equal, .notEqual, .contains], after: field, at: opStart)
            let (value, _) = try readValue(after: op)
            let test: TextTest = op == .contains ? .contains(Needle(value)) : .equals(value)
            let isService = field.hasSuffix("service")
            let span = leaf(isService ? .service(test) : .operation(test))
            let expr: TraceExpr = field.hasPrefix("root.") ? .root(span) : .exists(.filter(span))
            return op == .notEqual ? .not(expr) : expr
        case "dur":
            try allow(op, Self.orderingOps, after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            return .fact(.duration(Ordered(op: op, bound: try duration(value, at: valueStart))))
        case "spans", "services", "errors":
            try allow(op, Self.orderingOps, after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            guard let count = Int64(value) else {
                throw QueryError(position: valueStart + 1, expected: "a whole number like 100")
            }
            let ordered = Ordered(op: op, bound: count)
            return .fact(field == "spans" ? .spanCount(ordered) : field == "services" ? .serviceCount(ordered) : .errorCount(ordered))
        case "trace":
            try allow(op, [.equal, .notEqual], after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            guard let prefix = TraceIDPrefix(value) else {
                throw QueryError(position: valueStart + 1, expected: "a trace id prefix: 1 to 32 hex digits")
            }
            return op == .notEqual ? .not(.fact(.traceID(prefix))) : .fact(.traceID(prefix))
        case "error", "orphan":
            throw QueryError(position: opStart + 1, expected: "'\(field)' alone: it is a flag (for the attribute, tag.\(field)=...)")
        case "self", "kind", "status", "event":
            throw QueryError(position: start + 1,
                             expected: "\(Self.unknownField): \(field) is about one span, write {\(field)\(op.symbol)...}")
        default:
            guard let key = try tagKey(word, at: start) else {
                throw QueryError(position: start + 1, expected: Self.unknownField)
            }
            let (test, negated) = try tagTest(op, at: opStart)
            let expr = TraceExpr.exists(.filter(leaf(.tag(key: key, test))))
            // At trace level `!=` is "no span has it".
            return negated ? .not(expr) : expr
        }
    }

    // MARK: Span level (inside braces)

    /// `{A}`, `{A} > {B}`, `{A} >> {B} > {C}`: left-associative.
    private mutating func spanChain() throws(QueryError) -> SpanSetExpr {
        var set = SpanSetExpr.filter(try spanGroup())
        var links = 0
        defer { depth -= links }
        while true {
            let save = index
            skipSpaces()
            guard peek() == ">" else {
                index = save
                return set
            }
            let opStart = index
            let isDescendant = peek(1) == ">"
            index += isDescendant ? 2 : 1
            try enter(at: opStart)
            links += 1
            skipSpaces()
            guard peek() == "{" else { throw error("'{' after '\(isDescendant ? ">>" : ">")'") }
            let next = try spanGroup()
            set = isDescendant ? .descendant(of: set, next) : .child(of: set, next)
        }
    }

    private mutating func spanGroup() throws(QueryError) -> SpanExpr {
        try enter(at: index)
        defer { depth -= 1 }
        index += 1
        skipSpaces()
        if peek() == "}" {
            index += 1
            return .always
        }
        let expr = try spanOr()
        skipSpaces()
        guard peek() == "}" else { throw error("'}'") }
        index += 1
        return expr
    }

    private mutating func spanOr() throws(QueryError) -> SpanExpr {
        var terms = [try spanAnd()]
        while takeKeyword("or") { terms.append(try spanAnd()) }
        return terms.count == 1 ? terms[0] : .or(orderedSpan(terms.flatMap(\.orTerms)))
    }

    private mutating func spanAnd() throws(QueryError) -> SpanExpr {
        var terms = [try spanUnary()]
        while true {
            if takeKeyword("and") || startsAnotherTerm() {
                terms.append(try spanUnary())
            } else {
                break
            }
        }
        return terms.count == 1 ? terms[0] : .and(orderedSpan(terms.flatMap(\.andTerms)))
    }

    private mutating func spanUnary() throws(QueryError) -> SpanExpr {
        skipSpaces()
        let start = index
        if takeKeyword("not") {
            try enter(at: start)
            defer { depth -= 1 }
            return .not(try spanUnary())
        }
        return try spanPrimary()
    }

    private mutating func spanPrimary() throws(QueryError) -> SpanExpr {
        skipSpaces()
        guard let c = peek() else { throw error("a term") }
        switch c {
        case "(":
            let inner: SpanExpr = try parenthesized { (p: inout QueryParser) throws(QueryError) in try p.spanOr() }
            return inner
        case "{":
            throw error("a term of one span: braces do not nest")
        case "\"":
            return leaf(.word(Needle(try readQuoted())))
        default:
            let start = index
            let word = readWord()
            guard !word.isEmpty, !Self.isJoiner(word) else { throw QueryError(position: start + 1, expected: "a term") }
            return try spanTerm(word, at: start)
        }
    }

    private mutating func spanTerm(_ word: String, at start: Int) throws(QueryError) -> SpanExpr {
        let field = word.lowercased()
        guard let (op, opStart) = readOperator() else {
            switch field {
            case "error": return leaf(.error)
            case "orphan": return leaf(.orphan)
            default:
                if let key = try tagKey(word, at: start) { return leaf(.tag(key: key, nil)) }
                return leaf(.word(Needle(word)))
            }
        }
        switch field {
        case "service", "op", "event":
            try allow(op, [.equal, .notEqual, .contains], after: field, at: opStart)
            let (value, _) = try readValue(after: op)
            let test: TextTest = op == .contains ? .contains(Needle(value)) : .equals(value)
            let span = leaf(field == "service" ? .service(test) : field == "op" ? .operation(test) : .event(test))
            return op == .notEqual ? .not(span) : span
        case "dur", "self":
            try allow(op, Self.orderingOps, after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            let ordered = Ordered(op: op, bound: try duration(value, at: valueStart))
            return leaf(field == "dur" ? .duration(ordered) : .selfTime(ordered))
        case "kind":
            try allow(op, [.equal, .notEqual], after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            guard let kind = SpanKind(name: value), !value.isEmpty else {
                throw QueryError(position: valueStart + 1,
                                 expected: "a span kind (server, client, producer, consumer, internal, unspecified)")
            }
            return op == .notEqual ? .not(leaf(.kind(kind))) : leaf(.kind(kind))
        case "status":
            try allow(op, [.equal, .notEqual], after: field, at: opStart)
            let (value, valueStart) = try readValue(after: op)
            let code: SpanStatus.Code
            switch value.lowercased() {
            case "error": code = .error
            case "ok": code = .ok
            case "unset": code = .unset
            default: throw QueryError(position: valueStart + 1, expected: "a status (error, ok, unset)")
            }
            return op == .notEqual ? .not(leaf(.status(code))) : leaf(.status(code))
        case "error", "orphan":
            throw QueryError(position: opStart + 1, expected: "'\(field)' alone: it is a flag (for the attribute, tag.\(field)=...)")
        case "spans", "services", "errors", "root.service", "root.op", "trace":
            throw QueryError(position: start + 1,
                             expected: "\(Self.unknownField): \(field) is about the whole trace, write it outside braces")
        default:
            guard let key = try tagKey(word, at: start) else {
                throw QueryError(position: start + 1, expected: Self.unknownField)
            }
            let (test, negated) = try tagTest(op, at: opStart)
            let span = leaf(.tag(key: key, test))
            // Inside braces `!=` is about the one span: it has the key, with another value.
            return negated ? .and([leaf(.tag(key: key, nil)), .not(span)]) : span
        }
    }

    // MARK: Find bar (span sets)

    private mutating func findOr() throws(QueryError) -> SpanSetExpr {
        var terms = [try findAnd()]
        while takeKeyword("or") { terms.append(try findAnd()) }
        return terms.count == 1 ? terms[0] : .union(terms)
    }

    private mutating func findAnd() throws(QueryError) -> SpanSetExpr {
        var terms = [try findUnary()]
        while true {
            if takeKeyword("and") || startsAnotherTerm() {
                terms.append(try findUnary())
            } else {
                break
            }
        }
        return terms.count == 1 ? terms[0] : .intersection(terms)
    }

    private mutating func findUnary() throws(QueryError) -> SpanSetExpr {
        skipSpaces()
        let start = index
        if takeKeyword("not") {
            try enter(at: start)
            defer { depth -= 1 }
            return .complement(try findUnary())
        }
        skipSpaces()
        switch peek() {
        case "{":
            return try spanChain()
        case "(":
            let inner: SpanSetExpr = try parenthesized { (p: inout QueryParser) throws(QueryError) in try p.findOr() }
            return inner
        default:
            throw error("'{': span terms go in braces, like {service=server-2}")
        }
    }

    // MARK: Pieces

    private static let orderingOps: [CompareOp] = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]

    private mutating func leaf(_ leaf: SpanLeaf) -> SpanExpr {
        leaves.append(leaf)
        return .leaf(leaves.count - 1)
    }

    /// `(` ... `)` around whatever `body` parses.
    private mutating func parenthesized<T>(_ body: (inout QueryParser) throws(QueryError) -> T) throws(QueryError) -> T {
        try enter(at: index)
        defer { depth -= 1 }
        index += 1
        skipSpaces()
        if peek() == ")" { throw error("a term inside the parentheses") }
        let inner = try body(&self)
        skipSpaces()
        guard peek() == ")" else { throw error("')'") }
        index += 1
        return inner
    }

    private mutating func enter(at position: Int) throws(QueryError) {
        depth += 1
        if depth > Self.maxDepth {
            throw QueryError(position: position + 1, expected: "at most \(Self.maxDepth) levels of nesting")
        }
    }

    private mutating func expectEnd() throws(QueryError) {
        skipSpaces()
        guard let c = peek() else { return }
        if c == ")" || c == "}" { throw error("the end of the query: this '\(c)' closes nothing") }
        throw error("a term")
    }

    /// `tag.KEY` -> KEY (as typed), nil for any other word.
    private func tagKey(_ word: String, at start: Int) throws(QueryError) -> String? {
        guard word.count >= 4, word.prefix(4).lowercased() == "tag." else { return nil }
        let key = String(word.dropFirst(4))
        guard !key.isEmpty else { throw QueryError(position: start + 5, expected: "an attribute key after 'tag.'") }
        return key
    }

    /// The value test of `tag.KEY op VALUE`, and whether the op was `!=`
    /// (the caller decides what a negation means at its level).
    private mutating func tagTest(_ op: CompareOp, at opStart: Int) throws(QueryError) -> (ValueTest, Bool) {
        let (value, valueStart) = try readValue(after: op)
        if op.isOrdering, QueryNumber(value) == nil {
            throw QueryError(position: valueStart + 1, expected: "a number after '\(op.symbol)'")
        }
        if op == .notEqual { return (ValueTest(op: .equal, text: value), true) }
        return (ValueTest(op: op, text: value), false)
    }

    private func allow(_ op: CompareOp, _ allowed: [CompareOp], after field: String, at opStart: Int) throws(QueryError) {
        guard !allowed.contains(op) else { return }
        let names = allowed.map { "'\($0.symbol)'" }
        let list = names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
        throw QueryError(position: opStart + 1, expected: "\(list) after \(field)")
    }

    private func duration(_ text: String, at start: Int) throws(QueryError) -> UInt64 {
        guard let nanos = QueryDuration.nanoseconds(text) else {
            throw QueryError(position: start + 1, expected: "a duration like 300ms")
        }
        return nanos
    }

    /// `and` / `or` where a term should be (`or x`, `a and and b`).
    private static func isJoiner(_ word: String) -> Bool {
        let lowered = word.lowercased()
        return lowered == "and" || lowered == "or"
    }

    // MARK: Scanning

    private var atEnd: Bool { index >= chars.count }

    private func peek(_ ahead: Int = 0) -> Character? {
        index + ahead < chars.count ? chars[index + ahead] : nil
    }

    private func error(_ expected: String) -> QueryError {
        QueryError(position: index + 1, expected: expected)
    }

    private mutating func skipSpaces() {
        while index < chars.count, chars[index].isWhitespace { index += 1 }
    }

    /// A term starts here (juxtaposition is `and`): not the end, a closer, or `or`.
    private mutating func startsAnotherTerm() -> Bool {
        skipSpaces()
        guard let c = peek(), c != ")", c != "}" else { return false }
        return !isKeyword("or")
    }

    /// Consumes `and`/`or`/`not` standing alone (`or=1` is a field, not a keyword).
    private mutating func takeKeyword(_ keyword: String) -> Bool {
        skipSpaces()
        guard isKeyword(keyword) else { return false }
        index += keyword.count
        return true
    }

    private func isKeyword(_ keyword: String) -> Bool {
        let n = keyword.count
        guard index + n <= chars.count, String(chars[index..<index + n]).lowercased() == keyword else { return false }
        guard let after = peek(n) else { return true }
        return after.isWhitespace || "(){}\"".contains(after)
    }

    private func isWordEnd(_ i: Int) -> Bool {
        let c = chars[i]
        if c.isWhitespace || "=<>(){}\"".contains(c) { return true }
        // `!=` and `~=` end a word; a lone `!` or `~` is part of it.
        return (c == "!" || c == "~") && i + 1 < chars.count && chars[i + 1] == "="
    }

    private mutating func readWord() -> String {
        let start = index
        while index < chars.count, !isWordEnd(index) { index += 1 }
        return String(chars[start..<index])
    }

    /// An operator after optional spaces, with where it starts; nil (and nothing consumed) when none.
    private mutating func readOperator() -> (CompareOp, Int)? {
        let save = index
        skipSpaces()
        let start = index
        let two = index + 1 < chars.count ? String(chars[index...index + 1]) : ""
        let op: CompareOp?
        switch two {
        case "!=": op = .notEqual
        case "~=": op = .contains
        case ">=": op = .greaterOrEqual
        case "<=": op = .lessOrEqual
        default:
            switch peek() {
            case "=": op = .equal
            case ">": op = .greater
            case "<": op = .less
            default: op = nil
            }
        }
        guard let op else {
            index = save
            return nil
        }
        index += op.symbol.count
        return (op, start)
    }

    /// The value after an operator: quoted, or up to a space or a bracket.
    private mutating func readValue(after op: CompareOp) throws(QueryError) -> (String, Int) {
        skipSpaces()
        let start = index
        if peek() == "\"" { return (try readQuoted(), start) }
        while index < chars.count {
            let c = chars[index]
            if c.isWhitespace || "(){}".contains(c) { break }
            if c == "\"" { throw error("a space before '\"' (quote the whole value)") }
            index += 1
        }
        // `service==x` and `dur>>1s` are slips, not values starting with an operator.
        guard index > start, !"=<>".contains(chars[start]) else {
            throw QueryError(position: start + 1, expected: "a value after '\(op.symbol)'")
        }
        return (String(chars[start..<index]), start)
    }

    /// A double-quoted string with `\"` and `\\` escapes.
    private mutating func readQuoted() throws(QueryError) -> String {
        let open = index
        index += 1
        var out = ""
        while index < chars.count {
            let c = chars[index]
            if c == "\"" {
                index += 1
                return out
            }
            if c == "\\" {
                guard let next = peek(1), next == "\"" || next == "\\" else {
                    throw QueryError(position: index + 2, expected: "'\"' or '\\' after a backslash (the only escapes)")
                }
                out.append(next)
                index += 2
                continue
            }
            out.append(c)
            index += 1
        }
        throw QueryError(position: index + 1, expected: "'\"' to close the quote opened at position \(open + 1)")
    }

    // MARK: Evaluation order

    /// Cheap tests first: `and`/`or` are pure, so their order is free, and a
    /// summary fact often decides a trace before any span is read.
    private static func ordered(_ terms: [TraceExpr]) -> [TraceExpr] {
        terms.enumerated().sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }.map(\.element)
    }

    private func orderedSpan(_ terms: [SpanExpr]) -> [SpanExpr] {
        terms.enumerated().sorted { (cost($0.element), $0.offset) < (cost($1.element), $1.offset) }.map(\.element)
    }

    fileprivate func cost(_ expr: SpanExpr) -> Int {
        switch expr {
        case .always: return 0
        case .leaf(let i): return leaves[i].isHeaderOnly ? 1 : 2
        case .not(let inner): return cost(inner)
        case .and(let terms), .or(let terms): return terms.map(cost).max() ?? 0
        }
    }
}

extension TraceExpr {
    fileprivate var andTerms: [TraceExpr] {
        if case .and(let terms) = self { return terms }
        return [self]
    }

    fileprivate var orTerms: [TraceExpr] {
        if case .or(let terms) = self { return terms }
        return [self]
    }

    /// Rough: facts read the summary, the root one span, sets every span, structure a tree.
    fileprivate var cost: Int {
        switch self {
        case .always, .fact: return 0
        case .root: return 1
        case .exists(.filter): return 2
        case .exists: return 3
        case .not(let inner): return inner.cost
        case .and(let terms), .or(let terms): return terms.map(\.cost).max() ?? 0
        }
    }
}

extension SpanExpr {
    fileprivate var andTerms: [SpanExpr] {
        if case .and(let terms) = self { return terms }
        return [self]
    }

    fileprivate var orTerms: [SpanExpr] {
        if case .or(let terms) = self { return terms }
        return [self]
    }
}
