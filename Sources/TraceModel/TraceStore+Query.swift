import Dispatch
import Synchronization

extension TraceStore {
    /// Every stored trace the query matches, in no particular order. Reads
    /// the packed form: summaries decide first, then span headers, and
    /// attributes only for the terms that need them. A large store is
    /// evaluated on all cores: first each term's answer for every string of
    /// the arena's table, then chunks of traces, where a string test is an
    /// array lookup.
    public func traceIDs(matching query: TraceQuery) -> [TraceID] {
        traceIDs(matching: query, parallelAbove: Self.parallelThreshold)
    }

    /// `parallelAbove`: the store size from which the parallel path runs (tests force either path).
    func traceIDs(matching query: TraceQuery, parallelAbove: Int) -> [TraceID] {
        if query.isEmpty { return traces.ids }
        let program = query.program
        let slotCount = traces.slotCount
        if traces.count < parallelAbove {
            // Few traces: one thread, string answers cached as they are met.
            var view = PackedTraceView(arena: arena, program: program, strings: .lazy)
            var found: [TraceID] = []
            view.evaluate(traces, slots: 0..<slotCount, into: &found)
            return found
        }
        let traces = self.traces
        let arena = self.arena
        let text = query.text
        let answers = TableAnswers(text: text, program: program, strings: arena.strings)
        // Workers take chunks of slots in turn, so a chunk of wide traces
        // does not hold back the others.
        let chunkSize = max(256, slotCount / Self.chunksPerEvaluation)
        let chunkCount = (slotCount + chunkSize - 1) / chunkSize
        let results = Mutex<[TraceID]>([])
        Self.inParallel(chunks: chunkCount, text: text, program: program) { program, chunks in
            var view = PackedTraceView(arena: arena, program: program, strings: .precomputed(answers))
            var found: [TraceID] = []
            while let chunk = chunks() {
                view.evaluate(traces, slots: chunk * chunkSize..<Swift.min(slotCount, (chunk + 1) * chunkSize), into: &found)
            }
            results.withLock { $0.append(contentsOf: found) }
        }
        return results.withLock { $0 }
    }

    /// Whether one stored trace matches (false when the store does not hold
    /// it). Cheap enough to ask of each trace as it changes: no table work.
    public func matches(_ query: TraceQuery, traceID: TraceID) -> Bool {
        guard let record = traces[traceID] else { return false }
        if query.isEmpty { return true }
        var view = PackedTraceView(arena: arena, program: query.program, strings: .uncached)
        return view.evaluate(id: traceID, record: record, packed: traces.bytes(of: record))
    }

    /// Runs `work` on up to `workers` threads, each with its own copy of the
    /// program (reference counts on one shared tree would bounce a cache
    /// line between the cores at every node) and a source of chunk numbers,
    /// each handed out once. A worker that starts after the chunks are gone
    /// does nothing.
    static func inParallel(chunks: Int, text: String, program: QueryProgram,
                           _ work: @Sendable (QueryProgram, () -> Int?) -> Void) {
        let nextChunk = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(workers, chunks)) { _ in
            var first: Int? = nextChunk.add(1, ordering: .relaxed).oldValue
            guard let taken = first, taken < chunks else { return }
            let own = (try? TraceQuery.parse(text))?.program ?? program
            work(own) {
                if let chunk = first {
                    first = nil
                    return chunk
                }
                let chunk = nextChunk.add(1, ordering: .relaxed).oldValue
                return chunk < chunks ? chunk : nil
            }
        }
    }

    /// Below this many traces one thread is quicker than starting more.
    static let parallelThreshold = 8192
    static let chunksPerEvaluation = 64
    /// More than the cores of most machines: a worker that starts after the
    /// chunks are gone just ends.
    static let workers = 16
}

/// Each leaf's answer for every string of the arena's table, worked out
/// once per evaluation (in parallel) before the traces are scanned: the
/// table holds far fewer strings than the spans refer to, and a worker
/// that found them lazily would test each one again.
struct TableAnswers: Sendable {
    let leafCount: Int
    /// At `index * leafCount + leaf`: 1 no, 2 yes; 0 for a leaf not worked out here.
    let strings: [UInt8]
    /// The same for attribute keys (`tag` leaves), empty when there are none.
    let keys: [UInt8]

