/// A batch of spans packed where it was decoded, for `TraceStore.add(_:)`:
/// the store's encoding (`SpanArena`) with the shared values (interned
/// strings, resources, scopes) left as references into the batch's own
/// small tables, spans grouped by trace as `TraceStore.add(contentsOf:)`
/// orders them, and what the latency index needs of each span.
///
/// Why: on a dump read on several threads the store's thread was the
/// bottleneck, and most of its work was this: a hash lookup for every name,
/// key and short value, the grouping, reading the `Span` values' fields and
/// freeing them. Here that is done on the decoding thread; the store looks
/// each distinct value up once per batch and copies the bytes between them.
/// A decoder may also write spans here straight from its input (`Builder`'s
/// raw spans), with no `Span` values made at all.
public struct PackedSpans: Sendable {
    /// Where a span's shared value goes in its bytes: `local << 2 | kind`.
    struct Patch: Sendable {
        var offset: UInt32
        var ref: UInt32
    }

    struct PackedSpan: Sendable {
        /// The span's bytes and patches, in `bytes` and `patches`.
        var begin: UInt32
        var end: UInt32
        var patchBegin: UInt32
        var patchEnd: UInt32
        /// Index in `latencyKeys`.
        var latencyKey: UInt32
        var isError: Bool
        var duration: UInt64
        /// Kept out of the bytes: it is written when the span is stored,
        /// relative to its trace's first span there (see `SpanArena`).
        var start: UInt64
    }

    struct TraceRun: Sendable {
        var id: TraceID
        /// End of the trace's spans in `order`.
        var orderEnd: Int
    }

    static let stringPatch: UInt32 = 0, resourcePatch: UInt32 = 1, scopePatch: UInt32 = 2

    /// The spans' encodings after their lengths, without the patched values
    /// and without their starts, in the order they were decoded.
    private(set) var bytes: [UInt8] = []
    private(set) var patches: [Patch] = []
    private(set) var spans: [PackedSpan] = []
    /// Indices in `spans`, trace by trace (`traces`).
    private(set) var order: [UInt32] = []
    private(set) var traces: [TraceRun] = []
    private(set) var strings: [String] = []
    private(set) var resources: [Resource] = []
    private(set) var scopes: [InstrumentationScope] = []
    /// (service, operation) of the spans, for the latency index.
    private(set) var latencyKeys: [(service: String, operation: String)] = []

    public var count: Int { spans.count }
    public var isEmpty: Bool { spans.isEmpty }

    /// What the batch holds while it waits (arrays' capacities; its tables'
    /// strings, resources and scopes counted by their number, not their contents).
    public var approximateBytes: Int {
        bytes.capacity + patches.capacity * MemoryLayout<Patch>.stride + spans.capacity * MemoryLayout<PackedSpan>.stride
            + order.capacity * 4 + traces.capacity * MemoryLayout<TraceRun>.stride
            + (strings.count + latencyKeys.count * 2) * 32 + (resources.count + scopes.count) * 64 + 256
    }

    public init() {}

    /// Packs `batch`, trace by trace (each trace's spans in their order,
    /// traces in the order of their first span).
    public init(packing batch: [Span]) {
        var builder = Builder()
        // In place: a copy of each span would retain and release every field.
        batch.withUnsafeBufferPointer { batch in
            for i in batch.indices { builder.append(batch[i]) }
        }
        self = builder.finish()
    }

    private struct LatencyPair: Hashable {
        var service: String
        var operation: String
    }

    /// A batch's own tables: each distinct value is listed once and a patch
    /// marks where it goes; the bytes get nothing there yet.
    private struct PieceTables: SpanTables {
        var patches = RawList<Patch>(capacity: 1024)
        var strings: [String] = []
        /// Strings by their bytes, for `String` values and a decoder's raw
        /// bytes alike (a cheap keyed hash: `String`'s SipHash was most of
        /// packing a decoded span, every name, key and short value is looked up).
        var byBytes = RawStringTable()
        var resources: [Resource] = []
        var resourceIndex: [ObjectIdentifier: UInt32] = [:]
        var scopes: [InstrumentationScope] = []
        var scopeIndex: [ObjectIdentifier: UInt32] = [:]
        /// A batch's spans mostly share one resource object, and one scope.
        var lastResource: (object: Resource, local: UInt32)?
        var lastScope: (object: InstrumentationScope, local: UInt32)?

        mutating func writeInterned(_ string: String, _ out: inout [UInt8]) {
            let local = byBytes.local(of: string, strings: &strings)
            patches.append(Patch(offset: UInt32(out.count), ref: local << 2 | PackedSpans.stringPatch))
        }

