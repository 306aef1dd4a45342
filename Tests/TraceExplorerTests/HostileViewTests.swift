import Testing
import TraceModel
import TerminalUI
@testable import TraceFormats
@testable import TraceExplorer

/// A terminal that keeps every frame drawn, as text lines.
final class RecordingTerminal: TerminalBackend {
    let inner: BufferTerminal
    private(set) var frames: [[String]] = []

    init(width: Int, height: Int, script: [BufferTerminal.Step]) {
        inner = BufferTerminal(width: width, height: height, script: script)
    }

    var size: (width: Int, height: Int) { inner.size }
    func draw(_ buffer: CellBuffer, cursor: (x: Int, y: Int)?) {
        inner.draw(buffer, cursor: cursor)
        frames.append(buffer.lines())
    }
    func readEvent(timeoutMilliseconds: Int) -> InputEvent? { inner.readEvent(timeoutMilliseconds: timeoutMilliseconds) }
    func suspendToShell() { inner.suspendToShell() }
    func repaintAll() { inner.repaintAll() }

    /// Every frame's text, one string per frame.
    var texts: [String] { frames.map { $0.joined(separator: "\n") } }
}

/// Hostile spans (issue 12) taken from the decoders through the store into
/// every view the explorer has, with the real runtime: invalid UTF-8 and
/// escape sequences, NaN and infinities, times at the edges of 64 bits,
/// parent cycles, 100,000 children under one span, a million attributes.
/// Each must draw, escaped and as text, and keys must keep working.
@Suite struct HostileViewTests {
    static let ms: UInt64 = 1_000_000
    static let t0 = ExplorerFixtures.t0

    /// Keys that visit every screen: each trace's waterfall (moves, ends,
    /// critical path, detail, statistics, logs, raw times, folds, mark), a
    /// comparison, the list with its duration plot, the latency view, the
    /// service graph, find, and a filter.
    static func tour(traces: Int) -> [Key] {
        let eachTrace: [Key] = [
            .enter, .char("j"), .char("G"), .pageDown, .char("g"), .char("c"), .enter, .char("j"), .char("G"), .escape,
            .char("S"), .char("j"), .char("s"), .escape, .char("L"), .char("G"), .escape, .char("R"), .char("R"),
            .char("C"), .char("E"), .char(" "), .char(" "), .char("u"), .char("h"), .char("l"), .char("m"), .escape, .char("j"),
        ]
        return Array(repeating: eachTrace, count: traces).joined() + [
            .char("g"), .char("="), .char("j"), .escape, .char("G"), .char("="), .escape,
            .char("P"), .char("j"), .char("G"), .char("s"), .escape, .char("D"), .char("j"), .escape,
            .char("G"), .enter, .char("/"), .char("x"), .enter, .char("n"), .escape, .escape, .escape,
            .char("/"), .char("e"), .char("r"), .char("r"), .enter, .char("s"), .char("s"), .char("r"),
            .char("P"), .char("j"), .enter, .escape, .char("D"), .char("j"), .enter, .escape,
        ]
    }

    /// Runs the explorer over `spans` with `keys`; every frame it drew.
    static func explore(_ spans: [Span], keys given: [Key]? = nil, width: Int = 120, height: Int = 40,
                        limits: TraceStoreLimits = TraceStoreLimits()) -> RecordingTerminal {
        let store = SharedTraceStore(limits: limits)
        store.add(spans)
        let keys = given ?? tour(traces: store.traceCount)
        let terminal = RecordingTerminal(width: width, height: height, script: keys.map { .event(.key($0)) })
        // A signal no key sends: the run ending with its status proves every key was played.
        terminal.inner.whenScriptEnds = .quit(.signal(15))
        let clock = ManualClock(unixNanos: t0)
        terminal.inner.onIdle = { clock.advance(milliseconds: $0) }
        var model = ExplorerModel(width: width, height: height, title: "hostile")
        model.utcOffsetSeconds = 0
        var runtime = ExplorerRuntime(model: model, store: store, feed: ScriptedFeed(), backend: terminal,
                                      clock: clock, worker: .inline())
        runtime.refreshIntervalNanos = 0
        #expect(runtime.run() == 0, "the tour ends with SIGTERM: a stop asked for")
        #expect(terminal.frames.count > keys.count / 2)
        return terminal
    }

