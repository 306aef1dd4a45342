// The project's gzip inflater (zlib, multi-member) and its output bound.
//
// Input: byte 0 picks the chunk size for a streaming pass (byte * 7 + 1),
// the rest is the compressed body.
// Invariants: never more than the bound comes out (a bomb stops early);
// whole-buffer and streamed inflation agree on bytes and on the verdict;
// what inflates re-compresses and inflates back to the same bytes.
@testable import TraceFormats

enum GzipFuzz: FuzzTarget {
    static let name = "gzip"

    static let bound = 1 << 20

    static func seeds() -> [[UInt8]] {
        var text: [UInt8] = []
        for span in sampleSpans().prefix(20) { text += OTLPJSONEncoder.encodeLine([span]) + [0x0A] }
        let one = Gzip.compress(text)
        let bomb = Gzip.compress([UInt8](repeating: 0x41, count: 3 << 20), level: 9)
        let empty = Gzip.compress([])
        return [[0x00] + one, [0x20] + one + Gzip.compress(Array("second member".utf8)), [0x03] + bomb,
                [0x01] + empty, [0x09] + Array(one.prefix(one.count / 2))]
    }

    /// Streams `body` through a GzipInflater in pieces of `piece` bytes, bounded as Gzip.decompress is.
    static func streamed(_ body: [UInt8], piece: Int, limit: Int) -> Result<[UInt8], GzipError> {
        let inflater = GzipInflater(outputChunk: 4096)
        var out: [UInt8] = []
        var tooLarge = false
        var offset = 0
        body.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = min(piece, raw.count - offset)
                let ok = inflater.inflate(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)])) { chunk in
                    if out.count + chunk.count > limit { tooLarge = true; inflater.stopRequested = true; return }
                    out.append(contentsOf: chunk)
                }
                offset += n
                if !ok { break }
            }
        }
        if tooLarge { return .failure(.tooLarge(limit: limit)) }
        if let failure = inflater.finish() { return .failure(inflater.failure != nil ? .corrupt(failure) : .truncated) }
        return .success(out)
    }

    static func check(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let body = Array(input.dropFirst())
        let whole = Result { () throws(GzipError) in try Gzip.decompress(body, maxOutputBytes: bound) }
        if case .success(let out) = whole {
            require(out.count <= bound, "inflated \(out.count) bytes past the bound of \(bound)")
            do {
                let back = try Gzip.decompress(Gzip.compress(out), maxOutputBytes: bound)
                require(back == out, "re-compressed output inflates to different bytes")
            } catch {
                fuzzFail("re-compressed output does not inflate: \(error)")
            }
            // A smaller bound: the same bytes when they fit, else tooLarge.
            let small = Result { () throws(GzipError) in try Gzip.decompress(body, maxOutputBytes: 1000) }
            if out.count <= 1000 {
                require(small == .success(out), "a smaller bound changed the output of a body that fits")
            } else {
                require(small == .failure(.tooLarge(limit: 1000)), "\(out.count) bytes under a bound of 1000: \(small)")
            }
        }
        let piece = Int(first) * 7 + 1
        let stream = streamed(body, piece: piece, limit: bound)
        switch (whole, stream) {
        case (.success(let a), .success(let b)):
            require(a == b, "streamed in \(piece)-byte pieces: \(b.count) bytes, whole: \(a.count)")
        case (.failure(.tooLarge), .failure(.tooLarge)), (.failure(.truncated), .failure(.truncated)), (.failure(.corrupt), .failure(.corrupt)):
            break
        default:
            fuzzFail("streamed in \(piece)-byte pieces: \(stream), whole: \(whole)")
        }
        // The receivers' entry point: gzip only when the magic says so, with the wire bound.
        let wire = Result { () throws(WireDecodeError) in
            try WireGzip.inflateIfGzip(body, limits: WireLimits(maxDecompressedBytes: bound))
        }
        if Gzip.isGzip(body) {
            switch (whole, wire) {
            case (.success(let a), .success(let b)): require(a == b, "WireGzip and Gzip.decompress differ")
            case (.failure, .failure(let e)): require(e.format == .gzip, "a gzip failure reported as \(e.format)")
            default: fuzzFail("WireGzip: \(wire), Gzip.decompress: \(whole)")
            }
        } else {
            require(wire == .success(body), "a body without the gzip magic was changed")
        }
    }
}
