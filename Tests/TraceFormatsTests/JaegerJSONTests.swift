import Foundation
import Testing
import TraceModel
@testable import TraceFormats

struct JaegerJSONTests {
    static let document = #"""
    {
      "data": [
        {
          "traceID": "5a3f",
          "spans": [
            {
              "traceID": "5a3f", "spanID": "a1", "operationName": "GET /alice",
              "references": [], "flags": 1, "startTime": 1700000000000001, "duration": 750000,
              "tags": [
                {"key": "span.kind", "type": "string", "value": "server"},
                {"key": "http.status_code", "type": "int64", "value": 200},
                {"key": "big", "type": "int64", "value": "9007199254740993"},
                {"key": "ratio", "type": "float64", "value": 0.5},
                {"key": "whole", "type": "float64", "value": 2},
                {"key": "ok", "type": "bool", "value": true},
                {"key": "blob", "type": "binary", "value": "AAEC"},
                {"key": "otel.status_code", "type": "string", "value": "ERROR"},
                {"key": "otel.status_description", "type": "string", "value": "bad"}
              ],
              "logs": [
                {"timestamp": 1700000000000100, "fields": [{"key": "event", "type": "string", "value": "handling request"}, {"key": "name", "type": "string", "value": "alice"}]},
                {"timestamp": 1700000000000200, "fields": [{"key": "message", "type": "string", "value": "hello"}]},
                {"timestamp": 1700000000000300, "fields": [{"key": "x", "type": "int64", "value": 1}]}
              ],
              "processID": "p1", "warnings": null
            },
            {
              "traceID": "5a3f", "spanID": "b2", "operationName": "call",
              "references": [
                {"refType": "FOLLOWS_FROM", "traceID": "77", "spanID": "c3"},
                {"refType": "CHILD_OF", "traceID": "5a3f", "spanID": "a1"}
              ],
              "startTime": 1700000000250000, "duration": 500000,
              "tags": [{"key": "error", "type": "bool", "value": true}, {"key": "span.kind", "type": "string", "value": "client"}],
              "processID": "p2"
            },
            {
              "traceID": "5a3f", "spanID": "d4", "parentSpanID": "b2", "operationName": "orphan-process",
              "references": [{"refType": "CHILD_OF", "traceID": "5a3f", "spanID": "b2"}],
              "startTime": 1700000000260000, "duration": 10, "processID": "p9"
            }
          ],
          "processes": {
            "p1": {"serviceName": "server-1", "tags": [{"key": "hostname", "type": "string", "value": "h1"}]},
            "p2": {"serviceName": "server-2", "tags": []}
          },
          "warnings": null
        }
      ],
      "total": 0, "limit": 0, "offset": 0, "errors": null
    }
    """#

    @Test func uiDownloadDocument() throws {
        let (spans, summary) = try decodeText(Self.document, source: "trace.json")
        #expect(summary.format == .jaegerJSON)
        #expect(summary.issues == [DumpIssue(file: "trace.json", line: 37, reason: "span 3: unknown processID p9")])
        try #require(spans.count == 3)
        let root = spans[0], call = spans[1], orphan = spans[2]
        #expect(root.traceID == TraceID(high: 0, low: 0x5a3f))
        #expect(root.spanID == SpanID(0xa1))
        #expect(root.parentSpanID == nil)
        #expect(root.name == "GET /alice")
        #expect(root.kind == .server)
        #expect(root.flags == 1)
        #expect(root.startTimeUnixNano == 1_700_000_000_000_001_000)
        #expect(root.durationNano == 750_000_000)
        #expect(root.status == SpanStatus(code: .error, message: "bad"))
        #expect(root.attributes == [
            Attribute("http.status_code", .int(200)), Attribute("big", .int(9_007_199_254_740_993)),
            Attribute("ratio", .double(0.5)), Attribute("whole", .double(2)), Attribute("ok", .bool(true)),
            Attribute("blob", .bytes([0, 1, 2])), Attribute("otel.status_code", .string("ERROR")),
            Attribute("otel.status_description", .string("bad")),
        ])
        #expect(root.events.map(\.name) == ["handling request", "hello", "log"])
        #expect(root.events[0].timeUnixNano == 1_700_000_000_000_100_000)
        #expect(root.events[0].attributes == [Attribute("event", .string("handling request")), Attribute("name", .string("alice"))])
        #expect(root.serviceName == "server-1")
        #expect(root.resource.attributes == [Attribute("service.name", .string("server-1")), Attribute("hostname", .string("h1"))])
        #expect(call.parentSpanID == SpanID(0xa1))
        #expect(call.kind == .client)
        #expect(call.links == [SpanLink(traceID: TraceID(low: 0x77), spanID: SpanID(0xc3), referenceType: "FOLLOWS_FROM")])
        #expect(call.isError)
        #expect(call.status == .unset)
        #expect(call.serviceName == "server-2")
        #expect(orphan.parentSpanID == SpanID(0xb2))
        #expect(orphan.links.isEmpty)
        #expect(orphan.serviceName == "unknown_service")
    }

    @Test func traceLinesAndSpanLines() throws {
        let traceLine = #"{"traceID":"0000000000000000000000000000abcd","spans":[{"spanID":"01","operationName":"x","startTime":1,"duration":2,"processID":"p1"}],"processes":{"p1":{"serviceName":"s"}}}"#
        let spanLine = #"{"traceID":"abcd","spanID":"02","parentSpanID":"01","operationName":"y","startTime":3,"duration":4,"process":{"serviceName":"s","tags":[]}}"#
        let (spans, summary) = try decodeText(traceLine + "\n" + spanLine + "\n" + traceLine + "\n")
        #expect(summary.format == .jaegerJSONLines)
        #expect(summary.issueCount == 0)
        try #require(spans.count == 3)
        #expect(spans[0].traceID == TraceID(low: 0xabcd))
        #expect(spans[0].serviceName == "s")
        #expect(spans[1].parentSpanID == SpanID(1))
        #expect(spans[1].startTimeUnixNano == 3000 && spans[1].durationNano == 4000)
        #expect(spans[0].resource === spans[1].resource)
    }

    @Test func badJaegerIdsAreReported() throws {
        let line = #"{"traceID":"xyz","spanID":"01","operationName":"x","startTime":1,"duration":2}"#
        let line2 = #"{"traceID":"ab","spanID":"01234567890abcdef0","operationName":"x","startTime":1,"duration":2}"#
        let (spans, summary) = try decodeText(line + "\n" + line2 + "\n")
        #expect(spans.isEmpty)
        #expect(summary.issues.map(\.description) == [
            "t.ndjson:1: span 1: traceID is not 1 to 32 hex digits",
            "t.ndjson:2: span 1: spanID is not 1 to 16 hex digits",
        ])
    }

    @Test func jaegerRoundTripsThroughOTLP() throws {
        let spans = try JaegerJSONDecoder.decodePartially(Array(Self.document.utf8)).spans
        #expect(spans.count == 3)
        let back = try DumpDecoder.decode(OTLPJSONEncoder.encodeLine(spans), source: "rt").spans
        #expect(sortedSpans(back) == sortedSpans(spans))
    }
}

struct ZipkinJSONTests {
    static let array = #"""
    [
      {"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "parentId": "463ac35c9f6413ad",
       "name": "get /api", "kind": "CLIENT", "timestamp": 1472470996199000, "duration": 207000,
       "localEndpoint": {"serviceName": "frontend", "ipv4": "127.0.0.1", "port": 8080},
       "remoteEndpoint": {"serviceName": "backend", "ipv4": "192.168.99.101", "port": 9000},
       "tags": {"http.method": "GET", "error": "timeout", "retries": 3},
       "annotations": [{"timestamp": 1472470996238000, "value": "ws"}],
       "shared": true, "debug": true},
      {"traceId": "463ac35c9f6413ad463ac35c9f6413ad", "id": "463ac35c9f6413ad", "name": "root",
       "timestamp": 1472470996000000, "localEndpoint": {"serviceName": "frontend", "ipv4": "127.0.0.1", "port": 8080}},
      {"traceId": "463ac35c9f6413ad", "id": "zz", "name": "bad"}
    ]
    """#

    @Test func arrayDocument() throws {
        let (spans, summary) = try decodeText(Self.array, source: "z.json")
        #expect(summary.format == .zipkinJSON)
        #expect(summary.issues.map(\.description) == ["z.json:11: span 3: id is not 16 hex digits"])
        try #require(spans.count == 2)
        let client = spans[0]
        #expect(client.traceID == TraceID(high: 0, low: 0x463a_c35c_9f64_13ad))
        #expect(client.spanID == SpanID(0xa2fb_4a1d_1a96_d312))
        #expect(client.parentSpanID == SpanID(0x463a_c35c_9f64_13ad))
        #expect(client.kind == .client)
        #expect(client.startTimeUnixNano == 1_472_470_996_199_000_000)
        #expect(client.durationNano == 207_000_000)
        #expect(client.status == SpanStatus(code: .error, message: "timeout"))
        #expect(client.isError)
        #expect(client.attributes == [
            Attribute("http.method", .string("GET")), Attribute("error", .string("timeout")), Attribute("retries", .string("3")),
            Attribute("zipkin.shared", .bool(true)), Attribute("peer.service", .string("backend")),
            Attribute("net.peer.ip", .string("192.168.99.101")), Attribute("net.peer.port", .int(9000)),
        ])
        #expect(client.events == [SpanEvent(timeUnixNano: 1_472_470_996_238_000_000, name: "ws")])
        #expect(client.serviceName == "frontend")
        #expect(client.resource.attributes == [Attribute("service.name", .string("frontend")),
                                               Attribute("net.host.ip", .string("127.0.0.1")), Attribute("net.host.port", .int(8080))])
        let root = spans[1]
        #expect(root.traceID == TraceID(high: 0x463a_c35c_9f64_13ad, low: 0x463a_c35c_9f64_13ad))
        #expect(root.kind == .unspecified)
        #expect(root.durationNano == 0)
        #expect(root.resource === client.resource)
    }

    @Test func spanPerLineAndRoundTrip() throws {
        let text = #"{"traceId":"0000000000000001","id":"0000000000000002","name":"a","timestamp":10,"duration":5,"localEndpoint":{"serviceName":"s"},"kind":"SERVER"}"# + "\n"
            + #"[{"traceId":"0000000000000001","id":"0000000000000003","parentId":"0000000000000002","name":"b","timestamp":11,"duration":1,"localEndpoint":{"serviceName":"s"}}]"# + "\n"
        let (spans, summary) = try decodeText(text)
        #expect(summary.format == .zipkinJSONLines)
        #expect(summary.issueCount == 0)
        #expect(spans.map(\.name) == ["a", "b"])
        #expect(spans[1].parentSpanID == SpanID(2))
        let back = try DumpDecoder.decode(OTLPJSONEncoder.encodeLine(spans), source: "rt").spans
        #expect(back == spans)
        let array = try ZipkinJSONDecoder.decode(Array(Self.array.utf8).prefix(0) + Array("[]".utf8))
        #expect(array.isEmpty)
    }
}