        mutating func writeResource(_ resource: Resource, _ out: inout [UInt8]) {
            patches.append(Patch(offset: UInt32(out.count), ref: resourceLocal(resource) << 2 | PackedSpans.resourcePatch))
        }

        mutating func resourceLocal(_ resource: Resource) -> UInt32 {
            let local: UInt32
            if let last = lastResource, last.object === resource {
                local = last.local
            } else if let known = resourceIndex[ObjectIdentifier(resource)] {
                local = known
            } else {
                local = UInt32(resources.count)
                resourceIndex[ObjectIdentifier(resource)] = local
                resources.append(resource)
            }
            lastResource = (resource, local)
            return local
        }

        mutating func writeScope(_ scope: InstrumentationScope, _ out: inout [UInt8]) {
            writeScope(scope, at: out.count)
        }

        /// The scope's patch at `offset` of the bytes written.
        mutating func writeScope(_ scope: InstrumentationScope, at offset: Int) {
            let local: UInt32
            if let last = lastScope, last.object === scope {
                local = last.local
            } else if let known = scopeIndex[ObjectIdentifier(scope)] {
                local = known
            } else {
                local = UInt32(scopes.count)
                scopeIndex[ObjectIdentifier(scope)] = local
                scopes.append(scope)
            }
            lastScope = (scope, local)
            patches.append(Patch(offset: UInt32(offset), ref: local << 2 | PackedSpans.scopePatch))
        }
    }

    /// What the store has resolved of one batch so far: a value is looked
    /// up when a span first needs it, so the tables (and the latency index's
    /// keys) fill in the same order as when spans are added one by one.
    struct Resolution {
        static let unresolved = UInt32.max
        var strings: [UInt32]
        var resources: [UInt32]
        var scopes: [UInt32]
        var latency: [LatencyIndex.Handle?]

        init(_ packed: PackedSpans) {
            strings = [UInt32](repeating: Self.unresolved, count: packed.strings.count)
            resources = [UInt32](repeating: Self.unresolved, count: packed.resources.count)
            scopes = [UInt32](repeating: Self.unresolved, count: packed.scopes.count)
            latency = [LatencyIndex.Handle?](repeating: nil, count: packed.latencyKeys.count)
        }
    }
}

extension PackedSpans {
    /// An attribute value as a decoder read it: a string's bytes stay in its input.
    public enum RawValue {
        /// Valid UTF-8 without escapes (anything else goes through `Span`).
        case string(UnsafePointer<UInt8>, Int)
        case int(Int64)
        case bool(Bool)
        case double(Double)
    }

    /// A span's fields as a decoder read them, for `Builder.append(raw:)`:
    /// what a `Span` with these fields, its attributes and events (given to
    /// the builder before), and no links, trace state or dropped count holds.
    public struct RawSpan {
        public var traceID: TraceID
        public var spanID: SpanID
        public var parentSpanID: SpanID?
        public var kind: SpanKind
        public var statusCode: SpanStatus.Code
        public var startTimeUnixNano: UInt64
        public var durationNano: UInt64
        public var flags: UInt32
        /// Valid UTF-8 without escapes.
        public var name: UnsafePointer<UInt8>?
        public var nameCount: Int
        public var statusMessage: String

