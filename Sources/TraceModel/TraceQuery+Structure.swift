/// The parsed tree in a compact prefix form, for tests and for a reader
/// who wants to see how a query was understood:
/// `service=a dur>1s or error` -> `or(and(dur>1000000000ns, exists({service=a})), error)`.
/// Leaves are written `field op value` as typed; durations in nanoseconds.
extension QueryProgram {
    var structure: String { expression.structure(leaves) }
}

extension SpanFindProgram {
    var structure: String { expression?.structure(leaves) ?? "nothing" }
}

extension TraceExpr {
    func structure(_ leaves: [SpanLeaf]) -> String {
        switch self {
        case .always: return "all"
        case .and(let terms): return "and(" + terms.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .or(let terms): return "or(" + terms.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .not(let inner): return "not(" + inner.structure(leaves) + ")"
        case .fact(let fact): return fact.structure
        case .exists(let set): return "exists(" + set.structure(leaves) + ")"
        case .root(let expr): return "root(" + expr.structure(leaves) + ")"
        }
    }
}

extension TraceFact {
    var structure: String {
        switch self {
        case .duration(let o): return "dur\(o.op.symbol)\(o.bound)ns"
        case .spanCount(let o): return "spans\(o.op.symbol)\(o.bound)"
        case .serviceCount(let o): return "services\(o.op.symbol)\(o.bound)"
        case .errorCount(let o): return "errors\(o.op.symbol)\(o.bound)"
        case .traceID(let prefix): return "trace=\(prefix.digits) digits"
        case .hasError: return "error"
        case .isIncomplete: return "orphan"
        }
    }
}

extension SpanSetExpr {
    func structure(_ leaves: [SpanLeaf]) -> String {
        switch self {
        case .filter(let expr): return "{" + expr.structure(leaves) + "}"
        case .child(let above, let expr): return above.structure(leaves) + " > {" + expr.structure(leaves) + "}"
        case .descendant(let above, let expr): return above.structure(leaves) + " >> {" + expr.structure(leaves) + "}"
        case .intersection(let sets): return "and(" + sets.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .union(let sets): return "or(" + sets.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .complement(let inner): return "not(" + inner.structure(leaves) + ")"
        }
    }
}

extension SpanExpr {
    func structure(_ leaves: [SpanLeaf]) -> String {
        switch self {
        case .always: return "any"
        case .and(let terms): return "and(" + terms.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .or(let terms): return "or(" + terms.map { $0.structure(leaves) }.joined(separator: ", ") + ")"
        case .not(let inner): return "not(" + inner.structure(leaves) + ")"
        case .leaf(let id): return leaves[id].structure
        }
    }
}

extension SpanLeaf {
    var structure: String {
        switch self {
        case .service(let test): return "service" + test.structure
        case .operation(let test): return "op" + test.structure
        case .event(let test): return "event" + test.structure
        case .duration(let o): return "dur\(o.op.symbol)\(o.bound)ns"
        case .selfTime(let o): return "self\(o.op.symbol)\(o.bound)ns"
        case .kind(let kind): return "kind=\(kind.name)"
        case .status(let code): return "status=\(code)"
        case .error: return "error"
        case .orphan: return "orphan"
        case .tag(let key, let test):
            guard let test else { return "tag.\(key)" }
            return "tag.\(key)\(test.op.symbol)\(test.text)"
        case .word(let needle): return "word:\(needle.text)"
        case .findText(let needle): return "text:\(needle.text)"
        }
    }
}

extension TextTest {
    var structure: String {
        switch self {
        case .equals(let text): return "=" + text
        case .contains(let needle): return "~=" + needle.text
        }
    }
}
