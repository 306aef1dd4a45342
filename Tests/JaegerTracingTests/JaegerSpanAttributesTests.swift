import Foundation
import Testing
import TraceFormats
import TraceModel
import Tracing
@testable import JaegerTracing

/// Every way the Tracing API lets code set a span's attributes ends up in
/// the datagram: on the concrete span, through generic and existential
/// code (the protocol's witnesses and its `updateAttributes` default), and
/// from several threads at once.
@Suite struct JaegerSpanAttributesTests {
    /// What library code generic over `Span` writes.
    static func setGenerically(_ span: some Tracing.Span) {
        span.attributes["generic.subscript"] = 0.5
        span.attributes.set("generic.set", value: .int64(3))
        span.updateAttributes { attributes in
            attributes["generic.update.1"] = "one"
            attributes["generic.update.2"] = true
        }
    }

    @Test func attributesSetThroughEveryAPIPathArrive() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let span = tracer.startSpan("paths", context: .topLevel)
        span.attributes["subscript"] = "GET"
        span.attributes.set("set", value: .int64(200))
        span.updateAttributes { attributes in
            attributes["update.1"] = "/alice"
            attributes["update.2"] = false
            attributes["subscript"] = "PUT"  // overwrites the first write
        }
        Self.setGenerically(span)
        let existential: any Tracing.Span = span
        existential.attributes["existential.subscript"] = 7
        existential.updateAttributes { $0["existential.update"] = "e" }
        #expect(span.attributes.count == 10, "read back before end")
        span.end()
        span.updateAttributes { $0["after.end"] = 1 }
        tracer.flush()

        let datagram = try #require(sink.receive())
        let reported = try #require(try sink.decode(datagram).spans.first)
        let expected: [(String, AttributeValue)] = [
            ("subscript", .string("PUT")), ("set", .int(200)), ("update.1", .string("/alice")), ("update.2", .bool(false)),
            ("generic.subscript", .double(0.5)), ("generic.set", .int(3)), ("generic.update.1", .string("one")),
            ("generic.update.2", .bool(true)), ("existential.subscript", .int(7)), ("existential.update", .string("e")),
        ]
        for (key, value) in expected { #expect(reported.attribute(key) == value, "\(key)") }
        #expect(reported.attribute("after.end") == nil, "a write after end() is ignored")
        // The ten attributes and the root's two sampler tags (span.kind becomes the kind).
        #expect(reported.attributes.count == 12)
    }

    @Test func assigningTheWholeAttributesReplacesThem() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let span = tracer.startSpan("replaced", context: .topLevel)
        span.attributes["old"] = 1
        span.attributes = ["new": "value", "other": 2]
        span.attributes["added"] = true
        span.end()
        tracer.flush()
        let datagram = try #require(sink.receive())
        let reported = try #require(try sink.decode(datagram).spans.first)
        #expect(reported.attribute("old") == nil)
        #expect(reported.attribute("new") == .string("value"))
        #expect(reported.attribute("other") == .int(2))
        #expect(reported.attribute("added") == .bool(true))
    }

    /// Writers on several threads lend the span's table at the same time:
    /// whichever gives it back second merges the other's keys instead of
    /// dropping them.
    @Test func concurrentWritersLoseNoKey() async throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let span = tracer.startSpan("shared", context: .topLevel)
        let threads = 4, keysPerThread = 250
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for thread in 0..<threads {
                group.enter()
                Thread {
                    for index in 0..<keysPerThread {
                        if index.isMultiple(of: 2) {
                            span.attributes["t\(thread).k\(index)"] = index
                        } else {
                            span.updateAttributes { $0["t\(thread).k\(index)"] = index }
                        }
                    }
                    group.leave()
                }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
        #expect(span.attributes.count == threads * keysPerThread)
        span.end()
        tracer.flush()
        let datagram = try #require(sink.receive())
        let reported = try #require(try sink.decode(datagram).spans.first)
        for thread in 0..<threads {
            for index in 0..<keysPerThread {
                #expect(reported.attribute("t\(thread).k\(index)") == .int(Int64(index)))
            }
        }
    }
}
