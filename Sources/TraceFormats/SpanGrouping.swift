import TraceModel

/// Spans grouped as OTLP nests them: by resource, then by scope, each in
/// order of first appearance. Shared by the JSON and protobuf encoders.
enum SpanGrouping {
    typealias Groups = [(resource: Resource, scopes: [(scope: InstrumentationScope, spans: [Int])])]

    /// Indices are the collection's own.
    static func byResourceAndScope<C: RandomAccessCollection<Span>>(_ spans: C) -> Groups where C.Index == Int {
        var groups: Groups = []
        var resourceIndex: [Resource: Int] = [:]
        for i in spans.indices {
            let span = spans[i]
            let r: Int
            if let last = groups.indices.last, groups[last].resource === span.resource {
                r = last
            } else if let existing = resourceIndex[span.resource] {
                r = existing
            } else {
                r = groups.count
                resourceIndex[span.resource] = r
                groups.append((span.resource, []))
            }
            if let s = groups[r].scopes.lastIndex(where: { $0.scope === span.scope || $0.scope == span.scope }) {
                groups[r].scopes[s].spans.append(i)
            } else {
                groups[r].scopes.append((span.scope, [i]))
            }
        }
        return groups
    }
}
