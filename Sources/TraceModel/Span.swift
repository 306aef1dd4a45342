/// A typed attribute value, as OTLP's AnyValue and Jaeger's typed tags carry them.
/// Not `indirect`: the nested cases hold arrays (already on the heap), so a
/// plain string or number costs no box of its own.
public enum AttributeValue: Hashable, Sendable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes([UInt8])
    case array([AttributeValue])
    /// OTLP `kvlistValue`.
    case map([Attribute])
}

public struct Attribute: Hashable, Sendable {
    public var key: String
    public var value: AttributeValue

    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

public enum SpanKind: UInt8, Sendable, CaseIterable {
    case unspecified = 0, `internal`, server, client, producer, consumer

    /// The lowercase name Jaeger uses in its `span.kind` tag.
    public var name: String {
        switch self {
        case .unspecified: return "unspecified"
        case .internal: return "internal"
        case .server: return "server"
        case .client: return "client"
        case .producer: return "producer"
        case .consumer: return "consumer"
        }
    }

    /// Accepts Jaeger tag values and Zipkin kinds, any case.
    public init?(name: String) {
        // The usual spelling needs no lowercased copy (a span's worth of decoding).
        if let kind = Self.named(name) {
            self = kind
        } else if name.utf8.contains(where: { (0x41...0x5A).contains($0) || $0 >= 0x80 }),
                  let kind = Self.named(name.lowercased()) {
            self = kind
        } else {
            return nil
        }
    }

    private static func named(_ lowercase: String) -> SpanKind? {
        switch lowercase {
        case "internal": return .internal
        case "server": return .server
        case "client": return .client
        case "producer": return .producer
        case "consumer": return .consumer
        case "unspecified", "": return .unspecified
        default: return nil
        }
    }
}

public struct SpanStatus: Hashable, Sendable {
    public enum Code: UInt8, Sendable { case unset = 0, ok = 1, error = 2 }
    public var code: Code
    public var message: String

    public init(code: Code = .unset, message: String = "") {
        self.code = code
        self.message = message
    }

    public static let unset = SpanStatus()
}

/// A span event (OTLP) or log (Jaeger, Zipkin annotation).
public struct SpanEvent: Hashable, Sendable {
    public var timeUnixNano: UInt64
    public var name: String
    public var attributes: [Attribute]

    public init(timeUnixNano: UInt64, name: String, attributes: [Attribute] = []) {
        self.timeUnixNano = timeUnixNano
        self.name = name
        self.attributes = attributes
    }
}

/// A link to another span: OTLP links, and Jaeger references other than the parent.
public struct SpanLink: Hashable, Sendable {
    public var traceID: TraceID
    public var spanID: SpanID
    /// Jaeger's `refType` (`FOLLOWS_FROM`, `CHILD_OF`), nil for OTLP links.
    public var referenceType: String?
    public var attributes: [Attribute]

    public init(traceID: TraceID, spanID: SpanID, referenceType: String? = nil, attributes: [Attribute] = []) {
        self.traceID = traceID
        self.spanID = spanID
        self.referenceType = referenceType
        self.attributes = attributes
    }
}

/// How a span hangs from its parent. Jaeger's `FOLLOWS_FROM` (a queue
/// consumer, a fire-and-forget job) nests under the span it follows, but the
/// parent does not wait for it: the critical path leaves it off.
public enum ParentReference: UInt8, Sendable, Hashable {
    case childOf = 0
    case followsFrom = 1

    /// Jaeger's spelling (`CHILD_OF`, `FOLLOWS_FROM`).
    public var jaegerName: String { self == .childOf ? "CHILD_OF" : "FOLLOWS_FROM" }
}

/// The process that emitted spans (Jaeger Process, OTLP Resource). Shared by
/// reference between all spans of one batch: a store of millions of spans
/// holds few of these.
public final class Resource: Sendable, Hashable {
    public let serviceName: String
    /// Every attribute, including `service.name` when the source had it.
    public let attributes: [Attribute]

    public init(serviceName: String, attributes: [Attribute] = []) {
        self.serviceName = serviceName
        self.attributes = attributes
    }

    public static func == (a: Resource, b: Resource) -> Bool {
        a === b || (a.serviceName == b.serviceName && a.attributes == b.attributes)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serviceName)
        hasher.combine(attributes)
    }

    public static let unknown = Resource(serviceName: "unknown_service")
}

/// OTLP InstrumentationScope. Shared by reference like `Resource`.
public final class InstrumentationScope: Sendable, Hashable {
    public let name: String
    public let version: String
    public let attributes: [Attribute]

    public init(name: String, version: String = "", attributes: [Attribute] = []) {
        self.name = name
        self.version = version
        self.attributes = attributes
    }

