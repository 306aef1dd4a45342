// Checks shared by the three JSON body targets (otlp-json, jaeger-json, zipkin-json).
import TraceFormats
import TraceModel

struct JSONFamily: Sendable {
    var name: String
    var partial: @Sendable ([UInt8]) throws(JSONDecodeError) -> DecodedSpans
    var strict: @Sendable ([UInt8]) throws(JSONDecodeError) -> [Span]
    var encode: @Sendable ([Span]) -> [UInt8]
}

/// Strict and partial decoding agree; what decodes is re-encoded by the
/// project's encoder for the same format and must decode to the same spans.
func checkJSON(_ input: [UInt8], _ family: JSONFamily) {
    let partial = Result { () throws(JSONDecodeError) in try family.partial(input) }
    let strict = Result { () throws(JSONDecodeError) in try family.strict(input) }
    let lines = input.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    switch (partial, strict) {
    case (.failure(let a), .failure(let b)):
        require(a == b, "\(family.name): strict and partial decoding fail differently: \(a) vs \(b)")
        require(a.line >= 1 && a.line <= lines, "\(family.name): error on line \(a.line) of \(lines)")
    case (.failure(let a), .success):
        fuzzFail("\(family.name): partial decoding fails (\(a)) where strict decoding succeeds")
    case (.success(let decoded), .failure(let b)):
        require(decoded.rejected.first == b, "\(family.name): strict decoding fails with \(b), partial rejected \(decoded.rejected.first.map { "\($0)" } ?? "nothing")")
        checkDecoded(decoded, family, lines: lines)
    case (.success(let decoded), .success(let spans)):
        require(decoded.rejected.isEmpty, "\(family.name): strict decoding ignored a rejected span")
        require(keys(decoded.spans) == keys(spans), "\(family.name): strict and partial decoding give different spans")
        checkDecoded(decoded, family, lines: lines)
    }
}

private func checkDecoded(_ decoded: DecodedSpans, _ family: JSONFamily, lines: Int) {
    for issue in decoded.rejected {
        require(issue.line >= 1 && issue.line <= lines, "\(family.name): issue on line \(issue.line) of \(lines)")
    }
    requireValidIDs(decoded.spans, family.name)
    let again = family.encode(decoded.spans)
    do {
        let redecoded = try family.partial(again)
        require(keys(redecoded.spans).sorted() == keys(decoded.spans).sorted(),
                "\(family.name): re-encoded spans decode differently (\(redecoded.spans.count) vs \(decoded.spans.count))")
        require(redecoded.rejected.isEmpty, "\(family.name): re-encoded spans are rejected: \(redecoded.rejected)")
    } catch {
        fuzzFail("\(family.name): re-encoding \(decoded.spans.count) decoded spans gives unreadable JSON: \(error)")
    }
    exerciseStore(decoded.spans)
}
