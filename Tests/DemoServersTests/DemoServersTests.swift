import AsyncHTTPClient
import DemoServers
import Foundation
import JaegerTracing
import Testing
import TraceIngest
import TraceModel

/// server-1 and server-2 over real sockets on ephemeral ports, each with its
/// own `JaegerTracer` reporting to a tracetty jaeger-compact listener.
@Suite struct DemoServersTests {
    static let ansic = "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}$"

    @Test("GET /alice: the greeting, and one trace server-1 -> server-1_to_server-2 -> server-2")
    func seedTrace() async throws {
        let agent = try await AgentListener.start()
        let system = DemoSystem(configuration: .init(servers: [agent.server(.server1), agent.server(.server2)]))
        let listening = try await system.start()
        #expect(listening.map(\.service) == [.server1, .server2])
        #expect(listening.allSatisfy { $0.port > 0 && $0.host == "127.0.0.1" })
        #expect(listening.map(\.description).allSatisfy { $0.hasPrefix("listening server-") && $0.contains(" http 127.0.0.1:") })
        let server1 = try #require(listening.first { $0.service == .server1 })

        let (status, body) = try await withClient { try await fetch($0, server1.url + "/alice") }
        #expect(status == 200)
        let prefix = "Hello alice! time is "
        #expect(body.hasPrefix(prefix), "\(body)")
        let time = String(body.dropFirst(prefix.count))
        #expect(time.range(of: Self.ansic, options: .regularExpression) != nil, "not Go's ANSIC layout: \(time)")

        await system.stop()  // the tracers flush on the way out
        #expect(await eventually { agent.sink.all.count >= 3 })
        await agent.server.shutdown()
        let spans = agent.sink.all
        try #require(spans.count == 3, "\(spans.map(\.name))")
        #expect(Set(spans.map(\.traceID)).count == 1)
        let root = try #require(spans.first { $0.name == "server-1" })
        let hop = try #require(spans.first { $0.name == "server-1_to_server-2" })
        let server2 = try #require(spans.first { $0.name == "server-2" })

        #expect(root.parentSpanID == nil)
        #expect(hop.parentSpanID == root.spanID)
        #expect(server2.parentSpanID == hop.spanID)
        #expect([root.kind, hop.kind, server2.kind] == [.server, .client, .server])
        #expect([root.serviceName, hop.serviceName, server2.serviceName] == ["server-1", "server-1", "server-2"])
        #expect(spans.allSatisfy { !$0.isError })

        // server-1 waits 250 ms then calls; server-2 waits 500 ms.
        #expect(server2.durationNano >= 500_000_000)
        #expect(hop.durationNano >= server2.durationNano)
        #expect(root.durationNano >= 750_000_000)
        #expect(hop.startTimeUnixNano >= root.startTimeUnixNano + 250_000_000)
        #expect(root.endTimeUnixNano >= hop.endTimeUnixNano)

        #expect(root.attribute("http.method") == .string("GET"))
        #expect(root.attribute("http.target") == .string("/alice"))
        #expect(root.attribute("http.status_code") == .int(200))
        #expect(hop.attribute("http.method") == .string("POST"))
        #expect(hop.attribute("http.url") == .string(try #require(listening.last?.url) + "/"))
        #expect(hop.attribute("http.status_code") == .int(200))
        #expect(server2.attribute("http.method") == .string("POST"))
        #expect(server2.attribute("http.target") == .string("/"))
        #expect(server2.attribute("http.status_code") == .int(200))

        // The greeting's time is when server-1 took the request (its span's start), in the local zone.
        let started = Date(timeIntervalSince1970: Double(root.startTimeUnixNano) / 1e9)
        let candidates = [-1.0, 0, 1].map { GoTimeLayout.ansic(started.addingTimeInterval($0)) }
        #expect(candidates.contains(time), "\(time) vs span start \(candidates[1])")
    }

