import TraceModel
import TraceFormats

/// `print --format json`: one object per trace per line, ids as hex
/// strings, text escaped by the OTLP encoder's string writer. Times are
/// exact JSON integers; Unix nanoseconds exceed 2^53, so read them as 64-bit
/// integers (Python, Go, jq 1.7 do; JavaScript's JSON.parse rounds them).
enum PrintJSON {
    static func trace(_ trace: Trace, criticalPath: CriticalPath?, shifts: [Int64]?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(96 + trace.spans.count * 200)
        out += Array(#"{"traceId":""#.utf8) + Array(trace.traceID.hex.utf8) + Array(#"","spans":["#.utf8)
        for (i, node) in trace.tree.rows.enumerated() {
            let spanIndex = Int(node.spanIndex)
            let span = trace.spans[spanIndex]
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"spanId":""#.utf8) + Array(span.spanID.hex.utf8) + Array(#"","parentSpanId":"#.utf8)
            if let parent = span.parentSpanID {
                out += Array("\"\(parent.hex)\"".utf8)
                if span.parentReference == .followsFrom { out += Array(#","reference":"FOLLOWS_FROM""#.utf8) }
            } else {
                out += Array("null".utf8)
            }
            out += Array(#","service":"#.utf8)
            OTLPJSONEncoder.writeString(span.serviceName, into: &out)
            out += Array(#","name":"#.utf8)
            OTLPJSONEncoder.writeString(span.name, into: &out)
            out += Array(",\"depth\":\(node.depth),\"startUnixNano\":\(span.startTimeUnixNano),\"durationNanos\":\(span.durationNano),\"selfNanos\":\(node.selfTimeNano)".utf8)
            if span.isError { out += Array(#","error":true"#.utf8) }
            if let shifts, spanIndex < shifts.count, shifts[spanIndex] != 0 {
                out += Array(",\"skewShiftNanos\":\(shifts[spanIndex])".utf8)
            }
            if let criticalPath { out += Array(",\"criticalPathNanos\":\(criticalPath.nanosBySpan[spanIndex])".utf8) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if let criticalPath {
            out += Array(",\"criticalPathNanos\":\(criticalPath.totalNanos),\"criticalPath\":[".utf8)
            for (i, section) in criticalPath.sections.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                let id = trace.spans[Int(section.spanIndex)].spanID.hex
                out += Array("{\"spanId\":\"\(id)\",\"startUnixNano\":\(section.startUnixNano),\"endUnixNano\":\(section.endUnixNano)}".utf8)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func statistics(_ table: TraceStatistics, trace: Trace) -> String {
        var out: [UInt8] = Array("{\"traceId\":\"\(trace.traceID.hex)\",\"durationNanos\":\(trace.summary.durationNano),\"groupBy\":\"\(table.grouping.rawValue)\",\"rows\":[".utf8)
        for (i, row) in table.rows.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("{".utf8)
            if let service = row.service {
                out += Array(#""service":"#.utf8)
                OTLPJSONEncoder.writeString(service, into: &out)
                out.append(UInt8(ascii: ","))
            }
            if let operation = row.operation {
                out += Array(#""operation":"#.utf8)
                OTLPJSONEncoder.writeString(operation, into: &out)
                out.append(UInt8(ascii: ","))
            }
            out += Array("\"count\":\(row.count),\"totalNanos\":\(row.totalNanos),\"averageNanos\":\(row.averageNanos),\"minNanos\":\(row.minNanos),\"maxNanos\":\(row.maxNanos),\"selfTotalNanos\":\(row.selfTotalNanos),\"selfAverageNanos\":\(row.selfAverageNanos),\"percentOfTrace\":\(rounded(row.percentOfTrace)),\"errors\":\(row.errorCount)}".utf8)
        }
        out += Array("]}".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    static func comparison(_ comparison: TraceComparison, a: TraceSummary, b: TraceSummary) -> String {
        let s = comparison.summary
        var out: [UInt8] = Array("{\"a\":\"\(a.traceID.hex)\",\"b\":\"\(b.traceID.hex)\",\"durationNanosA\":\(s.durationA),\"durationNanosB\":\(s.durationB),\"spansA\":\(s.spansA),\"spansB\":\(s.spansB),\"errorsA\":\(s.errorsA),\"errorsB\":\(s.errorsB),\"paths\":[".utf8)
        for (i, row) in comparison.rows.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"path":["#.utf8)
            for (j, segment) in row.path.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                OTLPJSONEncoder.writeString(segment, into: &out)
            }
            let presence: String = switch row.presence { case .both: "both"; case .onlyA: "onlyA"; case .onlyB: "onlyB" }
            out += Array("],\"countA\":\(row.countA),\"countB\":\(row.countB),\"totalNanosA\":\(row.totalA),\"totalNanosB\":\(row.totalB),\"differenceNanos\":\(row.difference),\"presence\":\"\(presence)\"}".utf8)
        }
        out += Array("]}".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal, escaped as the OTLP encoder escapes.
    static func string(_ text: String) -> String {
        var bytes: [UInt8] = []
        OTLPJSONEncoder.writeString(text, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Two decimals: enough for a share of a trace.
    static func rounded(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = (value * 100).rounded()
        return hundredths.truncatingRemainder(dividingBy: 100) == 0 ? String(Int(hundredths / 100)) : String(hundredths / 100)
    }
}
