// Shared by every fuzz target: compiled into each libFuzzer executable by
// Fuzz/build.sh (next to the target's file and its generated entry), and into
// the FuzzSmokeTests test target with all the targets at once.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import TraceFormats
import TraceModel

/// One fuzz target: its seeds in its own wire format and its check of one
/// input. Each lives in its own namespace so all of them compile together
/// (FuzzSmokeTests); a libFuzzer binary links one, with an entry that
/// Fuzz/build.sh generates to call `check`.
protocol FuzzTarget {
    /// The target's name in Fuzz/build.sh and Fuzz/run.sh (its file in Fuzz/Targets).
    static var name: String { get }
    /// Seeds written from the samples in the target's own format.
    static func seeds() -> [[UInt8]]
    /// Runs the target's entry points on `input`; a broken invariant aborts (`require`).
    static func check(_ input: [UInt8])
}

/// Said before aborting on a broken invariant (which input of which run), so
/// the in-process smoke run names what to replay; libFuzzer saves the input itself.
nonisolated(unsafe) var fuzzFailureContext: (() -> String)? = nil

/// A broken invariant: print why, then abort so libFuzzer saves the input as a crash.
func fuzzFail(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    var text = "FUZZ INVARIANT BROKEN (\(file):\(line)): \(message())\n"
    if let context = fuzzFailureContext { text += context() + "\n" }
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
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

/// The repository's Samples/seed.ndjson, looked for in the folders above
/// this file (Fuzz/Support, or Tests/FuzzSmokeTests/Support through the
/// symlink SwiftPM compiles it by), so the samples are found from any
/// current directory; failing that, relative to the current one.
let samplesPath: String = {
    var directory = "\(#filePath)"
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/Samples/seed.ndjson"
        if access(candidate, R_OK) == 0 { return candidate }
    }
    return "Samples/seed.ndjson"
}()

/// The sample spans (Samples/seed.ndjson, or FUZZ_SAMPLES), for targets that
/// write seeds in their own format.
func sampleSpans() -> [Span] {
    let path = getenv("FUZZ_SAMPLES").map { String(cString: $0) } ?? samplesPath
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
/// this before fuzzing (the generated entry's `LLVMFuzzerInitialize`).
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

// MARK: - libFuzzer entries

// The two functions each target's generated entry calls (Fuzz/build.sh writes
// one per binary, so each has exactly one LLVMFuzzerTestOneInput).
func fuzzInitialize<Target: FuzzTarget>(_: Target.Type) -> CInt {
    emitSeedsIfAsked(Target.seeds)
    return 0
}

func fuzzOneInput<Target: FuzzTarget>(_: Target.Type, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Target.check(bytes(data, size))
    return 0
}
