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
public struct PackedSpans: Sendable {
    /// Where a span's shared value goes in its bytes: `local << 2 | kind`.
    struct Patch: Sendable {
        var offset: UInt32
        var ref: UInt32
    }

    struct PackedSpan: Sendable {
        /// Ends of the span's bytes and patches (they start where the previous span's end).
        var end: UInt32
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
        /// End of the trace's spans in `spans`.
        var spanEnd: Int
    }

    static let stringPatch: UInt32 = 0, resourcePatch: UInt32 = 1, scopePatch: UInt32 = 2

    /// The spans' encodings after their lengths, without the patched values
    /// and without their starts.
    private(set) var bytes: [UInt8] = []
    private(set) var patches: [Patch] = []
    private(set) var spans: [PackedSpan] = []
    private(set) var traces: [TraceRun] = []
    private(set) var strings: [String] = []
    private(set) var resources: [Resource] = []
    private(set) var scopes: [InstrumentationScope] = []
    /// (service, operation) of the spans, for the latency index.
    private(set) var latencyKeys: [(service: String, operation: String)] = []

    public var count: Int { spans.count }
    public var isEmpty: Bool { spans.isEmpty }

    public init() {}

    /// Packs `batch`, trace by trace (each trace's spans in their order,
    /// traces in the order of their first span).
    public init(packing batch: [Span]) {
        guard !batch.isEmpty else { return }
        var order = Array(batch.indices)
        var runs: [TraceRun] = []
        if batch.count > 2 {
            var group: [TraceID: Int] = [:]
            group.reserveCapacity(batch.count)
            var keys: [(group: Int, index: Int)] = []
            keys.reserveCapacity(batch.count)
            for (i, span) in batch.enumerated() {
                let g = group[span.traceID] ?? group.count
                if g == group.count { group[span.traceID] = g }
                keys.append((g, i))
            }
            if group.count > 1 && group.count < batch.count {
                keys.sort { ($0.group, $0.index) < ($1.group, $1.index) }
                order = keys.map(\.index)
            }
        }
        var tables = PieceTables()
        bytes.reserveCapacity(batch.count * 64)
        spans.reserveCapacity(batch.count)
        patches.reserveCapacity(batch.count * 8)
        // Latency keys by the span's resource and name in this batch's
        // tables (two integers), or by the strings for a name too long to share.
        var latencyByLocal: [UInt64: UInt32] = [:]
        var latencyByName: [LatencyPair: UInt32] = [:]
        // In place: a copy of each span would retain and release every field.
        batch.withUnsafeBufferPointer { batch in
            for i in order {
                if runs.last?.id != batch[i].traceID { runs.append(TraceRun(id: batch[i].traceID, spanEnd: 0)) }
                let firstPatch = tables.patches.count
                SpanArena.encodeBody(batch[i], into: &bytes, tables: &tables, start: .omitted)
                // `encodeBody` writes the name first, then the resource.
                let name = tables.patches[firstPatch]
                let named = name.ref & 3 == Self.stringPatch
                let resource = tables.patches[named ? firstPatch + 1 : firstPatch].ref >> 2
                let key: UInt32
                if named {
                    let local = UInt64(resource) << 32 | UInt64(name.ref >> 2)
                    if let known = latencyByLocal[local] {
                        key = known
                    } else {
                        key = UInt32(latencyKeys.count)
                        latencyByLocal[local] = key
                        latencyKeys.append((batch[i].resource.serviceName, batch[i].name))
                    }
                } else {
                    let pair = LatencyPair(service: batch[i].resource.serviceName, operation: batch[i].name)
                    if let known = latencyByName[pair] {
                        key = known
                    } else {
                        key = UInt32(latencyKeys.count)
                        latencyByName[pair] = key
                        latencyKeys.append((pair.service, pair.operation))
                    }
                }
                spans.append(PackedSpan(end: UInt32(bytes.count), patchEnd: UInt32(tables.patches.count), latencyKey: key,
                                        isError: batch[i].isError, duration: batch[i].durationNano,
                                        start: batch[i].startTimeUnixNano))
                runs[runs.count - 1].spanEnd = spans.count
            }
        }
        traces = runs
        patches = tables.patches
        strings = tables.strings
        resources = tables.resources
        scopes = tables.scopes
    }

    private struct LatencyPair: Hashable {
        var service: String
        var operation: String
    }

    /// A batch's own tables: each distinct value is listed once and a patch
    /// marks where it goes; the bytes get nothing there yet.
    private struct PieceTables: SpanTables {
        var patches: [Patch] = []
        var strings: [String] = []
        var stringIndex: [String: UInt32] = [:]
        var resources: [Resource] = []
        var resourceIndex: [ObjectIdentifier: UInt32] = [:]
        var scopes: [InstrumentationScope] = []
        var scopeIndex: [ObjectIdentifier: UInt32] = [:]
        /// A batch's spans mostly share one resource object.
        var lastResource: (object: Resource, local: UInt32)?

        mutating func writeInterned(_ string: String, _ out: inout [UInt8]) {
            let local: UInt32
            if let known = stringIndex[string] {
                local = known
            } else {
                local = UInt32(strings.count)
                stringIndex[string] = local
                strings.append(string)
            }
            patches.append(Patch(offset: UInt32(out.count), ref: local << 2 | PackedSpans.stringPatch))
        }

        mutating func writeResource(_ resource: Resource, _ out: inout [UInt8]) {
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
            patches.append(Patch(offset: UInt32(out.count), ref: local << 2 | PackedSpans.resourcePatch))
        }

        mutating func writeScope(_ scope: InstrumentationScope, _ out: inout [UInt8]) {
            let local: UInt32
            if let known = scopeIndex[ObjectIdentifier(scope)] {
                local = known
            } else {
                local = UInt32(scopes.count)
                scopeIndex[ObjectIdentifier(scope)] = local
                scopes.append(scope)
            }
            patches.append(Patch(offset: UInt32(out.count), ref: local << 2 | PackedSpans.scopePatch))
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

extension SpanArena {
    /// Appends span `i` of `packed` to `out` as `append` would have encoded
    /// it: its bytes with each shared value resolved against the arena's
    /// tables (or written inline past their bounds, counted as `append`
    /// counts), and its start written as `append` writes it for `traceStart`.
    mutating func append(_ packed: PackedSpans, span i: Int, resolution: inout PackedSpans.Resolution,
                         traceStart: UInt64?, to out: inout [UInt8], scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        let start = i == 0 ? 0 : Int(packed.spans[i - 1].end)
        let end = Int(packed.spans[i].end)
        let patchStart = i == 0 ? 0 : Int(packed.spans[i - 1].patchEnd)
        let patchEnd = Int(packed.spans[i].patchEnd)
        packed.bytes.withUnsafeBufferPointer { bytes in
            // The bits, then the start where the encoding has it.
            scratch.append(bytes[start])
            writeStart(packed.spans[i].start, traceStart.map { .relative(to: $0) } ?? .first, &scratch)
            var at = start + 1
            for p in patchStart..<patchEnd {
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
