/// The store's compact form of spans: each trace's spans packed into one run
/// of bytes (kept by `TraceBytes`), with strings, resources and scopes shared through bounded tables.
/// A seed-shaped span takes ~60 bytes here against ~500 as a `Span` with its
/// own attribute array; `Span` values are made again only for the trace a
/// reader asks for.
///
/// One encoded span:
///
///     varint   length of the rest (a reader skips a span in O(1))
///     u8       kind (3 bits) | status code << 3 | has parent << 5 | is error << 6 | has extras << 7
///     start    the trace's first span: u64 (little endian); a later span:
///              zigzag varint of its start minus the first span's (wrapping)
///     u64      span id
///     u64      parent id, only when it has one
///     varint   duration
///     varint   flags << 1 | parent is FOLLOWS_FROM
///     str      name
///     varint   resource (table index + 1; 0: written inline)
///     varint   attribute count, then each attribute
///     extras   (when flagged) status message, scope, trace state, events, links,
///              varint dropped attributes count
///
/// A `str` is `varint(index << 1)` for a string in the table, or
/// `varint(length << 1 | 1)` and its UTF-8 bytes.
///
/// Times relative to the trace's first span, durations as varints and no
/// parent id for a root: a seed-shaped span takes 54 bytes instead of 61
/// (spans of one trace start within seconds of each other: 4-5 bytes, not 8).
/// The first span's start sits at a fixed place (after the length and the
/// bits), so a reader finds it from any span. A trace's bytes only ever
/// grow at the end or go whole (moved or evicted), so its first span stays first.
struct SpanArena: Sendable {
    /// Strings at most this long are shared through the table.
    static let maxInternedLength = 64

    private(set) var strings: [String] = []
    private var stringIndex = RawStringTable()
    private(set) var resources: [Resource] = []
    private var resourceIndex: [Resource: UInt32] = [:]
    private(set) var scopes: [InstrumentationScope] = []
    private var scopeIndex: [InstrumentationScope: UInt32] = [:]
    /// The last resource seen and its reference: a batch's spans share one object.
    private var lastResource: (object: Resource, ref: UInt32)?
    /// Bounds on each table, so that hostile high-cardinality input (a new
    /// string or process per span) cannot grow them without end: past a bound
    /// the value is written inline, and counted.
    let tableCapacity: Int
    /// Resources and scopes carry attribute lists, so their table is smaller
    /// and only takes lists up to `maxTabledAttributes`: the tables outlive
    /// evicted traces, and must stay small whatever a client sends (at most
    /// ~4,096 x 64 attributes). Anything else is written inline, with its trace.
    let objectTableCapacity: Int
    static let maxTabledAttributes = 64
    private(set) var inlinedPastBound = 0

    init(tableCapacity: Int = 1 << 16) {
        self.tableCapacity = tableCapacity
        objectTableCapacity = min(tableCapacity, 4096)
    }

    // MARK: Writing

    /// Appends one encoded span to `out`. `traceStart`: the start of the
    /// first span of the trace the bytes are appended to (`firstStart`),
    /// nil when this span is its first.
    mutating func append(_ span: Span, to out: inout [UInt8], scratch: inout [UInt8], traceStart: UInt64?) {
        scratch.removeAll(keepingCapacity: true)
        Self.encodeBody(span, into: &scratch, tables: &self, start: traceStart.map { .relative(to: $0) } ?? .first)
        writeVarint(UInt64(scratch.count), &out)
        out.append(contentsOf: scratch)
    }

    /// How `encodeBody` writes a span's start (see the layout above).
    enum StartField {
        /// The trace's first span: the start itself.
        case first
        /// A later span: relative to the first span's start.
        case relative(to: UInt64)
        /// Not written: a `PackedSpans` piece keeps its spans' starts apart,
        /// as which span is a trace's first is known only when it is stored.
        case omitted
    }

