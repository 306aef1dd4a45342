import Foundation
import Testing
import TraceModel
import Tracing
@testable import JaegerTracing
import TestSupport

/// `uber-trace-id` and `traceparent` in and out, real clients' headers, and
/// malformed input that must start a new trace instead of failing.
@Suite struct JaegerPropagationTests {
    /// Copies of ../shared/fixtures/propagation/headers.txt lines, so these
    /// run anywhere: (header, value, trace, span, parent).
    static let realClientHeaders: [(String, String, String, String, String?)] = [
        ("Uber-Trace-Id", "92216cbc31c201c2:76044614f89a794d:92216cbc31c201c2:1",
         "92216cbc31c201c2", "76044614f89a794d", "92216cbc31c201c2"),
        ("uber-trace-id", "62671661852fbcc6:891d2772f3b867f0:b9ee58b554aec0ba:1",
         "62671661852fbcc6", "891d2772f3b867f0", "b9ee58b554aec0ba"),
        ("uber-trace-id", "fc3386684667a2721006cf8023d2a513:56a310870c84a9ee:eca497af55696bd6:1",
         "fc3386684667a2721006cf8023d2a513", "56a310870c84a9ee", "eca497af55696bd6"),
        ("uber-trace-id", "57af4a113265029b%3A91171ae7cfdaca3f%3A57af4a113265029b%3A1",
         "57af4a113265029b", "91171ae7cfdaca3f", "57af4a113265029b"),
        ("traceparent", "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01",
         "ad3af4b847976384f60fb4cec5858cf1", "f89d64e21b628705", nil),
        // Not padded (jaeger-client-go and Node write %x), and a bare root.
        ("uber-trace-id", "abc:def:0:1", "abc", "def", nil),
        ("uber-trace-id", "5:7:0:3", "5", "7", nil),
    ]

    @Test(arguments: 0..<realClientHeaders.count)
    func realClientHeadersParse(_ index: Int) throws {
        let (name, value, trace, span, parent) = Self.realClientHeaders[index]
        let context = try #require(JaegerPropagation.extract([(name, value)], using: HTTPStyleExtractor()))
        #expect(context.traceID == TraceID(hex: trace))
        #expect(context.spanID == SpanID(hex: span))
        #expect(context.parentSpanID == parent.flatMap { SpanID(hex: $0) })
        #expect(context.isSampled)
        #expect(context.isRemote)
    }

    @Test(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
    func everyHeaderInTheSharedFixtureParses() throws {
        let text = try String(contentsOf: Shared.url("fixtures/propagation/headers.txt"), encoding: .utf8)
        var parsed = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let parts = line.split(separator: "\t", maxSplits: 1)
            try #require(parts.count == 2, "line \(line)")
            let header = parts[1].split(separator: ":", maxSplits: 1)
            try #require(header.count == 2)
            let name = String(header[0]).trimmingCharacters(in: .whitespaces)
            let value = String(header[1]).trimmingCharacters(in: .whitespaces)
            let context = JaegerPropagation.extract([(name, value)], using: HTTPStyleExtractor())
            #expect(context != nil, "\(parts[0]): \(name): \(value)")
            #expect(context?.traceID.isZero == false && context?.spanID.isZero == false)
            parsed += 1
        }
        #expect(parsed >= 6)
    }

    @Test(arguments: [
        "",  // empty
        "abc",  // one field
        "1:2:3",  // three fields
        "1:2:3:1:5",  // five fields
        "0:2:0:1",  // zero trace id
        "00000000000000000000000000000000:2:0:1",
        "1:0:0:1",  // zero span id
        "xyz:2:0:1",  // bad hex
        "1:2g:0:1",
        "1:2:0:zz",
        "1::0:1",  // empty field
        "1:2:0:",
        "1%3A2%3A0%3",  // truncated escape
        "1%2A2%3A0%3A1",  // other escape
        "123456789012345678901234567890123:2:0:1",  // trace id of 33 digits
        "1:12345678901234567:0:1",  // span id of 17 digits
        "1:2:0:123",  // flags of 3 digits
        "-1:2:0:1",
        String(repeating: "1", count: 300) + ":2:0:1",  // too long
    ])
    func malformedUberTraceIDGivesNoContext(_ value: String) {
        #expect(JaegerPropagation.parseUberTraceID(value) == nil)
    }

    @Test(arguments: [
        "",
        "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705",  // three fields
        "00-00000000000000000000000000000000-f89d64e21b628705-01",  // zero trace id
        "00-ad3af4b847976384f60fb4cec5858cf1-0000000000000000-01",  // zero span id
        "00-AD3AF4B847976384F60FB4CEC5858CF1-F89D64E21B628705-01",  // uppercase
        "00-ad3af4b847976384f60fb4cec5858cf-f89d64e21b628705-01",  // short trace id
        "00-ad3af4b847976384f60fb4cec5858cf1x-f89d64e21b628705-01",
        "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01-extra",  // version 00 is exactly 55 bytes
        "ff-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01",  // forbidden version
        "0g-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01",
        "00_ad3af4b847976384f60fb4cec5858cf1_f89d64e21b628705_01",
        "01-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01x",  // later version, no dash after flags
        "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01" + String(repeating: " ", count: 300),
    ])
    func malformedTraceparentGivesNoContext(_ value: String) {
        #expect(JaegerPropagation.parseTraceparent(value) == nil)
    }