        public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, kind: SpanKind,
                    statusCode: SpanStatus.Code, statusMessage: String, startTimeUnixNano: UInt64, durationNano: UInt64,
                    flags: UInt32, name: UnsafePointer<UInt8>?, nameCount: Int) {
            self.statusMessage = statusMessage
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.kind = kind
            self.statusCode = statusCode
            self.startTimeUnixNano = startTimeUnixNano
            self.durationNano = durationNano
            self.flags = flags
            self.name = name
            self.nameCount = nameCount
        }
    }

    /// Packs spans one at a time, as `Span` values or straight from a
    /// decoder's input (`append(raw:)`), into a `PackedSpans` (`finish`).
    /// Both give the same bytes for the same span. Not copyable: it writes
    /// into memory it owns (`RawList`), which a copy would share.
    public struct Builder: ~Copyable {
        /// The batch's arrays but its bytes and patches, which are written in `body` and `tables.patches`.
        private var packed = PackedSpans()
        /// The spans' encodings, as `packed.bytes` will hold them.
        private var body = RawList<UInt8>(capacity: 1 << 16)
        /// A `Span`'s encoding (`append(_:)`), or a status message's, before it goes to `body`.
        private var encoded: [UInt8] = []
        private var tables = PieceTables()
        private var traceIDs: [TraceID] = []
        /// Latency keys by the span's resource and name in this batch's
        /// tables (two integers), or by the strings for a name too long to share.
        private var latencyByLocal: [UInt64: UInt32] = [:]
        private var latencyCache = [(local: UInt64, key: UInt32)](repeating: (.max, 0), count: 16)
        private var latencyByName: [LatencyPair: UInt32] = [:]
        /// The attributes of the raw span being read, and of its event being read.
        private var spanAttributes = AttributeList(), eventAttributes = AttributeList()
        /// The raw span's events so far, encoded.
        private var events = AttributeList()
        public var attributeCount: Int { spanAttributes.count }

        public init() {}

        public var count: Int { packed.spans.count }

        /// Where a decoder can come back to when what it was reading turns out
        /// unusual (then read again as `Span` values).
        public struct Mark {
            fileprivate var spans: Int
            fileprivate var bytes: Int
            fileprivate var patches: Int
        }

        public var mark: Mark { Mark(spans: packed.spans.count, bytes: body.count, patches: tables.patches.count) }

        /// Forgets the spans appended since `mark`. Table entries they made
        /// stay: the store resolves only what a span refers to.
        public mutating func rollBack(to mark: Mark) {
            packed.spans.removeSubrange(mark.spans...)
            traceIDs.removeSubrange(mark.spans...)
            body.truncate(to: mark.bytes)
            tables.patches.truncate(to: mark.patches)
        }

        public mutating func append(_ span: Span) {
            let begin = body.count
            let firstPatch = tables.patches.count
            encoded.removeAll(keepingCapacity: true)
            SpanArena.encodeBody(span, into: &encoded, tables: &tables, start: .omitted)
            // Patches were placed in `encoded`; `body` has `begin` bytes before it.
            for i in firstPatch..<tables.patches.count { tables.patches[i].offset += UInt32(begin) }
            body.append(encoded)
            // `encodeBody` writes the name first, then the resource.
            let name = tables.patches[firstPatch]
            let named = name.ref & 3 == PackedSpans.stringPatch
            let resource = tables.patches[named ? firstPatch + 1 : firstPatch].ref >> 2
            let key = named ? latencyKey(resource: resource, name: name.ref >> 2)
                : latencyKey(service: span.resource.serviceName, operation: span.name)
            finishSpan(begin: begin, firstPatch: firstPatch, traceID: span.traceID, latencyKey: key,
                       isError: span.isError, duration: span.durationNano, start: span.startTimeUnixNano)
        }

        /// Starts the next raw span: no attributes, no events.
        public mutating func beginSpan() {
            spanAttributes.reset()
            events.reset()
        }

        /// Starts the raw span's attributes again (a second list: the last one counts, as for a `Span`).
        public mutating func beginAttributes() { spanAttributes.reset() }

        /// One attribute of the raw span being read. `key`: valid UTF-8 without escapes.
        public mutating func appendAttribute(key: UnsafePointer<UInt8>, _ keyCount: Int, value: RawValue) {
            Self.write(key, keyCount, value, to: &spanAttributes, table: &tables.byBytes, strings: &tables.strings)
        }

        /// Starts the raw span's events again (a second list: the last one counts).
        public mutating func beginEvents() { events.reset() }

        /// Starts the attributes of the raw span's next event (or again).
        public mutating func beginEventAttributes() { eventAttributes.reset() }

        public mutating func appendEventAttribute(key: UnsafePointer<UInt8>, _ keyCount: Int, value: RawValue) {
            Self.write(key, keyCount, value, to: &eventAttributes, table: &tables.byBytes, strings: &tables.strings)
        }

        /// An event of the raw span, with the attributes given since
        /// `beginEventAttributes`. `name`: valid UTF-8 without escapes.
        public mutating func appendEvent(timeUnixNano: UInt64, name: UnsafePointer<UInt8>?, _ nameCount: Int) {
            events.count += 1
            events.bytes.appendFixed(timeUnixNano)
            Self.writeRaw(name ?? UnsafePointer(bitPattern: 1)!, nameCount, into: events.bytes, patches: events.patches,
                          table: &tables.byBytes, strings: &tables.strings)
            eventAttributes.appendCounted(to: events.bytes, patches: events.patches)
            eventAttributes.reset()
        }

        /// A raw span's or event's attributes as `SpanArena` writes them.
        private struct AttributeList {
            let bytes = RawList<UInt8>(capacity: 256)
            let patches = RawList<Patch>(capacity: 16)
            var count = 0
            /// What the first "error" attribute says (`Span.isError`), nil without one.
            var error: Bool?

            mutating func reset() {
                bytes.removeAll()
                patches.removeAll()
                count = 0
                error = nil
            }

            /// Appends the count and the list to `out`, patches moved with the bytes.
            func appendCounted(to out: RawList<UInt8>, patches out2: RawList<Patch>) {
                out.appendVarint(UInt64(count))
                guard count > 0 else { return }
                let shift = UInt32(out.count)
                out.append(bytes.base, bytes.count)
                out2.reserve(patches.count)
                for i in 0..<patches.count {
                    let patch = patches[i]
                    out2.append(Patch(offset: patch.offset + shift, ref: patch.ref))
                }
            }
        }

        private static func write(_ key: UnsafePointer<UInt8>, _ keyCount: Int, _ value: RawValue, to list: inout AttributeList,
                                  table: inout RawStringTable, strings: inout [String]) {
            list.count += 1
            writeRaw(key, keyCount, into: list.bytes, patches: list.patches, table: &table, strings: &strings)
            switch value {
            case .string(let p, let n):
                list.bytes.append(SpanArena.ValueTag.string)
                writeRaw(p, n, into: list.bytes, patches: list.patches, table: &table, strings: &strings)
            case .bool(let b):
                list.bytes.append(b ? SpanArena.ValueTag.boolTrue : SpanArena.ValueTag.boolFalse)
            case .int(let i):
                list.bytes.append(SpanArena.ValueTag.int)
                list.bytes.appendVarint(UInt64(bitPattern: (i << 1) ^ (i >> 63)))
            case .double(let d):
                list.bytes.append(SpanArena.ValueTag.double)
                list.bytes.appendFixed(d.bitPattern)
            }
            if list.error == nil, spells(key, keyCount, "error") {
                switch value {
                case .bool(let b): list.error = b
                case .string(let p, let n): list.error = spells(p, n, "true")
                default: list.error = false
                }
            }
        }

        private static func spells(_ p: UnsafePointer<UInt8>, _ n: Int, _ word: StaticString) -> Bool {
            n == word.utf8CodeUnitCount && RawStringTable.equal(p, word.utf8Start, n)
        }

        /// A span read straight from a decoder's input, with the attributes
        /// and events given since `beginSpan`: the bytes `append` writes for
        /// the `Span` with these fields.
        public mutating func append(raw span: RawSpan, resource: Resource, scope: InstrumentationScope) {
            let begin = body.count
            let firstPatch = tables.patches.count
            let extras = scope !== InstrumentationScope.none || events.count > 0 || !span.statusMessage.isEmpty
            let isError = span.statusCode == .error || spanAttributes.error == true
            var bits = span.kind.rawValue & 0x7
            bits |= (span.statusCode.rawValue & 0x3) << 3
            if span.parentSpanID != nil { bits |= 1 << 5 }
            if isError { bits |= 1 << 6 }
            if extras { bits |= 1 << 7 }
            body.append(bits)
            body.appendFixed(span.spanID.raw)
            if let parent = span.parentSpanID { body.appendFixed(parent.raw) }
            body.appendVarint(span.durationNano)
            body.appendVarint(UInt64(span.flags) << 1)
            let name = span.name ?? UnsafePointer(bitPattern: 1)!
            let nameLocal = Self.writeRaw(name, span.nameCount, into: body, patches: tables.patches,
                                          table: &tables.byBytes, strings: &tables.strings)
            let resourceLocal = tables.resourceLocal(resource)
            tables.patches.append(Patch(offset: UInt32(body.count), ref: resourceLocal << 2 | PackedSpans.resourcePatch))
            spanAttributes.appendCounted(to: body, patches: tables.patches)
            if extras {
                if span.statusMessage.isEmpty {
                    body.append(1)  // `SpanArena.writeInline` of "", as most spans have
                } else {
                    encoded.removeAll(keepingCapacity: true)
                    SpanArena.writeInline(span.statusMessage, &encoded)
                    body.append(encoded)
                }
                tables.writeScope(scope, at: body.count)
                body.append(1)  // no trace state
                events.appendCounted(to: body, patches: tables.patches)
                body.append(0)  // links
                body.append(0)  // dropped attributes
            }
            let key: UInt32
            if let nameLocal {
                key = latencyKey(resource: resourceLocal, name: nameLocal)
            } else {
                key = latencyKey(service: resource.serviceName,
                                 operation: String(decoding: UnsafeBufferPointer(start: name, count: span.nameCount), as: UTF8.self))
            }
            finishSpan(begin: begin, firstPatch: firstPatch, traceID: span.traceID, latencyKey: key, isError: isError,
                       duration: span.durationNano, start: span.startTimeUnixNano)
            beginSpan()
        }

        /// The batch, trace by trace as `TraceStore.add(contentsOf:)` orders
        /// a batch's spans; the builder starts again empty.
        public mutating func finish() -> PackedSpans {
            var out = packed
            out.bytes = body.array()
            out.patches = tables.patches.array()
            out.strings = tables.strings
            out.resources = tables.resources
            out.scopes = tables.scopes
            (out.order, out.traces) = Self.group(traceIDs)
            self = Builder()
            return out
        }

        private mutating func finishSpan(begin: Int, firstPatch: Int, traceID: TraceID, latencyKey: UInt32, isError: Bool,
                                         duration: UInt64, start: UInt64) {
            packed.spans.append(PackedSpan(
                begin: UInt32(begin), end: UInt32(body.count), patchBegin: UInt32(firstPatch),
                patchEnd: UInt32(tables.patches.count), latencyKey: latencyKey, isError: isError, duration: duration,
                start: start))
            traceIDs.append(traceID)
        }

        private mutating func latencyKey(resource: UInt32, name: UInt32) -> UInt32 {
            let local = UInt64(resource) << 32 | UInt64(name)
            // A few (service, operation) pairs recur span after span: a small
            // direct-mapped cache before the dictionary (whose hashing was a
            // dictionary lookup a span).
            let way = Int(truncatingIfNeeded: (UInt64(resource) &* 0x9E37_79B9 ^ UInt64(name)) & 15)
            if latencyCache[way].local == local { return latencyCache[way].key }
            if let known = latencyByLocal[local] {
                latencyCache[way] = (local, known)
                return known
            }
            let key = UInt32(packed.latencyKeys.count)
            latencyByLocal[local] = key
            latencyCache[way] = (local, key)
            packed.latencyKeys.append((tables.resources[Int(resource)].serviceName, tables.strings[Int(name)]))
            return key
        }

        private mutating func latencyKey(service: String, operation: String) -> UInt32 {
            let pair = LatencyPair(service: service, operation: operation)
            if let known = latencyByName[pair] { return known }
            let key = UInt32(packed.latencyKeys.count)
            latencyByName[pair] = key
            packed.latencyKeys.append((service, operation))
            return key
        }

        /// Writes a string given by its bytes as `SpanArena.writeString`
        /// writes an interned one: a reference when short, else inline. Its
        /// local index when it is a reference.
        @discardableResult
        private static func writeRaw(_ p: UnsafePointer<UInt8>, _ n: Int, into out: RawList<UInt8>, patches: RawList<Patch>,
                                     table: inout RawStringTable, strings: inout [String]) -> UInt32? {
            guard n <= SpanArena.maxInternedLength else {
                out.appendVarint(UInt64(n) << 1 | 1)
                out.append(p, n)
                return nil
            }
            let local = table.local(p, n, strings: &strings)
            patches.append(Patch(offset: UInt32(out.count), ref: local << 2 | PackedSpans.stringPatch))
            return local
        }

        /// `order` and runs for spans of these traces: as `add(contentsOf:)`
        /// takes them (each trace's spans in their order, traces in the
        /// order of their first span; a batch of one trace, of all
        /// different traces or of at most two spans in its own order).
        private static func group(_ ids: [TraceID]) -> ([UInt32], [TraceRun]) {
            let n = ids.count
            var groupOf = [Int32](repeating: 0, count: n)
            var firsts: [Int] = []
            if n > 2 {
                // Open addressing on the ids, keyed per process (as `TraceTable`).
                var size = 16
                while size < 2 * n { size <<= 1 }
                let mask = size - 1
                var buckets = [Int32](repeating: -1, count: size)
                for i in 0..<n {
                    let id = ids[i]
                    var bucket = RawStringTable.mix(id.high ^ RawStringTable.seed, id.low) & mask
                    while true {
                        let g = buckets[bucket]
                        if g < 0 {
                            buckets[bucket] = Int32(firsts.count)
                            groupOf[i] = Int32(firsts.count)
                            firsts.append(i)
                            break
                        }
                        if ids[firsts[Int(g)]] == id {
                            groupOf[i] = g
                            break
                        }
                        bucket = (bucket + 1) & mask
                    }
                }
            }
            guard n > 2, firsts.count > 1, firsts.count < n else {
                var runs: [TraceRun] = []
                for i in 0..<n {
                    if let last = runs.last, last.id == ids[i] { continue }
                    if !runs.isEmpty { runs[runs.count - 1].orderEnd = i }
                    runs.append(TraceRun(id: ids[i], orderEnd: n))
                }
                return ((0..<n).map { UInt32($0) }, runs)
            }
            // A stable counting sort by group.
            var ends = [Int](repeating: 0, count: firsts.count)
            for g in groupOf { ends[Int(g)] += 1 }
            var total = 0
            for g in ends.indices {
                total += ends[g]
                ends[g] = total
            }
            var next = [Int](repeating: 0, count: firsts.count)
            for g in 1..<firsts.count { next[g] = ends[g - 1] }
            var order = [UInt32](repeating: 0, count: n)
            for i in 0..<n {
                let g = Int(groupOf[i])
                order[next[g]] = UInt32(i)
                next[g] += 1
            }
            let runs = firsts.indices.map { TraceRun(id: ids[firsts[$0]], orderEnd: ends[$0]) }
            return (order, runs)
        }
    }
}

