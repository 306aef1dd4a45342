import Dispatch
import Foundation
import Testing
import TraceModel
@testable import TraceFormats

/// Hostile input written by hand (issue 12), fed to every decoder it applies
/// to: lengths claiming gigabytes, nesting a million deep, a million
/// attributes on one span, invalid UTF-8, NaN and infinite doubles, times
/// out of range. `WireRobustnessTests` has the fuzz-style cases (prefixes,
/// corruption, small claims); the drawing of what survives is in
/// `HostileViewTests` (TraceExplorerTests).
@Suite struct HostileInputTests {
    // MARK: helpers

    /// Holds a value handed from one thread to the waiting one (the semaphore orders them).
    final class Handoff<T>: @unchecked Sendable {
        var value: T?
    }

    /// Runs `body` on a thread with a 256 KiB stack (glibc gives 8 MiB): a
    /// decoder that recursed once per nesting level would crash here long
    /// before a million levels.
    static func onSmallStack<T>(_ body: @escaping @Sendable () -> T) -> T {
        let handoff = Handoff<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            handoff.value = body()
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        return handoff.value!
    }

    enum JSONFamily: String, CaseIterable, Sendable, CustomStringConvertible {
        case otlp, jaeger, zipkin
        var description: String { rawValue }

        /// The decoder's outcome: spans (and per-span rejections), or the syntax error.
        func decode(_ body: [UInt8]) -> Result<DecodedSpans, JSONDecodeError> {
            do {
                switch self {
                case .otlp: return .success(try OTLPJSONDecoder.decodePartially(body))
                case .jaeger: return .success(try JaegerJSONDecoder.decodePartially(body))
                case .zipkin: return .success(try ZipkinJSONDecoder.decodePartially(body))
                }
            } catch {
                return .failure(error)
            }
        }

        /// One span (with its trace and process) up to its last member: `extra`
        /// members and `suffix` complete it. One line: a dump of these is
        /// line-per-record in each format.
        var prefix: String {
            switch self {
            case .otlp:
                return #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"op","startTimeUnixNano":"1000","endTimeUnixNano":"2000""#
            case .jaeger:
                return #"{"traceID":"0af7651916cd43dd8448eb211c80319c","processes":{"p1":{"serviceName":"svc"}},"spans":[{"traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"b7ad6b7169203331","operationName":"op","startTime":1,"duration":1,"processID":"p1""#
            case .zipkin:
                return #"{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","name":"op","timestamp":1,"duration":1,"localEndpoint":{"serviceName":"svc"}"#
            }
        }

        var suffix: String {
            switch self {
            case .otlp: return "}]}]}]}"
            case .jaeger: return "}]}"
            case .zipkin: return "}"
            }
        }

        func oneSpan(extra: String) -> String { prefix + extra + suffix }

        func bytes(extra: String) -> [UInt8] { Array(oneSpan(extra: extra).utf8) }
    }

    /// One span in `Agent.emitBatch` (compact or binary): process, the ids,
    /// then `fields` writes the rest of the span and ends it.
    static func jaegerDatagram<W: ThriftWriter>(_ writer: W, fields: (inout W) -> Void) -> [UInt8] {
        var w = writer
        w.writeMessageBegin(name: "emitBatch", type: .oneway, seqID: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 1)
        JaegerThriftEncoder.writeProcess(WireSamples.process, into: &w)
        w.writeFieldBegin(.list, id: 2)
        w.writeListBegin(.struct, count: 1)
        w.writeStructBegin()
        w.writeFieldBegin(.i64, id: 1); w.writeI64(7)
        w.writeFieldBegin(.i64, id: 2); w.writeI64(0)
        w.writeFieldBegin(.i64, id: 3); w.writeI64(9)
        w.writeFieldBegin(.i64, id: 4); w.writeI64(0)
        fields(&w)
        return w.bytes
    }

    /// The rest of the one-span datagram after `jaegerDatagram`'s `fields`: span, list, batch and args end.
    static func closeDatagram<W: ThriftWriter>(_ w: inout W) {
        w.writeStructEnd()  // span
        w.writeStructEnd()  // batch
        w.writeStructEnd()  // emitBatch_args
    }

    /// The protobuf prefix of `ExportTraceServiceRequest` down to one span's
    /// trace and span id, with `span` written after them inside the span.
    static func otlpRequest(span: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var w = ProtobufWriter()
        w.message(1) { w in
            w.message(1) { w in w.message(1) { w in w.string(1, "service.name"); w.message(2) { w in w.string(1, "svc") } } }
            w.message(2) { w in w.message(2) { w in
                w.idField(1, 0x0af7651916cd43dd, 0x8448eb211c80319c)
                w.idField(2, 0xb7ad6b7169203331)
                span(&w)
            } }
        }
        return w.bytes
    }