    /// A span's encoding after its length. Its shared values (interned
    /// strings, resource, scope) go through `tables`: the arena's own, or a
    /// piece's (`PackedSpans`, on a decoding thread) that the arena resolves
    /// when the piece is stored. The name (when shared) and the resource
    /// are the first values written, in that order: `PackedSpans` relies on it.
    static func encodeBody<Tables: SpanTables>(_ span: Span, into scratch: inout [UInt8], tables: inout Tables,
                                               start: StartField) {
        let extras = span.hasExtras
        var bits = span.kind.rawValue & 0x7
        bits |= (span.status.code.rawValue & 0x3) << 3
        if span.parentSpanID != nil { bits |= 1 << 5 }
        if span.isError { bits |= 1 << 6 }
        if extras { bits |= 1 << 7 }
        scratch.append(bits)
        writeStart(span.startTimeUnixNano, start, &scratch)
        writeFixed(span.spanID.raw, &scratch)
        if let parent = span.parentSpanID { writeFixed(parent.raw, &scratch) }
        writeVarint(span.durationNano, &scratch)
        let followsFrom: UInt64 = span.parentSpanID != nil && span.parentReference == .followsFrom ? 1 : 0
        writeVarint(UInt64(span.flags) << 1 | followsFrom, &scratch)
        writeString(span.name, &scratch, intern: true, tables: &tables)
        tables.writeResource(span.resource, &scratch)
        writeAttributes(span.attributes, &scratch, tables: &tables)
        if extras {
            writeString(span.status.message, &scratch, intern: false, tables: &tables)
            tables.writeScope(span.scope, &scratch)
            writeString(span.traceState, &scratch, intern: false, tables: &tables)
            let events = span.events
            writeVarint(UInt64(events.count), &scratch)
            for event in events {
                writeFixed(event.timeUnixNano, &scratch)
                writeString(event.name, &scratch, intern: true, tables: &tables)
                writeAttributes(event.attributes, &scratch, tables: &tables)
            }
            let links = span.links
            writeVarint(UInt64(links.count), &scratch)
            for link in links {
                writeFixed(link.traceID.high, &scratch)
                writeFixed(link.traceID.low, &scratch)
                writeFixed(link.spanID.raw, &scratch)
                if let type = link.referenceType {
                    scratch.append(1)
                    writeString(type, &scratch, intern: true, tables: &tables)
                } else {
                    scratch.append(0)
                }
                writeAttributes(link.attributes, &scratch, tables: &tables)
            }
            writeVarint(UInt64(span.droppedAttributesCount), &scratch)
        }
    }

    /// The table reference of a resource (index + 1), 0 when it is written
    /// inline (its table is full, or it has too many attributes: counted).
    mutating func resourceRef(_ resource: Resource) -> UInt32 {
        if let last = lastResource, last.object === resource { return last.ref }
        var ref: UInt32 = 0
        if let index = resourceIndex[resource] {
            ref = index + 1
        } else if resources.count < objectTableCapacity, resource.attributes.count <= Self.maxTabledAttributes {
            resourceIndex[resource] = UInt32(resources.count)
            resources.append(resource)
            ref = UInt32(resources.count)
        } else {
            inlinedPastBound += 1
            return 0
        }
        lastResource = (resource, ref)
        return ref
    }

    /// As `resourceRef`, for a scope.
    mutating func scopeRef(_ scope: InstrumentationScope) -> UInt32 {
        if let index = scopeIndex[scope] { return index + 1 }
        guard scopes.count < objectTableCapacity, scope.attributes.count <= Self.maxTabledAttributes else {
            inlinedPastBound += 1
            return 0
        }
        scopeIndex[scope] = UInt32(scopes.count)
        scopes.append(scope)
        return UInt32(scopes.count)
    }

    /// The table index of a short string, nil when the table is full (counted).
    mutating func stringRef(_ string: String) -> UInt32? {
        var utf8 = string
        return utf8.withUTF8 { bytes -> UInt32? in
            let p = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
            if strings.count < tableCapacity { return stringIndex.local(p, bytes.count, strings: &strings, made: string) }
            if let index = stringIndex.find(p, bytes.count) { return index }
            inlinedPastBound += 1
            return nil
        }
    }

    static func writeInlineResource<Tables: SpanTables>(_ resource: Resource, _ out: inout [UInt8], tables: inout Tables) {
        writeString(resource.serviceName, &out, intern: true, tables: &tables)
        writeAttributes(resource.attributes, &out, tables: &tables)
    }