extension SpanArena {
    /// Whether every value of `packed` can go in the tables (none written
    /// inline past a bound), whatever of it is already there.
    func hasRoom(for packed: PackedSpans) -> Bool {
        strings.count + packed.strings.count <= tableCapacity
            && resources.count + packed.resources.count <= objectTableCapacity
            && scopes.count + packed.scopes.count <= objectTableCapacity
            && packed.resources.allSatisfy { $0.attributes.count <= Self.maxTabledAttributes }
            && packed.scopes.allSatisfy { $0.attributes.count <= Self.maxTabledAttributes }
    }

    /// What `append(_:span:...)` writes for one trace's spans of a piece
    /// (`order`), one after the other, when the tables have room for every
    /// value of the piece (`hasRoom(for:)`), so that every value resolves to
    /// a table reference: the values are resolved first, in the same order,
    /// then each span is written once into memory of the right size rather
    /// than appended piecewise (a tenth of a dump load's instructions were
    /// those appends). The bytes are `buffer[..<n]`, n returned; nil, with
    /// nothing written, if a value did not resolve (no room after all).
    mutating func appendRun(_ packed: PackedSpans, order: ArraySlice<UInt32>, resolution: inout PackedSpans.Resolution,
                            traceStart: UInt64?, into buffer: inout [UInt8], lengths: inout [Int]) -> Int? {
        let unresolved = PackedSpans.Resolution.unresolved
        lengths.removeAll(keepingCapacity: true)
        var total = 0
        var base = traceStart
        for i in order {
            let span = packed.spans[Int(i)]
            var length = Int(span.end &- span.begin)
            if let base {
                length &+= varintLength(zigzag(span.start &- base))
            } else {
                length &+= 8
                base = span.start
            }
            for p in Int(span.patchBegin)..<Int(span.patchEnd) {
                let ref = packed.patches[p].ref
                let local = Int(ref >> 2)
                switch ref & 3 {
                case PackedSpans.stringPatch:
                    if resolution.strings[local] == unresolved {
                        guard let made = stringRef(packed.strings[local]) else { return nil }
                        resolution.strings[local] = made
                    }
                case PackedSpans.resourcePatch:
                    if resolution.resources[local] == unresolved {
                        let made = resourceRef(packed.resources[local])
                        guard made != 0 else { return nil }
                        resolution.resources[local] = made
                    }
                default:
                    if resolution.scopes[local] == unresolved {
                        let made = scopeRef(packed.scopes[local])
                        guard made != 0 else { return nil }
                        resolution.scopes[local] = made
                    }
                }
                length &+= varintLength(Self.resolvedRef(ref, resolution))
            }
            lengths.append(length)
            total &+= varintLength(UInt64(length)) &+ length
        }
        if buffer.count < total { buffer = [UInt8](repeating: 0, count: Swift.max(total, 2 * buffer.count)) }
        let written = buffer.withUnsafeMutableBufferPointer { out -> Int in
            packed.bytes.withUnsafeBufferPointer { bytes -> Int in
                guard let o = out.baseAddress, let b = bytes.baseAddress else { return 0 }
                var w = 0
                var base = traceStart
                var n = 0
                for i in order {
                    let span = packed.spans[Int(i)]
                    let start = Int(span.begin)
                    w &+= putVarint(UInt64(lengths[n]), o + w)
                    n &+= 1
                    o[w] = b[start]
                    w &+= 1
                    if let base {
                        w &+= putVarint(zigzag(span.start &- base), o + w)
                    } else {
                        withUnsafeBytes(of: span.start.littleEndian) { UnsafeMutableRawPointer(o + w).copyMemory(from: $0.baseAddress!, byteCount: 8) }
                        w &+= 8
                        base = span.start
                    }
                    var at = start &+ 1
                    for p in Int(span.patchBegin)..<Int(span.patchEnd) {
                        let patch = packed.patches[p]
                        let offset = Int(patch.offset)
                        if offset > at {
                            (o + w).update(from: b + at, count: offset &- at)
                            w &+= offset &- at
                        }
                        at = offset
                        w &+= putVarint(Self.resolvedRef(patch.ref, resolution), o + w)
                    }
                    let end = Int(span.end)
                    if end > at {
                        (o + w).update(from: b + at, count: end &- at)
                        w &+= end &- at
                    }
                }
                return w
            }
        }
        return written
    }

