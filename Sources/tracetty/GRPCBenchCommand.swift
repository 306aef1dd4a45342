import ArgumentParser
import Foundation
import Synchronization
import TraceFormats
import TraceIngest
import TraceModel

/// Spans/s the OTLP/gRPC receiver accepts: the real `IngestServer` in process
/// on 127.0.0.1 port 0 with a counting sink, driven by grpc-swift clients
/// (one HTTP/2 connection each, several calls in flight per connection).
struct GRPCBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-bench",
        abstract: "OTLP/gRPC receiver throughput over 1..N connections (see BENCHMARKS.md).",
        shouldDisplay: false
    )

    @Option(help: "Client connections; repeat or comma-separate to measure several counts in one run (e.g. 1,8).")
    var connections: [String] = ["1", "8"]

    @Option(help: "Spans in each Export request.")
    var spansPerRequest = 100

    @Option(help: "Export calls in flight per connection.")
    var inFlight = 8

    @Option(help: "Seconds per run.")
    var seconds = 5.0

    @Option(help: "Runs per connection count (the median is reported).")
    var runs = 3

    @Flag(help: "gzip the requests (grpc-encoding: gzip).")
    var gzip = false

    var connectionCounts: [Int] {
        connections.flatMap { $0.split(separator: ",") }.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        guard !connectionCounts.isEmpty, connectionCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--connections: positive counts, e.g. 1,8")
        }
        guard spansPerRequest > 0, inFlight > 0, seconds > 0, runs > 0 else {
            throw ValidationError("--spans-per-request, --in-flight, --seconds and --runs must be positive")
        }
    }

    func run() async throws {
        let sink = CountingSink()
        let server = IngestServer(configuration: IngestConfiguration(host: "127.0.0.1", ports: [.otlpGRPC: 0]), sink: sink)
        let port = try await server.start().first?.port ?? 0
        let request = OTLPProtobufEncoder.encode(BenchPayloads.server1Spans(count: spansPerRequest))
        print("grpc-bench: \(spansPerRequest) spans/request (\(request.count) bytes\(gzip ? ", gzip" : "")), "
              + "\(inFlight) calls in flight per connection, \(runs) runs of \(seconds) s, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("connections | spans/s median | min | max | requests/s median")
        for count in connectionCounts {
            var rates: [Double] = []
            for _ in 0..<runs {
                rates.append(try await measure(connections: count, port: port, request: request, sink: sink))
            }
            rates.sort()
            let median = rates[rates.count / 2]
            let f = { (value: Double) in String(format: "%.0f", value) }
            print("\(count) | \(f(median)) | \(f(rates[0])) | \(f(rates[rates.count - 1])) | \(f(median / Double(spansPerRequest)))")
        }
        await server.shutdown()
        let figures = server.counters.snapshot()[.otlpGRPC]
        print("accepted \(figures.spansAccepted) spans in \(figures.received) requests, \(figures.malformed) malformed")
    }

    /// One timed run: every connection keeps `inFlight` calls going until the deadline.
    private func measure(connections: Int, port: Int, request: [UInt8], sink: CountingSink) async throws -> Double {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        let inFlight = self.inFlight, gzip = self.gzip
        let before = sink.spans
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    try await OTLPGRPCSender.withConnection(port: port) { sender in
                        try await withThrowingTaskGroup(of: Void.self) { calls in
                            for _ in 0..<inFlight {
                                calls.addTask {
                                    while clock.now < deadline {
                                        _ = try await sender.export(request, gzip: gzip)
                                    }
                                }
                            }
                            try await calls.waitForAll()
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = BenchTiming.milliseconds(clock.now - start) / 1e3
        return Double(sink.spans - before) / elapsed
    }
}

/// Counts spans and keeps nothing: the receiver's cost without the store's.
private final class CountingSink: SpanSink {
    private let counted = Atomic<Int>(0)

    var spans: Int { counted.load(ordering: .relaxed) }

    func accept(_ spans: [Span], from listener: ListenerKind) {
        counted.add(spans.count, ordering: .relaxed)
    }
}