    static func writeInlineScope<Tables: SpanTables>(_ scope: InstrumentationScope, _ out: inout [UInt8], tables: inout Tables) {
        writeString(scope.name, &out, intern: true, tables: &tables)
        writeString(scope.version, &out, intern: true, tables: &tables)
        writeAttributes(scope.attributes, &out, tables: &tables)
    }

    private static func writeAttributes<Tables: SpanTables>(_ attributes: [Attribute], _ out: inout [UInt8], tables: inout Tables) {
        writeVarint(UInt64(attributes.count), &out)
        for attribute in attributes {
            writeString(attribute.key, &out, intern: true, tables: &tables)
            writeValue(attribute.value, &out, tables: &tables)
        }
    }

    private static func writeValue<Tables: SpanTables>(_ value: AttributeValue, _ out: inout [UInt8], tables: inout Tables) {
        switch value {
        case .string(let s):
            out.append(ValueTag.string)
            writeString(s, &out, intern: true, tables: &tables)
        case .bool(let b):
            out.append(b ? ValueTag.boolTrue : ValueTag.boolFalse)
        case .int(let i):
            out.append(ValueTag.int)
            writeVarint(UInt64(bitPattern: (i << 1) ^ (i >> 63)), &out)
        case .double(let d):
            out.append(ValueTag.double)
            writeFixed(d.bitPattern, &out)
        case .bytes(let bytes):
            out.append(ValueTag.bytes)
            writeVarint(UInt64(bytes.count), &out)
            out.append(contentsOf: bytes)
        case .array(let values):
            out.append(ValueTag.array)
            writeVarint(UInt64(values.count), &out)
            for v in values { writeValue(v, &out, tables: &tables) }
        case .map(let attributes):
            out.append(ValueTag.map)
            writeAttributes(attributes, &out, tables: &tables)
        }
    }

    @inline(__always)
    static func writeString<Tables: SpanTables>(_ string: String, _ out: inout [UInt8], intern: Bool, tables: inout Tables) {
        if intern, string.utf8.count <= Self.maxInternedLength {
            tables.writeInterned(string, &out)
        } else {
            writeInline(string, &out)
        }
    }

    static func writeInline(_ string: String, _ out: inout [UInt8]) {
        // Most status messages and trace states.
        if string.isEmpty {
            out.append(1)
            return
        }
        var string = string
        writeVarint(UInt64(string.utf8.count) << 1 | 1, &out)
        string.withUTF8 { out.append(contentsOf: $0) }
    }

    // MARK: Reading

    /// The span that starts at `offset` in `bytes`, made whole again; `offset`
    /// moves past it.
    func span(in bytes: ArraySlice<UInt8>, at offset: inout Int, traceID: TraceID) -> Span {
        var r = Reader(bytes: bytes, offset: offset)
        let head = fixedPart(&r)
        let name = string(&r)
        let resource = resource(&r)
        let attributes = readAttributes(&r)
        let bits = head.bits
        var span = Span(
            traceID: traceID, spanID: head.spanID, parentSpanID: head.parentID,
            parentReference: head.followsFrom ? .followsFrom : .childOf, name: name, kind: SpanKind(rawValue: bits & 0x7) ?? .unspecified,
            status: SpanStatus(code: SpanStatus.Code(rawValue: (bits >> 3) & 0x3) ?? .unset),
            startTimeUnixNano: head.start, durationNano: head.duration, attributes: attributes, resource: resource,
            flags: head.flags)
        if bits & (1 << 7) != 0 {
            let message = string(&r)
            let scopeRef = Int(r.varint())
            let scope: InstrumentationScope
            if scopeRef == 0 {
                let name = string(&r)
                let version = string(&r)
                scope = InstrumentationScope(name: name, version: version, attributes: readAttributes(&r))
            } else {
                scope = scopes[scopeRef - 1]
            }
            let traceState = string(&r)
            var events: [SpanEvent] = []
            let eventCount = Int(r.varint())
            events.reserveCapacity(eventCount)
            for _ in 0..<eventCount {
                let time = r.fixed()
                let name = string(&r)
                events.append(SpanEvent(timeUnixNano: time, name: name, attributes: readAttributes(&r)))
            }
            var links: [SpanLink] = []
            let linkCount = Int(r.varint())
            links.reserveCapacity(linkCount)
            for _ in 0..<linkCount {
                let high = r.fixed()
                let low = r.fixed()
                let linked = SpanID(r.fixed())
                let type: String? = r.byte() == 1 ? string(&r) : nil
                links.append(SpanLink(traceID: TraceID(high: high, low: low), spanID: linked, referenceType: type,
                                      attributes: readAttributes(&r)))
            }
            span.status = SpanStatus(code: span.status.code, message: message)
            span.scope = scope
            span.traceState = traceState
            span.events = events
            span.links = links
            span.droppedAttributesCount = UInt32(truncatingIfNeeded: r.varint())
        }
        offset = head.end
        return span
    }

