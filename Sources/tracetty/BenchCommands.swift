import ArgumentParser
import Foundation
import TraceModel
import TraceFormats

/// Wire payloads of seed-shaped spans, as real clients send them: the
/// decode benchmark and the UDP sender use the same ones.
enum BenchPayloads {
    /// server-1's spans of `count` seed traces (root + hop), as one process reports them.
    static func server1Spans(count: Int) -> [Span] {
        var generator = SyntheticTraces(seed: 7, startUnixNano: 1_795_821_746_000_000_000)
        var spans: [Span] = []
        while spans.count < count {
            // Seed-shaped traces only: skip the wide and deep ones.
            let trace = generator.nextTrace()
            guard trace.count == 3 else { continue }
            // jaeger-client-go has no instrumentation scope: drop it, as it would
            // travel as extra otel.scope.* tags.
            for var span in trace where span.serviceName == "server-1" {
                span.scope = .none
                spans.append(span)
            }
        }
        return Array(spans.prefix(count))
    }

    /// Agent.emitBatch datagrams of at most `maxBytes`, filled with spans.
    static func agentDatagrams(spans: [Span], protocolKind: ThriftProtocolKind, maxBytes: Int) -> [[UInt8]] {
        countedAgentDatagrams(spans: spans, protocolKind: protocolKind, maxBytes: maxBytes).map(\.bytes)
    }

    /// The same, with the number of spans in each.
    static func countedAgentDatagrams(spans: [Span], protocolKind: ThriftProtocolKind, maxBytes: Int) -> [(bytes: [UInt8], spans: Int)] {
        guard let process = spans.first?.resource else { return [] }
        let overhead = JaegerThriftEncoder.emitBatchOverhead(process: process, protocolKind: protocolKind) + 5
        var datagrams: [(bytes: [UInt8], spans: Int)] = []
        var pending: [[UInt8]] = []
        var size = overhead
        for span in spans {
            let encoded = JaegerThriftEncoder.encodeSpan(span, protocolKind: protocolKind)
            if size + encoded.count > maxBytes, !pending.isEmpty {
                datagrams.append((JaegerThriftEncoder.emitBatch(process: process, encodedSpans: pending, seqNo: Int64(datagrams.count + 1), protocolKind: protocolKind), pending.count))
                pending = []
                size = overhead
            }
            pending.append(encoded)
            size += encoded.count
        }
        if !pending.isEmpty {
            datagrams.append((JaegerThriftEncoder.emitBatch(process: process, encodedSpans: pending, seqNo: Int64(datagrams.count + 1), protocolKind: protocolKind), pending.count))
        }
        return datagrams
    }
}

struct DecodeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-bench",
        abstract: "Single-core decode throughput of the wire formats (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Option(help: "Runs per format; the median is reported.")
    var runs = 5

    @Option(help: "Seconds per run.")
    var seconds = 1.0

    func run() throws {
        let spans = BenchPayloads.server1Spans(count: 20_000)
        let compact = BenchPayloads.agentDatagrams(spans: spans, protocolKind: .compact, maxBytes: 65_000)
        let binary = BenchPayloads.agentDatagrams(spans: spans, protocolKind: .binary, maxBytes: 65_000)
        let single = BenchPayloads.agentDatagrams(spans: Array(spans.prefix(5_000)), protocolKind: .compact, maxBytes: 1)
        var otlp: [[UInt8]] = []
        var index = 0
        while index < spans.count {
            otlp.append(OTLPProtobufEncoder.encode(Array(spans[index..<min(spans.count, index + 440)])))
            index += 440
        }
        let cases: [(String, [[UInt8]], (WireDecoder, [UInt8]) throws -> Int)] = [
            ("thrift compact emitBatch, 65,000-byte datagrams", compact, { try $0.decodeAgent($1, protocolKind: .compact).spans.count }),
            ("thrift binary emitBatch, 65,000-byte datagrams", binary, { try $0.decodeAgent($1, protocolKind: .binary).spans.count }),
            ("thrift compact emitBatch, 1 span per datagram", single, { try $0.decodeAgent($1, protocolKind: .compact).spans.count }),
            ("OTLP protobuf, 440 spans per request", otlp, { try $0.decodeOTLP($1).spans.count }),
        ]
        print("format | payloads | bytes/payload | spans/payload | median spans/s | median MB/s | runs (spans/s)")
        for (name, payloads, decode) in cases {
            let decoder = WireDecoder()
            let bytes = payloads.reduce(0) { $0 + $1.count }
            var spanCount = 0
            for payload in payloads { spanCount += try decode(decoder, payload) }
            var rates: [Double] = []
            var byteRates: [Double] = []
            for _ in 0..<max(1, runs) {
                let clock = ContinuousClock()
                let start = clock.now
                var decodedSpans = 0
                var decodedBytes = 0
                while clock.now - start < .milliseconds(Int(seconds * 1000)) {
                    for payload in payloads {
                        decodedSpans += try decode(decoder, payload)
                        decodedBytes += payload.count
                    }
                }
                let elapsed = clock.now - start
                let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                rates.append(Double(decodedSpans) / s)
                byteRates.append(Double(decodedBytes) / s / 1e6)
            }
            let median = rates.sorted()[rates.count / 2]
            let medianMB = byteRates.sorted()[byteRates.count / 2]
            print("\(name) | \(payloads.count) | \(bytes / payloads.count) | \(String(format: "%.1f", Double(spanCount) / Double(payloads.count))) | "
                  + "\(Int(median)) | \(String(format: "%.0f", medianMB)) | \(rates.map { String(Int($0)) }.joined(separator: " "))")
        }
    }
}

