#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TraceModel

/// A problem with one span that does not stop the rest of the input from
/// loading: reported, and the span (or link) skipped.
struct SemanticIssue {
    var offset: Int
    var reason: String
}

/// Per-reader decoding state: output spans, string and resource caches,
/// semantic issues of the current record.
final class DecodeContext {
    var spans: [Span] = []
    var issues: [SemanticIssue] = []
    /// 1-based ordinal of the current span within the current record.
    var spanOrdinal = 0
    let maxDepth: Int

    private var interner = StringInterner()
    private static let cacheSize = 4096
    private var cache: [String?] = Array(repeating: nil, count: DecodeContext.cacheSize)
    private static let smallCacheSize = 4096
    private let smallKeys = UnsafeMutablePointer<SmallKey>.allocate(capacity: DecodeContext.smallCacheSize)
    private let smallStrings = UnsafeMutablePointer<String>.allocate(capacity: DecodeContext.smallCacheSize)
    private var resources: [ResourceKey: Resource] = [:]
    private var scopes: [ScopeKey: InstrumentationScope] = [:]
    private let maxCachedObjects = 4096

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
        smallKeys.initialize(repeating: SmallKey(), count: Self.smallCacheSize)
        smallStrings.initialize(repeating: "", count: Self.smallCacheSize)
    }

    deinit {
        smallKeys.deinitialize(count: Self.smallCacheSize)
        smallKeys.deallocate()
        smallStrings.deinitialize(count: Self.smallCacheSize)
        smallStrings.deallocate()
    }

    /// Ready for another piece of lines: no spans or issues; the caches
    /// (strings, resources, scopes: by content, each bounded) stay.
    func reset() {
        spans = []
        issues.removeAll(keepingCapacity: true)
        spanOrdinal = 0
    }

    func beginRecord() {
        issues.removeAll(keepingCapacity: true)
        spanOrdinal = 0
    }

    func report(_ reason: String, at offset: Int) {
        issues.append(SemanticIssue(offset: offset, reason: "span \(spanOrdinal): \(reason)"))
    }

    // MARK: strings

    /// A String for raw bytes, shared with earlier equal strings when possible.
    /// `intern` also records it in the reader's `StringInterner` (names and keys).
    @inline(__always)
    func string(_ s: inout JSONScanner, _ raw: JSONRawString, intern: Bool) throws(JSONFault) -> String {
        if raw.hasEscapes {
            let decoded = try s.unescape(raw)
            return intern ? interner.intern(decoded) : decoded
        }
        return cachedString(raw.pointer, raw.count, intern: intern)
    }

    func cachedString(_ p: UnsafePointer<UInt8>, _ n: Int, intern: Bool) -> String {
        if n <= SmallKey.maxLength { return smallString(p, n, intern: intern) }
        if n > 128 {
            return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        }
        // Eight bytes a step (the tail's last word overlaps: same bytes, same hash).
        var hash: UInt64 = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        while i + 8 <= n {
            hash = (hash ^ Self.word(p + i)) &* 0xC2B2_AE3D_27D4_EB4F
            i += 8
        }
        if i < n { hash = (hash ^ Self.word(p + n - 8)) &* 0xC2B2_AE3D_27D4_EB4F }
        let slot = Int(truncatingIfNeeded: hash ^ (hash >> 32)) & (Self.cacheSize - 1)
        let hit: String? = cache.withUnsafeBufferPointer { c in
            guard var found = c[slot], found.utf8.count == n else { return nil }
            let same = found.withUTF8 { b in b.baseAddress.map { memcmp($0, p, n) == 0 } ?? false }
            return same ? found : nil
        }
        if let hit { return hit }
        var fresh = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        if intern { fresh = interner.intern(fresh) }
        cache[slot] = fresh
        return fresh
    }

    /// Strings of at most 16 bytes (names, keys, most values), found by their
    /// bytes as two words: a hit is two loads and two compares, with no
    /// hashing loop and no UTF-8 check (each was a few percent of decoding a span).
    private func smallString(_ p: UnsafePointer<UInt8>, _ n: Int, intern: Bool) -> String {
        if n == 0 { return "" }
        let key = SmallKey(p, n)
        var hash = (key.low &* 0x9E37_79B9_7F4A_7C15) ^ (key.high &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)
        hash ^= hash >> 29
        let slot = Int(truncatingIfNeeded: hash) & (Self.smallCacheSize - 1)
        if smallKeys[slot] == key { return smallStrings[slot] }
        var fresh = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        if intern { fresh = interner.intern(fresh) }
        smallKeys[slot] = key
        smallStrings[slot] = fresh
        return fresh
    }

    /// Eight bytes as read in memory order (little endian), unaligned.
    @inline(__always)
    private static func word(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// Up to 16 bytes and their count: equal keys, equal bytes.
    struct SmallKey: Equatable {
        static let maxLength = 16
        var low: UInt64 = 0
        var high: UInt64 = 0
        var count = -1

        init() {}

        @inline(__always)
        init(_ p: UnsafePointer<UInt8>, _ n: Int) {
            count = n
            if n >= 8 {
                low = DecodeContext.word(p)
                // Bytes 8..<n: the top n - 8 bytes of the word that ends at n.
                if n > 8 { high = DecodeContext.word(p + n - 8) >> UInt64((16 - n) * 8) }
            } else {
                for i in 0..<n { low |= UInt64(p[i]) << UInt64(8 * i) }
            }
        }
    }

    @inline(__always)
    func readString(_ s: inout JSONScanner, intern: Bool) throws(JSONFault) -> String {
        let raw = try s.expectString()
        return try string(&s, raw, intern: intern)
    }

    func intern(_ string: String) -> String { interner.intern(string) }

    // MARK: shared objects

    private struct ResourceKey: Hashable {
        var serviceName: String
        var attributes: [Attribute]
    }

    private struct ScopeKey: Hashable {
        var name: String
        var version: String
        var attributes: [Attribute]
    }

    /// The last Thrift Process decoded without issues, and its bytes.
    private var lastProcess: (format: WireDecodeError.Format, bytes: [UInt8], resource: Resource)?
    private static let maxRememberedProcessBytes = 4096

    func knownProcess(format: WireDecodeError.Format, at pointer: UnsafePointer<UInt8>,
                      available: Int) -> (length: Int, resource: Resource)? {
        guard let last = lastProcess, last.format == format, last.bytes.count <= available else { return nil }
        let same = last.bytes.withUnsafeBufferPointer { stored in
            stored.baseAddress.map { memcmp($0, pointer, stored.count) == 0 } ?? false
        }
        return same ? (last.bytes.count, last.resource) : nil
    }

    func rememberProcess(_ resource: Resource, format: WireDecodeError.Format, bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count > 0, bytes.count <= Self.maxRememberedProcessBytes else { return }
        lastProcess = (format, Array(bytes), resource)
    }

    func resource(serviceName: String, attributes: [Attribute]) -> Resource {
        let key = ResourceKey(serviceName: serviceName, attributes: attributes)
        if let existing = resources[key] { return existing }
        let made = Resource(serviceName: intern(serviceName), attributes: attributes)
        if resources.count < maxCachedObjects { resources[key] = made }
        return made
    }

    /// OTLP rule: service.name attribute, else "unknown_service".
    func resource(attributes: [Attribute]) -> Resource {
        var name = "unknown_service"
        for a in attributes where a.key == "service.name" {
            if case .string(let s) = a.value { name = s }
            break
        }
        if attributes.isEmpty && name == "unknown_service" { return .unknown }
        return resource(serviceName: name, attributes: attributes)
    }

    func scope(name: String, version: String, attributes: [Attribute]) -> InstrumentationScope {
        if name.isEmpty && version.isEmpty && attributes.isEmpty { return .none }
        let key = ScopeKey(name: name, version: version, attributes: attributes)
        if let existing = scopes[key] { return existing }
        let made = InstrumentationScope(name: name, version: version, attributes: attributes)
        if scopes.count < maxCachedObjects { scopes[key] = made }
        return made
    }
}

