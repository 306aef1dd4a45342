import CZlib
import Synchronization

/// Streaming gzip decompression (multi-member) through zlib.
final class GzipInflater {
    /// zlib keeps a pointer to its stream: it must not move, so it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private let outputCapacity: Int
    private var initialized = false
    /// True between members (and before the first byte): a clean place to end.
    private(set) var atMemberBoundary = true
    private(set) var failure: String? = nil
    /// Set by a sink that has seen enough (a size bound): `inflate` returns
    /// false after the current piece instead of inflating the rest.
    var stopRequested = false

    init(outputChunk: Int = 1 << 20) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        outputCapacity = outputChunk
        output = .allocate(capacity: outputChunk)
        initialized = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        if !initialized { failure = "zlib could not be initialised" }
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates `input`, handing decompressed pieces to `sink`. Returns false after corrupt data.
    @discardableResult
    func inflate(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard failure == nil else { return false }
        guard let base = input.baseAddress, input.count > 0 else { return true }
        var remaining = input.count
        var next = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        while remaining > 0 {
            if atMemberBoundary && !atMemberStart {
                // Another member follows (or trailing bytes that must be a member).
                inflateReset(stream)
            }
            atMemberStart = false
            stream.pointee.next_in = next
            stream.pointee.avail_in = UInt32(min(remaining, Int(UInt32.max)))
            let given = Int(stream.pointee.avail_in)
            var status: Int32 = Z_OK
            repeat {
                stream.pointee.next_out = output
                stream.pointee.avail_out = UInt32(outputCapacity)
                status = CZlib.inflate(stream, Z_NO_FLUSH)
                let produced = outputCapacity - Int(stream.pointee.avail_out)
                if produced > 0 { sink(UnsafeRawBufferPointer(start: output, count: produced)) }
                if stopRequested { return false }
                if status == Z_STREAM_END || status == Z_BUF_ERROR { break }
                if status != Z_OK && status != Z_BUF_ERROR {
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                    failure = "corrupt gzip data: \(message)"
                    return false
                }
            } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
            let consumed = given - Int(stream.pointee.avail_in)
            next += consumed
            remaining -= consumed
            atMemberBoundary = status == Z_STREAM_END
            if status != Z_STREAM_END && consumed == 0 { break }
        }
        return true
    }

    private var atMemberStart = true

    /// nil when the stream ended cleanly; else the reason (truncated, corrupt).
    func finish() -> String? {
        if let failure { return failure }
        return atMemberBoundary ? nil : "gzip stream truncated (unexpected end of file)"
    }

    static func isGzip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }
}

public enum GzipError: Error, Sendable, Equatable, CustomStringConvertible {
    case corrupt(String)
    case truncated
    case tooLarge(limit: Int)
    /// The shared `InflationBudget` was spent by bodies inflating at the same time.
    case busy(budget: Int)

    public var description: String {
        switch self {
        case .corrupt(let reason): return reason
        case .truncated: return "gzip stream truncated"
        case .tooLarge(let limit): return "gzip content larger than \(limit) bytes"
        case .busy(let budget): return "gzip content does not fit in the \(budget) bytes shared by the bodies inflating now"
        }
    }
}

/// Whole-buffer gzip helpers, e.g. for `Content-Encoding: gzip` request bodies.
public enum Gzip {
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// One gzip member holding `bytes`.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        guard deflateInit2_(stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(stream) }
        let bound = Int(deflateBound(stream, UInt(bytes.count))) + 32
        var out = [UInt8](repeating: 0, count: bound)
        var produced = 0
        bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.pointee.avail_in = UInt32(input.count)
                stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(output.count)
                _ = deflate(stream, Z_FINISH)
                produced = output.count - Int(stream.pointee.avail_out)
            }
        }
        out.removeLast(out.count - produced)
        return out
    }

    /// Decompresses all members; bounded by `maxOutputBytes`, and by
    /// `budget` (shared by every body inflating at once) when given.
    public static func decompress(_ bytes: [UInt8], maxOutputBytes: Int = 64 << 20,
                                  budget: InflationBudget? = nil) throws(GzipError) -> [UInt8] {
        let inflater = GzipInflater()
        // Room for what the trailer claims (exact for an honest body: no
        // regrowth, no copy), or for the bound (a bomb: pages are touched
        // only as it inflates, so it costs what it inflates, not twice that).
        var out: [UInt8] = []
        out.reserveCapacity(min(maxOutputBytes, claimedSize(bytes) ?? bytes.count * 4))
        var failure: GzipError? = nil
        var taken = 0
        defer { budget?.give(taken) }
        _ = bytes.withUnsafeBytes { raw in
            inflater.inflate(raw) { piece in
                // Past a bound: stop inflating (a bomb costs CPU, not only memory).
                if out.count + piece.count > maxOutputBytes {
                    failure = .tooLarge(limit: maxOutputBytes)
                } else if let budget, !budget.take(piece.count) {
                    failure = .busy(budget: budget.bytes)
                }
                if failure != nil { inflater.stopRequested = true; return }
                taken += piece.count
                if out.count + piece.count > out.capacity {
                    // Straight to the bound from half of it: doubling past it
                    // would hold both copies of a body near the bound.
                    let doubled = out.capacity * 2
                    out.reserveCapacity(doubled >= maxOutputBytes / 2 ? maxOutputBytes : max(doubled, out.count + piece.count))
                }
                out.append(contentsOf: piece)
            }
        }
        if let failure { throw failure }
        if let failure = inflater.finish() {
            throw inflater.failure != nil ? .corrupt(failure) : .truncated
        }
        return out
    }

    /// What a gzip body's trailer says its last member inflates to (ISIZE,
    /// modulo 2^32); a hint only, since the trailer is the sender's word.
    static func claimedSize(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 18 else { return nil }
        let n = bytes.count
        return Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
    }
}

/// Bytes that the bodies inflating at the same time may hold between them,
/// shared by every HTTP and gRPC receiver of a process: each body is bounded
/// on its own (`maxOutputBytes`), but four bombs at once would hold four
/// times that. A body that does not fit is refused as busy (503 or
/// UNAVAILABLE: the client may retry), not as too large.
public final class InflationBudget: Sendable {
    public let bytes: Int
    private let used = Atomic<Int>(0)

    public init(bytes: Int) { self.bytes = max(1, bytes) }

    /// Bytes held now by bodies being inflated.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `count` bytes; false (and nothing taken) when they do not fit.
    public func take(_ count: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + count <= bytes else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    public func give(_ count: Int) {
        if count > 0 { used.subtract(count, ordering: .relaxed) }
    }
}