    /// The varint a resolved patch writes: a string's table index (its low
    /// bit clear: not inline), a resource's or scope's reference.
    @inline(__always)
    private static func resolvedRef(_ ref: UInt32, _ resolution: PackedSpans.Resolution) -> UInt64 {
        let local = Int(ref >> 2)
        switch ref & 3 {
        case PackedSpans.stringPatch: return UInt64(resolution.strings[local]) << 1
        case PackedSpans.resourcePatch: return UInt64(resolution.resources[local])
        default: return UInt64(resolution.scopes[local])
        }
    }

    /// Appends span `i` of `packed` to `out` as `append` would have encoded
    /// it: its bytes with each shared value resolved against the arena's
    /// tables (or written inline past their bounds, counted as `append`
    /// counts), and its start written as `append` writes it for `traceStart`.
    mutating func append(_ packed: PackedSpans, span i: Int, resolution: inout PackedSpans.Resolution,
                         traceStart: UInt64?, to out: inout [UInt8], scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        let span = packed.spans[i]
        let start = Int(span.begin)
        let end = Int(span.end)
        packed.bytes.withUnsafeBufferPointer { bytes in
            // The bits, then the start where the encoding has it.
            scratch.append(bytes[start])
            writeStart(span.start, traceStart.map { .relative(to: $0) } ?? .first, &scratch)
            var at = start + 1
            for p in Int(span.patchBegin)..<Int(span.patchEnd) {
                let patch = packed.patches[p]
                let offset = Int(patch.offset)
                if offset > at { scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[at..<offset])) }
                at = offset
                let local = Int(patch.ref >> 2)
                switch patch.ref & 3 {
                case PackedSpans.stringPatch:
                    var index = resolution.strings[local]
                    if index == PackedSpans.Resolution.unresolved, let made = stringRef(packed.strings[local]) {
                        index = made
                        resolution.strings[local] = made
                    }
                    if index != PackedSpans.Resolution.unresolved {
                        writeVarint(UInt64(index) << 1, &scratch)
                    } else {
                        // Past the table's bound: `stringRef` counted it, as each write is counted.
                        Self.writeInline(packed.strings[local], &scratch)
                    }
                case PackedSpans.resourcePatch:
                    var ref = resolution.resources[local]
                    if ref == PackedSpans.Resolution.unresolved {
                        ref = resourceRef(packed.resources[local])
                        if ref != 0 { resolution.resources[local] = ref }
                    }
                    writeVarint(UInt64(ref), &scratch)
                    if ref == 0 { Self.writeInlineResource(packed.resources[local], &scratch, tables: &self) }
                default:
                    var ref = resolution.scopes[local]
                    if ref == PackedSpans.Resolution.unresolved {
                        ref = scopeRef(packed.scopes[local])
                        if ref != 0 { resolution.scopes[local] = ref }
                    }
                    writeVarint(UInt64(ref), &scratch)
                    if ref == 0 { Self.writeInlineScope(packed.scopes[local], &scratch, tables: &self) }
                }
            }
            if end > at { scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[at..<end])) }
        }
        writeVarint(UInt64(scratch.count), &out)
        out.append(contentsOf: scratch)
    }
}