    @Test("Go's ANSIC layout: space-padded day, English names, 24-hour clock")
    func goTimeLayout() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        #expect(GoTimeLayout.ansic(Date(timeIntervalSince1970: 1_136_214_245), timeZone: utc) == "Mon Jan  2 15:04:05 2006")
        #expect(GoTimeLayout.ansic(Date(timeIntervalSince1970: 0), timeZone: utc) == "Thu Jan  1 00:00:00 1970")
        #expect(GoTimeLayout.ansic(Date(timeIntervalSince1970: 1_700_000_000), timeZone: utc) == "Tue Nov 14 22:13:20 2023")
        let paris = try #require(TimeZone(identifier: "Europe/Paris"))
        #expect(GoTimeLayout.ansic(Date(timeIntervalSince1970: 1_136_214_245), timeZone: paris) == "Mon Jan  2 16:04:05 2006")
    }

    @Test("server-2: POST answers Hello NAME!, other methods 405, a name past 1 KiB 413")
    func server2Methods() async throws {
        let agent = try await AgentListener.start()
        let system = DemoSystem(configuration: .init(servers: [agent.server(.server2)]))
        let server2 = try #require(try await system.start().first)
        #expect(server2.service == .server2)
        try await withClient { client in
            let (get, getBody) = try await fetch(client, server2.url + "/")
            #expect(get == 405)
            #expect(getBody == "server-2 answers POST with a name as the body\n")
            let put = try await fetch(client, server2.url + "/x", method: "PUT", body: "bob")
            #expect(put.0 == 405)
            let (post, postBody) = try await fetch(client, server2.url + "/", method: "POST", body: "bob")
            #expect(post == 200)
            #expect(postBody == "Hello bob!")
            let large = try await fetch(client, server2.url + "/", method: "POST", body: String(repeating: "x", count: 2048))
            #expect(large.0 == 413)
        }
        await system.stop()
        #expect(await eventually { agent.sink.all.count >= 4 })
        await agent.server.shutdown()
        let spans = agent.sink.all
        #expect(spans.allSatisfy { $0.name == "server-2" && $0.kind == .server && $0.serviceName == "server-2" })
        #expect(spans.allSatisfy { $0.parentSpanID == nil && !$0.isError })  // no context came in: roots
        #expect(Set(spans.compactMap { $0.attribute("http.status_code") }) == [.int(405), .int(200), .int(413)])
    }

    @Test("server-2 down: server-1 answers 502 with a one-line reason; the hop span is an error")
    func server2Down() async throws {
        let agent = try await AgentListener.start()
        let closed = try closedPort()
        let system = DemoSystem(configuration: .init(servers: [agent.server(.server1, server2URL: "http://127.0.0.1:\(closed)")]))
        let server1 = try #require(try await system.start().first)
        let (status, body) = try await withClient { try await fetch($0, server1.url + "/alice") }
        #expect(status == 502)
        #expect(body.hasPrefix("server-1: server-2 at http://127.0.0.1:\(closed)/ failed: "), "\(body)")
        #expect(body.hasSuffix("\n") && body.dropLast().split(separator: "\n").count == 1, "\(body)")
        await system.stop()
        #expect(await eventually { agent.sink.all.count >= 2 })
        await agent.server.shutdown()
        let spans = agent.sink.all
        let root = try #require(spans.first { $0.name == "server-1" })
        let hop = try #require(spans.first { $0.name == "server-1_to_server-2" })
        #expect(hop.parentSpanID == root.spanID)
        #expect(hop.isError)
        #expect(hop.attribute("http.status_code") == nil)  // no answer came
        #expect(root.isError)
        #expect(root.attribute("http.status_code") == .int(502))
    }

    @Test("server-1: a name past 1 KiB is 414, an empty one 400, POST 405 (no hop for any)")
    func server1RejectsBadRequests() async throws {
        let agent = try await AgentListener.start()
        let closed = try closedPort()
        let system = DemoSystem(configuration: .init(servers: [agent.server(.server1, server2URL: "http://127.0.0.1:\(closed)")]))
        let server1 = try #require(try await system.start().first)
        try await withClient { client in
            let tooLong = try await fetch(client, server1.url + "/" + String(repeating: "n", count: 1025))
            #expect(tooLong.0 == 414)
            #expect(tooLong.1 == "server-1: the name is longer than 1024 bytes\n")
            let empty = try await fetch(client, server1.url + "/")
            #expect(empty.0 == 400)
            let post = try await fetch(client, server1.url + "/alice", method: "POST", body: "x")
            #expect(post.0 == 405)
        }
        await system.stop()
        #expect(await eventually { agent.sink.all.count >= 3 })
        await agent.server.shutdown()
        #expect(agent.sink.all.map(\.name) == ["server-1", "server-1", "server-1"])
    }

    @Test("a caller's traceparent is the parent of server-1's span")
    func extractsIncomingContext() async throws {
        let agent = try await AgentListener.start()
        let system = DemoSystem(configuration: .init(servers: [agent.server(.server2)]))
        let server2 = try #require(try await system.start().first)
        try await withClient { client in
            var request = HTTPClientRequest(url: server2.url + "/")
            request.method = .POST
            request.headers.add(name: "traceparent", value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            request.body = .bytes(.init(string: "carol"))
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 200)
            _ = try await response.body.collect(upTo: 1024)
        }
        await system.stop()
        #expect(await eventually { agent.sink.all.count >= 1 })
        await agent.server.shutdown()
        let span = try #require(agent.sink.all.first)
        #expect(span.traceID.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(span.parentSpanID?.hex == "b7ad6b7169203331")
    }

    @Test("a taken port is an error naming the port and its option; nothing is left running")
    func portInUse() async throws {
        let agent = try await AgentListener.start()
        let first = DemoSystem(configuration: .init(servers: [agent.server(.server2)]))
        let taken = try #require(try await first.start().first?.port)
        var second = agent.server(.server2)
        second.port = taken
        second.portOption = "--server-2-port"
        let system = DemoSystem(configuration: .init(servers: [second]))
        await #expect(throws: DemoServerError.portInUse(.server2, host: "127.0.0.1", port: taken, option: "--server-2-port")) {
            _ = try await system.start()
        }
        let message = DemoServerError.portInUse(.server2, host: "127.0.0.1", port: taken, option: "--server-2-port").description
        #expect(message == "port \(taken) on 127.0.0.1 is already in use (server-2, --server-2-port): choose another port with --server-2-port")
        try? await system.wait()
        await first.stop()
        await agent.server.shutdown()
    }

    @Test("the traffic generator fills the explorer: complete traces with varied names, all answered")
    func trafficGenerator() async throws {
        let agent = try await AgentListener.start()
        // Other suites' tests share the cooperative pool: a request may wait
        // long for a thread, and must not count as failed for it.
        var server1 = agent.server(.server1)
        server1.upstreamTimeout = .seconds(120)
        let system = DemoSystem(configuration: .init(servers: [server1, agent.server(.server2)],
                                                     traffic: TrafficConfiguration(rate: 8, requestTimeout: .seconds(120))))
        _ = try await system.start()
        #expect(await eventually { system.traffic.succeeded >= 4 })
        await system.stop()
        let traffic = system.traffic
        #expect(traffic.sent >= 4)
        #expect(traffic.succeeded == traffic.sent, "\(traffic)")  // requests in flight finish on stop
        #expect(await eventually { agent.sink.all.count == 3 * traffic.sent })
        await agent.server.shutdown()
        let spans = agent.sink.all
        #expect(spans.count == 3 * traffic.sent)
        let byTrace = Dictionary(grouping: spans, by: \.traceID)
        #expect(byTrace.count == traffic.sent)
        #expect(byTrace.values.allSatisfy { Set($0.map(\.name)) == ["server-1", "server-1_to_server-2", "server-2"] })
        let targets = Set(spans.compactMap { span -> String? in
            guard span.name == "server-1", case .string(let target)? = span.attribute("http.target") else { return nil }
            return target
        })
        #expect(targets.isSuperset(of: ["/alice", "/bob", "/carol"]))
    }
}