    /// What the tree and the summary need of a span, without its attributes.
    struct Header {
        var spanID: SpanID
        var parentID: SpanID?
        var start: UInt64
        var duration: UInt64
        var isError: Bool
        var followsFrom: Bool
        /// Where the span starts in its trace's bytes (to read its name later).
        var offset: Int
        /// Resource table index, or -1 when written inline.
        var resource: Int32

        /// Spans with the same key have the same service (`SummarySource.serviceKey`):
        /// an inline resource (past the table's bound) gets a key of its own.
        var serviceKey: UInt { resource >= 0 ? UInt(resource) : UInt.max - UInt(offset) }
    }

    /// `traceStart`: the trace's first start (`firstStart(in:)`), given by
    /// a caller that reads every span of the trace so it is read once.
    func header(in bytes: ArraySlice<UInt8>, at offset: inout Int, traceStart: UInt64? = nil) -> Header {
        var r = Reader(bytes: bytes, offset: offset)
        let head = fixedPart(&r, traceStart: traceStart)
        skipString(&r)
        let resource = Int32(r.varint()) - 1
        let header = Header(spanID: head.spanID, parentID: head.parentID, start: head.start, duration: head.duration,
                            isError: head.bits & (1 << 6) != 0, followsFrom: head.followsFrom, offset: offset,
                            resource: resource)
        offset = head.end
        return header
    }

    /// The part of a span before its name: length, ids, times, bits, flags.
    private struct FixedPart {
        var end: Int
        var spanID: SpanID
        var parentID: SpanID?
        var start: UInt64
        var duration: UInt64
        var bits: UInt8
        var flags: UInt32
        var followsFrom: Bool
    }

    private func fixedPart(_ r: inout Reader, traceStart: UInt64? = nil) -> FixedPart {
        let isFirst = r.offset == 0
        let length = Int(r.varint())
        let end = r.offset + length
        let bits = r.byte()
        let start = isFirst ? r.fixed() : (traceStart ?? Self.firstStart(in: r.bytes)) &+ unzigzag(r.varint())
        let spanID = SpanID(r.fixed())
        let parentID = bits & (1 << 5) != 0 ? SpanID(r.fixed()) : nil
        let duration = r.varint()
        let flagsAndEdge = r.varint()
        return FixedPart(end: end, spanID: spanID, parentID: parentID,
                         start: start, duration: duration, bits: bits,
                         flags: UInt32(truncatingIfNeeded: flagsAndEdge >> 1), followsFrom: flagsAndEdge & 1 != 0)
    }

    /// The start of a trace's first span, which the others' are relative to.
    static func firstStart(in bytes: ArraySlice<UInt8>) -> UInt64 {
        firstStart { bytes[bytes.startIndex + $0] }
    }