    init(text: String, program: QueryProgram, strings table: [String]) {
        let leafCount = program.leaves.count
        self.leafCount = leafCount
        // A service test reads table strings only for resources written
        // inline (rare): those are answered as they come.
        let readsStrings = program.leaves.map { leaf in
            if case .service = leaf { return false }
            return leaf.readsStrings
        }
        let readsKeys = program.leaves.map { if case .tag = $0 { return true } else { return false } }
        guard readsStrings.contains(true), !table.isEmpty else {
            strings = []
            keys = []
            return
        }
        let withKeys = readsKeys.contains(true)
        let chunkSize = 4096
        let chunks = (table.count + chunkSize - 1) / chunkSize
        let parts = Mutex<[(chunk: Int, strings: [UInt8], keys: [UInt8])]>([])
        TraceStore.inParallel(chunks: chunks, text: text, program: program) { program, next in
            while let chunk = next() {
                let range = chunk * chunkSize..<min(table.count, (chunk + 1) * chunkSize)
                var strings = [UInt8](repeating: 0, count: range.count * leafCount)
                var keys = [UInt8](repeating: 0, count: withKeys ? range.count * leafCount : 0)
                for leaf in 0..<leafCount where readsStrings[leaf] {
                    let test = program.leaves[leaf]
                    for (row, index) in range.enumerated() {
                        strings[row * leafCount + leaf] = test.stringPart(table[index]) ? 2 : 1
                        if readsKeys[leaf] { keys[row * leafCount + leaf] = test.keyPart(table[index]) ? 2 : 1 }
                    }
                }
                parts.withLock { $0.append((chunk, strings, keys)) }
            }
        }
        var strings: [UInt8] = []
        var keys: [UInt8] = []
        strings.reserveCapacity(table.count * leafCount)
        for part in parts.withLock({ $0 }).sorted(by: { $0.chunk < $1.chunk }) {
            strings.append(contentsOf: part.strings)
            keys.append(contentsOf: part.keys)
        }
        self.strings = strings
        self.keys = keys
    }
}

extension TraceStore.Record {
    /// What a query reads of a record besides its bytes, as plain values.
    struct QueryFacts {
        var spanCount: Int32
        var summary: TraceStore.PackedSummary
        /// The packed summary is up to date with the bytes.
        var summaryIsFresh: Bool
    }

    var queryFacts: QueryFacts {
        QueryFacts(spanCount: spanCount, summary: summary, summaryIsFresh: hasSummary && !isDirty)
    }
}

/// One stored trace, read from its packed bytes for a query. Reused from
/// trace to trace by one worker: the span layouts array keeps its capacity,
/// and the per-leaf caches (answers for each table string and resource)
/// fill once per evaluation, so a test like `op=X` costs an integer
/// lookup per span rather than a string compare.
struct PackedTraceView: QueryTraceView {
    private let arena: SpanArena
    private let program: QueryProgram
    private let cachesResources: Bool
    /// Answers worked out during the scan are kept (`lazy`).
    private let keepsAnswers: Bool
    /// Per table string, per leaf (at `index * leafCount + leaf`): 0 not
    /// asked yet, 1 no, 2 yes. Filled before the scan (`precomputed`) or as
    /// strings are met (`lazy`).
    private var stringAnswers: [UInt8] = []
    private var keyAnswers: [UInt8] = []
    private let leafCount: Int
    /// Per leaf, per resource table entry.
    private var resourceAnswers: [UInt8] = []
    /// Resource table entry -> an id per distinct service name.
    private var serviceIDs: [Int32] = []
    private var serviceIDByName: [String: Int32] = [:]