/// Hex and base64 id parsing shared by the decoders.
enum IDParsing {
    /// Exactly `digits` hex digits (OTLP), or the base64 form some exporters send.
    static func exactTraceID(_ raw: JSONRawString) -> TraceID? {
        if raw.count == 32, let (h, l) = HexTable.parse128(raw.pointer, 32) { return TraceID(high: h, low: l) }
        if raw.count == 24, let bytes = Base64.decode(raw.pointer, raw.count), bytes.count == 16 {
            return TraceID(high: bigEndian(bytes, 0), low: bigEndian(bytes, 8))
        }
        return nil
    }

    static func exactSpanID(_ raw: JSONRawString) -> SpanID? {
        if raw.count == 16, let v = HexTable.parse64(raw.pointer, 16) { return SpanID(v) }
        if raw.count == 12, let bytes = Base64.decode(raw.pointer, raw.count), bytes.count == 8 {
            return SpanID(bigEndian(bytes, 0))
        }
        return nil
    }

    /// OTLP `parentSpanId`: empty or zero is a root (`.some(nil)`), else
    /// exactly a span id; nil when malformed.
    static func otlpParent(_ raw: JSONRawString) -> SpanID?? {
        if raw.count == 0 { return .some(nil) }
        guard let p = exactSpanID(raw) else { return nil }
        return .some(p.isZero ? nil : p)
    }

