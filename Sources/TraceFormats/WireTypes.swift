import TraceModel

/// A binary body or datagram that could not be decoded as a whole: which
/// codec, the 0-based byte offset where the problem was found, and why.
public struct WireDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Format: String, Sendable, Equatable {
        case thriftCompact = "thrift compact"
        case thriftBinary = "thrift binary"
        case protobuf
        case gzip
    }

    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The input ended inside a value that needs `needed` more bytes.
        case truncated(needed: Int, remaining: Int)
        /// A string, binary or message declares more bytes than remain.
        case lengthBeyondInput(length: Int, remaining: Int)
        case negativeLength(Int)
        /// A list, set or map declares more elements than the limit allows,
        /// or than the remaining bytes could possibly hold.
        case collectionTooLarge(count: Int, limit: Int)
        case depthExceeded(limit: Int)
        /// A varint longer than 10 bytes, or too large for its type.
        case malformedVarint
        /// A Thrift type id that no protocol defines.
        case invalidType(UInt8)
        /// A protobuf wire type other than 0, 1, 2 and 5 (groups included).
        case invalidWireType(UInt8)
        case invalidFieldNumber(UInt64)
        /// The first byte is not a Thrift compact (0x82) or binary (0x80) message.
        case badProtocolID(UInt8)
        case badVersion(UInt32)
        /// A REPLY (2) or EXCEPTION (3) message, or an undefined type: agents
        /// accept only CALL (1) and ONEWAY (4).
        case unsupportedMessageType(UInt8)
        case unknownMethod(String)
        case missingField(String)
        case gzip(String)

        public var description: String {
            switch self {
            case .truncated(let needed, let remaining):
                return "truncated: \(needed) more bytes needed, \(remaining) left"
            case .lengthBeyondInput(let length, let remaining):
                return "length \(length) exceeds the \(remaining) bytes left"
            case .negativeLength(let n): return "negative length \(n)"
            case .collectionTooLarge(let count, let limit):
                return "collection of \(count) elements exceeds the bound of \(limit)"
            case .depthExceeded(let limit): return "nesting deeper than \(limit)"
            case .malformedVarint: return "malformed varint"
            case .invalidType(let t): return "invalid thrift type \(t)"
            case .invalidWireType(let t): return "invalid protobuf wire type \(t)"
            case .invalidFieldNumber(let n): return "invalid protobuf field number \(n)"
            case .badProtocolID(let b): return "not a thrift message (first byte 0x\(String(b, radix: 16)))"
            case .badVersion(let v): return "unsupported thrift version 0x\(String(v, radix: 16))"
            case .unsupportedMessageType(let t):
                return "message type \(t) is not CALL (1) or ONEWAY (4)"
            case .unknownMethod(let name): return "unknown method \"\(name)\""
            case .missingField(let name): return "required field \(name) is missing"
            case .gzip(let reason): return reason
            }
        }
    }

    public var format: Format
    /// 0-based byte offset into the datagram or body (the decompressed body for gzip input).
    public var offset: Int
    public var reason: Reason

    public init(format: Format, offset: Int, reason: Reason) {
        self.format = format
        self.offset = offset
        self.reason = reason
    }

    /// `thrift compact: byte 17: length 300 exceeds the 12 bytes left`.
    public var description: String { "\(format.rawValue): byte \(offset): \(reason)" }
}

/// One span (or link) that was skipped while the rest of the input loaded,
/// e.g. `span 3: traceId is zero` at the offset where the span starts.
public struct WireSpanIssue: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "byte \(offset): \(reason)" }
}

/// Bounds that keep hostile or broken binary input from costing unbounded
/// time or memory. Lengths and element counts are also always checked
/// against the bytes that remain, before anything is allocated.
public struct WireLimits: Sendable, Equatable {
    /// Structs, messages and containers nested deeper than this fail the input.
    public var maxDepth: Int
    /// Elements in one list, set or map.
    public var maxCollectionCount: Int
    /// Rejected spans beyond this many are counted but not described.
    public var maxRecordedIssues: Int
    /// For the gzip conveniences.
    public var maxDecompressedBytes: Int

    public init(maxDepth: Int = 32, maxCollectionCount: Int = 1 << 20, maxRecordedIssues: Int = 100,
                maxDecompressedBytes: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxCollectionCount = maxCollectionCount
        self.maxRecordedIssues = maxRecordedIssues
        self.maxDecompressedBytes = maxDecompressedBytes
    }
}

/// Spans from one binary body plus the spans that were skipped, with reasons.
public struct DecodedWireSpans: Sendable, Equatable {
    public var spans: [Span]
    /// The first `WireLimits.maxRecordedIssues` problems: skipped spans, and
    /// skipped links (whose span was kept).
    public var rejected: [WireSpanIssue]
    /// Every skipped span, including those not described in `rejected`.
    public var rejectedCount: Int

    public init(spans: [Span], rejected: [WireSpanIssue] = [], rejectedCount: Int = 0) {
        self.spans = spans
        self.rejected = rejected
        self.rejectedCount = rejectedCount
    }
}

/// Decoding state shared by the binary decoders: the JSON side's
/// `DecodeContext` (string cache, interning, shared resources and scopes,
/// output spans) plus a bounded record of rejected spans.
final class WireDecodeState {
    let ctx: DecodeContext
    let limits: WireLimits
    private(set) var rejectedCount = 0