    public static func == (a: InstrumentationScope, b: InstrumentationScope) -> Bool {
        a === b || (a.name == b.name && a.version == b.version && a.attributes == b.attributes)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(version)
    }

    public static let none = InstrumentationScope(name: "")
}

/// The parts of a span most spans leave empty (events, links, status
/// message, scope, trace state), kept behind one shared reference so that a
/// `Span` stays small: a store of millions of them copies and retains less.
/// Immutable: a change makes a new one (copy on write by hand).
final class SpanExtras: Sendable {
    let statusMessage: String
    let events: [SpanEvent]
    let links: [SpanLink]
    let scope: InstrumentationScope
    let traceState: String
    let droppedAttributesCount: UInt32

    init(statusMessage: String, events: [SpanEvent], links: [SpanLink], scope: InstrumentationScope, traceState: String,
         droppedAttributesCount: UInt32) {
        self.statusMessage = statusMessage
        self.events = events
        self.links = links
        self.scope = scope
        self.traceState = traceState
        self.droppedAttributesCount = droppedAttributesCount
    }

    /// nil when every part is empty: most spans carry no extras at all.
    static func make(statusMessage: String, events: [SpanEvent], links: [SpanLink],
                     scope: InstrumentationScope, traceState: String, droppedAttributesCount: UInt32) -> SpanExtras? {
        if statusMessage.isEmpty, events.isEmpty, links.isEmpty, scope === InstrumentationScope.none, traceState.isEmpty,
           droppedAttributesCount == 0 {
            return nil
        }
        return SpanExtras(statusMessage: statusMessage, events: events, links: links, scope: scope, traceState: traceState,
                          droppedAttributesCount: droppedAttributesCount)
    }
}

/// One span, whatever wire format it came from. Times are nanoseconds.
/// 96 bytes: ids, times, name, attributes and resource inline; the rarely
/// used parts in `SpanExtras`.
public struct Span: Hashable, Sendable {
    public var traceID: TraceID
    public var spanID: SpanID
    private var parentRaw: UInt64
    public var name: String
    public var startTimeUnixNano: UInt64
    public var durationNano: UInt64
    public var attributes: [Attribute]
    public var resource: Resource
    private var extras: SpanExtras?
    /// OTLP flags, kept for a faithful round trip.
    public var flags: UInt32
    public var kind: SpanKind
    private var statusCode: SpanStatus.Code
    private var hasParent: Bool
    /// The kind of edge to the parent (meaningful only with a parent).
    public var parentReference: ParentReference

    public init(
        traceID: TraceID,
        spanID: SpanID,
        parentSpanID: SpanID? = nil,
        parentReference: ParentReference = .childOf,
        name: String,
        kind: SpanKind = .unspecified,
        status: SpanStatus = .unset,
        startTimeUnixNano: UInt64,
        durationNano: UInt64,
        attributes: [Attribute] = [],
        events: [SpanEvent] = [],
        links: [SpanLink] = [],
        resource: Resource = .unknown,
        scope: InstrumentationScope = .none,
        traceState: String = "",
        flags: UInt32 = 0,
        droppedAttributesCount: UInt32 = 0
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentRaw = parentSpanID?.raw ?? 0
        self.hasParent = parentSpanID != nil
        self.parentReference = parentReference
        self.name = name
        self.kind = kind
        self.statusCode = status.code
        self.startTimeUnixNano = startTimeUnixNano
        self.durationNano = durationNano
        self.attributes = attributes
        self.resource = resource
        self.flags = flags
        self.extras = SpanExtras.make(statusMessage: status.message, events: events, links: links,
                                      scope: scope, traceState: traceState, droppedAttributesCount: droppedAttributesCount)
    }

    /// nil for a root span.
    public var parentSpanID: SpanID? {
        get { hasParent ? SpanID(parentRaw) : nil }
        set {
            hasParent = newValue != nil
            parentRaw = newValue?.raw ?? 0
        }
    }

    public var status: SpanStatus {
        get { SpanStatus(code: statusCode, message: extras?.statusMessage ?? "") }
        set {
            statusCode = newValue.code
            if newValue.message != (extras?.statusMessage ?? "") { updateExtras(statusMessage: newValue.message) }
        }
    }

    /// Span events (OTLP) or logs (Jaeger).
    public var events: [SpanEvent] {
        get { extras?.events ?? [] }
        set { updateExtras(events: newValue) }
    }

    /// Links, and Jaeger references other than the parent.
    public var links: [SpanLink] {
        get { extras?.links ?? [] }
        set { updateExtras(links: newValue) }
    }

    public var scope: InstrumentationScope {
        get { extras?.scope ?? .none }
        set { updateExtras(scope: newValue) }
    }