    /// A protobuf value nested `levels` deep: each level is `tags[level % tags.count]`
    /// (length-delimited) around the next, `leaf` innermost. Built from the
    /// inside out by computing each level's length first, so no level is copied.
    static func nestedProtobuf(levels: Int, tags: [UInt8], leaf: [UInt8]) -> [UInt8] {
        func varintBytes(_ v: Int) -> [UInt8] {
            var v = UInt64(v), out: [UInt8] = []
            while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
            out.append(UInt8(v))
            return out
        }
        var lengths = [Int](repeating: 0, count: levels + 1)  // lengths[i]: content inside level i
        lengths[0] = leaf.count
        for i in 1...levels { lengths[i] = 1 + varintBytes(lengths[i - 1]).count + lengths[i - 1] }
        var out: [UInt8] = []
        out.reserveCapacity(lengths[levels] + leaf.count)
        for i in stride(from: levels, through: 1, by: -1) {
            out.append(tags[i % tags.count])
            out.append(contentsOf: varintBytes(lengths[i - 1]))
        }
        out.append(contentsOf: leaf)
        return out
    }

    static let million = 1_000_000

    // MARK: lengths claiming gigabytes

    @Test func thriftLengthsClaimingGigabytes() {
        // Compact: the operation name claims 2^32-1 bytes (a varint of five bytes, then nothing).
        let compactName = Self.jaegerDatagram(ThriftCompactWriter()) { w in
            w.writeFieldBegin(.binary, id: 5)
            w.writeVarint(0xFFFF_FFFF)
        }
        let error = wireError { _ = try JaegerAgentDecoder.decode(compactName) }
        #expect(error?.format == .thriftCompact)
        #expect(error?.reason == .lengthBeyondInput(length: 4_294_967_295, remaining: 0))
        #expect(error?.offset == compactName.count - 5)

        // Compact: a tag's vBinary claims 2 GiB with a kilobyte behind it.
        var tail = ThriftCompactWriter()
        tail.writeVarint(1 << 31)
        let compactTag = Self.jaegerDatagram(ThriftCompactWriter()) { w in
            w.writeFieldBegin(.list, id: 10)
            w.writeListBegin(.struct, count: 1)
            w.writeStructBegin()
            w.writeFieldBegin(.binary, id: 1); w.writeString("payload")
            w.writeFieldBegin(.i32, id: 2); w.writeI32(4)
            w.writeFieldBegin(.binary, id: 7)
        } + tail.bytes + [UInt8](repeating: 0x41, count: 1024)
        #expect(wireError { _ = try JaegerAgentDecoder.decode(compactTag) }?.reason ==
                .lengthBeyondInput(length: 1 << 31, remaining: 1024))