    /// No C0 or C1 control (nor DEL) reached a cell: escapes are shown as text.
    static func expectNoControls(_ terminal: RecordingTerminal, sourceLocation: SourceLocation = #_sourceLocation) {
        for (i, frame) in terminal.texts.enumerated() {
            let bad = frame.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
            if !bad.isEmpty {
                Issue.record("frame \(i) holds \(bad.map { String($0.value, radix: 16) })", sourceLocation: sourceLocation)
                return
            }
        }
    }

    static func expectNoControls(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let bad = lines.joined().unicodeScalars.filter { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
        #expect(bad.isEmpty, "controls in plain text: \(bad.map { $0.value })", sourceLocation: sourceLocation)
    }

    /// What `tracetty print` writes for each stored trace (waterfall with the
    /// critical path, statistics both ways), through the analyses it runs.
    static func printEverything(_ spans: [Span], width: Int = 100) -> [String] {
        var store = TraceStore()
        store.add(contentsOf: spans)
        var lines: [String] = []
        for id in store.allTraceIDs {
            guard let raw = store.trace(id) else { continue }
            let analysis = TraceAnalysis(trace: raw)
            for (trace, path) in [(raw, analysis.rawCriticalPath), (analysis.skew.trace, analysis.criticalPath)] {
                lines += WaterfallView.plainText(trace, width: width, criticalPath: path, shifts: analysis.skew.shiftBySpan)
                for grouping in [TraceStatistics.Grouping.service, .serviceAndOperation] {
                    lines += StatisticsView.plainText(TraceStatistics(trace: trace, grouping: grouping), trace: trace, width: width,
                                                      utcOffsetSeconds: 0)
                }
            }
        }
        return lines
    }

    // MARK: text

    /// Spans whose texts are 12-byte placeholders, to be replaced in the
    /// encoded bytes by hostile bytes of the same length.
    static func placeholderSpans(_ trace: TraceID) -> [Span] {
        let resource = Resource(serviceName: "@@SERV@@@@@@", attributes: [Attribute("service.name", .string("@@SERV@@@@@@"))])
        return [
            Span(traceID: trace, spanID: SpanID(1), name: "@@NAME@@@@@@", kind: .server, startTimeUnixNano: t0, durationNano: 5 * ms,
                 attributes: [Attribute("@@TKEY@@@@@@", .string("@@TVAL@@@@@@"))],
                 events: [SpanEvent(timeUnixNano: t0 + ms, name: "@@EVNT@@@@@@",
                                    attributes: [Attribute("event", .string("@@EVNT@@@@@@")), Attribute("@@FKEY@@@@@@", .int(1))])],
                 resource: resource),
            Span(traceID: trace, spanID: SpanID(2), parentSpanID: SpanID(1), name: "@@NAME@@@@@@", kind: .client,
                 startTimeUnixNano: t0 + ms, durationNano: 2 * ms, resource: resource),
        ]
    }

    static let placeholders = ["@@SERV@@@@@@", "@@NAME@@@@@@", "@@TKEY@@@@@@", "@@TVAL@@@@@@", "@@EVNT@@@@@@", "@@FKEY@@@@@@"]
    /// ESC [2J (clear screen), invalid UTF-8 (a stray continuation, a bad
    /// pair, an encoded surrogate), BEL.
    static let rawHostile: [UInt8] = [0x1B, 0x5B, 0x32, 0x4A, 0xFF, 0xFE, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0x07]
    /// JSON cannot carry raw controls: ESC as an escape, then invalid UTF-8.
    static let jsonHostile: [UInt8] = Array(#"\u001b"#.utf8) + [0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80]

    static func patch(_ bytes: [UInt8], with hostile: [UInt8]) -> [UInt8] {
        var out = bytes
        for placeholder in placeholders {
            let needle = Array(placeholder.utf8)
            precondition(needle.count == hostile.count)
            var i = 0
            while i + needle.count <= out.count {
                if out[i] == needle[0], Array(out[i..<(i + needle.count)]) == needle {
                    out.replaceSubrange(i..<(i + needle.count), with: hostile)
                    i += needle.count
                } else {
                    i += 1
                }
            }
        }
        return out
    }

    /// Each decoder's spans for the same placeholder trace, patched with hostile bytes.
    static func hostileTextSpans() throws -> [(decoder: String, spans: [Span])] {
        func id(_ n: UInt64) -> TraceID { TraceID(high: 0x7e57, low: n) }
        var out: [(String, [Span])] = []
        out.append(("OTLP JSON", try OTLPJSONDecoder.decode(patch(OTLPJSONEncoder.encodeLine(placeholderSpans(id(1))), with: jsonHostile))))
        out.append(("Jaeger JSON", try JaegerJSONDecoder.decode(patch(JaegerJSONEncoder.encode(traces: [placeholderSpans(id(2))]), with: jsonHostile))))
        out.append(("Zipkin JSON", try ZipkinJSONDecoder.decode(patch(ZipkinJSONEncoder.encode(placeholderSpans(id(3))), with: jsonHostile))))
        out.append(("OTLP protobuf", try OTLPProtobufDecoder.decode(patch(OTLPProtobufEncoder.encode(placeholderSpans(id(4))), with: rawHostile)).spans))
        for (n, kind) in [(UInt64(5), ThriftProtocolKind.compact), (6, .binary)] {
            let spans = placeholderSpans(id(n))
            let datagram = JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans, protocolKind: kind)
            out.append(("Jaeger Thrift \(kind)", try JaegerAgentDecoder.decode(patch(datagram, with: rawHostile)).spans))
        }
        let batch = JaegerThriftEncoder.batch(process: placeholderSpans(id(7))[0].resource, spans: placeholderSpans(id(7)))
        out.append(("collector Batch", try JaegerBatchDecoder.decode(patch(batch, with: rawHostile)).spans))
        return out
    }

    @Test func invalidUTF8AndEscapesFromEveryDecoderAreDrawnVisibly() throws {
        let decoded = try Self.hostileTextSpans()
        var all: [Span] = []
        for (decoder, spans) in decoded {
            #expect(spans.count == 2, "\(decoder)")
            guard let root = spans.first(where: { $0.parentSpanID == nil }) else { Issue.record("\(decoder): no root"); continue }
            let texts = [root.name, root.serviceName, root.attributes.first?.key ?? "", root.events.first?.name ?? ""]
            for text in texts {
                #expect(text.unicodeScalars.contains("\u{FFFD}"), "\(decoder): \(text.debugDescription)")
                #expect(text.unicodeScalars.contains("\u{1B}"), "\(decoder): \(text.debugDescription)")
            }
            all += spans
        }
        let terminal = Self.explore(all)
        Self.expectNoControls(terminal)
        let texts = terminal.texts
        #expect(texts.contains { $0.contains("\\x1b[2J\u{FFFD}") })  // a name, escaped, in the list and the waterfall
        #expect(texts.contains { $0.contains("Span detail") && $0.contains("\\x1b") })
        let printed = Self.printEverything(all)
        Self.expectNoControls(printed)
        #expect(printed.contains { $0.contains("\\x1b[2J\u{FFFD}\u{FFFD}\u{FFFD}(") })
        #expect(printed.contains { $0.contains("\\x07") })
    }

    // MARK: numbers

    @Test func nanAndInfinitiesAreShownAsText() throws {
        let trace = TraceID(low: 0xd0b1e)
        let line = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[{"traceId":"000000000000000000000000000d0b1e","spanId":"0000000000000001","name":"numbers","startTimeUnixNano":"1795878245000000000","endTimeUnixNano":"1795878245005000000","attributes":[{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"inf","value":{"doubleValue":"Infinity"}},{"key":"ninf","value":{"doubleValue":"-Infinity"}},{"key":"huge","value":{"doubleValue":1e999}},{"key":"list","value":{"arrayValue":{"values":[{"doubleValue":"NaN"},{"doubleValue":-1e999}]}}}]}]}]}]}"#
        var spans = try OTLPJSONDecoder.decode(Array(line.utf8))
        // And from the binary wire: a signalling NaN's bits.
        spans += [Span(traceID: trace, spanID: SpanID(2), parentSpanID: SpanID(1), name: "bits", startTimeUnixNano: Self.t0 + Self.ms,
                       durationNano: Self.ms, attributes: [Attribute("snan", .double(Double(bitPattern: 0x7FF0_0000_0000_0001)))],
                       events: [SpanEvent(timeUnixNano: Self.t0 + 2 * Self.ms, name: "e", attributes: [Attribute("v", .double(-.nan))])])]
        let wire = try OTLPProtobufDecoder.decode(OTLPProtobufEncoder.encode(spans)).spans
        let thrift = try JaegerAgentDecoder.decode(JaegerThriftEncoder.emitBatch(process: spans[0].resource, spans: spans)).spans
        #expect(wire.count == 2 && thrift.count == 2)
        for decoded in [spans, wire, thrift] {
            let values = decoded[0].attributes.map(\.value)
            if case .double(let d) = values.first { #expect(d.isNaN) } else { Issue.record("\(values)") }
        }
        // The explorer: open the trace, the detail of each span, and a filter on the numbers.
        let keys: [Key] = [.enter, .enter, .char("j"), .char("j"), .char("j"), .escape, .char("j"), .enter, .escape, .escape,
                           .char("/")] + "tag.nan>1 or tag.inf>=0 or tag.huge<1 or tag.nan=nan".map { .char($0) } + [.enter]
        let terminal = Self.explore(spans, keys: keys + Self.tour(traces: 2))
        Self.expectNoControls(terminal)
        let detail = try #require(terminal.texts.first { $0.contains("Span detail") && $0.contains("ninf") })
        for shown in ["nan ", "inf ", "-inf", "[nan, -inf]"] {
            #expect(detail.contains(shown), "\(shown) not in\n\(detail)")
        }
        #expect(terminal.texts.contains { $0.contains("snan") && $0.contains("nan") })
        #expect(!Self.printEverything(spans + wire + thrift).isEmpty)
        // Exported and read back: still NaN and infinities (OTLP JSON writes them as strings).
        let exported = ExportWriter.encode(traces: [spans], format: .otlp)
        let back = try OTLPJSONDecoder.decode(exported)
        #expect(back[0].attributes.map(\.key) == spans[0].attributes.map(\.key))
        if case .double(let d) = back[0].attributes[0].value { #expect(d.isNaN) } else { Issue.record("\(back[0].attributes)") }
        #expect(back[0].attributes[1].value == .double(.infinity))
        let jaeger = try JaegerJSONDecoder.decode(ExportWriter.encode(traces: [spans], format: .jaeger))
        #expect(jaeger.first { $0.name == "numbers" }?.attribute("inf") == .double(.infinity))
    }

    // MARK: times

    /// Spans at the edges of 64-bit nanoseconds, each its own trace: at 0,
    /// at the last instant with the longest duration, ending past 2^64, a
    /// zero-length span with an event six years later, year 3000 from a
    /// Jaeger client (saturated), an end before its start, and two traces
    /// 10 ns apart at the end of time (the plot's axis has no room to round).
    static func edgeTimeSpans() throws -> [Span] {
        let svc = Resource(serviceName: "svc")
        let other = Resource(serviceName: "other")
        var spans: [Span] = []
        func trace(_ n: UInt64, _ parts: [(parent: UInt64?, start: UInt64, duration: UInt64, resource: Resource, events: [UInt64])]) {
            for (i, part) in parts.enumerated() {
                spans.append(Span(traceID: TraceID(high: 0xed9e, low: n), spanID: SpanID(UInt64(i + 1)),
                                  parentSpanID: part.parent.map { SpanID($0) }, name: "t\(n).\(i + 1)", kind: .server,
                                  startTimeUnixNano: part.start, durationNano: part.duration,
                                  events: part.events.map { SpanEvent(timeUnixNano: $0, name: "event") }, resource: part.resource))
            }
        }
        trace(1, [(nil, 0, 0, svc, [0, .max]), (1, 0, 5, other, [])])
        trace(2, [(nil, .max, .max, svc, [.max]), (1, 0, .max, other, [0]), (1, .max - 1, 1, svc, [])])
        trace(3, [(nil, .max - 10, 100, svc, []), (1, 5, 10, other, [.max / 2])])
        trace(4, [(nil, t0, 0, svc, [t0 + 6 * 365 * 86_400 * 1_000_000_000, 1]), (1, t0, 0, other, [t0])])
        trace(5, [(nil, .max - 10, 1, svc, [])])
        trace(6, [(nil, .max, 0, svc, [])])
        trace(7, [(nil, 1 << 63, 1, svc, []), (1, 0, 1, other, [1 << 63])])
        // Year 3000 from a Jaeger client (microseconds past what 64 bits of
        // nanoseconds hold), with a child at an ordinary time.
        let year3000Micros: Int64 = 32_503_680_000_000_000
        var w = ThriftCompactWriter()
        w.writeMessageBegin(name: "emitBatch", type: .oneway, seqID: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        JaegerThriftEncoder.writeProcess(svc, into: &w)
        w.writeFieldBegin(.list, id: 2)
        w.writeListBegin(.struct, count: 2)
        for (id, parent, start) in [(Int64(1), Int64(0), year3000Micros), (2, 1, Int64(t0 / 1000))] {
            w.writeStructBegin()
            w.writeFieldBegin(.i64, id: 1); w.writeI64(3000)
            w.writeFieldBegin(.i64, id: 2); w.writeI64(0)
            w.writeFieldBegin(.i64, id: 3); w.writeI64(id)
            w.writeFieldBegin(.i64, id: 4); w.writeI64(parent)
            w.writeFieldBegin(.binary, id: 5); w.writeString(id == 1 ? "year 3000" : "now")
            w.writeFieldBegin(.i32, id: 7); w.writeI32(1)
            w.writeFieldBegin(.i64, id: 8); w.writeI64(start)
            w.writeFieldBegin(.i64, id: 9); w.writeI64(year3000Micros)
            w.writeStructEnd()
        }
        w.writeStructEnd()
        w.writeStructEnd()
        let jaeger = try JaegerAgentDecoder.decode(w.bytes).spans
        #expect(jaeger.first { $0.name == "year 3000" }?.startTimeUnixNano == .max)
        #expect(jaeger.first { $0.name == "now" }?.durationNano == .max)
        spans += jaeger
        let backwards = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000bac","spanId":"0000000000000001","name":"backwards","startTimeUnixNano":"1795878245000000000","endTimeUnixNano":"5"}]}]}]}"#
        spans += try OTLPJSONDecoder.decode(Array(backwards.utf8))
        return spans
    }

    @Test func timesAtTheEdgesOf64BitsDrawEverywhere() throws {
        let spans = try Self.edgeTimeSpans()
        let terminal = Self.explore(spans)
        Self.expectNoControls(terminal)
        // The list shows every trace (with the plot above it), and the year-3000 one as the last instant.
        #expect(terminal.texts.contains { $0.contains("2554-07-21") })
        // The detail of a span 2^63 ns after its trace's start says so (not a negative offset, not a trap).
        let lines = Self.printEverything(spans)
        #expect(lines.contains { $0.contains("t7.1") })
        // Each view on its own, at sizes from the smallest the explorer draws.
        for (width, height) in [(40, 10), (80, 24), (200, 60)] {
            Self.expectNoControls(Self.explore(spans, width: width, height: height))
        }
        // Offsets in the detail pane and the logs are right both ways, even 2^63 apart.
        var store = TraceStore()
        store.add(contentsOf: spans)
        let t7 = try #require(store.trace(TraceID(high: 0xed9e, low: 7)))
        let text = SpanDetailView.logicalLines(span: t7.spans[0], node: t7.tree.rows[Int(t7.tree.rowOfSpan[0])], trace: t7,
                                               utcOffsetSeconds: 0, shiftNanos: .min)
            .map { $0.segments.map(\.text).joined() }
        #expect(text.contains { $0.hasPrefix("Start") && $0.contains("+") })
        #expect(text.contains { $0.hasPrefix("Clock skew") && $0.contains("-") })
        #expect(Formatting.offset(.min) == "-" + Formatting.duration(1 << 63))
        #expect(Formatting.signedDuration(.min).hasPrefix("-"))
    }

    /// The duration plot of one trace at the last instant (its axis is
    /// widened to a second: only downwards there), and of two traces 10 µs
    /// before the end (the first round tick would be past 2^64); a comparison
    /// whose difference needs all 64 bits.
    @Test func plotAndCompareAtTheEndOfTime() throws {
        func at(_ low: UInt64, _ start: UInt64, duration: UInt64 = 1) -> Span {
            Span(traceID: TraceID(low: low), spanID: SpanID(1), name: "end \(low)", startTimeUnixNano: start, durationNano: duration)
        }
        for spans in [[at(1, .max - 1)], [at(1, .max - 10_000), at(2, .max - 1)], [at(1, .max, duration: .max), at(2, 0, duration: 0)]] {
            let terminal = Self.explore(spans, keys: [.char("j"), .char("k"), .enter, .escape, .char("G")])
            #expect(terminal.texts.contains { $0.contains("2554-07-21") || $0.contains("23:34:33") })
            Self.expectNoControls(terminal)
        }
        let long = Trace(traceID: TraceID(low: 1), spans: [at(1, 0, duration: .max)])
        let empty = Trace(traceID: TraceID(low: 2), spans: [Span(traceID: TraceID(low: 2), spanID: SpanID(1), name: "end 1",
                                                                  startTimeUnixNano: 0, durationNano: 0)])
        for (a, b) in [(long, empty), (empty, long)] {
            let lines = CompareView.plainText(TraceComparison(a: a, b: b), a: a.summary, b: b.summary, width: 120)
            #expect(lines.contains { $0.contains("5124095h34m") })
        }
    }

    // MARK: trees

    /// A span that is its own parent; cycles of two and three spans with
    /// children hanging from them; each span shows once, on every screen.
    static func cycleSpans() -> [Span] {
        let a = Resource(serviceName: "a"), b = Resource(serviceName: "b")
        var spans: [Span] = []
        func span(_ trace: UInt64, _ id: UInt64, parent: UInt64?, _ start: UInt64, _ duration: UInt64, _ resource: Resource) {
            spans.append(Span(traceID: TraceID(high: 0xc1c, low: trace), spanID: SpanID(id), parentSpanID: parent.map { SpanID($0) },
                              name: "c\(trace).\(id)", kind: .server, startTimeUnixNano: t0 + start * ms, durationNano: duration * ms,
                              resource: resource))
        }
        span(1, 1, parent: 1, 0, 10, a)
        span(1, 2, parent: 1, 2, 3, b)
        span(2, 1, parent: 2, 0, 10, a)
        span(2, 2, parent: 1, 1, 8, b)
        span(2, 3, parent: 2, 30, 5, a)
        span(3, 1, parent: 3, 5, 10, a)
        span(3, 2, parent: 1, 0, 20, b)
        span(3, 3, parent: 2, 1, 2, a)
        span(3, 4, parent: 3, 2, 1, b)
        span(3, 5, parent: 5, 50, 1, a)
        return spans
    }

    @Test func cyclesAndSelfParentsShowEachSpanOnce() throws {
        let spans = Self.cycleSpans()
        var store = TraceStore()
        store.add(contentsOf: spans)
        for id in store.allTraceIDs {
            let trace = try #require(store.trace(id))
            #expect(Set(trace.tree.rows.map(\.spanIndex)).count == trace.spans.count)
            #expect(trace.tree.rows.contains { $0.marks.contains(.cycle) })
            // print, raw and adjusted: after the header and the axis, one row per span.
            let analysis = TraceAnalysis(trace: trace)
            for (shown, path) in [(trace, analysis.rawCriticalPath), (analysis.skew.trace, analysis.criticalPath)] {
                let rows = WaterfallView.plainText(shown, width: 120, criticalPath: path, shifts: analysis.skew.shiftBySpan).dropFirst(2)
                #expect(rows.count == trace.spans.count)
                for span in trace.spans {
                    #expect(rows.filter { $0.contains(" \(span.name) ") }.count == 1, "\(span.name):\n\(rows.joined(separator: "\n"))")
                }
                #expect(rows.filter { $0.hasPrefix("@") }.count >= 1)
            }
        }
        #expect(!Self.printEverything(spans).isEmpty)
        // Keys that walk up and down the tree, fold and unfold it, on each trace.
        let walk: [Key] = [.enter] + Array(repeating: [Key.char("j"), .char("u"), .char("h"), .char("h"), .char("l"), .char(" "), .char(" ")], count: 4).joined()
            + [.char("c"), .char("S"), .escape, .escape, .char("j")]
        let terminal = Self.explore(spans, keys: walk + walk + walk + Self.tour(traces: 3))
        Self.expectNoControls(terminal)
        #expect(terminal.texts.contains { $0.contains("SERVICE OPERATION") && $0.contains("\n@") })
    }

    /// 100,000 children under one span: assembled, drawn, scrolled, folded,
    /// analysed. Untimed: sized so that anything quadratic in the children
    /// (10^10 steps) would not finish in the test's life.
    @Test func aHundredThousandChildrenUnderOneSpan() throws {
        let n = 100_000
        let t0 = Self.t0, ms = Self.ms
        let trace = TraceID(low: 0xfa40)
        let parent = Resource(serviceName: "fan"), child = Resource(serviceName: "leaf")
        var spans = [Span(traceID: trace, spanID: SpanID(1), name: "root", kind: .server, startTimeUnixNano: t0,
                          durationNano: UInt64(n) * ms, resource: parent)]
        spans.reserveCapacity(n + 1)
        for i in 0..<n {
            // Some start before the root, some end after it, some share a start: skew and clipping at scale.
            let start = i % 1000 == 0 ? t0 - ms : t0 + UInt64(i / 2) * ms
            spans.append(Span(traceID: trace, spanID: SpanID(UInt64(i + 2)), parentSpanID: SpanID(1), name: "child \(i % 7)",
                              kind: .client, startTimeUnixNano: start, durationNano: UInt64(1 + i % 3) * ms,
                              events: i % 5000 == 0 ? [SpanEvent(timeUnixNano: start, name: "tick")] : [],
                              resource: i % 2 == 0 ? child : parent))
        }
        let limits = TraceStoreLimits(maxSpans: 1_000_000, maxSpansPerTrace: n + 1)
        var store = TraceStore(limits: limits)
        store.add(contentsOf: spans)
        let assembled = try #require(store.trace(trace))
        #expect(assembled.tree.rows.count == n + 1)
        #expect(assembled.tree.rows[0].childCount == Int32(n))
        #expect(assembled.summary.depth == 2)
        let analysis = TraceAnalysis(trace: assembled)
        #expect(analysis.criticalPath.totalNanos > 0)
        #expect(TraceStatistics(trace: assembled, grouping: .serviceAndOperation).rows.count == 15)

        let moves: [Key] = [.enter] + Array(repeating: Key.pageDown, count: 30) + Array(repeating: Key.char("j"), count: 50)
            + [.char("G"), .char("k"), .char("g"), .char("c"), .pageDown, .char("G"), .enter, .char("j"), .escape,
               .char("S"), .char("j"), .escape, .char("L"), .char("G"), .escape, .char("g"), .char(" "), .char("G"), .char(" "),
               .char("C"), .char("E"), .char("/"), .char("6"), .enter, .char("n"), .char("N"), .escape, .escape]
        let terminal = Self.explore(spans, keys: moves, limits: limits)
        Self.expectNoControls(terminal)
        #expect(terminal.texts.contains { $0.contains("/100001") })
        #expect(terminal.texts.contains { $0.contains("100001 spans") || $0.contains("100,001 spans") })
        // Folded, the root's subtree is one row that says how many it hides.
        #expect(terminal.texts.contains { $0.contains("root (+100000)") })
        // print: every row, once.
        let printed = WaterfallView.plainText(assembled, width: 100, criticalPath: analysis.rawCriticalPath)
        #expect(printed.count == n + 3)
    }

    /// A span with a million attributes from a stranger keeps 1,024 (the rest
    /// counted) and its detail pane says so.
    @Test func aMillionAttributesAreCutAndSaid() throws {
        var body: [UInt8] = Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000a771","spanId":"0000000000000001","name":"wide","startTimeUnixNano":"1795878245000000000","endTimeUnixNano":"1795878245001000000","attributes":["#.utf8)
        body.reserveCapacity(40 << 20)
        for i in 0..<1_000_000 { body += Array(#"{"key":"k\#(i)","value":{"intValue":"\#(i)"}},"#.utf8) }
        body.removeLast()
        body += Array("]}]}]}]}".utf8)
        let spans = try OTLPJSONDecoder.decode(body)
        #expect(spans.first?.attributes.count == Span.attributeCountLimit)
        let terminal = Self.explore(spans, keys: [.enter, .enter, .char("G"), .pageUp, .char("g")])
        #expect(terminal.texts.contains { $0.contains("Tags (1024; 998976 more dropped)") })
        #expect(terminal.texts.contains { $0.contains("k1023") })
    }
}
