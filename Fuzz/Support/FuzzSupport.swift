// Shared by every fuzz target (compiled into each target's executable by
// Fuzz/build.sh, next to the target's own file). Not part of the package.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import TraceFormats
import TraceModel

/// A broken invariant: print why, then abort so libFuzzer saves the input as a crash.
func fuzzFail(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "FUZZ INVARIANT BROKEN (\(file):\(line)): \(message())\n"
    text.withCString { _ = fputs($0, stderr) }
    abort()
}

func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fuzzFail(message(), file: file, line: line) }
}

/// The fuzzer's input as an array (the decoders take `[UInt8]` or a raw buffer).
func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// What identifies a span across a decode, encode, decode round trip (doubles
/// may be NaN, so whole spans are not compared with ==).
struct SpanKey: Hashable, Comparable, CustomStringConvertible {
    var traceHigh: UInt64
    var traceLow: UInt64
    var spanID: UInt64

    init(_ span: Span) {
        traceHigh = span.traceID.high
        traceLow = span.traceID.low
        spanID = span.spanID.raw
    }

    static func < (a: SpanKey, b: SpanKey) -> Bool {
        (a.traceHigh, a.traceLow, a.spanID) < (b.traceHigh, b.traceLow, b.spanID)
    }

    var description: String { "\(String(traceHigh, radix: 16))\(String(traceLow, radix: 16))/\(String(spanID, radix: 16))" }
}

func keys(_ spans: [Span]) -> [SpanKey] { spans.map(SpanKey.init) }

/// Every decoder drops spans with a zero trace or span id (counted as rejected).
func requireValidIDs(_ spans: [Span], _ what: String) {
    for span in spans {
        require(!span.traceID.isZero, "\(what): a span with a zero trace id was kept")
        require(!span.spanID.isZero, "\(what): a span with a zero span id was kept")
    }
}

/// Builds the decoded spans into a store and materializes every trace (tree,
/// summaries): hostile ids (self parents, cycles, duplicates) must not hurt.
func exerciseStore(_ spans: [Span]) {
    guard !spans.isEmpty else { return }
    var store = TraceStore()
    store.add(contentsOf: spans)
    var seen = Set<TraceID>()
    for span in spans {
        guard seen.insert(span.traceID).inserted else { continue }
        guard let trace = store.trace(span.traceID) else { fuzzFail("a stored trace cannot be found") }
        require(trace.tree.rows.count == trace.spans.count, "trace tree has \(trace.tree.rows.count) rows for \(trace.spans.count) spans")
    }
}

// MARK: - Seeds

/// The sample spans (Samples/seed.ndjson, or FUZZ_SAMPLES), for targets that
/// write seeds in their own format.
func sampleSpans() -> [Span] {
    let path = getenv("FUZZ_SAMPLES").map { String(cString: $0) } ?? "Samples/seed.ndjson"
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        data.append(contentsOf: chunk[0..<n])
    }
    return (try? DumpDecoder.decode(data, source: path).spans) ?? []
}

/// Spans grouped by trace, in first-seen order.
func traces(_ spans: [Span]) -> [[Span]] {
    var order: [TraceID] = []
    var groups: [TraceID: [Span]] = [:]
    for span in spans {
        if groups[span.traceID] == nil { order.append(span.traceID) }
        groups[span.traceID, default: []].append(span)
    }
    return order.map { groups[$0]! }
}

/// Spans grouped by resource (one jaeger Process per batch).
func byResource(_ spans: [Span]) -> [(Resource, [Span])] {
    var order: [Resource] = []
    var groups: [Resource: [Span]] = [:]
    for span in spans {
        if groups[span.resource] == nil { order.append(span.resource) }
        groups[span.resource, default: []].append(span)
    }
    return order.map { ($0, groups[$0]!) }
}

/// With FUZZ_EMIT_SEEDS=<dir>, a target writes the seeds it generates from
/// the samples (its own wire format) into <dir> and exits; Fuzz/run.sh does
/// this before fuzzing. Targets define `generatedSeeds()`.
func emitSeedsIfAsked(_ generate: () -> [[UInt8]]) {
    guard let dirC = getenv("FUZZ_EMIT_SEEDS") else { return }
    let dir = String(cString: dirC)
    mkdir(dir, 0o755)
    for (i, seed) in generate().enumerated() {
        let path = "\(dir)/generated-\(i)"
        guard let file = fopen(path, "wb") else { continue }
        _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }
    exit(0)
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    emitSeedsIfAsked(generatedSeeds)
    return 0
}
