import Foundation
import Testing
import TestSupport
@testable import TraceFormats
import TraceModel

/// Export: every field through OTLP JSON lines and Jaeger JSON and back
/// through `DumpDecoder`, and the atomic, refuse-to-clobber file writing.
@Suite struct ExportTests {
    // MARK: fixture

    static let trace128 = TraceID(high: 0x0af7_6519_16cd_43dd, low: 0x8448_eb21_1c80_319c)
    static let trace64 = TraceID(low: 0x00f0_67aa_0ba9_02b7)
    static let otherTrace = TraceID(high: 0x1111, low: 0x2222)
    /// Microsecond-aligned, so Jaeger JSON carries every digit.
    static let t0: UInt64 = 1_700_000_000_123_456_000

    static let frontend = Resource(serviceName: "frontend", attributes: [
        Attribute("service.name", .string("frontend")),
        Attribute("host.name", .string("web-1")),
        Attribute("process.pid", .int(4242)),
        Attribute("telemetry.sdk.enabled", .bool(true)),
    ])
    static let backend = Resource(serviceName: "backend", attributes: [
        Attribute("service.name", .string("backend")),
        Attribute("deployment.environment", .string("prod \"eu\"")),
        Attribute("cpu.share", .double(0.25)),
    ])
    static let scope = InstrumentationScope(name: "io.tracetty.http", version: "1.2.0",
                                            attributes: [Attribute("scope.attr", .int(1))])

    /// Every typed attribute kind Jaeger tags have, plus edge values.
    static let flatAttributes: [Attribute] = [
        Attribute("http.method", .string("GET")),
        Attribute("escapes", .string("quote \" backslash \\ nl \n tab \t bell \u{07} nul \u{00} é 🚀")),
        Attribute("http.ok", .bool(true)),
        Attribute("retry", .bool(false)),
        Attribute("int.max", .int(.max)),
        Attribute("int.min", .int(.min)),
        Attribute("int.zero", .int(0)),
        Attribute("ratio", .double(1.5)),
        Attribute("tiny", .double(1e-7)),
        Attribute("huge", .double(-3.0e300)),
        Attribute("whole", .double(5)),
        Attribute("inf", .double(.infinity)),
        Attribute("payload", .bytes([0, 1, 2, 0xfe, 0xff])),
        Attribute("empty.bytes", .bytes([])),
        Attribute("empty.string", .string("")),
    ]
    static let compositeAttributes: [Attribute] = [
        Attribute("list", .array([.string("a"), .int(1), .array([.bool(true), .double(2.5)]),
                                  .map([Attribute("k", .string("v"))])])),
        Attribute("nested", .map([Attribute("inner", .map([Attribute("deep", .int(-7))])),
                                  Attribute("bytes", .bytes([9]))])),
        Attribute("empty.list", .array([])),
    ]

    static func traces() -> [[Span]] {
        let root = Span(
            traceID: trace128, spanID: SpanID(0x1), name: "GET /dispatch", kind: .server,
            status: SpanStatus(code: .ok), startTimeUnixNano: t0, durationNano: 90_000_000,
            attributes: flatAttributes + compositeAttributes,
            events: [
                SpanEvent(timeUnixNano: t0 + 1_000, name: "request.received",
                          attributes: [Attribute("bytes", .int(512)), Attribute("ok", .bool(true))]),
                SpanEvent(timeUnixNano: t0 + 2_000, name: "no attributes"),
            ],
            resource: frontend, scope: scope, traceState: "congo=t61rcWkgMzE", flags: 1)
        let client = Span(
            traceID: trace128, spanID: SpanID(0x2), parentSpanID: SpanID(0x1), name: "HTTP GET",
            kind: .client, status: SpanStatus(code: .error, message: "upstream \"timeout\"\nafter 3 tries"),
            startTimeUnixNano: t0 + 5_000, durationNano: 40_000_000,
            attributes: [Attribute("peer.service", .string("backend"))],
            events: [SpanEvent(timeUnixNano: t0 + 6_000, name: "exception",
                               attributes: [Attribute("exception.message", .string("boom")),
                                            Attribute("exception.escaped", .bool(false))])],
            links: [
                SpanLink(traceID: otherTrace, spanID: SpanID(0x99), referenceType: "FOLLOWS_FROM"),
                SpanLink(traceID: trace64, spanID: SpanID(0x98), referenceType: "CHILD_OF"),
            ],
            resource: frontend, scope: scope, flags: 1)
        let server = Span(
            traceID: trace128, spanID: SpanID(0x3), parentSpanID: SpanID(0x2), name: "/customer",
            kind: .server, startTimeUnixNano: t0 + 10_000, durationNano: 30_000_000,
            resource: backend)
        let producer = Span(
            traceID: trace128, spanID: SpanID(0x4), parentSpanID: SpanID(0x3), name: "publish",
            kind: .producer, startTimeUnixNano: t0 + 12_000, durationNano: 1_000, resource: backend)
        // FOLLOWS_FROM: nests under the producer, which does not wait for it.
        let consumer = Span(
            traceID: trace128, spanID: SpanID(0x5), parentSpanID: SpanID(0x4), parentReference: .followsFrom,
            name: "consume", kind: .consumer, status: SpanStatus(code: .unset, message: "status message only"),
            startTimeUnixNano: t0 + 50_000, durationNano: 2_000_000,
            links: [SpanLink(traceID: otherTrace, spanID: SpanID(0x77), referenceType: "FOLLOWS_FROM")],
            resource: backend)
        let internalSpan = Span(
            traceID: trace128, spanID: SpanID(0x6), parentSpanID: SpanID(0x3), name: "sql \"select\"",
            kind: .internal, startTimeUnixNano: t0 + 11_000, durationNano: 0, resource: backend)
        let lone = Span(
            traceID: trace64, spanID: SpanID(0xabcdef), name: "cron", startTimeUnixNano: t0 + 999_000_000,
            durationNano: 1_000, attributes: [Attribute("job", .string("nightly"))], resource: backend)
        return [[root, client, server, producer, consumer, internalSpan], [lone]]
    }

