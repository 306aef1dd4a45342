import Foundation
import Testing
import TraceModel
@testable import TraceFormats
import TestSupport

func decodeText(_ text: String, source: String = "t.ndjson", limits: DumpLimits = DumpLimits()) throws -> (spans: [Span], summary: DumpReadSummary) {
    try DumpDecoder.decode(Array(text.utf8), source: source, limits: limits)
}

/// A fresh temporary file holding `bytes`.
func temporaryFile(_ bytes: [UInt8], name: String = "dump") throws -> String {
    let dir = TestScratch.directory.appendingPathComponent("tracetty-formats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

func readFile(_ path: String, limits: DumpLimits = DumpLimits()) throws -> (spans: [Span], summary: DumpReadSummary, batches: Int, progress: [DumpProgress]) {
    var spans: [Span] = []
    var batches = 0
    var progress: [DumpProgress] = []
    let summary = try DumpReader(path: path, limits: limits).read(
        onSpans: { spans += $0; batches += 1 },
        onProgress: { progress.append($0) })
    return (spans, summary, batches, progress)
}

func hexTrace(_ s: String) -> TraceID { TraceID(hex: s) ?? TraceID(low: 0) }
func hexSpan(_ s: String) -> SpanID { SpanID(hex: s) ?? SpanID(0) }

/// Pretty-prints compact JSON (two-space indent), to make multi-line documents.
func prettyJSON(_ compact: [UInt8]) -> String {
    var out: [UInt8] = []
    var indent = 0
    var inString = false
    var escaped = false
    func newline() { out.append(10); out.append(contentsOf: [UInt8](repeating: 32, count: indent * 2)) }
    for c in compact {
        if inString {
            out.append(c)
            if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch c {
        case UInt8(ascii: "\""): inString = true; out.append(c)
        case UInt8(ascii: "{"), UInt8(ascii: "["): out.append(c); indent += 1; newline()
        case UInt8(ascii: "}"), UInt8(ascii: "]"): indent -= 1; newline(); out.append(c)
        case UInt8(ascii: ","): out.append(c); newline()
        case UInt8(ascii: ":"): out.append(c); out.append(32)
        case 10: break
        default: out.append(c)
        }
    }
    out.append(10)
    return String(decoding: out, as: UTF8.self)
}

func sortedSpans(_ spans: [Span]) -> [Span] {
    spans.sorted { ($0.traceID, $0.spanID) < ($1.traceID, $1.spanID) }
}

extension Span {
    /// A small span for tests.
    static func stub(trace: UInt64 = 1, id: UInt64, parent: UInt64? = nil, name: String = "op",
                     resource: Resource = Resource(serviceName: "svc", attributes: [Attribute("service.name", .string("svc"))]),
                     attributes: [Attribute] = []) -> Span {
        Span(traceID: TraceID(high: 0xabc, low: trace), spanID: SpanID(id), parentSpanID: parent.map(SpanID.init),
             name: name, kind: .server, startTimeUnixNano: 1_700_000_000_000_000_000 + id * 1000,
             durationNano: 5000, attributes: attributes, resource: resource)
    }
}
