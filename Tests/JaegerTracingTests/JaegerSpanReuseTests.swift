import Foundation
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

/// Encoded spans nobody else holds are cleared and started again as later
/// spans: nothing a span recorded may reach a later one, and a span someone
/// still holds is never reused.
@Suite struct JaegerSpanReuseTests {
    @Test func spanAttributesHasTheLayoutOfItsDictionary() {
        #expect(SpanAttributes.sharesDictionaryLayout)
        var attributes = SpanAttributes([String: SpanAttribute](minimumCapacity: 6))
        #expect(attributes.capacity >= 6)
        let capacity = attributes.capacity
        attributes["a"] = 1
        attributes["b"] = "two"
        #expect(attributes.count == 2 && attributes.get("b") == .string("two"))
        attributes.removeAllKeepingCapacity()
        #expect(attributes.isEmpty)
        #expect(attributes.capacity == capacity, "the storage is kept")
        attributes["c"] = true
        #expect(attributes.count == 1 && attributes.get("c") == .bool(true) && attributes.get("a") == nil)
        #expect(SpanAttributes.none.capacity == 0)
        // A copy keeps its own attributes when the original is cleared.
        var original = attributes
        let copy = original
        original.removeAllKeepingCapacity()
        #expect(original.isEmpty && copy.get("c") == .bool(true))
    }

    @Test func nothingASpanRecordedReachesTheSpanThatReusesIt() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
        let runner = try await JaegerReporterTests.running(tracer)
        let parent = JaegerSpanContext(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), traceState: "k=v")
        var parentContext = InstrumentationContext.topLevel
        parentContext.jaegerSpanContext = parent
        // Every span records something different; flushing every 50 spans
        // lets the reporter hand the cleared ones back while spans are started.
        let count = 2_000
        for index in 0..<count {
            let child = index % 2 == 0
            let span = tracer.startSpan("s\(index)", context: child ? parentContext : .topLevel, ofKind: .client)
            span.attributes["only.\(index % 7)"] = index
            if index % 3 == 0 { span.addEvent(SpanEvent(name: "e\(index)")) }
            if index % 5 == 0 { span.setStatus(SpanStatus(code: .error, message: "m\(index)")) }
            if index % 11 == 0 { span.addLink(SpanLink(context: parentContext, attributes: [:])) }
            if index % 13 == 0 {
                for extra in 0..<10 { span.attributes["wide.\(extra)"] = extra }  // outgrows the reused table size
            }
            #expect(span.context.jaegerSpanContext?.traceState == (child ? "k=v" : ""))
            span.end()
            if index % 50 == 49 { tracer.flush() }
        }
        runner.cancel()
        _ = try await runner.value
        #expect(tracer.spansReused > count / 2, "spans were reused")
        let spans = try await sink.drain().map(sink.decode).flatMap(\.spans)
        #expect(spans.count == count)
        for span in spans {
            let index = try #require(Int(span.name.dropFirst()))
            let keys = Set(span.attributes.map(\.key))
            #expect(span.attributes.first { $0.key == "only.\(index % 7)" }?.value == .int(Int64(index)), "\(span.name)")
            #expect(keys.filter { $0.hasPrefix("only.") } == ["only.\(index % 7)"], "\(span.name): \(keys)")
            #expect(keys.filter { $0.hasPrefix("wide.") }.count == (index % 13 == 0 ? 10 : 0), "\(span.name)")
            #expect(span.events.map(\.name) == (index % 3 == 0 ? ["e\(index)"] : []), "\(span.name)")
            #expect((span.status.code == .error) == (index % 5 == 0), "\(span.name)")
            #expect(span.links.filter { $0.referenceType == "FOLLOWS_FROM" }.count == (index % 11 == 0 ? 1 : 0), "\(span.name)")
            #expect((span.parentSpanID == SpanID(3)) == (index % 2 == 0), "\(span.name)")
        }
        #expect(Set(spans.map(\.spanID)).count == count, "every span has its own id")
    }

    @Test func aSpanStillHeldAfterEndIsNeverReused() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
        var held: [JaegerSpan] = []
        for index in 0..<300 {
            let span = tracer.startSpan("held-\(index)", context: .topLevel)
            span.attributes["index"] = index
            span.end()
            held.append(span)
            if index % 50 == 49 { tracer.flush() }
        }
        #expect(tracer.spansReused == 0)
        for (index, span) in held.enumerated() {
            #expect(span.operationName == "held-\(index)")
            #expect(span.attributes.get("index") == .int64(Int64(index)))
            #expect(!span.isRecording)
        }
        let spans = try await sink.drain().map(sink.decode).flatMap(\.spans)
        #expect(spans.map(\.name) == (0..<300).map { "held-\($0)" })
    }

    @Test func aDroppedTracerTakesItsReporterAndWaitingSpansWithIt() throws {
        let sink = try UDPSink()
        weak var reporter: AnyObject?
        do {
            let tracer = try makeTracer(sink) { $0.flushInterval = .seconds(3600) }
            reporter = tracer.reporterObject
            for index in 0..<200 {
                tracer.startSpan("s\(index)", context: .topLevel).end()
                if index % 50 == 49 { tracer.flush() }
            }
            // Some spans wait for reuse and some are still queued: each holds the reporter.
            tracer.startSpan("queued", context: .topLevel).end()
            #expect(tracer.spansReused > 0)
            #expect(reporter != nil)
        }
        #expect(reporter == nil, "the spans kept for reuse and the queue no longer keep the reporter alive")
    }
}