/// Strings by their bytes, each listed once (in the caller's `strings`),
/// hashed by a cheap keyed hash rather than `String`'s SipHash: a batch's
/// table (`PackedSpans.Builder`, a `String` made once per distinct string
/// it holds) and the store's (`SpanArena`, which resolves each batch's).
struct RawStringTable {
    /// Per process, so colliding strings cannot be prepared in advance.
    static let seed = UInt64.random(in: .min ... .max)
    /// `seed`, read once: a `static let` is a check on every read.
    private let key = RawStringTable.seed
    private var bytes: [UInt8] = []
    /// Each string's place in `bytes` and local index.
    private var entries: [(offset: UInt32, count: UInt32, local: UInt32)] = []
    /// Indices in `entries` + 1, 0 for none; open addressing.
    private var buckets = [UInt32](repeating: 0, count: 256)

    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> Int {
        var h = a &* 0x9E37_79B9_7F4A_7C15 ^ b
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }

    /// The two halves of the full 128-bit product folded into one word (as
    /// wyhash mixes): one multiply that spreads every input bit.
    @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// A keyed hash of `p[0..<n]`, every byte read once and none outside
    /// the string: words, then the last word overlapping; short strings by
    /// two overlapping halves. On a dump load this hashes every name, key
    /// and value of every span (a word a time with a tail byte by byte it
    /// was ~96 instructions a string).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int, seed: UInt64 = seed) -> Int {
        let raw = UnsafeRawPointer(p)
        var a: UInt64, b: UInt64
        var h = seed ^ UInt64(truncatingIfNeeded: n)
        if n >= 8 {
            var i = 0
            while i &+ 16 < n {
                h = fold(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0xA076_1D64_78BD_642F,
                         raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self) ^ h)
                i &+= 16
            }
            // The last 16 bytes (or the whole of 8 to 16), overlapping what came before.
            a = raw.loadUnaligned(fromByteOffset: n > 16 ? n &- 16 : 0, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 {
            a = UInt64(raw.loadUnaligned(as: UInt32.self))
            b = UInt64(raw.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
        } else if n > 0 {
            a = UInt64(p[0]) << 16 | UInt64(p[n &>> 1]) << 8 | UInt64(p[n &- 1])
            b = 0
        } else {
            a = 0
            b = 0
        }
        return Int(truncatingIfNeeded: fold(a ^ 0xE703_7ED1_A0B4_28DB ^ h, b ^ 0x8EBC_6AF0_9C88_C6E3 ^ seed))
    }

    /// Whether `a[0..<n]` and `b[0..<n]` are the same bytes: words, the last
    /// word overlapping, short strings by two overlapping halves.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b)
        if n >= 8 {
            var i = 0
            while i &+ 8 < n {
                if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i &+= 8
            }
            return x.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        }
        if n >= 4 {
            return x.loadUnaligned(as: UInt32.self) == y.loadUnaligned(as: UInt32.self)
                && x.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self) == y.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        var i = 0
        while i < n {
            if a[i] != b[i] { return false }
            i &+= 1
        }
        return true
    }

