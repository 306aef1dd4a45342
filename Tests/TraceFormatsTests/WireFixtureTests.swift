import Foundation
import Testing
import TraceModel
@testable import TraceFormats
import TestSupport

/// The captured datagrams and bodies in ../shared/fixtures against their
/// `.decoded.txt` (written by independent Python decoders). Skipped, with
/// this reason, in a fresh clone without ../shared/fixtures.
@Suite(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
struct WireFixtureTests {
    static func files(_ directory: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Shared.path("fixtures/" + directory))
            .filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// Every span line of the `.decoded.txt` matches the decoded span: ids,
    /// parent, name, duration, flags, kind, tags/attributes, logs/events;
    /// and each file's header: message type, seqid, service, span count.
    func check(_ directory: String, suffix: String, decode: ([UInt8]) throws -> (header: DecodedHeader, spans: [Span])) throws {
        let expected = try DecodedText.parse(String(contentsOfFile: Shared.path("fixtures/\(directory).decoded.txt"), encoding: .utf8))
        let files = try Self.files(directory, suffix: suffix)
        #expect(files.count == expected.count)
        #expect(!files.isEmpty)
        for (file, want) in zip(files, expected) {
            #expect(want.name == file)
            let bytes = try Shared.bytes("fixtures/\(directory)/\(file)")
            let (header, spans) = try decode(bytes)
            if let type = want.messageType { #expect(header.messageType == type, "\(file)") }
            if let seq = want.seqID { #expect(header.seqID == seq, "\(file)") }
            if let service = want.service { #expect(spans.allSatisfy { $0.serviceName == service }, "\(file)") }
            if let tags = want.processTags, let first = spans.first {
                #expect(Dictionary(first.resource.attributes.filter { $0.key != "service.name" }.map { ($0.key, $0.value) },
                                   uniquingKeysWith: { a, _ in a }) == tags, "\(file)")
            }
            if let count = want.spanCount { #expect(spans.count == count, "\(file)") }
            try #require(spans.count == want.spans.count, "\(file)")
            // The parse found everything it is meant to check.
            #expect(want.spans.allSatisfy { $0.tags != nil && ($0.durationMicros != nil || $0.durationMillis != nil) }, "\(file)")
            #expect(want.service != nil, "\(file)")
            for (span, w) in zip(spans, want.spans) {
                let where_ = "\(file) span \(w.span)"
                #expect(span.traceID == hexTrace(w.trace), "\(where_)")
                #expect(span.spanID == hexSpan(w.span), "\(where_)")
                #expect(span.parentSpanID == w.parent.map(hexSpan), "\(where_)")
                #expect(span.name == w.name, "\(where_)")
                if let micros = w.durationMicros { #expect(span.durationNano == micros * 1000, "\(where_)") }
                if let ms = w.durationMillis { #expect(abs(Double(span.durationNano) / 1e6 - ms) <= 0.05, "\(where_)") }
                if let flags = w.flags { #expect(span.flags == flags, "\(where_)") }
                if let kind = w.kind { #expect(span.kind.rawValue == kind, "\(where_)") }
                if let tags = w.tags {
                    var got = Dictionary(span.attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                    // Jaeger's span.kind tag became the kind.
                    if w.kind == nil, span.kind != .unspecified { got["span.kind"] = .string(span.kind.name) }
                    #expect(got == tags, "\(where_)")
                }
                if let logs = w.logs {
                    #expect(span.events.count == logs.count, "\(where_)")
                    for (event, log) in zip(span.events, logs) {
                        #expect(Dictionary(event.attributes.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) == log.fields, "\(where_)")
                        if let name = log.name { #expect(event.name == name, "\(where_)") }
                    }
                }
            }
        }
    }

    struct DecodedHeader {
        var messageType: ThriftMessageType?
        var seqID: Int32?
    }

    static func agent(_ bytes: [UInt8]) throws -> (header: DecodedHeader, spans: [Span]) {
        let batch = try JaegerAgentDecoder.decode(bytes)
        #expect(batch.rejectedCount == 0)
        return (DecodedHeader(messageType: batch.messageType, seqID: batch.seqID), batch.spans)
    }

    static func otlp(_ bytes: [UInt8]) throws -> (header: DecodedHeader, spans: [Span]) {
        let decoded = try OTLPProtobufDecoder.decodeDetectingGzip(bytes)
        #expect(decoded.rejectedCount == 0)
        return (DecodedHeader(), decoded.spans)
    }

    @Test func goSeedServers() throws {
        try check("jaeger-udp/go-seed-servers", suffix: ".bin", decode: Self.agent)
        let first = try JaegerAgentDecoder.decode(Shared.bytes("fixtures/jaeger-udp/go-seed-servers/0001.bin"))
        #expect(first.protocolKind == .compact && first.method == .emitBatch)
        #expect(first.batchSeqNo == nil && first.clientStats == nil)  // the Go exporter sends neither
        #expect(first.process?.attributes == [Attribute("service.name", .string("server-2")),
                                              Attribute("hostname", .string("vm")), Attribute("ip", .string("127.0.0.1"))])
        #expect(first.spans[0].kind == .server)
        #expect(first.spans[0].startTimeUnixNano == 1_795_821_559_258_208_000)
        #expect(first.spans[1].attribute("sampler.param") == .bool(true))
    }

    /// Decoding the Go client's datagrams and encoding them again gives the same bytes.
    @Test func goSeedServersReencodeByteForByte() throws {
        for file in try Self.files("jaeger-udp/go-seed-servers", suffix: ".bin") {
            let bytes = try Shared.bytes("fixtures/jaeger-udp/go-seed-servers/\(file)")
            let batch = try JaegerAgentDecoder.decode(bytes)
            let process = try #require(batch.process)
            let again = JaegerThriftEncoder.emitBatch(process: process, spans: batch.spans, seqNo: batch.batchSeqNo,
                                                      stats: batch.clientStats, seqID: batch.seqID, messageType: batch.messageType)
            #expect(again == bytes, "\(file)")
        }
    }

    @Test func pythonJaegerClient() throws {
        try check("jaeger-udp/python-jaeger-client", suffix: ".bin", decode: Self.agent)
        let batch = try JaegerAgentDecoder.decode(Shared.bytes("fixtures/jaeger-udp/python-jaeger-client/000001.bin"))
        #expect(batch.process?.attributes.map(\.key) == ["service.name", "jaeger.version", "ip", "hostname"])
        #expect(batch.spans[0].events.map(\.name) == ["request received"])
        // The Python client writes span.kind first and an empty logs list, so
        // the bytes differ from ours; the spans do not.
        for file in try Self.files("jaeger-udp/python-jaeger-client", suffix: ".bin") {
            let decoded = try JaegerAgentDecoder.decode(Shared.bytes("fixtures/jaeger-udp/python-jaeger-client/\(file)"))
            let again = try JaegerAgentDecoder.decode(JaegerThriftEncoder.emitBatch(
                process: try #require(decoded.process), spans: decoded.spans, seqID: decoded.seqID, messageType: .oneway))
            #expect(again == decoded)
        }
    }

    @Test func pythonOTelJaegerExporter() throws {
        try check("jaeger-udp/python-otel-jaeger-exporter", suffix: ".bin", decode: Self.agent)
        let batch = try JaegerAgentDecoder.decode(Shared.bytes("fixtures/jaeger-udp/python-otel-jaeger-exporter/000001.bin"))
        #expect(batch.spans[0].traceID.high != 0)  // 128-bit
        #expect(batch.process?.attributes == [Attribute("service.name", .string("server-2"))])
        #expect(batch.spans[0].events.map(\.name) == ["request received"])  // named from `message`
    }

    /// The collector's HTTP body: a bare binary Batch (no .decoded.txt; values read off the hex).
    @Test func pythonOTelCollectorEndpoint() throws {
        let first = try JaegerBatchDecoder.decode(Shared.bytes("fixtures/jaeger-http/python-otel-collector-endpoint/000000.body"))
        let second = try JaegerBatchDecoder.decode(Shared.bytes("fixtures/jaeger-http/python-otel-collector-endpoint/000001.body"))
        #expect(first.rejectedCount == 0 && second.rejectedCount == 0)
        #expect(first.process.serviceName == "server-1" && second.process.serviceName == "server-2")
        try #require(first.spans.count == 2 && second.spans.count == 1)
        let trace = hexTrace("6a9de84b666e7dfd141c82e845c776e6")
        let (client, root, server) = (first.spans[0], first.spans[1], second.spans[0])
        #expect([client, root, server].allSatisfy { $0.traceID == trace && $0.flags == 1 })
        #expect(root.spanID == hexSpan("bb70c0eb3f476063") && root.parentSpanID == nil && root.name == "server-1" && root.kind == .server)
        #expect(client.spanID == hexSpan("120410ab5ecfd586") && client.parentSpanID == root.spanID)
        #expect(client.name == "server-1_to_server-2" && client.kind == .client)
        #expect(server.spanID == hexSpan("c856a6f7b704879e") && server.parentSpanID == client.spanID)
        #expect(server.name == "server-2" && server.kind == .server)
        #expect(root.durationNano == 760_000_000 && client.durationNano == 505_000_000 && server.durationNano == 500_000_000)
        #expect(root.attribute("http.status_code") == .int(200))
        #expect(root.attribute("http.url") == .string("/alice"))
        #expect(server.attribute("otel.scope.name") == .string("emitter.server-2"))
        #expect(server.events == [SpanEvent(timeUnixNano: 1_795_821_735_655_646_000, name: "request received",
                                            attributes: [Attribute("name", .string("alice")), Attribute("message", .string("request received"))])])
        // Re-encoded as a bare binary batch, it decodes the same.
        let again = try JaegerBatchDecoder.decode(JaegerThriftEncoder.batch(process: second.process, spans: second.spans))
        #expect(again.spans == second.spans)
    }

    @Test func otlpProtobuf() throws {
        try check("otlp-http/python-protobuf", suffix: ".body", decode: Self.otlp)
        try check("otlp-http/python-protobuf-gzip", suffix: ".body", decode: Self.otlp)
        let spans = try OTLPProtobufDecoder.decode(Shared.bytes("fixtures/otlp-http/python-protobuf/000001.body")).spans
        #expect(spans[0].scope.name == "emitter.server-2")
        #expect(spans[0].resource.attributes.map(\.key) == ["telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version", "service.name"])
        // The Python SDK's bytes, again from the decoded spans.
        for directory in ["otlp-http/python-protobuf", "otlp-http/python-protobuf-gzip"] {
            for file in try Self.files(directory, suffix: ".body") {
                var bytes = try Shared.bytes("fixtures/\(directory)/\(file)")
                if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes) }
                #expect(OTLPProtobufEncoder.encode(try OTLPProtobufDecoder.decode(bytes).spans) == bytes, "\(file)")
            }
        }
    }

    /// Every prefix of every captured payload fails with a typed error (or,
    /// for protobuf, decodes fewer spans); flipping any byte never crashes.
    @Test func capturedPayloadsTruncatedAndCorrupted() throws {
        let sets: [(String, String, WireRobustnessTests.Decoder)] = [
            ("jaeger-udp/go-seed-servers", ".bin", .agent), ("jaeger-udp/python-jaeger-client", ".bin", .agent),
            ("jaeger-udp/python-otel-jaeger-exporter", ".bin", .agent),
            ("jaeger-http/python-otel-collector-endpoint", ".body", .bareBatch(.binary)),
            ("otlp-http/python-protobuf", ".body", .otlp),
        ]
        for (directory, suffix, decoder) in sets {
            for file in try Self.files(directory, suffix: suffix) {
                let bytes = try Shared.bytes("fixtures/\(directory)/\(file)")
                let full = try decoder.run(bytes).get().spans
                for length in 0..<bytes.count {
                    if case .success(let got) = decoder.run(Array(bytes[..<length])) {
                        if case .otlp = decoder { #expect(got.spans < full) } else { Issue.record("\(file): prefix \(length) decoded") }
                    }
                }
                for index in bytes.indices {
                    var corrupt = bytes
                    corrupt[index] ^= 0xFF
                    _ = decoder.run(corrupt)
                }
            }
        }
    }
}

// MARK: - the .decoded.txt files

struct DecodedText {
    struct Log {
        var name: String?
        var fields: [String: AttributeValue]
    }

    struct SpanLine {
        var trace = "", span = "", parent: String? = nil, name = ""
        var durationMicros: UInt64? = nil
        var durationMillis: Double? = nil
        var flags: UInt32? = nil
        var kind: UInt8? = nil
        var tags: [String: AttributeValue]? = nil
        var logs: [Log]? = nil
    }

    struct File {
        var name: String
        var messageType: ThriftMessageType? = nil
        var seqID: Int32? = nil
        var service: String? = nil
        var processTags: [String: AttributeValue]? = nil
        var spanCount: Int? = nil
        var spans: [SpanLine] = []
    }

    /// The three layouts the fixture decoders print (Go capture, Python
    /// agent dumps, OTLP dumps), as far as these tests need them.
    static func parse(_ text: String) throws -> [File] {
        var files: [File] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("TOTAL") { continue }
            if !line.hasPrefix(" ") {
                // `== captures/0000.bin: ...` or `000000.bin: ...`
                var head = line.hasPrefix("== ") ? String(line.dropFirst(3)) : line
                guard let colon = head.firstIndex(of: ":") else { continue }
                let name = String(head[..<colon]).split(separator: "/").last.map(String.init) ?? ""
                head = String(head[head.index(after: colon)...])
                var file = File(name: name)
                apply(header: head, to: &file)
                files.append(file)
                continue
            }
            guard !files.isEmpty else { continue }
            let index = files.count - 1
            if trimmed.hasPrefix("thrift ") || trimmed.hasPrefix("process ") {
                apply(header: trimmed, to: &files[index])
            } else if trimmed.hasPrefix("tags=") {
                if !files[index].spans.isEmpty {
                    files[index].spans[files[index].spans.count - 1].tags = try tags(PyLiteral.parse(String(trimmed.dropFirst(5))))
                }
            } else if trimmed.contains("trace=") && trimmed.contains(" span=") {
                files[index].spans.append(try spanLine(trimmed))
            }
        }
        return files
    }

    static func apply(header: String, to file: inout File) {
        if header.contains(" CALL") { file.messageType = .call }
        if header.contains(" ONEWAY") { file.messageType = .oneway }
        if let seq = token("seqid=", header).flatMap({ Int32($0) }) { file.seqID = seq }
        if let count = token("spans=", header).flatMap({ Int($0) }) { file.spanCount = count }
        if let service = token("service=", header) {
            file.service = service.trimmingCharacters(in: CharacterSet(charactersIn: "[]'"))
        }
        if header.hasPrefix("process "), let range = header.range(of: "tags=") {
            file.processTags = try? tags(PyLiteral.parse(String(header[range.upperBound...])))
        }
    }

    /// The value after `key` up to a space, or the quoted value.
    static func token(_ key: String, _ line: String) -> String? {
        guard let range = line.range(of: " " + key) ?? (line.hasPrefix(key) ? line.range(of: key) : nil) else { return nil }
        let rest = line[range.upperBound...]
        if rest.first == "'" {
            let body = rest.dropFirst()
            return body.firstIndex(of: "'").map { String(body[..<$0]) }
        }
        return String(rest.prefix { $0 != " " })
    }

    static func spanLine(_ line: String) throws -> SpanLine {
        let padded = " " + line
        var s = SpanLine()
        s.trace = token("trace=", padded) ?? ""
        s.span = token("span=", padded) ?? ""
        let parent = token("parent=", padded) ?? "-"
        s.parent = parent == "-" || parent.allSatisfy({ $0 == "0" }) ? nil : parent
        s.name = token("op=", padded) ?? token("name=", padded) ?? ""
        if let us = token("dur_us=", padded) { s.durationMicros = UInt64(us) }
        if let ms = token("dur=", padded), ms.hasSuffix("ms") { s.durationMillis = Double(ms.dropLast(2)) }
        if let flags = token("flags=", padded) { s.flags = UInt32(flags) }
        if let kind = token("kind=", padded) { s.kind = UInt8(kind) }
        if let range = padded.range(of: " tags=") ?? padded.range(of: " attrs=") {
            var parser = PyLiteral(String(padded[range.upperBound...]))
            s.tags = try tags(parser.value())
        }
        if let range = padded.range(of: " logs=") ?? padded.range(of: " events=") {
            var parser = PyLiteral(String(padded[range.upperBound...]))
            guard case .list(let items) = try parser.value() else { return s }
            s.logs = try items.map { item in
                switch item {
                case .tuple(let parts) where parts.count == 2:
                    guard case .string(let name) = parts[0] else { throw PyLiteral.Failure.unexpected("event name") }
                    return Log(name: name, fields: try tags(parts[1]))
                default:
                    return Log(name: nil, fields: try tags(item))
                }
            }
        }
        return s
    }

    /// A dict or a Go-style pair list to attributes; OTLP JSON-like
    /// `{'stringValue': 'x'}` values unwrapped.
    static func tags(_ value: PyLiteral.Value) throws -> [String: AttributeValue] {
        var out: [String: AttributeValue] = [:]
        let pairs: [(String, PyLiteral.Value)]
        switch value {
        case .dict(let d): pairs = d
        case .list(let items):
            pairs = try items.map { item in
                guard case .pair(let k, let v) = item else { throw PyLiteral.Failure.unexpected("pair") }
                return (k, v)
            }
        default: throw PyLiteral.Failure.unexpected("tags")
        }
        for (key, v) in pairs { out[key] = try attribute(v) }
        return out
    }

    static func attribute(_ v: PyLiteral.Value) throws -> AttributeValue {
        switch v {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .dict(let d) where d.count == 1:
            let (type, inner) = d[0]
            switch (type, inner) {
            case ("stringValue", .string(let s)): return .string(s)
            case ("intValue", .string(let s)): return .int(Int64(s) ?? 0)
            case ("intValue", .int(let i)): return .int(i)
            case ("boolValue", .bool(let b)): return .bool(b)
            case ("doubleValue", .double(let x)): return .double(x)
            default: throw PyLiteral.Failure.unexpected("AnyValue \(type)")
            }
        default: throw PyLiteral.Failure.unexpected("value")
        }
    }
}

/// Just enough of Python's literal syntax for the fixture dumps: strings,
/// True/False, numbers, dicts, lists, tuples, and `key=value` pairs in lists.
struct PyLiteral {
    indirect enum Value {
        case string(String), bool(Bool), int(Int64), double(Double)
        case dict([(String, Value)]), list([Value]), tuple([Value]), pair(String, Value)
    }

    enum Failure: Error { case unexpected(String) }

    var chars: [Character]
    var i = 0

    init(_ text: String) { chars = Array(text) }

    static func parse(_ text: String) throws -> Value {
        var p = PyLiteral(text)
        return try p.value()
    }

    mutating func skipSpaces() { while i < chars.count && chars[i] == " " { i += 1 } }

    mutating func expect(_ c: Character) throws {
        skipSpaces()
        guard i < chars.count, chars[i] == c else { throw Failure.unexpected("expected \(c) at \(i)") }
        i += 1
    }

    mutating func value() throws -> Value {
        skipSpaces()
        guard i < chars.count else { throw Failure.unexpected("end") }
        switch chars[i] {
        case "'": return .string(try string())
        case "{":
            i += 1
            var items: [(String, Value)] = []
            skipSpaces()
            while i < chars.count && chars[i] != "}" {
                let key = try string()
                try expect(":")
                items.append((key, try value()))
                skipSpaces()
                if i < chars.count && chars[i] == "," { i += 1; skipSpaces() }
            }
            try expect("}")
            return .dict(items)
        case "[", "(":
            let close: Character = chars[i] == "[" ? "]" : ")"
            let isTuple = chars[i] == "("
            i += 1
            var items: [Value] = []
            skipSpaces()
            while i < chars.count && chars[i] != close {
                items.append(try element())
                skipSpaces()
                if i < chars.count && chars[i] == "," { i += 1; skipSpaces() }
            }
            try expect(close)
            return isTuple ? .tuple(items) : .list(items)
        default:
            let start = i
            while i < chars.count && !",]}) ".contains(chars[i]) { i += 1 }
            let word = String(chars[start..<i])
            if word == "True" { return .bool(true) }
            if word == "False" { return .bool(false) }
            if let n = Int64(word) { return .int(n) }
            if let d = Double(word) { return .double(d) }
            throw Failure.unexpected("word \(word)")
        }
    }

    /// A list element: a value, or Go-style `key=value`.
    mutating func element() throws -> Value {
        skipSpaces()
        var j = i
        while j < chars.count && (chars[j].isLetter || chars[j].isNumber || chars[j] == "." || chars[j] == "_") { j += 1 }
        if j > i, j < chars.count, chars[j] == "=" {
            let key = String(chars[i..<j])
            i = j + 1
            return .pair(key, try value())
        }
        return try value()
    }

    mutating func string() throws -> String {
        skipSpaces()
        guard i < chars.count, chars[i] == "'" else { throw Failure.unexpected("string at \(i)") }
        i += 1
        var out = ""
        while i < chars.count && chars[i] != "'" {
            if chars[i] == "\\" && i + 1 < chars.count { i += 1 }
            out.append(chars[i])
            i += 1
        }
        i += 1
        return out
    }
}