        // Binary: the name claims Int32.max bytes; the span list 2^31-1 spans; the tag list as many tags.
        let binaryName = Self.jaegerDatagram(ThriftBinaryWriter()) { w in
            w.writeFieldBegin(.binary, id: 5)
            w.writeI32(Int32.max)
        } + [0x41]
        #expect(wireError { _ = try JaegerAgentDecoder.decode(binaryName) }?.reason ==
                .lengthBeyondInput(length: Int(Int32.max), remaining: 1))
        let binaryTags = Self.jaegerDatagram(ThriftBinaryWriter()) { w in
            w.writeFieldBegin(.list, id: 10)
            w.writeListBegin(.struct, count: Int(Int32.max))
        }
        #expect(wireError { _ = try JaegerAgentDecoder.decode(binaryTags) }?.reason ==
                .collectionTooLarge(count: Int(Int32.max), limit: 1 << 20))

        // The collector's bare Batch: the process's service name claims 2 GiB.
        var batch = ThriftBinaryWriter()
        batch.writeStructBegin()
        batch.writeFieldBegin(.struct, id: 1)
        batch.writeStructBegin()
        batch.writeFieldBegin(.binary, id: 1)
        batch.writeI32(Int32.max)
        #expect(wireError { _ = try JaegerBatchDecoder.decode(batch.bytes) }?.reason ==
                .lengthBeyondInput(length: Int(Int32.max), remaining: 0))

        // Zipkin over the agent port: a binary annotation's value claims 2^32-1 bytes.
        var zipkin = ThriftCompactWriter()
        zipkin.writeMessageBegin(name: "emitZipkinBatch", type: .oneway, seqID: 1)
        zipkin.writeStructBegin()
        zipkin.writeFieldBegin(.list, id: 1)
        zipkin.writeListBegin(.struct, count: 1)
        zipkin.writeStructBegin()
        zipkin.writeFieldBegin(.i64, id: 1); zipkin.writeI64(7)
        zipkin.writeFieldBegin(.list, id: 8)
        zipkin.writeListBegin(.struct, count: 1)
        zipkin.writeStructBegin()
        zipkin.writeFieldBegin(.binary, id: 2)
        zipkin.writeVarint(0xFFFF_FFFF)
        #expect(wireError { _ = try JaegerAgentDecoder.decode(zipkin.bytes) }?.reason ==
                .lengthBeyondInput(length: 4_294_967_295, remaining: 0))
    }

    @Test func protobufLengthsClaimingGigabytes() throws {
        // The span name claims 4 GiB; an attribute's string value 2^64-1 bytes
        // (more than `Int` holds: reported as Int.max); a bytes value 1 TiB.
        let name = Self.otlpRequest { w in w.tag(5, .lengthDelimited); w.varint(1 << 32) }
        let nameError = wireError { _ = try OTLPProtobufDecoder.decode(name) }
        #expect(nameError?.reason == .lengthBeyondInput(length: 1 << 32, remaining: 0))
        #expect(nameError?.offset == name.count - 5)

        // Inner lengths are checked against the enclosing message, not the body.
        let value = Self.otlpRequest { w in
            w.message(9) { w in
                w.string(1, "k")
                w.message(2) { w in
                    w.tag(1, .lengthDelimited)
                    w.bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
                }
            }
        } + [UInt8](repeating: 0, count: 64)
        #expect(wireError { _ = try OTLPProtobufDecoder.decode(value) }?.reason == .lengthBeyondInput(length: Int.max, remaining: 0))
        let bytes = Self.otlpRequest { w in
            w.message(9) { w in w.string(1, "k"); w.message(2) { w in w.tag(7, .lengthDelimited); w.varint(1 << 40) } }
        }
        #expect(wireError { _ = try OTLPProtobufDecoder.decode(bytes) }?.reason == .lengthBeyondInput(length: 1 << 40, remaining: 0))

        // The same through the receivers' entry points (reused decoder, gzip detected).
        let decoder = WireDecoder()
        #expect(wireError { _ = try decoder.decodeOTLPDetectingGzip(Gzip.compress(name)) }?.reason ==
                .lengthBeyondInput(length: 1 << 32, remaining: 0))
        #expect(try decoder.decodeOTLP(OTLPProtobufEncoder.encode(WireSamples.otlpSpans(count: 3))).spans.count == 3)
    }

    /// gzip's trailer says how long the content is (ISIZE, mod 2^32): it is
    /// never used to size a buffer, only checked by zlib at the end.
    @Test func gzipISizeClaimingGigabytes() throws {
        let line = JSONFamily.otlp.bytes(extra: "") + [0x0A]
        var lying = Gzip.compress(line)
        lying.replaceSubrange((lying.count - 4)..., with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: GzipError.corrupt("corrupt gzip data: incorrect length check")) { try Gzip.decompress(lying) }
        #expect(wireError { _ = try OTLPProtobufDecoder.decodeDetectingGzip(lying) }?.format == .gzip)

        // A dump: the content before the trailer loads; the lie is reported.
        let (spans, summary) = try DumpDecoder.decode(lying, source: "lying.ndjson.gz")
        #expect(spans.count == 1)
        #expect(summary.gzip)
        #expect(summary.issues.map(\.reason) == ["corrupt gzip data: incorrect length check"])
        let read = try readFile(try temporaryFile(lying, name: "lying.ndjson.gz"))
        #expect(read.spans.count == 1)
        #expect(read.summary.issues.map(\.reason) == ["corrupt gzip data: incorrect length check"])

        // A header whose FEXTRA field claims 65,535 bytes that never come.
        let extra: [UInt8] = [0x1F, 0x8B, 0x08, 0x04, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 1, 2, 3]
        #expect(throws: GzipError.truncated) { try Gzip.decompress(extra) }
    }

    /// JSON strings carry no length: a string that never ends runs to the
    /// end of the body, and is reported there.
    @Test(arguments: JSONFamily.allCases)
    func jsonStringThatNeverEnds(family: JSONFamily) throws {
        let open = Array((family.prefix + #","x":""#).utf8)
        let body = open + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        guard case .failure(let error) = family.decode(body) else {
            Issue.record("\(family): an unterminated string decoded"); return
        }
        #expect(error.reason == "unexpected end of input")
        #expect(error.line == 1 && error.column == body.count + 1)
        // A \u escape cut short, and a backslash as the last byte.
        for end in [#"\u12"#, #"\"#] {
            guard case .failure(let e) = family.decode(open + Array(end.utf8)) else {
                Issue.record("\(family): \(end) decoded"); continue
            }
            #expect(e.reason == "unexpected end of input")
        }
        // In a dump: the line is reported, the lines around it load.
        let good = family.bytes(extra: "") + [0x0A]
        let (spans, summary) = try DumpDecoder.decode(good + body + [0x0A] + good, source: "open.json")
        #expect(spans.count == 2)
        #expect(summary.issues.map(\.line) == [2])
    }

    // MARK: nesting a million deep

    @Test(arguments: JSONFamily.allCases)
    func jsonNestedAMillionDeep(family: JSONFamily) throws {
        let n = Self.million
        func member(_ value: [UInt8]) -> [UInt8] { Array((family.prefix + #","x":"#).utf8) + value + Array(family.suffix.utf8) }
        // Where the decoder skips what it does not know (a recursive skip
        // would overflow the stack), and where it decodes what it nests
        // (OTLP attribute values: arrays and key-value lists in each other).
        var bodies: [(String, [UInt8])] = [
            ("arrays", member([UInt8](repeating: UInt8(ascii: "["), count: n) + [UInt8](repeating: UInt8(ascii: "]"), count: n))),
            ("objects", member(Array(String(repeating: #"{"a":"#, count: n).utf8) + [UInt8(ascii: "1")]
                + [UInt8](repeating: UInt8(ascii: "}"), count: n))),
        ]
        if family == .otlp {
            let arrays = String(repeating: #"{"arrayValue":{"values":["#, count: n / 3) + #"{"intValue":"1"}"#
                + String(repeating: "]}}", count: n / 3)
            let kvlists = String(repeating: #"{"kvlistValue":{"values":[{"key":"k","value":"#, count: n / 4) + #"{"boolValue":true}"#
                + String(repeating: "}]}}", count: n / 4)
            bodies.append(("attribute arrays", family.bytes(extra: #","attributes":[{"key":"k","value":"# + arrays + "}]")))
            bodies.append(("attribute kvlists", family.bytes(extra: #","attributes":[{"key":"k","value":"# + kvlists + "}]")))
        }
        for (shape, body) in bodies {
            let outcome = Self.onSmallStack { family.decode(body) }
            guard case .failure(let error) = outcome else {
                Issue.record("\(family) \(shape): decoded"); continue
            }
            #expect(error.reason == "nesting deeper than 64", "\(family) \(shape)")
            #expect(error.line == 1)
        }
        // A body that is nothing but brackets: refused at once, whatever the format expects there.
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: n) + [UInt8](repeating: UInt8(ascii: "]"), count: n)
        if case .success = Self.onSmallStack({ family.decode(brackets) }) { Issue.record("\(family): brackets decoded") }
        // A dump: the deep lines are reported, the lines around them load.
        let good = family.bytes(extra: "") + [0x0A]
        let dump = good + bodies[0].1 + [0x0A] + good + bodies[1].1 + [0x0A] + brackets + [0x0A] + good
        let (spans, summary) = try DumpDecoder.decode(dump, source: "deep.json")
        #expect(spans.count == 3)
        #expect(summary.issues.map(\.line) == [2, 4, 5])
        #expect(summary.issues.prefix(2).allSatisfy { $0.reason.hasPrefix("nesting deeper than 64") })
    }

    @Test func thriftNestedAMillionDeep() {
        let n = Self.million
        for kind in [ThriftProtocolKind.compact, .binary] {
            // Structs in an unknown field of the span, then lists of lists.
            let structs: [UInt8], lists: [UInt8]
            switch kind {
            case .compact:
                structs = Self.jaegerDatagram(ThriftCompactWriter()) { w in
                    w.writeFieldBegin(.struct, id: 20)
                    w.writeRaw([UInt8](repeating: 0x1C, count: n) + [UInt8](repeating: 0, count: n + 4))
                }
                lists = Self.jaegerDatagram(ThriftCompactWriter()) { w in
                    w.writeFieldBegin(.list, id: 20)
                    w.writeRaw([UInt8](repeating: 0x19, count: n) + [0x00])
                }
            case .binary:
                structs = Self.jaegerDatagram(ThriftBinaryWriter()) { w in
                    w.writeFieldBegin(.struct, id: 20)
                    w.writeRaw(Array(repeating: [0x0C, 0x00, 0x01], count: n).joined() + [UInt8](repeating: 0, count: n + 4))
                }
                lists = Self.jaegerDatagram(ThriftBinaryWriter()) { w in
                    w.writeFieldBegin(.list, id: 20)
                    w.writeRaw(Array(repeating: [0x0F, 0x00, 0x00, 0x00, 0x01], count: n).joined() + [0x08, 0, 0, 0, 0])
                }
            }
            for (shape, bytes) in [("structs", structs), ("lists", lists)] {
                let error = Self.onSmallStack { wireError { _ = try JaegerAgentDecoder.decode(bytes) } }
                #expect(error?.reason == .depthExceeded(limit: 32), "\(kind) \(shape)")
            }
        }
        // The collector body: nested structs in an unknown field of the Batch.
        var w = ThriftBinaryWriter()
        w.writeStructBegin()
        w.writeFieldBegin(.struct, id: 9)
        let bytes = w.bytes + Array(repeating: [0x0C, 0x00, 0x01], count: n).joined() + [UInt8](repeating: 0, count: n + 2)
        #expect(Self.onSmallStack { wireError { _ = try JaegerBatchDecoder.decode(bytes) } }?.reason == .depthExceeded(limit: 32))
    }

    @Test func protobufNestedAMillionDeep() throws {
        let n = Self.million
        // An attribute value: AnyValue.array_value.values[0] ... a million times.
        let deepValue = Self.nestedProtobuf(levels: n, tags: [0x2A, 0x0A], leaf: [0x18, 0x01])
        let attribute = Self.otlpRequest { w in
            w.message(9) { w in w.string(1, "deep"); w.message(2) { w in w.bytes += deepValue } }
        }
        let error = Self.onSmallStack { wireError { _ = try OTLPProtobufDecoder.decode(attribute) } }
        #expect(error?.reason == .depthExceeded(limit: 32))

        // Unknown fields are skipped by their length, not walked: a million
        // levels in field 100 of the span cost nothing and the span loads.
        let unknown = Self.otlpRequest { w in
            w.string(5, "op")
            w.message(100) { w in w.bytes += Self.nestedProtobuf(levels: n, tags: [0x0A], leaf: []) }
        }
        let decoded = try Self.onSmallStack { Result { try OTLPProtobufDecoder.decode(unknown) } }.get()
        #expect(decoded.spans.map(\.name) == ["op"])

        // Nested ResourceSpans-like messages in an unknown top-level field.
        let top = [UInt8(0x12)] + Self.varint(UInt64(deepValue.count)) + deepValue
        #expect(try Self.onSmallStack { Result { try OTLPProtobufDecoder.decode(top) } }.get().spans.isEmpty)
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var w = ProtobufWriter()
        w.varint(v)
        return w.bytes
    }

    // MARK: a million attributes on one span

    /// Each decoder keeps the first `Span.attributeCountLimit` attributes and
    /// counts the rest in `droppedAttributesCount` (which OTLP carries and
    /// the OTLP encoders write, so an export says what was cut).
    @Test(arguments: JSONFamily.allCases)
    func jsonMillionAttributes(family: JSONFamily) throws {
        let n = Self.million
        var list: [UInt8] = []
        list.reserveCapacity(n * 40)
        switch family {
        case .otlp:
            list += Array(#","droppedAttributesCount":5,"attributes":["#.utf8)
            for i in 0..<n { list += Array(#"{"key":"k\#(i)","value":{"intValue":"1"}},"#.utf8) }
        case .jaeger:
            list += Array(#","tags":["#.utf8)
            for i in 0..<n { list += Array(#"{"key":"k\#(i)","type":"int64","value":1},"#.utf8) }
        case .zipkin:
            list += Array(#","tags":{"#.utf8)
            for i in 0..<n { list += Array(#""k\#(i)":"1","#.utf8) }
        }
        list.removeLast()
        list += Array((family == .zipkin ? "}" : "]").utf8)
        let body = Array(family.prefix.utf8) + list + Array(family.suffix.utf8)
        let span = try #require(try family.decode(body).get().spans.first)
        let limit = Span.attributeCountLimit
        #expect(span.attributes.count == limit)
        #expect(span.attributes.last?.key == "k\(limit - 1)")
        #expect(span.droppedAttributesCount == UInt32(n - limit + (family == .otlp ? 5 : 0)))

        // Stored and read back, and exported as OTLP JSON: the count goes along.
        var store = TraceStore()
        store.add(span)
        let stored = try #require(store.trace(span.traceID)?.spans.first)
        #expect(stored.attributes.count == limit && stored.droppedAttributesCount == span.droppedAttributesCount)
        let again = try OTLPJSONDecoder.decode(OTLPJSONEncoder.encodeLine([stored]))
        #expect(again.first?.attributes.count == limit && again.first?.droppedAttributesCount == span.droppedAttributesCount)
    }

    @Test func protobufAndThriftMillionAttributes() throws {
        let n = Self.million
        let limit = Span.attributeCountLimit
        // OTLP protobuf: a million KeyValues, and the sender's own count of 7.
        let keyValue: [UInt8] = {
            var w = ProtobufWriter()
            w.message(9) { w in w.string(1, "k"); w.message(2) { w in w.varintField(3, 1) } }
            return w.bytes
        }()
        let body = Self.otlpRequest { w in
            w.string(5, "op")
            w.bytes.reserveCapacity(n * keyValue.count + 64)
            for _ in 0..<n { w.bytes += keyValue }
            w.varintField(10, 7)
        }
        let otlp = try #require(try OTLPProtobufDecoder.decode(body).spans.first)
        #expect(otlp.attributes.count == limit)
        #expect(otlp.droppedAttributesCount == UInt32(n - limit + 7))
        let reencoded = try OTLPProtobufDecoder.decode(OTLPProtobufEncoder.encode([otlp]))
        #expect(reencoded.spans.first?.droppedAttributesCount == otlp.droppedAttributesCount)

        // Jaeger Thrift (compact and binary): a million tags in one span.
        for kind in [ThriftProtocolKind.compact, .binary] {
            func tags<W: ThriftWriter>(_ w: inout W) {
                w.writeFieldBegin(.list, id: 10)
                w.writeListBegin(.struct, count: n)
                for _ in 0..<n {
                    w.writeStructBegin()
                    w.writeFieldBegin(.binary, id: 1); w.writeString("k")
                    w.writeFieldBegin(.i32, id: 2); w.writeI32(3)
                    w.writeFieldBegin(.i64, id: 6); w.writeI64(1)
                    w.writeStructEnd()
                }
                Self.closeDatagram(&w)
            }
            let bytes = kind == .compact ? Self.jaegerDatagram(ThriftCompactWriter(), fields: tags)
                : Self.jaegerDatagram(ThriftBinaryWriter(), fields: tags)
            let span = try #require(try JaegerAgentDecoder.decode(bytes).spans.first)
            #expect(span.attributes.count == limit, "\(kind)")
            #expect(span.droppedAttributesCount == UInt32(n - limit), "\(kind)")
        }
    }

    // MARK: invalid UTF-8, NaN, out-of-range times: what each decoder makes of them

    /// Invalid UTF-8 becomes U+FFFD in every decoder; the Zipkin Thrift path
    /// (the other decoders are fed in `HostileViewTests`, which draws the result).
    @Test func zipkinThriftInvalidUTF8() throws {
        var spec = ZipkinSpanSpec(traceLow: 7, id: 9, name: "#NAME#")
        spec.binaryAnnotations = [("#KEY##", [0xC3, 0x28, 0xFF, 0x1B], 6, "#SERV#")]
        spec.annotations = [(5, "#EVNT#", "#SERV#", 0x0A00_0001, 80)]
        let patched = spec.emitZipkin(replacing: ["#NAME#", "#KEY##", "#SERV#", "#EVNT#"], with: [0xFF, 0xFE, 0xC3, 0x28, 0xED, 0xA0])
        let span = try #require(try JaegerAgentDecoder.decode(patched).spans.first)
        for text in [span.name, span.serviceName, span.attributes.first?.key ?? "", span.events.first?.name ?? ""] {
            #expect(text.unicodeScalars.contains("\u{FFFD}"), "\(text.debugDescription)")
        }
        #expect(span.attributes.first?.value == .string("\u{FFFD}(\u{FFFD}\u{1B}"))
    }

    /// `NaN` is not JSON; `"NaN"` (how OTLP JSON writes it) and numbers past
    /// Double's range (`1e999`) are read; doubles on the wire can carry any
    /// bit pattern.
    @Test func nanAndInfiniteDoubles() throws {
        for family in JSONFamily.allCases {
            let bare = family == .zipkin ? #","tags":{"d":NaN}"# : family == .otlp
                ? #","attributes":[{"key":"d","value":{"doubleValue":NaN}}]"# : #","tags":[{"key":"d","type":"float64","value":NaN}]"#
            guard case .failure(let error) = family.decode(family.bytes(extra: bare)) else {
                Issue.record("\(family): bare NaN decoded"); continue
            }
            #expect(error.line == 1, "\(error)")
        }
        let otlp = #","attributes":[{"key":"a","value":{"doubleValue":"NaN"}},{"key":"b","value":{"doubleValue":"Infinity"}},"#
            + #"{"key":"c","value":{"doubleValue":"-Infinity"}},{"key":"d","value":{"doubleValue":1e999}},"#
            + #"{"key":"e","value":{"doubleValue":-1e999}},{"key":"f","value":{"doubleValue":1e-999}}]"#
        let values = try #require(try JSONFamily.otlp.decode(JSONFamily.otlp.bytes(extra: otlp)).get().spans.first)
            .attributes.map(\.value)
        #expect(values.count == 6)
        if case .double(let d) = values[0] { #expect(d.isNaN) } else { Issue.record("a: \(values[0])") }
        #expect(Array(values[1...]) == [.double(.infinity), .double(-.infinity), .double(.infinity), .double(-.infinity), .double(0)])
        let jaeger = #","tags":[{"key":"a","type":"float64","value":"NaN"},{"key":"b","type":"float64","value":1e999},"#
            + #"{"key":"c","type":"int64","value":1e999},{"key":"d","type":"float64","value":"-inf"}]"#
        let tags = try #require(try JSONFamily.jaeger.decode(JSONFamily.jaeger.bytes(extra: jaeger)).get().spans.first)
            .attributes.map(\.value)
        if case .double(let d) = tags.first { #expect(d.isNaN) } else { Issue.record("a: \(tags)") }
        #expect(Array(tags.dropFirst()) == [.double(.infinity), .double(.infinity), .double(-.infinity)])

        // Protobuf fixed64 and Thrift doubles: quiet, signalling and negative NaN, both infinities.
        let patterns: [UInt64] = [0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0xFFF8_0000_0000_0000,
                                  0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000]
        let proto = Self.otlpRequest { w in
            for bits in patterns { w.message(9) { w in w.string(1, "d"); w.message(2) { w in w.fixed64(4, bits) } } }
        }
        let fromProto = try #require(try OTLPProtobufDecoder.decode(proto).spans.first).attributes
        let fromThrift = try #require(try JaegerAgentDecoder.decode(Self.jaegerDatagram(ThriftCompactWriter()) { w in
            w.writeFieldBegin(.list, id: 10)
            w.writeListBegin(.struct, count: patterns.count)
            for bits in patterns {
                w.writeStructBegin()
                w.writeFieldBegin(.binary, id: 1); w.writeString("d")
                w.writeFieldBegin(.i32, id: 2); w.writeI32(1)
                w.writeFieldBegin(.double, id: 4); w.writeDouble(Double(bitPattern: bits))
                w.writeStructEnd()
            }
            Self.closeDatagram(&w)
        }).spans.first).attributes
        for attributes in [fromProto, fromThrift] {
            let bits = attributes.compactMap { a -> UInt64? in if case .double(let d) = a.value { return d.bitPattern } else { return nil } }
            #expect(bits.count == patterns.count)
            #expect(bits.prefix(3).allSatisfy { Double(bitPattern: $0).isNaN })
            #expect(bits.suffix(2) == patterns.suffix(2))
        }
    }

    /// Negative times are refused where the wire is unsigned (JSON) and
    /// clamped to 0 where it is signed (Thrift i64); microsecond times past
    /// what nanoseconds in 64 bits hold (after the year 2554, e.g. 3000)
    /// stop at the largest time instead of wrapping into the past; an end
    /// before the start is a zero duration.
    @Test func timesOutOfRange() throws {
        let year3000Micros: Int64 = 32_503_680_000_000_000
        // JSON: negative start refused with its place; year 3000 in µs (Jaeger, Zipkin) saturates.
        let negative: [JSONFamily: String] = [
            .otlp: #","startTimeUnixNano":"-5""#, .jaeger: #","startTime":-5"#, .zipkin: #","timestamp":-5"#,
        ]
        for (family, extra) in negative {
            guard case .failure(let error) = family.decode(family.bytes(extra: extra)) else {
                Issue.record("\(family): negative time decoded"); continue
            }
            #expect(error.reason == "negative value for unsigned integer", "\(family)")
        }
        let jaeger = try #require(try JSONFamily.jaeger.decode(Array(JSONFamily.jaeger.oneSpan(
            extra: #","startTime":\#(year3000Micros),"duration":\#(year3000Micros),"logs":[{"timestamp":\#(year3000Micros),"fields":[]}]"#).utf8)).get().spans.first)
        #expect(jaeger.startTimeUnixNano == .max && jaeger.durationNano == .max)
        #expect(jaeger.events.first?.timeUnixNano == .max)
        let zipkin = try #require(try JSONFamily.zipkin.decode(Array(JSONFamily.zipkin.oneSpan(
            extra: #","timestamp":\#(year3000Micros),"annotations":[{"timestamp":\#(year3000Micros),"value":"x"}]"#).utf8)).get().spans.first)
        #expect(zipkin.startTimeUnixNano == .max && zipkin.events.first?.timeUnixNano == .max)
        // OTLP nanoseconds: year 3000 does not fit in 64 bits: an error, not a wrap.
        guard case .failure(let error) = JSONFamily.otlp.decode(Array(JSONFamily.otlp.oneSpan(
            extra: #","startTimeUnixNano":"32503680000000000000""#).utf8)) else {
            Issue.record("year 3000 in nanoseconds decoded"); return
        }
        #expect(error.reason == "invalid integer")
        // End before start: zero duration.
        let backwards = try #require(try JSONFamily.otlp.decode(Array(JSONFamily.otlp.oneSpan(
            extra: #","startTimeUnixNano":"9000","endTimeUnixNano":"10""#).utf8)).get().spans.first)
        #expect(backwards.startTimeUnixNano == 9000 && backwards.durationNano == 0)

        // Thrift: negative start and duration clamp to 0; year 3000 saturates; Int64.max too.
        for (start, duration, expected) in [(Int64(-5), Int64(-7), (UInt64(0), UInt64(0))),
                                            (year3000Micros, year3000Micros, (UInt64.max, UInt64.max)),
                                            (Int64.max, Int64.min, (UInt64.max, 0))] {
            let bytes = Self.jaegerDatagram(ThriftBinaryWriter()) { w in
                w.writeFieldBegin(.binary, id: 5); w.writeString("op")
                w.writeFieldBegin(.i64, id: 8); w.writeI64(start)
                w.writeFieldBegin(.i64, id: 9); w.writeI64(duration)
                w.writeFieldBegin(.list, id: 11)
                w.writeListBegin(.struct, count: 1)
                w.writeStructBegin()
                w.writeFieldBegin(.i64, id: 1); w.writeI64(start)
                w.writeFieldBegin(.list, id: 2); w.writeListBegin(.struct, count: 0)
                w.writeStructEnd()
                Self.closeDatagram(&w)
            }
            let span = try #require(try JaegerAgentDecoder.decode(bytes).spans.first)
            #expect(span.startTimeUnixNano == expected.0 && span.durationNano == expected.1, "\(start) \(duration)")
            #expect(span.events.first?.timeUnixNano == expected.0)
        }
        var zipkinThrift = ZipkinSpanSpec(traceLow: 7, id: 9, name: "z")
        zipkinThrift.timestamp = year3000Micros
        zipkinThrift.duration = -1
        zipkinThrift.annotations = [(year3000Micros, "x", "svc", 0, 0)]
        let z = try #require(try JaegerAgentDecoder.decode(ZipkinSpanSpec.emitZipkinBatch([zipkinThrift], writer: ThriftCompactWriter())).spans.first)
        #expect(z.startTimeUnixNano == .max && z.durationNano == 0 && z.events.first?.timeUnixNano == .max)
    }

    /// Replaying spans whose end does not fit in 64 bits: they are due last
    /// (their end saturates), never first; every span is played once.
    @Test func replayScheduleWithOverflowingEnds() {
        let id = TraceID(low: 1)
        let spans = [
            Span(traceID: id, spanID: SpanID(1), name: "wraps", startTimeUnixNano: .max - 10, durationNano: 100),
            Span(traceID: id, spanID: SpanID(2), name: "ordinary", startTimeUnixNano: 1_000, durationNano: 10),
            Span(traceID: id, spanID: SpanID(3), name: "at the end", startTimeUnixNano: .max, durationNano: .max),
            Span(traceID: id, spanID: SpanID(4), name: "zero", startTimeUnixNano: 0, durationNano: 0),
        ]
        var schedule = ReplaySchedule(speed: 1000)
        schedule.add(spans)
        schedule.finishLoading()
        var order: [String] = []
        var wall: UInt64 = 1
        for _ in 0..<100 {
            order += schedule.due(atWallNanos: wall).map(\.name)
            if order.count == spans.count { break }
            guard let next = schedule.nextDueWallNanos(atWallNanos: wall) else { break }
            wall = max(wall + 1, next)
            if wall == .max { order += schedule.due(atWallNanos: wall).map(\.name); break }
        }
        #expect(order == ["zero", "ordinary", "wraps", "at the end"])
        var unlimited = ReplaySchedule(speed: ReplaySchedule.unlimited)
        unlimited.add(spans)
        #expect(unlimited.due(atWallNanos: 5).map(\.name) == ["zero", "ordinary", "wraps", "at the end"])
        var stepping = ReplaySchedule(start: .offset(nanos: .max))
        stepping.add(spans)
        _ = stepping.step(atWallNanos: 0)
        stepping.jump(byNanos: .max, atWallNanos: 1)
        #expect(stepping.status(atWallNanos: .max).replayClockUnixNano == .max)
    }
}

extension ZipkinSpanSpec {
    /// `emitZipkinBatch` (compact) with each ASCII placeholder replaced by `bytes` (same length).
    func emitZipkin(replacing placeholders: [String], with bytes: [UInt8]) -> [UInt8] {
        var out = ZipkinSpanSpec.emitZipkinBatch([self], writer: ThriftCompactWriter())
        for placeholder in placeholders {
            let needle = Array(placeholder.utf8)
            precondition(needle.count == bytes.count)
            var i = 0
            while i + needle.count <= out.count {
                if Array(out[i..<(i + needle.count)]) == needle {
                    out.replaceSubrange(i..<(i + needle.count), with: bytes)
                    i += needle.count
                } else {
                    i += 1
                }
            }
        }
        return out
    }
}