    /// The same from the trace's bytes one at a time (`TraceBytes.byte`, which keeps no slice of a page).
    @inline(__always)
    static func firstStart(_ byte: (Int) -> UInt8) -> UInt64 {
        var i = 0
        while byte(i) >= 0x80 { i += 1 }
        i += 2  // the length's last byte, the bits
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(byte(i + k)) << (8 * UInt64(k)) }
        return value
    }

    /// The name and service of the span at `offset`.
    func nameAndService(in bytes: ArraySlice<UInt8>, at offset: Int) -> (name: String, service: String) {
        var r = Reader(bytes: bytes, offset: offset)
        _ = fixedPart(&r)
        let name = string(&r)
        return (name, resource(&r).serviceName)
    }

    func serviceName(ofResource index: Int32, in bytes: ArraySlice<UInt8>, spanAt offset: Int) -> String {
        index >= 0 ? resources[Int(index)].serviceName : nameAndService(in: bytes, at: offset).service
    }

    private func resource(_ r: inout Reader) -> Resource {
        let ref = Int(r.varint())
        if ref > 0 { return resources[ref - 1] }
        let service = string(&r)
        return Resource(serviceName: service, attributes: readAttributes(&r))
    }

    private func readAttributes(_ r: inout Reader) -> [Attribute] {
        let count = Int(r.varint())
        guard count > 0 else { return [] }
        var attributes: [Attribute] = []
        attributes.reserveCapacity(count)
        for _ in 0..<count {
            let key = string(&r)
            attributes.append(Attribute(key, value(&r)))
        }
        return attributes
    }

    private func value(_ r: inout Reader) -> AttributeValue {
        switch r.byte() {
        case ValueTag.string: return .string(string(&r))
        case ValueTag.boolTrue: return .bool(true)
        case ValueTag.boolFalse: return .bool(false)
        case ValueTag.int:
            let z = r.varint()
            return .int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
        case ValueTag.double: return .double(Double(bitPattern: r.fixed()))
        case ValueTag.bytes:
            let count = Int(r.varint())
            defer { r.offset += count }
            return .bytes(Array(r.bytes[r.base + r.offset..<r.base + r.offset + count]))
        case ValueTag.array:
            let count = Int(r.varint())
            var values: [AttributeValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(value(&r)) }
            return .array(values)
        default:
            return .map(readAttributes(&r))
        }
    }

    private func string(_ r: inout Reader) -> String {
        let ref = r.varint()
        if ref & 1 == 0 { return strings[Int(ref >> 1)] }
        let length = Int(ref >> 1)
        defer { r.offset += length }
        return String(decoding: r.bytes[r.base + r.offset..<r.base + r.offset + length], as: UTF8.self)
    }

    private func skipString(_ r: inout Reader) {
        let ref = r.varint()
        if ref & 1 == 1 { r.offset += Int(ref >> 1) }
    }

    // MARK: Reading for queries

    /// A string in a trace's bytes, without making it: a table index, or
    /// where its inline UTF-8 sits. A query tests table strings once each.
    struct StringRef {
        /// Index into `strings`, or -1 for the inline bytes at `start..<start + length`.
        var table: Int32
        var start: Int
        var length: Int
    }

    /// One span's fixed fields and where its variable parts start.
    struct SpanLayout {
        var offset: Int
        var attributesAt: Int
        var spanID: UInt64
        var parentID: UInt64
        var start: UInt64
        var duration: UInt64
        var name: StringRef
        /// Resource table index, or -1 when written inline at `resourceAt`.
        var resource: Int32
        var resourceAt: Int
        var bits: UInt8

        var hasParent: Bool { bits & (1 << 5) != 0 }
        var isError: Bool { bits & (1 << 6) != 0 }
        var hasExtras: Bool { bits & (1 << 7) != 0 }
        var kindRaw: UInt8 { bits & 0x7 }
        var statusRaw: UInt8 { (bits >> 3) & 0x3 }
    }

    /// Every span of a trace's bytes, read as far as its attributes, into `layouts`.
    static func layouts(of bytes: UnsafeBufferPointer<UInt8>, into layouts: inout [SpanLayout]) {
        var r = PointerReader(bytes: bytes, offset: 0)
        var firstStart: UInt64 = 0
        while r.offset < bytes.count {
            let offset = r.offset
            let length = Int(r.varint())
            let end = r.offset + length
            let bits = r.byte()
            let start: UInt64
            if offset == 0 {
                start = r.fixed()
                firstStart = start
            } else {
                start = firstStart &+ unzigzag(r.varint())
            }
            let spanID = r.fixed()
            let parentID = bits & (1 << 5) != 0 ? r.fixed() : 0
            let duration = r.varint()
            r.skipVarint()
            let name = r.stringRef()
            let resource = Int32(truncatingIfNeeded: r.varint()) - 1
            let resourceAt = r.offset
            if resource < 0 {
                _ = r.stringRef()
                r.skipAttributes()
            }
            layouts.append(SpanLayout(
                offset: offset, attributesAt: r.offset, spanID: spanID, parentID: parentID, start: start,
                duration: duration, name: name, resource: resource, resourceAt: resourceAt, bits: bits))
            r.offset = end
        }
    }

    func string(_ ref: StringRef, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        if ref.table >= 0 { return strings[Int(ref.table)] }
        precondition(ref.start >= 0 && ref.start + ref.length <= bytes.count, "packed string read past its trace")
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[ref.start..<ref.start + ref.length]), as: UTF8.self)
    }

    /// The service name of a span whose resource is written inline.
    static func inlineServiceName(of layout: SpanLayout, in bytes: UnsafeBufferPointer<UInt8>) -> StringRef {
        var r = PointerReader(bytes: bytes, offset: layout.resourceAt)
        return r.stringRef()
    }

    /// The resource of a span, made whole only when it was written inline.
    func resource(of layout: SpanLayout, in bytes: ArraySlice<UInt8>) -> Resource {
        if layout.resource >= 0 { return resources[Int(layout.resource)] }
        var r = Reader(bytes: bytes, offset: layout.resourceAt)
        let service = string(&r)
        return Resource(serviceName: service, attributes: readAttributes(&r))
    }

    /// A value that `AttributeCursor` left packed, made whole.
    func value(at offset: Int, in bytes: ArraySlice<UInt8>) -> AttributeValue {
        var r = Reader(bytes: bytes, offset: offset)
        return value(&r)
    }

    /// An attribute value as it is packed: scalars read in place, the rest
    /// (bytes, lists, maps) left where they are, for `value(at:in:)`.
    enum PackedValue {
        case string(StringRef)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case other(at: Int)
    }

    /// Walks a packed attribute list.
    struct AttributeCursor {
        fileprivate var reader: PointerReader
        fileprivate var remaining: Int

        fileprivate init(_ reader: PointerReader) {
            self.reader = reader
            remaining = Int(self.reader.varint())
        }

        mutating func next() -> (key: StringRef, value: PackedValue)? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            let key = reader.stringRef()
            let at = reader.offset
            let value: PackedValue
            switch reader.byte() {
            case ValueTag.string: value = .string(reader.stringRef())
            case ValueTag.boolTrue: value = .bool(true)
            case ValueTag.boolFalse: value = .bool(false)
            case ValueTag.int:
                let z = reader.varint()
                value = .int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
            case ValueTag.double: value = .double(Double(bitPattern: reader.fixed()))
            default:
                reader.offset = at
                reader.skipValue()
                value = .other(at: at)
            }
            return (key, value)
        }
    }

    /// The span's own attributes (not its resource's).
    static func attributes(of layout: SpanLayout, in bytes: UnsafeBufferPointer<UInt8>) -> AttributeCursor {
        AttributeCursor(PointerReader(bytes: bytes, offset: layout.attributesAt))
    }

    /// Walks a span's events: name and attributes of each.
    struct EventCursor {
        fileprivate var reader: PointerReader
        fileprivate var remaining: Int

        mutating func next() -> (name: StringRef, attributes: AttributeCursor)? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            reader.offset += 8
            let name = reader.stringRef()
            let attributes = AttributeCursor(reader)
            reader.skipAttributes()
            return (name, attributes)
        }
    }

    /// The span's events; none when it has no extras.
    static func events(of layout: SpanLayout, in bytes: UnsafeBufferPointer<UInt8>) -> EventCursor {
        var r = PointerReader(bytes: bytes, offset: layout.attributesAt)
        guard layout.hasExtras else { return EventCursor(reader: r, remaining: 0) }
        r.skipAttributes()
        return events(at: r)
    }

    /// The events of a span with extras whose attributes `attributes` has read to the end.
    static func events(after attributes: AttributeCursor, in bytes: UnsafeBufferPointer<UInt8>) -> EventCursor {
        precondition(attributes.remaining == 0, "events read before the attributes were")
        return events(at: attributes.reader)
    }

    /// From just past a span's attributes: skips the status message, scope and trace state.
    private static func events(at reader: PointerReader) -> EventCursor {
        var r = reader
        _ = r.stringRef()
        if r.varint() == 0 {
            _ = r.stringRef()
            _ = r.stringRef()
            r.skipAttributes()
        }
        _ = r.stringRef()
        let count = Int(r.varint())
        return EventCursor(reader: r, remaining: count)
    }

    /// `Reader` over memory borrowed for one trace's evaluation: no copy and
    /// no reference counting per span. Reads stay bounds-checked, as a bad
    /// read is a bug in the arena (and traps) rather than input.
    fileprivate struct PointerReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset: Int

        @inline(__always) mutating func byte() -> UInt8 {
            precondition(offset < bytes.count, "packed span read past its trace")
            defer { offset += 1 }
            return bytes[offset]
        }

        @inline(__always) mutating func fixed() -> UInt64 {
            precondition(offset + 8 <= bytes.count, "packed span read past its trace")
            let value = UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(as: UInt64.self)
            offset += 8
            return UInt64(littleEndian: value)
        }

        @inline(__always) mutating func varint() -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = byte()
                value |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }

        @inline(__always) mutating func skipVarint() {
            while byte() >= 0x80 {}
        }

        @inline(__always) mutating func stringRef() -> StringRef {
            let ref = varint()
            if ref & 1 == 0 { return StringRef(table: Int32(truncatingIfNeeded: ref >> 1), start: 0, length: 0) }
            let length = Int(ref >> 1)
            defer { offset += length }
            return StringRef(table: -1, start: offset, length: length)
        }

        mutating func skipAttributes() {
            let count = Int(varint())
            for _ in 0..<count {
                _ = stringRef()
                skipValue()
            }
        }

        mutating func skipValue() {
            switch byte() {
            case ValueTag.string: _ = stringRef()
            case ValueTag.boolTrue, ValueTag.boolFalse: break
            case ValueTag.int: skipVarint()
            case ValueTag.double: offset += 8
            case ValueTag.bytes: offset += Int(varint())
            case ValueTag.array:
                let count = Int(varint())
                for _ in 0..<count { skipValue() }
            default: skipAttributes()
            }
        }
    }

    enum ValueTag {
        static let string: UInt8 = 0, boolFalse: UInt8 = 1, boolTrue: UInt8 = 2, int: UInt8 = 3
        static let double: UInt8 = 4, bytes: UInt8 = 5, array: UInt8 = 6, map: UInt8 = 7
    }

    /// Reads what `append` wrote: the bytes come from this arena, never from
    /// the network, so a bad read is a bug (and traps) rather than input.
    /// Offsets count from the start of the trace's bytes (`base` in the slice).
    private struct Reader {
        let bytes: ArraySlice<UInt8>
        let base: Int
        var offset: Int

        init(bytes: ArraySlice<UInt8>, offset: Int) {
            self.bytes = bytes
            base = bytes.startIndex
            self.offset = offset
        }

        mutating func byte() -> UInt8 {
            defer { offset += 1 }
            return bytes[base + offset]
        }

        /// Eight little-endian bytes, loaded at once after one bounds check.
        mutating func fixed() -> UInt64 {
            precondition(offset >= 0 && offset + 8 <= bytes.count, "span bytes end inside a fixed field")
            let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            offset += 8
            return UInt64(littleEndian: value)
        }

        mutating func varint() -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = bytes[base + offset]
                offset += 1
                value |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }
    }
}

