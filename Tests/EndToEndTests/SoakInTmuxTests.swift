import Foundation
import Synchronization
import Testing
import TraceFormats
import TraceIngest
import TraceModel
import TestSupport

/// The 30-second version of `Benchmarks/soak.py` (issue 12): every listener
/// flooded at once, valid traffic with garbage, oversized datagrams, gzip
/// bombs, idle, slow and half-closed connections, while `live --record`
/// runs in tmux under `--max-memory`. Afterwards the process is alive and
/// answers keys, its peak RSS stayed under the bound, the status bar shows
/// the counters, and the books add up: per UDP listener, datagrams sent =
/// received + dropped by the kernel; every HTTP answer was counted; spans
/// accepted = recorded + dropped by the recorder, and every valid span the
/// listeners accepted is in the file.
@Suite(.serialized, .ownThreads) struct SoakInTmuxTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil && TmuxSession.tmuxPath != nil }
    static let seconds = 30.0
    static let limitMiB = 192

    /// Counts per key, from the load's threads.
    final class Tally: Sendable {
        private let counts = Mutex<[String: Int]>([:])
        func add(_ key: String, _ n: Int = 1) { counts.withLock { $0[key, default: 0] += n } }
        subscript(key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    /// Runs `body` every `interval` seconds on a thread of its own until `stop`.
    static func every(_ interval: Double, until stop: StopFlag, _ group: DispatchGroup, _ body: @escaping @Sendable (Int) -> Void) {
        group.enter()
        Thread {
            var n = 0
            while !stop.isSet {
                body(n)
                n += 1
                Thread.sleep(forTimeInterval: interval)
            }
            group.leave()
        }.start()
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty"))
    func everyListenerFloodedAtOnceTheBooksAddUp() async throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let dir = TestScratch.directory.appendingPathComponent("tracetty-soak-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let record = dir + "/soak.ndjson", stderr = dir + "/stderr"
        let session = try TmuxSession(
            command: "'\(binary)' live --record '\(record)' --max-memory \(Self.limitMiB)MiB --max-spans 50000 "
                + LiveCommandsTests.everyListenerOnPortZero.joined(separator: " ") + " 2>'\(stderr)'; echo TRACETTY-EXIT=$?; sleep 60",
            width: 120, height: 36)
        defer { session.kill() }
        let waiting = try session.waitFor("every listener's address") { $0.components(separatedBy: "listening ").count > 7 }
        var found: [String: Int] = [:]
        for line in waiting.split(separator: "\n") where line.contains("listening ") {
            let words = line.split(separator: " ")
            if let at = words.firstIndex(of: "listening"), words.count > at + 3,
               let port = words[at + 3].split(separator: ":").last.flatMap({ Int($0) }) {
                found[String(words[at + 1])] = port
            }
        }
        let ports = found
        try #require(ports.count == 7, "\(waiting)")
        let pid = try SignalsInTmuxTests.child(of: session)

        let tally = Tally(), stop = StopFlag(), group = DispatchGroup()
        // Valid: Jaeger compact datagrams of 20 spans (a fresh trace each), about 2,000 spans/s.
        let process = LiveCommandsTests.trace(1)[0].resource
        Self.every(0.01, until: stop, group) { n in
            let base = UInt64(n) << 8
            let start: UInt64 = 1_700_000_000_000_000_000 + UInt64(n) * 1_000_000
            let spans: [Span] = (0..<20).map { (i: Int) -> Span in
                let parent: SpanID? = i == 0 ? nil : SpanID(base | 1)
                return Span(traceID: TraceID(high: 0x50a, low: UInt64(n)), spanID: SpanID(base | UInt64(i + 1)), parentSpanID: parent,
                            name: "soak-\(i)", startTimeUnixNano: start, durationNano: 1_000_000, resource: process)
            }
            if Loopback.sendUDP(JaegerThriftEncoder.emitBatch(process: process, spans: spans), port: ports["jaeger-compact"]!) {
                tally.add("datagrams jaeger-compact")
                tally.add("valid spans", 20)
            }
        }
        // Garbage datagrams on the other two UDP ports, every 20th the largest there is.
        Self.every(0.002, until: stop, group) { n in
            let name = n % 2 == 0 ? "jaeger-binary" : "zipkin-compact"
            let size = n % 20 == 0 ? 65_507 : Int.random(in: 1...9_000)
            if Loopback.sendUDP((0..<size).map { _ in UInt8.random(in: 0...255) }, port: ports[name]!) { tally.add("datagrams " + name) }
        }
        // Valid OTLP/HTTP posts, 10/s.
        Self.every(0.1, until: stop, group) { n in
            let spans = LiveCommandsTests.trace(UInt64(0x10000 + n))
            if let status = Loopback.post(port: ports["otlp-http"]!, path: "/v1/traces", contentType: "application/json",
                                          body: OTLPJSONEncoder.encodeLine(spans)) {
                tally.add("answered otlp-http")
                if status == 200 { tally.add("valid spans", spans.count) }
            }
        }
        // Garbage bodies on the three HTTP receivers, 5/s.
        let receivers = [("jaeger-collector", "/api/traces", "application/x-thrift"), ("otlp-http", "/v1/traces", "application/x-protobuf"),
                         ("zipkin-http", "/api/v2/spans", "application/json")]
        Self.every(0.2, until: stop, group) { n in
            let (name, path, type) = receivers[n % 3]
            let body = (0..<Int.random(in: 1...20_000)).map { _ in UInt8.random(in: 0...255) }
            if Loopback.post(port: ports[name]!, path: path, contentType: type, body: body) != nil { tally.add("answered " + name) }
        }
        // A gzip bomb (256 MiB of zeros, about 256 KB) every 5 s.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 256 << 20))
        Self.every(5, until: stop, group) { _ in
            if let status = Loopback.post(port: ports["otlp-http"]!, path: "/v1/traces", contentType: "application/json", body: bomb,
                                          extraHeaders: ["Content-Encoding: gzip"]) {
                tally.add("answered otlp-http")
                tally.add("bomb \(status)")
            }
        }
        // A half-closed request every 2 s: the whole request, then the write side shut.
        Self.every(2, until: stop, group) { n in
            guard let fd = Loopback.connect(port: ports["zipkin-http"]!, receiveTimeoutSeconds: 20) else { return }
            defer { close(fd) }
            let body = LiveCommandsTests.zipkinJSON(LiveCommandsTests.trace(UInt64(0x20000 + n)))
            let request = Array("POST /api/v2/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
            guard Self.write(fd, request) else { return }
            shutdown(fd, Int32(SHUT_WR))
            var reply = [UInt8](repeating: 0, count: 64)
            if recv(fd, &reply, reply.count, 0) > 12 {
                tally.add("answered zipkin-http")
                if String(decoding: reply, as: UTF8.self).hasPrefix("HTTP/1.1 202") { tally.add("valid spans", 3) }
            }
        }
        // Valid OTLP/gRPC exports over one connection, 5/s.
        group.enter()
        Thread {
            let done = DispatchSemaphore(value: 0)
            Task {
                try? await OTLPGRPCSender.withConnection(port: ports["otlp-grpc"]!) { sender in
                    var n = 0
                    while !stop.isSet {
                        let spans = LiveCommandsTests.trace(UInt64(0x30000 + n))
                        if (try? await sender.export(OTLPProtobufEncoder.encode(spans))) != nil { tally.add("valid spans", spans.count) }
                        n += 1
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                done.signal()
            }
            done.wait()
            group.leave()
        }.start()
        // Idle connections and slow bodies (a byte a second) held the whole time.
        let idle = (0..<20).compactMap { Loopback.connect(port: ports[receivers[$0 % 3].0]!, receiveTimeoutSeconds: 20) }
        let slow = (0..<3).compactMap { _ in Loopback.connect(port: ports["otlp-http"]!, receiveTimeoutSeconds: 20) }
        for fd in slow {
            _ = Self.write(fd, Array("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n".utf8))
        }
        Self.every(1, until: stop, group) { _ in for fd in slow { _ = Self.write(fd, [0x7b]) } }

        // Awaited, not slept: a test that blocks a thread of the concurrency
        // pool (two on a 2-core machine) for 30 s starves every async test
        // running beside it.
        try await Task.sleep(for: .seconds(Self.seconds))
        stop.set()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { done.resume() } }
        for fd in idle + slow { close(fd) }

        // Alive, showing its counters, and answering keys.
        let screen = try session.waitFor("the counters in the status bar") { $0.contains("received") && $0.contains("malformed") }
        #expect(screen.contains("● live"), "\(screen)")
        try session.send("?")
        try session.waitFor("the help") { $0.contains("quit") }
        try session.send("Escape")
        let peakKiB = try #require(TmuxSession.statusKiB("VmHWM", pid: pid))
        #expect(peakKiB < Self.limitMiB * 1024 * 115 / 100, "peak RSS \(peakKiB / 1024) MiB, limit \(Self.limitMiB) MiB")
        try session.send("q")
        let end = try session.waitFor("the exit", timeout: .seconds(120)) { $0.contains("TRACETTY-EXIT=") }
        #expect(end.contains("TRACETTY-EXIT=0"), "\(end)")

        // The books, from tracetty's own summary on stderr.
        let summary = try String(contentsOfFile: stderr, encoding: .utf8)
        func figure(_ listener: String, _ pattern: String) -> Int {
            guard let line = summary.split(separator: "\n").first(where: { $0.hasPrefix(listener + ":") }),
                  let range = line.range(of: pattern, options: .regularExpression) else { return 0 }
            return Int(line[range].prefix { $0.isNumber || $0 == "," }.filter(\.isNumber)) ?? 0
        }
        for name in ["jaeger-compact", "jaeger-binary", "zipkin-compact"] {
            let received = figure(name, "[0-9,]+ datagrams,"), kernel = figure(name, "[0-9,]+ datagrams dropped by the kernel")
            #expect(tally["datagrams " + name] == received + kernel, "\(name): sent \(tally["datagrams " + name]), received \(received), kernel \(kernel)\n\(summary)")
        }
        #expect(figure("jaeger-binary", "[0-9,]+ malformed") == figure("jaeger-binary", "[0-9,]+ datagrams,"), "garbage is all malformed")
        for name in ["jaeger-collector", "otlp-http", "zipkin-http"] {
            #expect(tally["answered " + name] <= figure(name, "[0-9,]+ requests"), "\(name): every answer was counted\n\(summary)")
        }
        #expect(tally["bomb 413"] >= 1)
        let accepted = ["jaeger-compact", "otlp-http", "zipkin-http", "otlp-grpc"].reduce(0) { $0 + figure($1, "[0-9,]+ spans in") }
        let recordedLine = try #require(summary.split(separator: "\n").first { $0.contains("recorded ") })
        let numbers = recordedLine.split(whereSeparator: { !$0.isNumber && $0 != "," }).compactMap { Int($0.filter(\.isNumber)) }
        let recorded = numbers.first ?? -1, droppedByRecorder = recordedLine.contains(" dropped") ? numbers.dropFirst().first ?? 0 : 0
        #expect(accepted == recorded + droppedByRecorder, "\(recordedLine)\n\(summary)")
        var inFile = 0
        _ = try DumpReader(path: record).read(onSpans: { inFile += $0.count })
        #expect(inFile == recorded)
        #expect(accepted >= tally["valid spans"] - 20 * figure("jaeger-compact", "[0-9,]+ datagrams dropped by the kernel"),
                "every valid span not lost in the kernel was accepted: \(accepted) of \(tally["valid spans"])")
    }
}