    private(set) var traceID = TraceID(low: 0)
    private(set) var spanCount = 0
    private var summary = TraceStore.PackedSummary()
    private var summaryIsFresh = false
    /// The record's bytes, borrowed for one `evaluate` call only.
    private var bytes = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var layouts: [SpanArena.SpanLayout] = []
    private var layoutsLoaded = false
    private var batch: [(TraceTable.Slot, TraceStore.Record.QueryFacts)] = []
    /// The bytes read to touch each batch, kept so that the loads are not optimised away.
    private(set) var touchedSum = 0
    private var derived: DerivedFacts?
    /// Tree facts of the current trace, in arrays kept from trace to trace.
    private var treeReady = false
    private var selfTimesReady = false
    private var parentOf: [Int32] = []
    private var treeParent: [Int32] = []
    private var orphans: [Bool] = []
    private var selfTimes: [UInt64] = []

    /// What the store's summary would say, for a trace whose summary is stale.
    private struct DerivedFacts {
        var duration: UInt64
        var errorCount: Int
        var isIncomplete: Bool
        var root: Int?
    }

    /// How table strings' answers are had.
    enum StringAnswers {
        /// Worked out before the scan, for every table string.
        case precomputed(TableAnswers)
        /// Worked out when first met, then kept.
        case lazy
        /// Worked out each time: for one trace, the table is not worth it.
        case uncached
    }

    init(arena: SpanArena, program: QueryProgram, strings mode: StringAnswers) {
        self.arena = arena
        self.program = program
        if case .uncached = mode { cachesResources = false } else { cachesResources = true }
        if case .lazy = mode { keepsAnswers = true } else { keepsAnswers = false }
        leafCount = program.leaves.count
        switch mode {
        case .precomputed(let answers):
            stringAnswers = answers.strings
            keyAnswers = answers.keys
        case .lazy:
            stringAnswers = [UInt8](repeating: 0, count: arena.strings.count * leafCount)
            if program.leaves.contains(where: { if case .tag = $0 { return true } else { return false } }) {
                keyAnswers = [UInt8](repeating: 0, count: arena.strings.count * leafCount)
            }
        case .uncached:
            break
        }
    }

    /// Evaluates the traces in `slots` (free slots skipped), appending the ids that match.
    mutating func evaluate(_ traces: TraceTable, slots: Range<Int>, into found: inout [TraceID]) {
        var next = slots.lowerBound
        while next < slots.upperBound {
            batch.removeAll(keepingCapacity: true)
            var touched = 0
            while next < slots.upperBound, batch.count < 16 {
                let index = TraceTable.Slot(next)
                next += 1
                guard traces[index].isLive else { continue }
                // Plain values in one read: each separate access would copy
                // the record (and retain its bytes).
                let facts = traces[index].record.queryFacts
                // Most traces are decided by their summary: skip their bytes.
                if facts.summaryIsFresh {
                    begin(id: traces[index].id, facts: facts)
                    if !passesRequiredFacts() { continue }
                    if !program.readsSpans {
                        if program.evaluate(&self) { found.append(traceID) }
                        continue
                    }
                }
                batch.append((index, facts))
            }
            // Touch every cache line of the batch's bytes before evaluating
            // them, in a loop of nothing else: the loads are independent, so
            // the memory system fetches them together, rather than stalling
            // on one miss after another (traces that grew apart, or were
            // stored apart, lie in different places; with ~3 spans per trace
            // the stalls cost more than the evaluation itself).
            // (Subscripts, not a slice: a slice makes the compiler retain
            // the page, and an atomic retain waits for the miss it causes.)
            for (index, _) in batch {
                let ref = traces[index].record.packed
                let count = traces.spanBytes.count(of: ref)
                var offset = 0
                while offset < count {
                    touched &+= Int(traces.spanBytes.byte(offset, of: ref))
                    offset += 64
                }
            }
            touchedSum &+= touched
            for (index, facts) in batch {
                begin(id: traces[index].id, facts: facts)
                let matched = traces.bytes(of: traces[index].record).withUnsafeBufferPointer { buffer in
                    bytes = buffer
                    defer { bytes = UnsafeBufferPointer(start: nil, count: 0) }
                    return program.evaluate(&self)
                }
                if matched { found.append(traceID) }
            }
        }
    }

    private mutating func passesRequiredFacts() -> Bool {
        // By index: a for-in would retain the array once per trace.
        var i = 0
        while i < program.requiredFacts.count {
            if !QueryCode.holds(program.requiredFacts[i], &self) { return false }
            i += 1
        }
        return true
    }

