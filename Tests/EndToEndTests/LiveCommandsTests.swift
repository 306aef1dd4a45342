import Foundation
import Testing
import TraceModel
import TraceFormats
import TraceIngest
import TestSupport

/// `tracetty record` and `tracetty live` with real sockets on ephemeral ports.
@Suite(.serialized, .ownThreads) struct LiveCommandsTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }
    static let everyListenerOnPortZero = ["--jaeger-compact-port", "0", "--jaeger-binary-port", "0", "--zipkin-compact-port", "0",
                                          "--collector-port", "0", "--otlp-http-port", "0", "--zipkin-port", "0",
                                          "--otlp-grpc-port", "0"]

    /// `listening NAME TRANSPORT HOST:PORT` lines, as `record` prints them on start.
    static func listeningPorts(_ child: RunningChild, expecting count: Int = 7) -> [String: Int] {
        var ports: [String: Int] = [:]
        while ports.count < count, let line = child.readLine() {
            let parts = line.split(separator: " ")
            if parts.count == 4, parts[0] == "listening", let port = parts[3].split(separator: ":").last.flatMap({ Int($0) }) {
                ports[String(parts[1])] = port
            }
        }
        return ports
    }

    /// A seed trace with its own ids, so each listener's spans can be told apart.
    static func trace(_ n: UInt64) -> [Span] {
        SyntheticTraces.seedTrace(
            traceID: TraceID(high: 0xfeed, low: n), rootSpanID: SpanID(n << 8 | 1), clientSpanID: SpanID(n << 8 | 2),
            serverSpanID: SpanID(n << 8 | 3), name: "user\(n)")
    }

    static func zipkinJSON(_ spans: [Span]) -> [UInt8] {
        let items = spans.map { span -> String in
            let parent = span.parentSpanID.map { #","parentId":"\#($0.hex)""# } ?? ""
            return #"{"traceId":"\#(span.traceID.hex)","id":"\#(span.spanID.hex)"\#(parent),"name":"\#(span.name)","timestamp":\#(span.startTimeUnixNano / 1000),"duration":\#(span.durationNano / 1000),"localEndpoint":{"serviceName":"\#(span.serviceName)"}}"#
        }
        return Array(("[" + items.joined(separator: ",") + "]").utf8)
    }

    /// A full disk, made with a file-size limit: `record` says so at once and at the end (exit 1),
    /// counts every span it could not write, and the file holds whole lines and at most one torn one.
    @Test(.enabled(if: ready, "needs the built tracetty"))
    func recordPastAFileSizeLimitFailsLoudlyAndCountsWhatItLost() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-full-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        // 16 blocks: 8 KiB (512-byte blocks) or 16 KiB, whichever the shell counts in.
        let child = try RunningChild("/bin/sh", ["-c", "ulimit -f 16; exec '\(binary)' record --output '\(output)' --otlp-http-port 0 "
                                                 + "--off jaeger-compact --off jaeger-binary --off zipkin-compact --off jaeger-collector "
                                                 + "--off zipkin-http --off otlp-grpc"])
        let port = try #require(Self.listeningPorts(child, expecting: 1)["otlp-http"])
        var sent = 0
        for n in 0..<60 {
            var spans = Self.trace(UInt64(100 + n))
            for i in spans.indices { spans[i].name = String(repeating: "n", count: 300) }
            #expect(Loopback.post(port: port, path: "/v1/traces", contentType: "application/json",
                                  body: OTLPJSONEncoder.encodeLine(spans)) == 200)
            sent += spans.count
            // One write per post, so the limit is met part-way rather than in the final flush only.
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 1)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 1, "\(child.allOutput)")
        let text = child.allOutput
        #expect(text.contains("is failing:") && text.contains("File too large"), "\(text)")
        // "recording to F failed: ... (W spans written, D not: write failed: ...: D)"
        let figures = text.firstMatch(of: /\((\d+) spans written, (\d+) not: write failed/)
        let written = try #require(figures.flatMap { Int($0.1) }, "\(text)")
        let lost = try #require(figures.flatMap { Int($0.2) })
        #expect(written + lost == sent)
        #expect(written > 0 && lost > 0)
        var recorded = 0
        let summary = try DumpReader(path: output).read(onSpans: { recorded += $0.count })
        #expect(recorded == written)
        #expect(summary.issueCount <= 1)  // at most the torn last line
    }

    /// The SSH session that ran `record` drops: SIGHUP flushes and exits 0, as SIGTERM does.
    @Test(.enabled(if: ready, "needs the built tracetty"))
    func recordFlushesAndExitsZeroOnSIGHUP() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-hup-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try RunningChild(binary, ["record", "--output", output, "--jaeger-compact-port", "0", "--off", "jaeger-binary",
                                              "--off", "zipkin-compact", "--off", "jaeger-collector", "--off", "otlp-http",
                                              "--off", "zipkin-http", "--off", "otlp-grpc"])
        let port = try #require(Self.listeningPorts(child, expecting: 1)["jaeger-compact"])
        let trace = Self.trace(11)
        #expect(Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: trace[0].resource, spans: trace), port: port))
        Thread.sleep(forTimeInterval: 0.5)
        #expect(kill(child.pid, SIGHUP) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        #expect(child.allOutput.contains("stopped by SIGHUP: wrote \(trace.count) spans"), "\(child.allOutput)")
        #expect(try DumpReader(path: output).read(onSpans: { _ in }).spans == trace.count)
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func recordWritesEverySpanFromEveryListenerExactlyOnce() async throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-record-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try RunningChild(binary, ["record", "--output", output] + Self.everyListenerOnPortZero)
        let ports = Self.listeningPorts(child)
        try #require(ports.count == 7, "listening lines: \(child.allOutput)")

        var expected: [Span] = []
        func process(_ spans: [Span]) -> Resource { spans[0].resource }
        let compact = Self.trace(1), binaryTrace = Self.trace(2), zipkinCompact = Self.trace(3)
        let collector = Self.trace(4), otlpProto = Self.trace(5), otlpJSON = Self.trace(6), zipkin = Self.trace(7)
        let otlpGRPC = Self.trace(8), otlpGRPCGzip = Self.trace(9)
        // UDP: one datagram per process, as a client reports.
        for (trace, port, kind) in [(compact, "jaeger-compact", ThriftProtocolKind.compact), (binaryTrace, "jaeger-binary", .binary),
                                    (zipkinCompact, "zipkin-compact", .compact)] {
            for service in ["server-1", "server-2"] {
                let spans = trace.filter { $0.serviceName == service }
                let datagram = JaegerThriftEncoder.emitBatch(process: process(spans), spans: spans, protocolKind: kind)
                #expect(Loopback.sendUDP(datagram, port: ports[port]!))
            }
            expected += trace
        }
        for service in ["server-1", "server-2"] {
            let spans = collector.filter { $0.serviceName == service }
            #expect(Loopback.post(port: ports["jaeger-collector"]!, path: "/api/traces", contentType: "application/x-thrift",
                                  body: JaegerThriftEncoder.batch(process: process(spans), spans: spans)) == 202)
        }
        expected += collector
        #expect(Loopback.post(port: ports["otlp-http"]!, path: "/v1/traces", contentType: "application/x-protobuf",
                              body: OTLPProtobufEncoder.encode(otlpProto)) == 200)
        #expect(Loopback.post(port: ports["otlp-http"]!, path: "/v1/traces", contentType: "application/json",
                              body: OTLPJSONEncoder.encodeLine(otlpJSON)) == 200)
        #expect(Loopback.post(port: ports["zipkin-http"]!, path: "/api/v2/spans", contentType: "application/json",
                              body: Self.zipkinJSON(zipkin)) == 202)
        expected += otlpProto + otlpJSON + zipkin
        // Bad input is answered and counted, and changes nothing.
        #expect(Loopback.post(port: ports["otlp-http"]!, path: "/v1/traces", contentType: "text/plain", body: [1]) == 415)
        #expect(Loopback.sendUDP([0x82, 0x21, 0xff], port: ports["jaeger-compact"]!))

        // gRPC: the OTel Collector's default exporter, plain and gzip.
        let grpcReplies = try await OTLPGRPCSender.withConnection(port: ports["otlp-grpc"]!) { sender in
            [try await sender.export(OTLPProtobufEncoder.encode(otlpGRPC)),
             try await sender.export(OTLPProtobufEncoder.encode(otlpGRPCGzip), gzip: true)]
        }
        #expect(grpcReplies == [[], []])
        expected += otlpGRPC + otlpGRPCGzip
        // UDP has no answer: give the listener a moment, then stop.
        try await Task.sleep(for: .milliseconds(500))
        #expect(kill(child.pid, SIGTERM) == 0)
        let status = child.wait()
        #expect(status == 0, "\(child.allOutput)")
        #expect(child.allOutput.contains("stopped by SIGTERM: wrote \(expected.count) spans"), "\(child.allOutput)")
        #expect(child.allOutput.contains("malformed"))

        var recorded: [Span] = []
        let summary = try DumpReader(path: output).read(onSpans: { recorded += $0 })
        #expect(summary.issueCount == 0)
        let key = { (s: Span) in "\(s.traceID.hex)/\(s.spanID.hex)" }
        #expect(recorded.count == expected.count)
        #expect(Set(recorded.map(key)) == Set(expected.map(key)))
    }

    /// The receivers' limits reach them from the command line: a head past
    /// `--max-header-bytes` gets 431, a silent connection is closed after
    /// `--idle-timeout`, and the summary says both; a bad duration is refused.
    @Test(.enabled(if: ready, "needs the built tracetty"))
    func receiverLimitsFromTheCommandLine() async throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let bad = try ChildProcess.run(binary, ["record", "--output", "/dev/null", "--request-timeout", "soon"], timeout: .seconds(20))
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--request-timeout"), "\(bad.stderr)")

        let child = try RunningChild(binary, ["record", "--output", "/dev/null", "--otlp-http-port", "0", "--off", "jaeger-compact",
                                              "--off", "jaeger-binary", "--off", "zipkin-compact", "--off", "jaeger-collector",
                                              "--off", "zipkin-http", "--off", "otlp-grpc",
                                              "--max-header-bytes", "2048", "--idle-timeout", "500ms"])
        let port = try #require(Self.listeningPorts(child, expecting: 1)["otlp-http"], "\(child.allOutput)")
        #expect(Loopback.post(port: port, path: "/v1/traces", contentType: "application/json", body: Array("{}".utf8),
                              extraHeaders: ["X-Big: " + String(repeating: "b", count: 4_000)]) == 431)
        // A connection that sends nothing: the receiver closes it (recv sees EOF well before its 20 s timeout).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, 0) == 0)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        #expect(child.allOutput.contains("http 431: request head too large"), "\(child.allOutput)")
        #expect(child.allOutput.contains("1 idle connection closed"), "\(child.allOutput)")
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func aTakenPortIsAClearErrorBeforeAnythingStarts() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        // Hold a UDP port, then ask tracetty for it.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let result = try ChildProcess.run(binary, ["record", "--output", "/dev/null"] + Self.everyListenerOnPortZero
                                          + ["--jaeger-compact-port", "\(port)"], timeout: .seconds(20))
        #expect(result.status != 0)
        #expect(result.stderr.contains("port \(port)"))
        #expect(result.stderr.contains("--jaeger-compact-port"))
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test(.enabled(if: ready && TmuxSession.tmuxPath != nil, "needs tmux and the built tracetty"))
    func liveExplorerShowsATraceArriveAndItsWaterfallGrow() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let session = try TmuxSession(command: "'\(binary)' live --jaeger-compact-port 0 --off jaeger-binary --off zipkin-compact "
                                      + "--off jaeger-collector --off otlp-http --off zipkin-http --off otlp-grpc; sleep 30")
        defer { session.kill() }
        let waiting = try session.waitFor("the listening address") { $0.contains("listening jaeger-compact udp 127.0.0.1:") }
        let line = try #require(waiting.split(separator: "\n").first { $0.contains("listening jaeger-compact udp") })
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let trace = Self.trace(42)
        let server1 = trace.filter { $0.serviceName == "server-1" }
        let server2 = trace.filter { $0.serviceName == "server-2" }
        #expect(Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: server1[0].resource, spans: server1), port: port))
        var screen = try session.waitFor("the trace in the list") { $0.contains("server-1: server-1") && $0.contains("● live") }
        #expect(screen.contains("FOLLOW"))
        try session.send("Enter")
        screen = try session.waitFor("the waterfall") { $0.contains("server-1 server-1_to_server-2") }
        #expect(!screen.contains("server-2 server-2"))
        // server-2 reports later: its span joins the open waterfall.
        #expect(Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: server2[0].resource, spans: server2), port: port))
        screen = try session.waitFor("server-2 in the waterfall") { $0.contains("server-2 server-2") }
        #expect(screen.contains("3 spans"))
        try session.send("q")
    }
}