    /// W3C trace state, kept for a faithful round trip.
    public var traceState: String {
        get { extras?.traceState ?? "" }
        set { updateExtras(traceState: newValue) }
    }

    /// Attributes the span had but `attributes` does not hold: cut by the
    /// sender (OTLP `dropped_attributes_count`) plus those a decoder cut past
    /// `attributeCountLimit`.
    public var droppedAttributesCount: UInt32 {
        get { extras?.droppedAttributesCount ?? 0 }
        set { updateExtras(droppedAttributesCount: newValue) }
    }

    /// At most this many attributes are kept per span by the decoders (like
    /// OpenTelemetry's attribute count limit, whose SDK default is 128): a
    /// span from a stranger with a million tags costs a bounded store entry
    /// and detail pane; the rest are counted in `droppedAttributesCount`.
    public static let attributeCountLimit = 1024

    private mutating func updateExtras(statusMessage: String? = nil, events: [SpanEvent]? = nil, links: [SpanLink]? = nil,
                                       scope: InstrumentationScope? = nil, traceState: String? = nil,
                                       droppedAttributesCount: UInt32? = nil) {
        extras = SpanExtras.make(
            statusMessage: statusMessage ?? extras?.statusMessage ?? "",
            events: events ?? extras?.events ?? [],
            links: links ?? extras?.links ?? [],
            scope: scope ?? extras?.scope ?? .none,
            traceState: traceState ?? extras?.traceState ?? "",
            droppedAttributesCount: droppedAttributesCount ?? extras?.droppedAttributesCount ?? 0)
    }

    /// Some rare part (events, links, status message, scope, trace state) is set.
    var hasExtras: Bool { extras != nil }

    public var serviceName: String { resource.serviceName }
    /// Saturates at `UInt64.max`: a hostile start plus duration that does not
    /// fit would otherwise wrap to an end before the start (replay would send
    /// the span first, an export would write an end its reader turns into a
    /// zero duration).
    public var endTimeUnixNano: UInt64 {
        let (end, overflow) = startTimeUnixNano.addingReportingOverflow(durationNano)
        return overflow ? .max : end
    }

    /// Status error, or an `error` tag that is true (Jaeger's convention).
    public var isError: Bool {
        if statusCode == .error { return true }
        for attribute in attributes where attribute.key == "error" {
            switch attribute.value {
            case .bool(let b): return b
            case .string(let s): return s == "true"
            default: return false
            }
        }
        return false
    }

    public func attribute(_ key: String) -> AttributeValue? {
        attributes.first { $0.key == key }?.value
    }

    /// Equal when every field is, whatever shares storage.
    public static func == (a: Span, b: Span) -> Bool {
        a.traceID == b.traceID && a.spanID == b.spanID && a.parentSpanID == b.parentSpanID
            && (a.parentSpanID == nil || a.parentReference == b.parentReference) && a.name == b.name
            && a.kind == b.kind && a.status == b.status && a.startTimeUnixNano == b.startTimeUnixNano
            && a.durationNano == b.durationNano && a.attributes == b.attributes && a.resource == b.resource
            && a.flags == b.flags && a.events == b.events && a.links == b.links && a.scope == b.scope
            && a.traceState == b.traceState && a.droppedAttributesCount == b.droppedAttributesCount
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(traceID)
        hasher.combine(spanID)
        hasher.combine(name)
        hasher.combine(startTimeUnixNano)
        hasher.combine(durationNano)
    }
}

extension Span {
    /// About what this value holds in memory: its fixed part, its strings'
    /// bytes and its attributes (the shared resource is not counted). For
    /// bounds in bytes (`SpanQueue`), so cheap rather than exact: a
    /// string's UTF-8 count is O(1) for the strings decoders make.
    public var approximateBytes: Int {
        var bytes = 96 + name.utf8.count + Self.approximateBytes(of: attributes)
        if hasExtras {
            bytes += 64 + status.message.utf8.count + traceState.utf8.count
            for event in events { bytes += 48 + event.name.utf8.count + Self.approximateBytes(of: event.attributes) }
            for link in links { bytes += 64 + Self.approximateBytes(of: link.attributes) }
        }
        return bytes
    }

    static func approximateBytes(of attributes: [Attribute]) -> Int {
        var bytes = 32
        for attribute in attributes {
            bytes += 48 + attribute.key.utf8.count + approximateBytes(of: attribute.value)
        }
        return bytes
    }

    static func approximateBytes(of value: AttributeValue) -> Int {
        switch value {
        case .string(let s): return s.utf8.count
        case .bool, .int, .double: return 0
        case .bytes(let b): return b.count
        case .array(let values): return values.reduce(32) { $0 + 24 + approximateBytes(of: $1) }
        case .map(let attributes): return approximateBytes(of: attributes)
        }
    }
}