    /// Whether the program matches one stored trace, whose bytes are `packed`.
    mutating func evaluate(id: TraceID, record: TraceStore.Record, packed: ArraySlice<UInt8>) -> Bool {
        begin(id: id, facts: record.queryFacts)
        return packed.withUnsafeBufferPointer { buffer in
            bytes = buffer
            defer { bytes = UnsafeBufferPointer(start: nil, count: 0) }
            return program.evaluate(&self)
        }
    }

    private mutating func begin(id: TraceID, facts: TraceStore.Record.QueryFacts) {
        traceID = id
        spanCount = Int(facts.spanCount)
        summary = facts.summary
        summaryIsFresh = facts.summaryIsFresh
        layoutsLoaded = false
        derived = nil
        treeReady = false
        selfTimesReady = false
    }

    /// The bytes copied, for the rare paths that reuse the store's readers.
    private var copiedBytes: ArraySlice<UInt8> { ArraySlice(bytes) }

    private mutating func loadLayouts() {
        guard !layoutsLoaded else { return }
        layoutsLoaded = true
        layouts.removeAll(keepingCapacity: true)
        SpanArena.layouts(of: bytes, into: &layouts)
    }

    private mutating func derive() -> DerivedFacts {
        if let derived { return derived }
        let source = StoredSpans(arena: arena, bytes: copiedBytes, count: spanCount)
        let facts = SummaryFacts(source: source, tree: TraceTree(source: source))
        let made = DerivedFacts(duration: facts.duration, errorCount: facts.errorCount,
                                isIncomplete: facts.isIncomplete, root: facts.root)
        derived = made
        return made
    }

    mutating func durationNano() -> UInt64 {
        summaryIsFresh ? summary.duration : derive().duration
    }

    mutating func errorCount() -> Int {
        summaryIsFresh ? Int(summary.errorCount) : derive().errorCount
    }

    mutating func isIncomplete() -> Bool {
        summaryIsFresh ? summary.isIncomplete : derive().isIncomplete
    }

    mutating func rootSpan() -> Int? {
        guard summaryIsFresh else { return derive().root }
        let offset = summary.rootOffset
        guard offset >= 0 else { return nil }
        loadLayouts()
        return layouts.firstIndex { $0.offset == Int(offset) }
    }

    /// Distinct service names (not resources: two processes of one service count once).
    mutating func serviceCount() -> Int {
        loadLayouts()
        if serviceIDs.isEmpty, !arena.resources.isEmpty {
            for resource in arena.resources {
                let name = resource.serviceName
                let id = serviceIDByName[name] ?? Int32(serviceIDByName.count)
                serviceIDByName[name] = id
                serviceIDs.append(id)
            }
        }
        var seen: [Int32] = []
        var others: [String] = []
        for layout in layouts {
            if layout.resource >= 0 {
                let id = serviceIDs[Int(layout.resource)]
                if !seen.contains(id) { seen.append(id) }
            } else {
                let name = arena.string(SpanArena.inlineServiceName(of: layout, in: bytes), in: bytes)
                if let id = serviceIDByName[name] {
                    if !seen.contains(id) { seen.append(id) }
                } else if !others.contains(name) {
                    others.append(name)
                }
            }
        }
        return seen.count + others.count
    }

    // MARK: Leaves