/// The captured payloads of real clients (../shared/fixtures), each sent to
/// its listener over a real socket; `record` must hold every span once.
@Suite(.serialized, .ownThreads, .enabled(if: Shared.available && TmuxSession.tracettyPath != nil,
                             "skipped: ../shared/fixtures not found (or tracetty not built)"))
struct RecordFixturesTests {
    @Test func everyFixtureSpanIsRecordedExactlyOnce() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let output = TestScratch.directory.appendingPathComponent("tracetty-record-fixtures-\(getpid()).ndjson").path
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try RunningChild(binary, ["record", "--output", output] + LiveCommandsTests.everyListenerOnPortZero)
        let ports = LiveCommandsTests.listeningPorts(child)
        try #require(ports.count == 7, "listening lines: \(child.allOutput)")

        var expected: [String] = []
        let key = { (s: Span) in "\(s.traceID.hex)/\(s.spanID.hex)" }
        // UDP: every captured datagram to the compact agent port.
        for file in Shared.files(under: "jaeger-udp", suffix: ".bin") {
            let datagram = try Shared.bytes(file)
            expected += try JaegerAgentDecoder.decode(datagram).spans.map(key)
            #expect(Loopback.sendUDP(datagram, port: ports["jaeger-compact"]!))
        }
        // HTTP: each body with the content type and encoding it was captured with.
        for file in Shared.files(under: "jaeger-http", suffix: ".body") + Shared.files(under: "otlp-http", suffix: ".body")
            + Shared.files(under: "zipkin-http", suffix: ".body") {
            let body = try Shared.bytes(file)
            let meta = try Shared.metaDictionary(forBody: file)
            let contentType = meta["content_type"] as? String ?? "application/json"
            let encoding = meta["content_encoding"] as? String
            let path = meta["path"] as? String ?? "/"
            let (listener, status, spans): (String, Int, [Span]) = try {
                switch path {
                case "/api/traces": return ("jaeger-collector", 202, try JaegerBatchDecoder.decode(body).spans)
                case "/api/v2/spans": return ("zipkin-http", 202, try ZipkinJSONDecoder.decode(body))
                default:
                    let plain = encoding == "gzip" ? try Gzip.decompress(body) : body
                    let spans = contentType.contains("json") ? try OTLPJSONDecoder.decode(plain) : try OTLPProtobufDecoder.decode(plain).spans
                    return ("otlp-http", 200, spans)
                }
            }()
            expected += spans.map(key)
            #expect(Loopback.post(port: ports[listener]!, path: path, contentType: contentType, body: body,
                                  extraHeaders: encoding.map { ["Content-Encoding: \($0)"] } ?? []) == status, "\(file)")
        }
        try #require(!expected.isEmpty)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        #expect(child.allOutput.contains("wrote \(expected.count) spans"), "\(child.allOutput)")
        var recorded: [Span] = []
        _ = try DumpReader(path: output).read(onSpans: { recorded += $0 })
        #expect(recorded.map(key).sorted() == expected.sorted())
    }
}