    /// A trace whose span carries what only OTLP can: link attributes, an OTLP link without a reference type.
    static func otlpOnlyTrace() -> [Span] {
        [Span(traceID: trace64, spanID: SpanID(0x10), name: "with link attributes", kind: .internal,
              startTimeUnixNano: t0 + 123, durationNano: 456,
              links: [SpanLink(traceID: otherTrace, spanID: SpanID(0x55),
                               attributes: [Attribute("link.reason", .string("batch")),
                                            Attribute("link.map", .map([Attribute("a", .array([.int(1)]))]))])],
              resource: frontend, scope: InstrumentationScope(name: "scope-only-name"))]
    }

    static func sorted(_ spans: [Span]) -> [Span] {
        spans.sorted { ($0.traceID, $0.spanID) < ($1.traceID, $1.spanID) }
    }

    /// What Jaeger JSON carries of a span: the losses `JaegerJSONEncoder`
    /// documents, spelled out independently of the encoder.
    static func jaegerView(_ span: Span) -> Span {
        var out = span
        var tags: [Attribute] = span.attributes.map { attribute in
            switch attribute.value {
            case .array, .map:
                var json: [UInt8] = []
                JaegerThriftEncoder.writePlainJSON(attribute.value, into: &json)
                return Attribute(attribute.key, .string(String(decoding: json, as: UTF8.self)))
            default:
                return attribute
            }
        }
        if span.status.code != .unset {
            tags.append(Attribute("otel.status_code", .string(span.status.code == .error ? "ERROR" : "OK")))
        }
        if !span.status.message.isEmpty {
            tags.append(Attribute("otel.status_description", .string(span.status.message)))
        }
        if span.status.code == .error { tags.append(Attribute("error", .bool(true))) }
        if !span.scope.name.isEmpty {
            tags.append(Attribute("otel.scope.name", .string(span.scope.name)))
            if !span.scope.version.isEmpty { tags.append(Attribute("otel.scope.version", .string(span.scope.version))) }
        }
        out.attributes = tags
        out.scope = .none
        out.traceState = ""
        out.events = span.events.map { event in
            SpanEvent(timeUnixNano: event.timeUnixNano, name: event.name,
                      attributes: [Attribute("event", .string(event.name))] + event.attributes)
        }
        out.links = span.links.map {
            SpanLink(traceID: $0.traceID, spanID: $0.spanID, referenceType: $0.referenceType ?? "FOLLOWS_FROM")
        }
        return out
    }

    // MARK: round trips