    /// 1...32 hex digits (Jaeger trims leading zeros; Zipkin allows 16 or 32).
    static func looseTraceID(_ raw: JSONRawString) -> TraceID? {
        HexTable.parse128(raw.pointer, raw.count).map { TraceID(high: $0.0, low: $0.1) }
    }

    /// 1...16 hex digits, or 32 digits whose high half is zero.
    static func looseSpanID(_ raw: JSONRawString) -> SpanID? {
        if let v = HexTable.parse64(raw.pointer, raw.count) { return SpanID(v) }
        if let (h, l) = HexTable.parse128(raw.pointer, raw.count), h == 0 { return SpanID(l) }
        return nil
    }

    private static func bigEndian(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in at..<(at + 8) { v = v << 8 | UInt64(b[i]) }
        return v
    }
}

/// A span's attributes as a decoder reads them: the first `limit` are kept,
/// the rest only counted (and skipped undecoded where the format allows), so
/// a span claiming a million tags costs what 1,024 do.
struct AttributeBound {
    let limit: Int
    private(set) var dropped: UInt32 = 0

    init(limit: Int = Span.attributeCountLimit) {
        self.limit = limit
    }

    static var unbounded: AttributeBound { AttributeBound(limit: .max) }

    @inline(__always)
    func hasRoom(after count: Int) -> Bool { count < limit }

    /// Counts `n` more attributes cut (by us, or by the sender), saturating.
    mutating func drop(_ n: UInt64 = 1) {
        let (sum, overflow) = UInt64(dropped).addingReportingOverflow(n)
        dropped = overflow ? .max : UInt32(clamping: sum)
    }
}

/// Jaeger and Zipkin microseconds as the model's nanoseconds. Past what 64
/// bits of nanoseconds hold (the year 2554: a hostile or mistaken year 3000)
/// a time saturates: multiplying with wrap-around put it at a plausible
/// moment in the past, where it sorted and drew as if real. Negative times
/// (signed on the Thrift wire) are 0.
enum Micros {
    @inline(__always)
    static func nanos(_ micros: UInt64) -> UInt64 {
        let (nanos, overflow) = micros.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : nanos
    }

    @inline(__always)
    static func nanos(_ micros: Int64) -> UInt64 { nanos(UInt64(max(0, micros))) }
}
