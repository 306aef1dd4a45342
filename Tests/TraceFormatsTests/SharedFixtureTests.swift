import Foundation
import Testing
import TraceModel
@testable import TraceFormats
import TestSupport

/// The spec examples and captured request bodies in ../shared. Skipped (with
/// this reason) in a fresh clone without ../shared/fixtures.
@Suite(.enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
struct SharedFixtureTests {
    @Test func otlpSpecExample() throws {
        let result = try readFile(Shared.path("spec/examples/otlp-trace.json"))
        #expect(result.summary.format == .otlpJSON)
        #expect(result.summary.issueCount == 0)
        try #require(result.spans.count == 1)
        let span = result.spans[0]
        #expect(span.traceID == hexTrace("5b8efff798038103d269b633813fc60c"))
        #expect(span.spanID == hexSpan("eee19b7ec3c1b174"))
        #expect(span.parentSpanID == hexSpan("eee19b7ec3c1b173"))
        #expect(span.name == "I'm a server span")
        #expect(span.kind == .server)
        #expect(span.startTimeUnixNano == 1_544_712_660_000_000_000)
        #expect(span.durationNano == 1_000_000_000)
        #expect(span.attributes == [Attribute("my.span.attr", .string("some value"))])
        #expect(span.serviceName == "my.service")
        #expect(span.resource.attributes == [Attribute("service.name", .string("my.service"))])
        #expect(span.scope.name == "my.library")
        #expect(span.scope.version == "1.0.0")
        #expect(span.scope.attributes == [Attribute("my.scope.attribute", .string("some scope attribute"))])
        #expect(span.status == .unset)
    }

    @Test func otlpAndJaegerExamplesAgree() throws {
        let otlp = try readFile(Shared.path("spec/examples/otlp-in-for-jaeger-ui.json"))
        let jaeger = try readFile(Shared.path("spec/examples/jaeger-ui-trace-from-otlp.json"))
        #expect(otlp.summary.format == .otlpJSON)
        #expect(jaeger.summary.format == .jaegerJSON)
        #expect(otlp.summary.issueCount == 0 && jaeger.summary.issueCount == 0)
        try #require(otlp.spans.count == 2 && jaeger.spans.count == 2)
        for (o, j) in zip(otlp.spans, jaeger.spans) {
            for span in [o, j] {
                #expect(span.traceID == hexTrace("83a9efd15c1c98a977e0711cc93ee28b"))
                #expect(span.spanID == hexSpan("e127af99e3b3e074"))
                #expect(span.parentSpanID == hexSpan("909541b92cf05311"))
                #expect(span.name == "okey-dokey-0")
                #expect(span.kind == .server)
                #expect(span.startTimeUnixNano == 1_706_678_909_209_712_000)
                #expect(span.durationNano == 123_000)
                #expect(span.serviceName == "telemetrygen")
                #expect(span.attribute("net.peer.ip") == .string("1.2.3.4"))
                #expect(span.attribute("peer.service") == .string("telemetrygen-client"))
                #expect(span.links.isEmpty)
            }
            #expect(o.scope.name == "telemetrygen")
            #expect(j.attribute("otel.library.name") == .string("telemetrygen"))
            #expect(j.attribute("span.kind") == nil)  // became `kind`
            #expect(j.resource.attributes == [Attribute("service.name", .string("telemetrygen"))])
        }
        #expect(otlp.spans[0].resource === otlp.spans[1].resource)
        #expect(jaeger.spans[0].resource === jaeger.spans[1].resource)
    }

    @Test func otlpHTTPBodies() throws {
        let first = try OTLPJSONDecoder.decode(try Shared.bytes("fixtures/otlp-http/python-json/000000.body"))
        try #require(first.count == 2)
        let client = first[0], root = first[1]
        #expect(client.traceID == hexTrace("877731db946805e5eab37af57c3f0bf4"))
        #expect(client.spanID == hexSpan("78ff26f76ccd6a1a"))
        #expect(client.parentSpanID == hexSpan("3cf548d830727a75"))
        #expect(client.name == "server-1_to_server-2")
        #expect(client.kind == .client)
        #expect(client.flags == 256)
        #expect(client.startTimeUnixNano == 1_795_821_746_993_997_716)
        #expect(client.durationNano == 1_795_821_747_494_503_795 - 1_795_821_746_993_997_716)
        #expect(client.attributes.isEmpty)
        #expect(root.spanID == hexSpan("3cf548d830727a75"))
        #expect(root.parentSpanID == nil)
        #expect(root.name == "server-1")
        #expect(root.kind == .server)
        #expect(root.durationNano == 1_795_821_747_494_529_584 - 1_795_821_746_743_620_141)
        #expect(root.attributes == [
            Attribute("http.method", .string("GET")),
            Attribute("http.url", .string("/alice")),
            Attribute("http.status_code", .int(200)),
        ])
        #expect(root.serviceName == "server-1")
        #expect(root.resource.attributes.count == 5)
        #expect(root.resource.attributes[3] == Attribute("service.instance.id", .string("e50878db-00ef-48bb-88b9-4de5c30467ab")))
        #expect(root.resource === client.resource)
        #expect(root.scope === client.scope)
        #expect(root.scope.name == "emitter.server-1")

        let second = try OTLPJSONDecoder.decode(try Shared.bytes("fixtures/otlp-http/python-json/000001.body"))
        try #require(second.count == 1)
        let server = second[0]
        #expect(server.spanID == hexSpan("71929b2ff2e12ab8"))
        #expect(server.parentSpanID == hexSpan("78ff26f76ccd6a1a"))
        #expect(server.serviceName == "server-2")
        #expect(server.flags == 768)
        #expect(server.kind == .server)
        #expect(server.durationNano == 1_795_821_747_494_410_917 - 1_795_821_746_994_183_023)
        #expect(server.events == [SpanEvent(timeUnixNano: 1_795_821_746_994_206_468, name: "request received",
                                            attributes: [Attribute("name", .string("alice"))])])
    }

    @Test func zipkinHTTPBodies() throws {
        let first = try ZipkinJSONDecoder.decode(try Shared.bytes("fixtures/zipkin-http/python-json-v2/000000.body"))
        try #require(first.count == 2)
        let client = first[0], root = first[1]
        #expect(client.traceID == hexTrace("08b6e92991be6da92dfc3c3b2f8097d9"))
        #expect(client.spanID == hexSpan("96dcb1f24b897034"))
        #expect(client.parentSpanID == hexSpan("f651f73d1dfa9741"))
        #expect(client.name == "server-1_to_server-2")
        #expect(client.kind == .client)
        #expect(client.startTimeUnixNano == 1_795_821_753_010_492_000)
        #expect(client.durationNano == 500_447_000)
        #expect(client.serviceName == "server-1")
        #expect(client.attributes.count == 8)
        #expect(client.attribute("otel.scope.name") == .string("emitter.server-1"))
        #expect(root.parentSpanID == nil)
        #expect(root.kind == .server)
        #expect(root.durationNano == 750_819_000)
        #expect(root.attribute("http.status_code") == .string("200"))
        #expect(root.attribute("http.url") == .string("/alice"))
        #expect(!root.isError)
        #expect(root.resource === client.resource)

        let second = try ZipkinJSONDecoder.decode(try Shared.bytes("fixtures/zipkin-http/python-json-v2/000001.body"))
        try #require(second.count == 1)
        #expect(second[0].spanID == hexSpan("4e04e3ba18c3230e"))
        #expect(second[0].parentSpanID == hexSpan("96dcb1f24b897034"))
        #expect(second[0].serviceName == "server-2")
        #expect(second[0].events == [SpanEvent(timeUnixNano: 1_795_821_753_010_633_000,
                                               name: #"{"request received": {"name": "alice"}}"#)])
    }

    @Test func bodiesReadAsDumpFiles() throws {
        let otlp = try readFile(Shared.path("fixtures/otlp-http/python-json/000000.body"))
        #expect(otlp.summary.format == .otlpJSON)
        #expect(otlp.spans.count == 2)
        let zipkin = try readFile(Shared.path("fixtures/zipkin-http/python-json-v2/000001.body"))
        #expect(zipkin.summary.format == .zipkinJSON)
        #expect(zipkin.spans.count == 1)
    }

    @Test func sharedExamplesRoundTrip() throws {
        for file in ["spec/examples/otlp-trace.json", "spec/examples/jaeger-ui-trace-from-otlp.json",
                     "fixtures/zipkin-http/python-json-v2/000000.body", "fixtures/otlp-http/python-json/000001.body"] {
            let original = try readFile(Shared.path(file)).spans
            let line = OTLPJSONEncoder.encodeLine(original)
            let again = try DumpDecoder.decode(line, source: "rt").spans
            #expect(sortedSpans(again) == sortedSpans(original), "\(file)")
        }
    }
}