    @Test func otlpRoundTripKeepsEveryField() throws {
        let traces = Self.traces() + [Self.otlpOnlyTrace()]
        let bytes = ExportWriter.encode(traces: traces, format: .otlp)
        let (spans, summary) = try DumpDecoder.decode(bytes, source: "export.otlp")
        #expect(summary.format == .otlpJSONLines)
        #expect(summary.issueCount == 0)
        #expect(summary.lines == 3)  // one line per trace
        let expected = Self.sorted(traces.flatMap { $0 })
        let actual = Self.sorted(spans)
        try #require(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(a == e, "span \(e.spanID)")
            // `==` is field by field; spell out the parts that need care.
            #expect(a.parentReference == e.parentReference)
            #expect(a.scope == e.scope && a.scope.attributes == e.scope.attributes)
            #expect(a.resource.attributes == e.resource.attributes)
            #expect(a.links.map(\.attributes) == e.links.map(\.attributes))
        }
    }

    @Test func jaegerRoundTripKeepsWhatJaegerCarries() throws {
        let traces = Self.traces()
        let bytes = JaegerJSONEncoder.encode(traces: traces)
        let (spans, summary) = try DumpDecoder.decode(bytes, source: "export.jaeger")
        #expect(summary.format == .jaegerJSON)
        #expect(summary.issueCount == 0)
        let expected = Self.sorted(traces.flatMap { $0 }.map(Self.jaegerView))
        let actual = Self.sorted(spans)
        try #require(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(a == e, "span \(e.spanID)")
            #expect(a.parentReference == e.parentReference)
            #expect(a.resource.attributes == e.resource.attributes)
        }
        let consumer = try #require(spans.first { $0.spanID == SpanID(5) })
        #expect(consumer.parentSpanID == SpanID(4) && consumer.parentReference == .followsFrom)
        #expect(consumer.links == [SpanLink(traceID: Self.otherTrace, spanID: SpanID(0x77), referenceType: "FOLLOWS_FROM")])
        let client = try #require(spans.first { $0.spanID == SpanID(2) })
        #expect(client.status == SpanStatus(code: .error, message: "upstream \"timeout\"\nafter 3 tries"))
        #expect(client.kind == .client && client.isError)
        let root = try #require(spans.first { $0.spanID == SpanID(1) })
        #expect(root.attribute("list") == .string(#"["a",1,[true,2.5],{"k":"v"}]"#))
        #expect(root.attribute("escapes") == Self.flatAttributes[1].value)
        #expect(root.traceID == Self.trace128)
        #expect(root.attribute("int.min") == .int(.min))  // a JSON number down to -2^63, as Go writes it
    }

    @Test func jaegerLosesWhatItCannotCarry() throws {
        let trace = Self.otlpOnlyTrace()
        let (spans, _) = try DumpDecoder.decode(JaegerJSONEncoder.encode(traces: [trace]), source: "x.json")
        let span = try #require(spans.first)
        // Link attributes dropped, a missing reference type becomes FOLLOWS_FROM, scope becomes a tag.
        #expect(span.links == [SpanLink(traceID: Self.otherTrace, spanID: SpanID(0x55), referenceType: "FOLLOWS_FROM")])
        #expect(span.scope == .none)
        #expect(span.attribute("otel.scope.name") == .string("scope-only-name"))
        #expect(span == Self.jaegerView(trace[0]).withTimes(start: (Self.t0 + 123) / 1000 * 1000, duration: 0))
    }

    /// Jaeger JSON has whole microseconds: the nanosecond digits are truncated.
    @Test func jaegerTruncatesToMicroseconds() throws {
        let span = Span(traceID: Self.trace64, spanID: SpanID(7), name: "ns", startTimeUnixNano: 1_700_000_000_123_456_789,
                        durationNano: 1_999, events: [SpanEvent(timeUnixNano: 1_700_000_000_123_457_999, name: "e")],
                        resource: Self.backend)
        let (spans, _) = try DumpDecoder.decode(JaegerJSONEncoder.encode(traces: [[span]]), source: "x.json")
        let back = try #require(spans.first)
        #expect(back.startTimeUnixNano == 1_700_000_000_123_456_000)
        #expect(back.durationNano == 1_000)
        #expect(back.events.first?.timeUnixNano == 1_700_000_000_123_457_000)
    }

    @Test func jaegerNaNTravelsAsAString() throws {
        let span = Span(traceID: Self.trace64, spanID: SpanID(8), name: "nan", startTimeUnixNano: Self.t0, durationNano: 0,
                        attributes: [Attribute("nan", .double(.nan)), Attribute("minus.inf", .double(-.infinity))],
                        resource: Self.backend)
        let bytes = JaegerJSONEncoder.encode(traces: [[span]])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"{"key":"nan","type":"float64","value":"NaN"}"#))
        let back = try #require(try DumpDecoder.decode(bytes, source: "x.json").spans.first)
        guard case .double(let d) = back.attribute("nan") else { Issue.record("nan is not a double"); return }
        #expect(d.isNaN)
        #expect(back.attribute("minus.inf") == .double(-.infinity))
    }

    /// The document is Jaeger's `/api/traces` answer, key for key.
    @Test func jaegerDocumentHasJaegersShape() throws {
        let bytes = JaegerJSONEncoder.encode(traces: Self.traces())
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(!bytes.dropLast().contains(UInt8(ascii: "\n")))  // control characters are escaped
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["data", "total", "limit", "offset", "errors"])
        #expect(object["errors"] is NSNull)
        #expect(object["total"] as? Int == 0)
        let data = try #require(object["data"] as? [[String: Any]])
        try #require(data.count == 2)
        #expect(data[0]["traceID"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(data[1]["traceID"] as? String == "00f067aa0ba902b7")
        #expect(data[0]["warnings"] is NSNull)
        let processes = try #require(data[0]["processes"] as? [String: [String: Any]])
        #expect(Set(processes.keys) == ["p1", "p2"])
        #expect(processes["p1"]?["serviceName"] as? String == "frontend")
        let p1Tags = try #require(processes["p1"]?["tags"] as? [[String: Any]])
        #expect(p1Tags.map { $0["key"] as? String } == ["host.name", "process.pid", "telemetry.sdk.enabled"])
        let spans = try #require(data[0]["spans"] as? [[String: Any]])
        let root = spans[0]
        #expect(Set(root.keys) == ["traceID", "spanID", "flags", "operationName", "references", "startTime",
                                   "duration", "tags", "logs", "processID", "warnings"])
        #expect(root["spanID"] as? String == "0000000000000001")
        #expect((root["references"] as? [Any])?.isEmpty == true)
        #expect(root["startTime"] as? Int == 1_700_000_000_123_456)
        #expect(root["duration"] as? Int == 90_000)
        #expect(root["processID"] as? String == "p1")
        let tags = try #require(root["tags"] as? [[String: Any]])
        func tag(_ key: String) -> [String: Any]? { tags.first { $0["key"] as? String == key } }
        #expect(tag("http.ok")?["type"] as? String == "bool")
        #expect(tag("int.max")?["type"] as? String == "int64")
        #expect(tag("ratio")?["type"] as? String == "float64")
        #expect(tag("payload")?["type"] as? String == "binary")
        #expect(tag("payload")?["value"] as? String == "AAEC/v8=")
        #expect(tag("span.kind")?["value"] as? String == "server")
        #expect(tag("otel.status_code")?["value"] as? String == "OK")
        let logs = try #require(root["logs"] as? [[String: Any]])
        #expect(logs.first?["timestamp"] as? Int == 1_700_000_000_123_457)
        let client = spans[1]
        #expect(client["flags"] as? Int == 1)
        let refs = try #require(client["references"] as? [[String: String]])
        #expect(refs.map { $0["refType"] } == ["CHILD_OF", "FOLLOWS_FROM", "CHILD_OF"])
        #expect(refs.first?["spanID"] == "0000000000000001")
        #expect(refs.last?["traceID"] == "00f067aa0ba902b7")
        let clientTags = try #require(client["tags"] as? [[String: Any]])
        #expect(clientTags.contains { $0["key"] as? String == "error" && $0["value"] as? Bool == true })
        let consumerRefs = try #require(spans[4]["references"] as? [[String: String]])
        #expect(consumerRefs.map { $0["refType"] } == ["FOLLOWS_FROM", "FOLLOWS_FROM"])
        #expect(consumerRefs.first?["spanID"] == "0000000000000004")
        #expect(spans[2]["processID"] as? String == "p2")
        #expect(spans[2]["flags"] == nil)  // omitempty, as Go writes it
    }

    @Test func jaegerProcessesAreOnePerDistinctResource() throws {
        let resources = (1...11).map { Resource(serviceName: "svc\($0)", attributes: [Attribute("service.name", .string("svc\($0)"))]) }
        let spans = resources.enumerated().map { i, r in
            Span(traceID: Self.trace64, spanID: SpanID(UInt64(i + 1)), name: "op", startTimeUnixNano: Self.t0,
                 durationNano: 1000, resource: r)
        } + [Span(traceID: Self.trace64, spanID: SpanID(100), name: "again", startTimeUnixNano: Self.t0,
                  durationNano: 1000, resource: Resource(serviceName: "svc1", attributes: [Attribute("service.name", .string("svc1"))]))]
        let bytes = JaegerJSONEncoder.encode(traces: [spans])
        let text = String(decoding: bytes, as: UTF8.self)
        // Keys sorted as strings, as Go's encoder writes a map.
        #expect(text.contains(#""processes":{"p1":{"serviceName":"svc1","tags":[]},"p10":"#))
        let back = try DumpDecoder.decode(bytes, source: "x.json").spans
        #expect(Set(back.map(\.serviceName)).count == 11)
        #expect(back.first { $0.spanID == SpanID(100) }?.resource == resources[0])
    }

    // MARK: writing files

    static func scratchDirectory() throws -> String {
        let dir = TestScratch.directory.appendingPathComponent("tracetty-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    static func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    static func listing(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    @Test(arguments: ExportFormat.allCases)
    func writesAFileThatReadsBack(format: ExportFormat) throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/out." + format.rawValue
        let traces = Self.traces()
        let summary = try ExportWriter.write(traces: traces + [[]], format: format, to: path, overwrite: false)
        let bytes = try #require(Self.contents(path))
        #expect(summary == ExportSummary(traces: 2, spans: 7, bytes: bytes.count))
        #expect(bytes == ExportWriter.encode(traces: traces, format: format))
        #expect(try Self.listing(dir) == ["out." + format.rawValue])  // no temporary file left
        var spans: [Span] = []
        let read = try DumpReader(path: path).read(onSpans: { spans += $0 })
        #expect(read.format == (format == .otlp ? .otlpJSONLines : .jaegerJSON))
        #expect(spans.count == 7)
        #expect(read.issueCount == 0)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o600 == 0o600)
    }

    @Test(arguments: ExportFormat.allCases)
    func refusesToOverwrite(format: ExportFormat) throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/existing.out"
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ExportError.exists(path: path)) {
            try ExportWriter.write(traces: Self.traces(), format: format, to: path, overwrite: false)
        }
        #expect(ExportError.exists(path: path).description == "\(path) exists (use --force to overwrite)")
        #expect(Self.contents(path) == Array("old content".utf8))
        #expect(try Self.listing(dir) == ["existing.out"])
    }

    @Test func overwritesWithTheFlagKeepingPermissions() throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/existing.jaeger"
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        let summary = try ExportWriter.write(traces: Self.traces(), format: .jaeger, to: path, overwrite: true)
        let bytes = try #require(Self.contents(path))
        #expect(bytes == JaegerJSONEncoder.encode(traces: Self.traces()))
        #expect(summary.bytes == bytes.count)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o640)
        #expect(try Self.listing(dir) == ["existing.jaeger"])
        // Overwriting a file that is not there is just writing it.
        let fresh = dir + "/fresh.otlp"
        _ = try ExportWriter.write(traces: Self.traces(), format: .otlp, to: fresh, overwrite: true)
        #expect(Self.contents(fresh) == ExportWriter.encode(traces: Self.traces(), format: .otlp))
    }

    /// Until the rename the target holds the old bytes; the new ones sit in a
    /// hidden file in the same directory (same file system: the rename is atomic).
    @Test func readersSeeTheOldFileOrTheWholeNewOne() throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/live.otlp"
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        var seenTemporary: String? = nil
        var targetBeforeRename: [UInt8]? = nil
        var temporaryBeforeRename: [UInt8]? = nil
        var hooks = ExportWriter.Hooks()
        hooks.beforeRename = { temporary in
            seenTemporary = temporary
            targetBeforeRename = Self.contents(path)
            temporaryBeforeRename = Self.contents(temporary)
        }
        _ = try ExportWriter.write(traces: Self.traces(), format: .otlp, to: path, overwrite: true, hooks: hooks)
        let temporary = try #require(seenTemporary)
        let (tempDir, tempName) = ExportWriter.split(temporary)
        #expect(tempDir == dir)
        #expect(tempName.hasPrefix(".live.otlp."))
        #expect(targetBeforeRename == Array("old content".utf8))
        #expect(temporaryBeforeRename == ExportWriter.encode(traces: Self.traces(), format: .otlp))
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(Self.contents(path) == temporaryBeforeRename)
    }

    /// A file that appears while the export is written is not clobbered
    /// either: the final step fails if the name exists (`link(2)`).
    @Test func aFileThatAppearsMeanwhileIsNotClobbered() throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/race.jaeger"
        var hooks = ExportWriter.Hooks()
        hooks.beforeRename = { _ in FileManager.default.createFile(atPath: path, contents: Data("theirs".utf8)) }
        #expect(throws: ExportError.exists(path: path)) {
            try ExportWriter.write(traces: Self.traces(), format: .jaeger, to: path, overwrite: false, hooks: hooks)
        }
        #expect(Self.contents(path) == Array("theirs".utf8))
        #expect(try Self.listing(dir) == ["race.jaeger"])
    }

    @Test(arguments: [0, 100, 2_000_000])
    func aFailedWriteLeavesTheOldFileIntact(failAfter: Int) throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/keep.otlp"
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        // Big enough to cross the 1 MiB flush threshold, so a failure can come after a flush.
        let big = [(0..<4000).map { i in
            Span(traceID: Self.trace64, spanID: SpanID(UInt64(i + 1)), parentSpanID: i == 0 ? nil : SpanID(1),
                 name: "span \(i)", startTimeUnixNano: Self.t0, durationNano: 1000,
                 attributes: Self.flatAttributes, resource: Self.backend)
        }]
        var hooks = ExportWriter.Hooks()
        hooks.failWriteAfterBytes = failAfter
        #expect(throws: ExportError.writeFailed(path: path, reason: String(cString: strerror(ENOSPC)))) {
            try ExportWriter.write(traces: big, format: .otlp, to: path, overwrite: true, hooks: hooks)
        }
        #expect(Self.contents(path) == Array("old content".utf8))
        #expect(try Self.listing(dir) == ["keep.otlp"])
    }

    @Test func aMissingDirectoryFailsCleanly() throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/missing/out.jaeger"
        do {
            _ = try ExportWriter.write(traces: Self.traces(), format: .jaeger, to: path, overwrite: false)
            Issue.record("wrote into a missing directory")
        } catch {
            guard case .cannotCreate(let p, let reason) = error else { Issue.record("unexpected \(error)"); return }
            #expect(p == path)
            #expect(reason.contains("\(dir)/missing"))
            #expect(error.description.hasPrefix("\(path): cannot create: temporary file in"))
        }
        #expect(try Self.listing(dir).isEmpty)
    }

    /// Root writes into read-only directories, so this runs for other users only.
    @Test(.enabled(if: getuid() != 0))
    func aReadOnlyDirectoryLeavesTheOldFileIntact() throws {
        let dir = try Self.scratchDirectory()
        let path = dir + "/keep.jaeger"
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir) }
        #expect(throws: ExportError.self) {
            try ExportWriter.write(traces: Self.traces(), format: .jaeger, to: path, overwrite: true)
        }
        #expect(Self.contents(path) == Array("old content".utf8))
    }

    @Test func aDirectoryIsNotATarget() throws {
        let dir = try Self.scratchDirectory()
        #expect(throws: ExportError.isDirectory(path: dir)) {
            try ExportWriter.write(traces: Self.traces(), format: .otlp, to: dir, overwrite: true)
        }
    }

    @Test func otlpWritesOneLinePerTraceSplittingHugeOnes() throws {
        let huge = (0..<2500).map { i in
            Span(traceID: Self.trace64, spanID: SpanID(UInt64(i + 1)), name: "s", startTimeUnixNano: Self.t0,
                 durationNano: 1, resource: Self.backend)
        }
        let small = [Span(traceID: Self.trace128, spanID: SpanID(1), name: "t", startTimeUnixNano: Self.t0,
                          durationNano: 1, resource: Self.frontend)]
        let bytes = ExportWriter.encode(traces: [small, huge, small], format: .otlp)
        #expect(bytes.filter { $0 == UInt8(ascii: "\n") }.count == 5)  // 1 + 3 (1000, 1000, 500) + 1
        let (spans, summary) = try DumpDecoder.decode(bytes, source: "x.otlp")
        #expect(spans.count == 2502)
        #expect(summary.lines == 5)
    }

    @Test func pathsSplitIntoDirectoryAndName() {
        #expect(ExportWriter.split("a/b.json") == ("a", "b.json"))
        #expect(ExportWriter.split("b.json") == (".", "b.json"))
        #expect(ExportWriter.split("/b") == ("/", "b"))
        #expect(ExportWriter.split("/x/y/z.otlp") == ("/x/y", "z.otlp"))
    }
}

private extension Span {
    func withTimes(start: UInt64, duration: UInt64) -> Span {
        var copy = self
        copy.startTimeUnixNano = start
        copy.durationNano = duration
        return copy
    }
}