    mutating func test(leaf id: Int, span: Int) -> Bool {
        loadLayouts()
        let layout = layouts[span]
        switch program.leafCodes[id] {
        case .duration(let ordered): return ordered.holds(layout.duration)
        case .kind(let kind): return layout.kindRaw == kind
        case .status(let code): return layout.statusRaw == code
        case .error: return layout.isError
        case .operation: return stringAnswer(id, layout.name)
        case .service:
            if layout.resource >= 0 { return resourceAnswer(id, layout.resource) }
            return stringAnswer(id, SpanArena.inlineServiceName(of: layout, in: bytes))
        case .selfTime(let ordered):
            prepareSelfTimes()
            return ordered.holds(selfTimes[span])
        case .orphan:
            prepareTree()
            return orphans[span]
        case .event:
            return eventsPass(id, SpanArena.events(of: layout, in: bytes), withKeys: false)
        case .tag:
            var attributes = SpanArena.attributes(of: layout, in: bytes)
            while let (key, value) = attributes.next() {
                if keyAnswer(id, key), valueAnswer(id, value) { return true }
            }
            return resourcePasses(id, layout)
        case .word, .findText:
            var withKeys = false
            if case .findText = program.leafCodes[id] { withKeys = true }
            if stringAnswer(id, layout.name) || resourcePasses(id, layout) { return true }
            var attributes = SpanArena.attributes(of: layout, in: bytes)
            while let (key, value) = attributes.next() {
                if withKeys, stringAnswer(id, key) { return true }
                if valueAnswer(id, value) { return true }
            }
            // The events follow the attributes just read: no second pass over them.
            guard layout.hasExtras else { return false }
            return eventsPass(id, SpanArena.events(after: attributes, in: bytes), withKeys: withKeys)
        }
    }

    private mutating func eventsPass(_ id: Int, _ events: SpanArena.EventCursor, withKeys: Bool) -> Bool {
        var events = events
        while let (name, attributes) = events.next() {
            if stringAnswer(id, name) { return true }
            var cursor = attributes
            while let (key, value) = cursor.next() {
                if withKeys, stringAnswer(id, key) { return true }
                if valueAnswer(id, value) { return true }
            }
        }
        return false
    }

    private mutating func resourcePasses(_ id: Int, _ layout: SpanArena.SpanLayout) -> Bool {
        if layout.resource >= 0 { return resourceAnswer(id, layout.resource) }
        return program.leaves[id].resourcePart(arena.resource(of: layout, in: copiedBytes))
    }

    /// `stringPart` of a packed string: looked up per table index, made
    /// into a String only when written inline.
    private mutating func stringAnswer(_ id: Int, _ ref: SpanArena.StringRef) -> Bool {
        guard ref.table >= 0, !stringAnswers.isEmpty else {
            return program.leaves[id].stringPart(arena.string(ref, in: bytes))
        }
        let index = Int(ref.table)
        let slot = index &* leafCount &+ id
        let known = stringAnswers[slot]
        if known != 0 { return known == 2 }
        let answer = program.leaves[id].stringPart(arena.strings[index])
        // Precomputed answers are shared by the workers: writing would copy them.
        if keepsAnswers { stringAnswers[slot] = answer ? 2 : 1 }
        return answer
    }

    /// The key test of a `tag` leaf (equality); `findText` leaves test keys with `stringAnswer`.
    private mutating func keyAnswer(_ id: Int, _ ref: SpanArena.StringRef) -> Bool {
        guard ref.table >= 0, !keyAnswers.isEmpty else {
            return program.leaves[id].keyPart(arena.string(ref, in: bytes))
        }
        let index = Int(ref.table)
        let slot = index &* leafCount &+ id
        let known = keyAnswers[slot]
        if known != 0 { return known == 2 }
        let answer = program.leaves[id].keyPart(arena.strings[index])
        if keepsAnswers { keyAnswers[slot] = answer ? 2 : 1 }
        return answer
    }

    private mutating func valueAnswer(_ id: Int, _ value: SpanArena.PackedValue) -> Bool {
        // A word's answer on scalars mostly follows from its hints alone.
        switch (program.leafCodes[id], value) {
        case (.word(let hints), .int), (.findText(let hints), .int):
            if !hints.mayOccurInInteger { return false }
        case (.word(let hints), .double), (.findText(let hints), .double):
            if !hints.mayOccurInDouble { return false }
        case (.word(let hints), .bool(let b)), (.findText(let hints), .bool(let b)):
            return b ? hints.occursInTrue : hints.occursInFalse
        default:
            break
        }
        switch value {
        case .string(let ref): return stringAnswer(id, ref)
        case .bool(let b): return program.leaves[id].valuePart(.bool(b))
        case .int(let i): return program.leaves[id].valuePart(.int(i))
        case .double(let d): return program.leaves[id].valuePart(.double(d))
        case .other(let offset): return program.leaves[id].valuePart(arena.value(at: offset, in: copiedBytes))
        }
    }