/// What `record` spends per span after the receiver: OTLP JSON lines
/// through `DumpWriter` into a file (`/dev/null` by default), of spans decoded
/// from agent datagrams as the UDP listener hands them over.
struct EncodeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-bench",
        abstract: "Single-core OTLP JSON lines writing throughput (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Option(help: "Runs; the median is reported.")
    var runs = 5

    @Option(help: "Seconds per run.")
    var seconds = 1.0

    @Option(help: "Spans handed to each write (the recorder writes up to 8,192 at once).")
    var batch = 8192

    @Option(help: "Where the lines go.")
    var output = "/dev/null"

    func run() throws {
        let decoder = WireDecoder()
        var spans: [Span] = []
        for datagram in BenchPayloads.agentDatagrams(spans: BenchPayloads.server1Spans(count: 20_000), protocolKind: .compact, maxBytes: 65_000) {
            spans.append(contentsOf: try decoder.decodeAgent(datagram, protocolKind: .compact).spans)
        }
        var batches: [[Span]] = []
        var index = 0
        while index < spans.count {
            batches.append(Array(spans[index..<min(spans.count, index + max(1, batch))]))
            index += max(1, batch)
        }
        let writer = try DumpWriter(path: output)
        var rates: [Double] = []
        var byteRates: [Double] = []
        var fileBytes = 0
        for _ in 0..<max(1, runs) {
            let clock = ContinuousClock()
            let start = clock.now
            var written = 0
            let bytesBefore = writer.bytesWritten
            while clock.now - start < .milliseconds(Int(seconds * 1000)) {
                for spans in batches {
                    try writer.write(spans)
                    written += spans.count
                }
            }
            try writer.flush()
            let elapsed = clock.now - start
            let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            rates.append(Double(written) / s)
            byteRates.append(Double(writer.bytesWritten - bytesBefore) / s / 1e6)
            fileBytes = writer.bytesWritten
        }
        try writer.close()
        let median = rates.sorted()[rates.count / 2]
        print("spans/write | bytes/span | median spans/s | median MB/s | runs (spans/s)")
        print("\(batch) | \(fileBytes / max(1, writer.spansFlushed)) | \(Int(median)) | \(String(format: "%.0f", byteRates.sorted()[byteRates.count / 2])) | "
              + rates.map { String(Int($0)) }.joined(separator: " "))
    }
}

struct UDPSendBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-send-bench",
        abstract: "Send Jaeger compact emitBatch datagrams at a fixed span rate to a UDP port (see Benchmarks/udp-ingest.sh).",
        shouldDisplay: false
    )

    enum Shape: String, ExpressibleByArgument { case big, single }

    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option(help: "big: 65,000-byte datagrams; single: one span per datagram.")
    var shape: Shape = .big
    @Option(help: "Target spans per second.")
    var rate: Int
    @Option var seconds = 3.0

    func run() throws {
        // Distinct spans for the whole run (up to 3M, then they repeat), so
        // the receiver sees fresh traces as a real service would send them.
        let distinct = min(3_000_000, max(20_000, Int(Double(rate) * seconds)))
        let spans = BenchPayloads.server1Spans(count: distinct)
        let datagrams = BenchPayloads.countedAgentDatagrams(spans: spans, protocolKind: .compact, maxBytes: shape == .big ? 65_000 : 1)
        let spansPerDatagram = Double(spans.count) / Double(datagrams.count)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var sendBuffer: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let clock = ContinuousClock()
        let start = clock.now
        let datagramsPerSecond = Double(rate) / spansPerDatagram
        var sent = 0
        var spansSent = 0
        var failed = 0
        var index = 0
        while true {
            let elapsed = clock.now - start
            let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if elapsedSeconds >= seconds { break }
            // Pace: send what is due by now, then nap briefly.
            let due = Int(elapsedSeconds * datagramsPerSecond)
            if sent + failed >= due {
                usleep(200)
                continue
            }
            while sent + failed < due {
                let (datagram, count) = datagrams[index % datagrams.count]
                index += 1
                let n = datagram.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
                if n == datagram.count {
                    sent += 1
                    spansSent += count
                } else {
                    failed += 1
                }
            }
        }
        print("sent \(sent) datagrams, \(spansSent) spans in \(seconds) s (\(failed) sendto failures); \(String(format: "%.1f", spansPerDatagram)) spans/datagram")
    }
}