    /// The local index of `string`, listed as it is when new.
    mutating func local(of string: String, strings: inout [String]) -> UInt32 {
        var bytes = string
        return bytes.withUTF8 { local($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, strings: &strings, made: string) }
    }

    /// The index of the string with these bytes, nil when it is not listed.
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32? {
        probe(p, n).local
    }

    /// The string's index when listed, else the empty bucket it would take.
    @inline(__always)
    private func probe(_ p: UnsafePointer<UInt8>, _ n: Int) -> (local: UInt32?, bucket: Int) {
        let mask = buckets.count - 1
        var bucket = Self.hash(p, n, seed: key) & mask
        while true {
            let e = Int(buckets[bucket])
            if e == 0 { return (nil, bucket) }
            let entry = entries[e - 1]
            if Int(entry.count) == n,
               bytes.withUnsafeBufferPointer({ Self.equal($0.baseAddress! + Int(entry.offset), p, n) }) {
                return (entry.local, bucket)
            }
            bucket = (bucket + 1) & mask
        }
    }

    /// The local index of the string with these bytes, listed (in
    /// `strings`, `made` or made from the bytes) when new.
    mutating func local(_ p: UnsafePointer<UInt8>, _ n: Int, strings: inout [String], made: String? = nil) -> UInt32 {
        let (found, bucket) = probe(p, n)
        if let found { return found }
        let local = UInt32(strings.count)
        strings.append(made ?? String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        entries.append((UInt32(bytes.count), UInt32(n), local))
        bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        if entries.count * 2 > buckets.count {
            buckets = [UInt32](repeating: 0, count: buckets.count * 2)
            let mask = buckets.count - 1
            for (i, entry) in entries.enumerated() {
                var b = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress! + Int(entry.offset), Int(entry.count), seed: key) } & mask
                while buckets[b] != 0 { b = (b + 1) & mask }
                buckets[b] = UInt32(i + 1)
            }
        } else {
            buckets[bucket] = UInt32(entries.count)
        }
        return local
    }
}