func writeFixed(_ value: UInt64, _ out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

/// A signed difference as a varint's unsigned value, small either side of zero.
func zigzag(_ difference: UInt64) -> UInt64 {
    let signed = Int64(bitPattern: difference)
    return UInt64(bitPattern: (signed << 1) ^ (signed >> 63))
}

private func unzigzag(_ value: UInt64) -> UInt64 {
    (value >> 1) ^ (0 &- (value & 1))
}

/// A span's start as `StartField` says (see `SpanArena`'s layout).
@inline(__always)
func writeStart(_ start: UInt64, _ field: SpanArena.StartField, _ out: inout [UInt8]) {
    switch field {
    case .first: writeFixed(start, &out)
    case .relative(let traceStart): writeVarint(zigzag(start &- traceStart), &out)
    case .omitted: break
    }
}

/// The bytes `writeVarint` writes for `value`.
@inline(__always)
func varintLength(_ value: UInt64) -> Int {
    value < 0x80 ? 1 : (70 &- value.leadingZeroBitCount) / 7
}

/// `writeVarint` into memory with room for it; the bytes written.
@inline(__always)
func putVarint(_ value: UInt64, _ out: UnsafeMutablePointer<UInt8>) -> Int {
    var v = value
    var n = 0
    while v >= 0x80 {
        out[n] = UInt8(truncatingIfNeeded: v) | 0x80
        v >>= 7
        n &+= 1
    }
    out[n] = UInt8(v)
    return n &+ 1
}

func writeVarint(_ value: UInt64, _ out: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
        out.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
}

/// Where an encoded span's shared values go (see `SpanArena.encodeBody`).
protocol SpanTables {
    /// A string of at most `SpanArena.maxInternedLength` bytes that is shared through the table.
    mutating func writeInterned(_ string: String, _ out: inout [UInt8])
    mutating func writeResource(_ resource: Resource, _ out: inout [UInt8])
    mutating func writeScope(_ scope: InstrumentationScope, _ out: inout [UInt8])
}

/// The arena's own tables: values are looked up (and added) as the span is written.
extension SpanArena: SpanTables {
    mutating func writeInterned(_ string: String, _ out: inout [UInt8]) {
        if let index = stringRef(string) {
            writeVarint(UInt64(index) << 1, &out)
        } else {
            Self.writeInline(string, &out)
        }
    }

    mutating func writeResource(_ resource: Resource, _ out: inout [UInt8]) {
        let ref = resourceRef(resource)
        writeVarint(UInt64(ref), &out)
        if ref == 0 { Self.writeInlineResource(resource, &out, tables: &self) }
    }

    mutating func writeScope(_ scope: InstrumentationScope, _ out: inout [UInt8]) {
        let ref = scopeRef(scope)
        writeVarint(UInt64(ref), &out)
        if ref == 0 { Self.writeInlineScope(scope, &out, tables: &self) }
    }
}

extension SpanArena {
    /// Each span's parent index within its trace (-1 for none) as
    /// `TraceTree` links them, from span ids alone: a repeated span id nests
    /// under its first occurrence, a child attaches to the last occurrence of
    /// its parent's id, a span naming itself is top-level; `orphans` marks
    /// spans whose parent id is not in the trace. Cycles are left to the
    /// caller. Scans for small traces, hashes for large ones.
    static func parents(of layouts: [SpanLayout], into parentOf: inout [Int32], orphans: inout [Bool]) {
        let count = layouts.count
        parentOf.removeAll(keepingCapacity: true)
        parentOf.append(contentsOf: repeatElement(-1, count: count))
        orphans.removeAll(keepingCapacity: true)
        orphans.append(contentsOf: repeatElement(false, count: count))
        if count <= 32 {
            // Few spans: scanning beats hashing.
            for i in 0..<count {
                let spanID = layouts[i].spanID
                var first = i
                for j in 0..<i where layouts[j].spanID == spanID {
                    first = j
                    break
                }
                if first != i {
                    parentOf[i] = Int32(first)
                } else if layouts[i].hasParent {
                    let parentID = layouts[i].parentID
                    var last = -1
                    for j in stride(from: count - 1, through: 0, by: -1) where layouts[j].spanID == parentID {
                        last = j
                        break
                    }
                    if last < 0 { orphans[i] = true } else if last != i { parentOf[i] = Int32(last) }
                }
            }
            return
        }
        var occurrences: [UInt64: (first: Int32, last: Int32)] = [:]
        occurrences.reserveCapacity(count)
        for i in 0..<count {
            occurrences[layouts[i].spanID, default: (Int32(i), Int32(i))].last = Int32(i)
        }
        for i in 0..<count {
            let first = occurrences[layouts[i].spanID]?.first ?? Int32(i)
            if first != Int32(i) {
                parentOf[i] = first
            } else if layouts[i].hasParent {
                if let last = occurrences[layouts[i].parentID]?.last {
                    if last != Int32(i) { parentOf[i] = last }
                } else {
                    orphans[i] = true
                }
            }
        }
    }
}