    @Test func laterTraceparentVersionsMayAppendFields() throws {
        let context = try #require(JaegerPropagation.parseTraceparent(
            "cc-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-00-what-the-future-holds"))
        #expect(context.traceID == TraceID(hex: "ad3af4b847976384f60fb4cec5858cf1"))
        #expect(!context.isSampled)
    }

    @Test func malformedHeadersStartANewTrace() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        var context = InstrumentationContext.topLevel
        tracer.extract(["uber-trace-id": "not:a:trace:id", "traceparent": "garbage"], into: &context, using: DictionaryExtractor())
        #expect(context.jaegerSpanContext == nil)
        let span = tracer.startSpan("fresh", context: context)
        #expect(span.spanContext.parentSpanID == nil)
        span.end()
    }

    @Test func injectWritesBothFormatsAndExtractRoundTrips() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        let span = tracer.startSpan("client", context: .topLevel, ofKind: .client)
        defer { span.end() }
        let child = tracer.startSpan("hop", context: span.context, ofKind: .client)
        defer { child.end() }
        var headers: [String: String] = [:]
        tracer.inject(child.context, into: &headers, using: DictionaryInjector())
        let ids = child.spanContext
        let trace = ids.traceID.hex
        #expect(headers["uber-trace-id"] == "\(trace):\(ids.spanID.hex):\(span.spanContext.spanID.hex):1")
        #expect(headers["traceparent"] == "00-\(trace)-\(ids.spanID.hex)-01")
        #expect(headers["tracestate"] == nil)

        for only in ["uber-trace-id", "traceparent"] {
            var context = InstrumentationContext.topLevel
            tracer.extract([only: headers[only] ?? ""], into: &context, using: DictionaryExtractor())
            let remote = try #require(context.jaegerSpanContext)
            #expect(remote.traceID == ids.traceID && remote.spanID == ids.spanID && remote.isSampled)
            let server = tracer.startSpan("server", context: context, ofKind: .server)
            #expect(server.spanContext.traceID == ids.traceID)
            #expect(server.spanContext.parentSpanID == ids.spanID)
            server.end()
        }
    }

    @Test func sixtyFourBitIdsAreWrittenAsJaegerClientGoDoes() {
        let context = JaegerSpanContext(traceID: TraceID(high: 0, low: 0xabc), spanID: SpanID(0x1f), parentSpanID: nil, flags: 1)
        #expect(JaegerPropagation.uberTraceID(context) == "0000000000000abc:000000000000001f:0000000000000000:1")
        #expect(JaegerPropagation.traceparent(context) == "00-00000000000000000000000000000abc-000000000000001f-01")
    }

    @Test func injectHonoursTheConfiguredFormat() throws {
        let sink = try UDPSink()
        for (formats, expected) in [(PropagationFormats.jaeger, ["uber-trace-id"]), (.w3c, ["traceparent"]),
                                    (.both, ["traceparent", "uber-trace-id"])] {
            let tracer = try makeTracer(sink) { $0.propagation = formats }
            let span = tracer.startSpan("s", context: .topLevel)
            var headers: [String: String] = [:]
            tracer.inject(span.context, into: &headers, using: DictionaryInjector())
            #expect(headers.keys.sorted() == expected)
            span.end()
        }
    }

    @Test func traceparentWinsAndTracestatePassesThrough() throws {
        let sink = try UDPSink()
        let tracer = try makeTracer(sink)
        var context = InstrumentationContext.topLevel
        tracer.extract([
            "Traceparent": "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01",
            "Tracestate": "vendor=opaque,other=x",
            "Uber-Trace-Id": "62671661852fbcc6:891d2772f3b867f0:0:1",
        ], into: &context, using: DictionaryExtractor())
        let remote = try #require(context.jaegerSpanContext)
        #expect(remote.traceID == TraceID(hex: "ad3af4b847976384f60fb4cec5858cf1"))
        let server = tracer.startSpan("server", context: context, ofKind: .server)
        defer { server.end() }
        var outgoing: [String: String] = [:]
        tracer.inject(server.context, into: &outgoing, using: DictionaryInjector())
        #expect(outgoing["tracestate"] == "vendor=opaque,other=x")

        // A malformed traceparent falls back to uber-trace-id.
        var fallback = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-zz", "uber-trace-id": "62671661852fbcc6:891d2772f3b867f0:0:1"],
                       into: &fallback, using: DictionaryExtractor())
        #expect(fallback.jaegerSpanContext?.traceID == TraceID(hex: "62671661852fbcc6"))
    }

    @Test func headerNamesAreCaseInsensitive() throws {
        for name in ["uber-trace-id", "Uber-Trace-Id", "UBER-TRACE-ID", "uBeR-tRaCe-Id"] {
            let context = JaegerPropagation.extract([(name, "1:2:0:1")], using: HTTPStyleExtractor())
            #expect(context?.spanID == SpanID(2), "\(name)")
        }
        for name in ["traceparent", "TRACEPARENT", "TraceParent"] {
            let context = JaegerPropagation.extract([(name, "00-ad3af4b847976384f60fb4cec5858cf1-f89d64e21b628705-01")],
                                                    using: HTTPStyleExtractor())
            #expect(context?.spanID == SpanID(hex: "f89d64e21b628705"), "\(name)")
        }
        // A plain dictionary is case-sensitive: the canonical spelling is tried too.
        #expect(JaegerPropagation.extract(["Uber-Trace-Id": "1:2:0:1"], using: DictionaryExtractor()) != nil)
    }
}
