import Foundation
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

/// Spans reported to a real UDP socket, decoded with the project's own
/// `JaegerAgentDecoder`.
@Suite struct JaegerTracerReportingTests {
    @Test func spansDecodeWithIdsParentsKindTagsLogsAndProcess() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink, service: "server-1") { $0.processTags = ["region": "eu-1"] }
        let root = tracer.startSpan("GET /alice", context: .topLevel, ofKind: .server)
        root.attributes["http.method"] = "GET"
        root.attributes["http.status_code"] = 200
        root.attributes["ratio"] = 0.5
        root.attributes["cached"] = true
        root.attributes["tags"] = ["a", "b\"c"]
        root.attributes["ids"] = SpanAttribute.int64Array([1, 2])
        root.addEvent(SpanEvent(name: "request received", attributes: ["name": "alice"]))
        let child = tracer.startSpan("server-1_to_server-2", context: root.context, ofKind: .client)
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        child.recordError(Boom())
        child.operationName = "renamed hop"
        child.end()
        let failed = tracer.startSpan("status", context: root.context)
        failed.setStatus(SpanStatus(code: .error, message: "bad gateway"))
        failed.end()
        root.end()
        tracer.flush()

        let datagram = try #require(sink.receive())
        let batch = try sink.decode(datagram)
        #expect(batch.method == .emitBatch)
        #expect(batch.messageType == .call)
        #expect(batch.batchSeqNo == 1)
        #expect(batch.clientStats == ClientStats())
        #expect(batch.serviceName == "server-1")
        let processKeys = batch.process?.attributes.map(\.key) ?? []
        #expect(processKeys == ["service.name", "hostname", "ip", "jaeger.version", "region"])
        #expect(batch.process?.attributes.last == Attribute("region", .string("eu-1")))
        #expect(batch.process?.attributes.contains(Attribute("jaeger.version", .string(JaegerTracer.libraryVersion))) == true)
        try #require(batch.spans.count == 3)
        #expect(batch.rejectedCount == 0)

        // Queue order is end order: child, status span, root.
        let (hop, status, server) = (batch.spans[0], batch.spans[1], batch.spans[2])
        let rootContext = try #require(root.context.jaegerSpanContext)
        #expect(server.traceID == rootContext.traceID)
        #expect(server.traceID.high != 0, "128-bit trace ids by default")
        #expect(server.spanID.raw == server.traceID.low, "a root's span id is its trace id's low half")
        #expect(server.parentSpanID == nil)
        #expect(server.kind == .server)
        #expect(server.flags == 1)
        #expect(server.name == "GET /alice")
        #expect(server.attribute("http.method") == .string("GET"))
        #expect(server.attribute("http.status_code") == .int(200))
        #expect(server.attribute("ratio") == .double(0.5))
        #expect(server.attribute("cached") == .bool(true))
        #expect(server.attribute("tags") == .string(#"["a","b\"c"]"#))
        #expect(server.attribute("ids") == .string("[1,2]"))
        #expect(server.attribute("sampler.type") == .string("const"))
        #expect(server.attribute("sampler.param") == .bool(true))
        #expect(server.isError == false)
        #expect(server.events.map(\.name) == ["request received"])
        #expect(server.events.first?.attributes.contains(Attribute("name", .string("alice"))) == true)
        #expect(server.durationNano > 0 && server.durationNano % 1000 == 0)

        #expect(hop.traceID == server.traceID)
        #expect(hop.parentSpanID == server.spanID)
        #expect(hop.links.isEmpty, "the CHILD_OF reference names the parent, not a link")
        #expect(hop.name == "renamed hop")
        #expect(hop.kind == .client)
        #expect(hop.attribute("sampler.type") == nil)
        #expect(hop.attribute("error") == .bool(true))
        #expect(hop.isError)
        let errorLog = try #require(hop.events.first)
        #expect(errorLog.name == "error")
        #expect(errorLog.attributes.first == Attribute("event", .string("error")))
        #expect(errorLog.attributes.contains(Attribute("error.object", .string("boom"))))
        #expect(errorLog.attributes.contains(Attribute("message", .string("boom"))))
        #expect(errorLog.attributes.contains(Attribute("error.kind", .string("Boom"))))

        #expect(status.kind == .internal)
        #expect(status.status == SpanStatus(code: .error, message: "bad gateway"))
        #expect(status.attribute("error") == .bool(true))

        let statistics = tracer.statistics
        #expect(statistics.spansStarted == 3)
        #expect(statistics.spansFinished == 3)
        #expect(statistics.spansReported == 3)
        #expect(statistics.datagramsSent == 1)
    }

    @Test func parentIsWrittenAsParentSpanIdAndChildOfReferenceLinksAsFollowsFrom() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let root = tracer.startSpan("root", context: .topLevel)
        let other = tracer.startSpan("other", context: .topLevel)
        let child = tracer.startSpan("child", context: root.context)
        child.addLink(SpanLink(context: other.context, attributes: [:]))
        child.end()
        other.end()
        root.end()
        tracer.flush()
        let datagram = try #require(sink.receive())
        var reader = CompactShapeReader(datagram)
        let message = try reader.message()
        let spans = try #require(message.args.field(1)?.field(2)?.elements)
        try #require(spans.count == 3)
        let references = spans[0].field(6)?.elements ?? []
        // CHILD_OF (0) the parent, then FOLLOWS_FROM (1) the link, each {refType, traceIdLow, traceIdHigh, spanId}.
        #expect(references.map(\.fieldIDs) == [[1, 2, 3, 4], [1, 2, 3, 4]])
        #expect(spans[1].field(6) == nil && spans[2].field(6) == nil, "roots have no references")

        let batch = try sink.decode(datagram)
        let decodedChild = batch.spans[0]
        let rootIDs = try #require(root.context.jaegerSpanContext)
        let otherIDs = try #require(other.context.jaegerSpanContext)
        #expect(decodedChild.parentSpanID == rootIDs.spanID)
        #expect(decodedChild.links == [SpanLink(traceID: otherIDs.traceID, spanID: otherIDs.spanID, referenceType: "FOLLOWS_FROM")])
    }

    @Test func sixtyFourBitTraceIDsOnRequest() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.traceIDBits = .bits64 }
        tracer.withSpan("one", context: .topLevel) { _ in }
        tracer.flush()
        let batch = try sink.decode(try #require(sink.receive()))
        #expect(batch.spans.first?.traceID.high == 0)
        #expect(batch.spans.first?.traceID.low == batch.spans.first?.spanID.raw)
    }

    @Test func withSpanNestsThroughTheTaskLocalContext() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        struct Failure: Error {}
        await tracer.withSpan("outer", context: .topLevel, ofKind: .server) { outer in
            await tracer.withSpan("inner") { inner in
                await Task.yield()
                #expect(inner.spanContext.parentSpanID == outer.spanContext.spanID)
                #expect(inner.spanContext.traceID == outer.spanContext.traceID)
            }
            _ = try? tracer.withSpan("throws") { _ in throw Failure() }
        }
        tracer.flush()
        let batch = try sink.decode(try #require(sink.receive()))
        #expect(batch.spans.map(\.name) == ["inner", "throws", "outer"])
        #expect(batch.spans[1].isError, "withSpan records the thrown error")
        #expect(Set(batch.spans.map(\.traceID)).count == 1)
    }

    @Test func twoTracersInOneProcessNestAndReportSeparately() throws {
        let sinkA = try UDPSink()
        let sinkB = try UDPSink()
        let a = try makeTracer(sinkA, service: "server-1")
        let b = try makeTracer(sinkB, service: "server-2")
        let outer = a.startSpan("a", context: .topLevel)
        let inner = b.startSpan("b", context: outer.context, ofKind: .server)
        inner.end()
        outer.end()
        a.flush()
        b.flush()
        let batchA = try sinkA.decode(try #require(sinkA.receive()))
        let batchB = try sinkB.decode(try #require(sinkB.receive()))
        #expect(batchA.serviceName == "server-1" && batchA.spans.map(\.name) == ["a"])
        #expect(batchB.serviceName == "server-2" && batchB.spans.map(\.name) == ["b"])
        #expect(batchB.spans.first?.parentSpanID == batchA.spans.first?.spanID)
    }

    @Test func seqNoIncreasesAndEveryBatchCarriesClientStats() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        for index in 0..<3 {
            tracer.withSpan("span \(index)", context: .topLevel) { _ in }
            tracer.flush()
        }
        tracer.flush()  // nothing queued: no empty datagram
        let batches = try sink.receiveAll().map(sink.decode)
        #expect(batches.map(\.batchSeqNo) == [1, 2, 3])
        #expect(batches.map(\.seqID) == [1, 2, 3])
        #expect(batches.allSatisfy { $0.clientStats == ClientStats() })
    }

    @Test func configurationFromEnvironment() {
        let configuration = JaegerTracerConfiguration.fromEnvironment(
            serviceName: "svc", environment: ["JAEGER_AGENT_HOST": "agent.local", "JAEGER_AGENT_PORT": "6832"])
        #expect(configuration.agentHost == "agent.local" && configuration.agentPort == 6832)
        let defaults = JaegerTracerConfiguration.fromEnvironment(
            serviceName: "svc", environment: ["JAEGER_AGENT_PORT": "not a port"])
        #expect(defaults.agentHost == "127.0.0.1" && defaults.agentPort == 6831)
        #expect(defaults.traceIDBits == .bits128 && defaults.propagation == .both)
        #expect(defaults.flushInterval == .seconds(1) && defaults.maxQueuedSpans == 10_000 && defaults.maxDatagramBytes == 65_000)
    }

    @Test func unresolvableAgentIsAClearError() {
        #expect {
            _ = try JaegerTracer(configuration: JaegerTracerConfiguration(serviceName: "svc", agentHost: "no-such-host.invalid"))
        } throws: { error in
            guard case .cannotResolveAgent(let host, let port, _) = error as? JaegerTracerError else { return false }
            return host == "no-such-host.invalid" && port == 6831
                && (error as? JaegerTracerError)?.description.contains("no-such-host.invalid:6831") == true
        }
    }

    @Test func sendFailuresAreCountedWhenNobodyListens() throws {
        var port = 0
        do {
            let closed = try UDPSink()
            port = closed.port
        }
        var configuration = JaegerTracerConfiguration(serviceName: "svc", agentPort: port)
        configuration.maxQueuedSpans = 100
        let tracer = try JaegerTracer(configuration: configuration)
        for _ in 0..<5 {
            tracer.withSpan("lost", context: .topLevel) { _ in }
            tracer.flush()
            usleep(20_000)  // let the ICMP port-unreachable come back
        }
        let statistics = tracer.statistics
        #expect(statistics.sendFailures >= 1)
        #expect(statistics.sendFailures + statistics.spansReported == 5)
    }
}
