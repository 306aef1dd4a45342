import TraceModel

/// Which reference is a span's parent, and what stays a link.
enum ParentReferences {
    /// Jaeger's rule (its model's `Span.ParentSpanID`, fed by the Thrift
    /// converter's `MaybeAddParentSpanID`): `parentSpanId` counts as a
    /// `CHILD_OF` reference unless a reference already names that span; the
    /// parent is then the first `CHILD_OF` reference into the same trace,
    /// failing that the first `FOLLOWS_FROM` one. References into other
    /// traces are links, never parents. Every reference but the chosen one
    /// stays a link.
    static func jaeger(traceID: TraceID, parentSpanID: SpanID?, references: [SpanLink])
        -> (parent: SpanID?, edge: ParentReference, links: [SpanLink]) {
        var chosen: Int? = nil
        var followsFrom: Int? = nil
        for (i, ref) in references.enumerated() where ref.traceID == traceID && !ref.spanID.isZero {
            if ref.referenceType == "FOLLOWS_FROM" {
                if followsFrom == nil { followsFrom = i }
            } else if ref.referenceType == "CHILD_OF" {
                chosen = i
                break
            }
        }
        if let parentSpanID, !parentSpanID.isZero,
           !references.contains(where: { $0.traceID == traceID && $0.spanID == parentSpanID }) {
            // The implicit CHILD_OF goes first (prepended, as Jaeger does): it wins.
            return (parentSpanID, .childOf, references)
        }
        guard let index = chosen ?? followsFrom else { return (nil, .childOf, references) }
        var links = references
        let parent = links.remove(at: index)
        return (parent.spanID, parent.referenceType == "FOLLOWS_FROM" ? .followsFrom : .childOf, links)
    }

    /// OTLP keeps `parentSpanId` as the parent whatever the links say. A
    /// link to that same parent marked `FOLLOWS_FROM` (how tracetty writes a
    /// Jaeger FOLLOWS_FROM edge to OTLP) is that edge's kind, not a link.
    static func otlp(traceID: TraceID, parentSpanID: SpanID?, links: [SpanLink])
        -> (edge: ParentReference, links: [SpanLink]) {
        guard let parentSpanID,
              let i = links.firstIndex(where: {
                  $0.referenceType == "FOLLOWS_FROM" && $0.traceID == traceID && $0.spanID == parentSpanID
                      && $0.attributes.isEmpty
              })
        else { return (.childOf, links) }
        var rest = links
        rest.remove(at: i)
        return (.followsFrom, rest)
    }

    /// The links to write: a FOLLOWS_FROM edge to the parent goes out as the
    /// first reference (as jaeger-client-go sends it), then the links.
    static func wireLinks(of span: Span) -> [SpanLink] {
        guard let parent = span.parentSpanID, span.parentReference == .followsFrom else { return span.links }
        return [SpanLink(traceID: span.traceID, spanID: parent, referenceType: "FOLLOWS_FROM")] + span.links
    }
}