    init(limits: WireLimits) {
        self.limits = limits
        self.ctx = DecodeContext(maxDepth: limits.maxDepth)
        ctx.beginRecord()
    }

    /// Records a skipped span (or link): always counted, described up to the limit.
    func reject(_ reason: String, at offset: Int, ordinal: Int) {
        rejectedCount += 1
        if ctx.issues.count < limits.maxRecordedIssues {
            ctx.issues.append(SemanticIssue(offset: offset, reason: "span \(ordinal): \(reason)"))
        }
    }

    /// Records a problem that skipped part of a span (a link), not the span: described, not counted.
    func note(_ reason: String, at offset: Int, ordinal: Int) {
        if ctx.issues.count < limits.maxRecordedIssues {
            ctx.issues.append(SemanticIssue(offset: offset, reason: "span \(ordinal): \(reason)"))
        }
    }

    var rejected: [WireSpanIssue] {
        ctx.issues.map { WireSpanIssue(offset: $0.offset, reason: $0.reason) }
    }

    /// Ready for the next input; caches, interned strings and shared resources stay.
    func reset() {
        ctx.spans = []
        ctx.beginRecord()
        rejectedCount = 0
    }

    /// The decoded spans, handed over (the context keeps no reference).
    func takeSpans() -> [Span] {
        let spans = ctx.spans
        ctx.spans = []
        return spans
    }

    func result() -> DecodedWireSpans {
        let issues = rejected
        return DecodedWireSpans(spans: takeSpans(), rejected: issues, rejectedCount: rejectedCount)
    }
}

/// Decoding state reused across datagrams or bodies by one thread or task
/// (not `Sendable`: one per event loop). The string cache, interned names and
/// keys and shared `Resource`s persist, so spans of one process share one
/// `Resource` across datagrams and small datagrams skip the cache set-up the
/// static `decode` functions pay on every call. What the caches retain is
/// bounded by dropping them after `recycleAfterBytes` of input.
public final class WireDecoder {
    public let limits: WireLimits
    public let recycleAfterBytes: Int
    private var state: WireDecodeState
    private var bytesSinceRecycle = 0

    public init(limits: WireLimits = WireLimits(), recycleAfterBytes: Int = 16 << 20) {
        self.limits = limits
        self.recycleAfterBytes = recycleAfterBytes
        state = WireDecodeState(limits: limits)
    }

    private func prepare(_ count: Int) -> WireDecodeState {
        if bytesSinceRecycle > recycleAfterBytes {
            state = WireDecodeState(limits: limits)
            bytesSinceRecycle = 0
        }
        bytesSinceRecycle += count
        state.reset()
        return state
    }

    /// `Agent.emitBatch` / `emitZipkinBatch`; `protocolKind` nil detects it.
    public func decodeAgent(_ datagram: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind? = nil) throws(WireDecodeError) -> AgentBatch {
        try JaegerAgentDecoder.decode(datagram, protocolKind: protocolKind, state: prepare(datagram.count))
    }

    public func decodeAgent(_ datagram: [UInt8], protocolKind: ThriftProtocolKind? = nil) throws(WireDecodeError) -> AgentBatch {
        let result = datagram.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decodeAgent(raw, protocolKind: protocolKind) }
        }
        return try result.get()
    }

    /// A bare `jaeger.Batch` (collector HTTP body).
    public func decodeJaegerBatch(_ body: UnsafeRawBufferPointer, protocolKind: ThriftProtocolKind = .binary) throws(WireDecodeError) -> JaegerBatch {
        try JaegerBatchDecoder.decode(body, protocolKind: protocolKind, state: prepare(body.count))
    }

    public func decodeJaegerBatch(_ body: [UInt8], protocolKind: ThriftProtocolKind = .binary) throws(WireDecodeError) -> JaegerBatch {
        let result = body.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decodeJaegerBatch(raw, protocolKind: protocolKind) }
        }
        return try result.get()
    }

    /// OTLP protobuf `ExportTraceServiceRequest`.
    public func decodeOTLP(_ body: UnsafeRawBufferPointer) throws(WireDecodeError) -> DecodedWireSpans {
        try OTLPProtobufDecoder.decode(body, state: prepare(body.count))
    }

    public func decodeOTLP(_ body: [UInt8]) throws(WireDecodeError) -> DecodedWireSpans {
        let result = body.withUnsafeBytes { raw in
            Result { () throws(WireDecodeError) in try decodeOTLP(raw) }
        }
        return try result.get()
    }

    /// OTLP protobuf, gunzipped first when it starts with the gzip magic.
    public func decodeOTLPDetectingGzip(_ body: [UInt8]) throws(WireDecodeError) -> DecodedWireSpans {
        try decodeOTLP(try WireGzip.inflateIfGzip(body, limits: limits))
    }
}

/// Base-128 varints, as protobuf and Thrift compact write them: one reader
/// for both, bounded to `end` and to 64 bits.
enum Varint {
    @inline(__always)
    static func read(_ base: UnsafePointer<UInt8>, _ position: inout Int, end: Int,
                     format: WireDecodeError.Format) throws(WireDecodeError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else {
                throw WireDecodeError(format: format, offset: position, reason: .truncated(needed: 1, remaining: 0))
            }
            let b = base[position]
            position &+= 1
            if shift == 63 && b > 1 { throw WireDecodeError(format: format, offset: start, reason: .malformedVarint) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireDecodeError(format: format, offset: start, reason: .malformedVarint) }
        }
    }
}