    private mutating func resourceAnswer(_ id: Int, _ resource: Int32) -> Bool {
        let index = Int(resource)
        guard cachesResources else { return program.leaves[id].resourcePart(arena.resources[index]) }
        let slot = id &* arena.resources.count &+ index
        if resourceAnswers.isEmpty { resourceAnswers = [UInt8](repeating: 0, count: program.leaves.count * arena.resources.count) }
        let known = resourceAnswers[slot]
        if known != 0 { return known == 2 }
        let answer = program.leaves[id].resourcePart(arena.resources[index])
        resourceAnswers[slot] = answer ? 2 : 1
        return answer
    }

    // MARK: Tree

    mutating func parent(of span: Int) -> Int {
        prepareTree()
        return Int(treeParent[span])
    }

    /// Parents as `TraceTree` links them, from span ids alone: a repeated
    /// span id nests under its first occurrence, a child attaches to the
    /// last occurrence of its parent's id, a span naming itself or an
    /// absent parent is top-level. Only when some spans sit on a cycle (and
    /// the tree breaks it at a start time) is the whole tree built instead.
    private mutating func prepareTree() {
        guard !treeReady else { return }
        treeReady = true
        loadLayouts()
        let count = layouts.count
        SpanArena.parents(of: layouts, into: &parentOf, orphans: &orphans)
        treeParent.removeAll(keepingCapacity: true)
        treeParent.append(contentsOf: parentOf)
        if Self.hasCycle(parentOf) {
            // TraceTree breaks each cycle at a start time: ask it.
            let built = TraceTree(source: StoredSpans(arena: arena, bytes: copiedBytes, count: count))
            for node in built.rows {
                treeParent[Int(node.spanIndex)] = node.parentRow >= 0 ? built.rows[Int(node.parentRow)].spanIndex : -1
            }
        }
    }

    private mutating func prepareSelfTimes() {
        guard !selfTimesReady else { return }
        selfTimesReady = true
        prepareTree()
        selfTimes = Self.selfTimes(layouts: layouts, parentOf: parentOf)
    }

    private static func hasCycle(_ parentOf: [Int32]) -> Bool {
        // 0 unknown, 1 on the current walk, 2 reaches a root.
        var state = [UInt8](repeating: 0, count: parentOf.count)
        var path: [Int] = []
        for start in parentOf.indices where state[start] == 0 {
            var current = start
            while current >= 0, state[current] == 0 {
                state[current] = 1
                path.append(current)
                current = Int(parentOf[current])
            }
            if current >= 0, state[current] == 1 { return true }
            for visited in path { state[visited] = 2 }
            path.removeAll(keepingCapacity: true)
        }
        return false
    }

    /// Self time as `TraceTree` computes it: duration minus the union of the
    /// children's intervals (children by start, then index), clipped to the span.
    private static func selfTimes(layouts: [SpanArena.SpanLayout], parentOf: [Int32]) -> [UInt64] {
        let count = layouts.count
        var childStart = [Int32](repeating: 0, count: count + 1)
        for i in 0..<count where parentOf[i] >= 0 { childStart[Int(parentOf[i]) + 1] += 1 }
        for i in 0..<count { childStart[i + 1] += childStart[i] }
        var fill = childStart
        var children = [Int32](repeating: 0, count: count)
        for i in 0..<count where parentOf[i] >= 0 {
            let p = Int(parentOf[i])
            children[Int(fill[p])] = Int32(i)
            fill[p] += 1
        }
        var times = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let range = Int(childStart[i])..<Int(childStart[i + 1])
            if range.count > 1 {
                children[range].sort { a, b in
                    let sa = layouts[Int(a)].start, sb = layouts[Int(b)].start
                    return sa != sb ? sa < sb : a < b
                }
            }
            let lo = layouts[i].start
            let duration = layouts[i].duration
            let hi = lo &+ duration
            var covered: UInt64 = 0
            var cursor = lo
            for c in range {
                let child = layouts[Int(children[c])]
                let start = max(child.start, cursor)
                let end = min(child.start &+ child.duration, hi)
                if end > start {
                    covered += end - start
                    cursor = end
                }
            }
            times[i] = duration - min(covered, duration)
        }
        return times
    }
}
