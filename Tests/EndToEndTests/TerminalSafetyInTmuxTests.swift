import Foundation
import Testing
import TestSupport
import TraceModel
import TraceFormats

/// Spans whose every text field carries escape sequences, C1 controls, bidi
/// and invisible characters are sent to `tracetty live` over real sockets
/// while it runs in tmux; every view that shows them is opened, and the pane
/// must keep its title, window name, paste buffers and alternate screen, with
/// the payloads shown as escaped text where they belong. Then the same bytes
/// are written raw to the same pane, to prove these checks see an attack.
@Suite(.serialized, .ownThreads) struct TerminalSafetyInTmuxTests {
    static var ready: Bool { TmuxSession.tmuxPath != nil && TmuxSession.tracettyPath != nil }

    /// What an escape sequence that got through would have changed.
    struct PaneState: Equatable, CustomStringConvertible {
        var title: String
        var windowName: String
        var buffers: String

        init(_ session: TmuxSession) throws {
            title = try session.display("#{pane_title}")
            windowName = try session.display("#{window_name}")
            buffers = try session.tmux(["list-buffers"], readOutput: true)
        }

        var description: String { "title \"\(title)\", window \"\(windowName)\", buffers \"\(buffers)\"" }
    }

    @Test(.enabled(if: ready, "needs tmux and the built tracetty"))
    func hostileSpansSentLiveNeitherDriveNorFoolTheTerminal() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let controls = TestScratch.directory.appendingPathComponent("tracetty-attacks-\(getpid())")
        try FileManager.default.createDirectory(at: controls, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: controls) }
        let (width, height) = (200, 60)
        // A server of its own: the options below are server-wide, and the
        // paste buffers are shared by every session of a server.
        let socket = "tracetty-safety-\(getpid())"
        let session = try TmuxSession(
            command: "'\(binary)' live --otlp-http-port 0 --jaeger-compact-port 0 --off jaeger-binary --off zipkin-compact "
                + "--off jaeger-collector --off zipkin-http --off otlp-grpc; echo TRACETTY-EXIT=$?; exec env PS1='$ ' sh -i",
            width: width, height: height, socket: socket)
        defer {
            session.kill()
            _ = try? session.tmux(["kill-server"])
        }
        // Let every attack land if it gets through: OSC 52 makes a paste
        // buffer, `ESC k` renames the window, OSC 0/2 set the title (always
        // on). The window keeps its name otherwise (no renaming after the
        // running command).
        try session.tmux(["set-option", "-s", "set-clipboard", "on"])
        try session.tmux(["set-option", "-g", "allow-rename", "on"])
        try session.tmux(["set-option", "-g", "automatic-rename", "off"])
        try session.tmux(["rename-window", "-t", session.name, "tracetty-under-attack"])

        let listening = try session.waitFor("the listening addresses") {
            $0.contains("listening otlp-http http 127.0.0.1:") && $0.contains("listening jaeger-compact udp 127.0.0.1:")
        }
        func port(_ name: String) throws -> Int {
            let line = try #require(listening.split(separator: "\n").first { $0.contains("listening \(name) ") })
            return try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        }
        let (otlpPort, jaegerPort) = (try port("otlp-http"), try port("jaeger-compact"))
        let before = try PaneState(session)
        #expect(try session.display("#{alternate_on}") == "1")

        // Raw 0x9B / 0x9D bytes where the wire allows them: Jaeger compact
        // Thrift (with client stats, so the service is quoted at exit too)
        // and OTLP protobuf. The rest, as Unicode, over OTLP/HTTP JSON.
        let now = UInt64(Date().timeIntervalSince1970) * 1_000_000_000
        let jaegerTrace = TerminalAttack.rawBytesTrace(TraceID(high: 0x5afe, low: 0xa1), start: now - 3_000_000_000, service: "jaeger-raw")
        let datagram = TerminalAttack.withRawBytes(JaegerThriftEncoder.emitBatch(
            process: jaegerTrace[0].resource, spans: jaegerTrace, seqNo: 1, stats: ClientStats(fullQueueDroppedSpans: 3)))
        #expect(datagram.contains(0x9B) && datagram.contains(0x9D))
        #expect(Loopback.sendUDP(datagram, port: jaegerPort))
        let protobufTrace = TerminalAttack.rawBytesTrace(TraceID(high: 0x5afe, low: 0xa2), start: now - 2_000_000_000, service: "proto-raw")
        let protobuf = TerminalAttack.withRawBytes(OTLPProtobufEncoder.encode(protobufTrace))
        #expect(protobuf.contains(0x9B) && protobuf.contains(0x9D))
        #expect(Loopback.post(port: otlpPort, path: "/v1/traces", contentType: "application/x-protobuf", body: protobuf) == 200)
        // A malformed request is quoted too (status bar, and stderr at exit).
        _ = Loopback.post(port: otlpPort, path: "/v1/\u{9b}2J\u{9d}0;pwned-path\u{9c}", contentType: "application/json", body: [])
        let trace = TerminalAttack.trace(TraceID(high: 0x5afe, low: 0xa3), start: now - 1_000_000_000)
        #expect(Loopback.post(port: otlpPort, path: "/v1/traces", contentType: "application/json",
                              body: OTLPJSONEncoder.encodeLine(trace)) == 200)

        /// A whole frame: tmux may be captured between two chunks of one
        /// redraw, so a view is waited for until its title and hint bars and
        /// everything it should show are on screen.
        func whole(_ screen: String, _ expected: [String]) -> Bool {
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            return lines.first?.contains("live · 2 listeners") == true && lines.last?.contains("quit") == true
                && expected.allSatisfy(screen.contains)
        }

        /// Nothing changed, and the frame is whole: as many rows as the pane,
        /// the title bar on top and the key hints at the bottom where they belong.
        func expectUntouched(_ screen: String, _ view: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let state = try PaneState(session)
            #expect(state == before, "\(view): \(state), was \(before)", sourceLocation: sourceLocation)
            #expect(try session.display("#{alternate_on}") == "1", "\(view): left the alternate screen", sourceLocation: sourceLocation)
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == height, "\(view): \(lines.count) rows", sourceLocation: sourceLocation)
            #expect(lines.first?.contains("live · 2 listeners") == true, "\(view): title bar moved\n\(screen)", sourceLocation: sourceLocation)
            #expect(lines.last?.contains("quit") == true, "\(view): hint bar moved\n\(screen)", sourceLocation: sourceLocation)
            // Text after a cursor move that got through lands elsewhere, without its escaped prefix.
            #expect(screen.components(separatedBy: "MOVED").count == screen.components(separatedBy: "10;10HMOVED").count,
                    "\(view): the cursor was moved\n\(screen)", sourceLocation: sourceLocation)
        }

        // The trace list.
        var screen = try session.waitFor("the three traces in the list") {
            whole($0, ["front " + TerminalAttack.payloads[0].shown, "jaeger-raw", "proto-raw"])
        }
        try expectUntouched(screen, "trace list")

        // The waterfall: every payload in its row's service, the frame's
        // vertical rule in one column on every row.
        try session.send("Enter")
        let rows = TerminalAttack.payloads.map { "s-\($0.label) " + $0.shown }
        screen = try session.waitFor("the waterfall") { whole($0, ["SERVICE OPERATION"] + rows) }
        try expectUntouched(screen, "waterfall")
        for row in rows {
            #expect(screen.contains(row), "waterfall row \(row)\n\(screen)")
        }
        let lines = screen.split(separator: "\n").map(String.init)
        let axis = try #require(lines.firstIndex { $0.contains("SERVICE OPERATION") })
        let rule = try #require(Array(lines[axis]).firstIndex(of: "│"))
        for row in lines[(axis + 1)...(axis + 1 + TerminalAttack.payloads.count)] {
            let characters = Array(row)
            #expect(characters.count > rule && characters[rule] == "│", "the rule moved in \(row)")
        }

        // The span detail, span by span: the root carries every payload at
        // once, each child one in its name, tag key and value, log name and field.
        try session.send("Enter")
        let all = "all " + TerminalAttack.payloads.prefix(3).map(\.shown).joined()
        screen = try session.waitFor("the root's detail") { whole($0, ["Span detail · front ", all]) }
        try expectUntouched(screen, "root detail")
        #expect(screen.contains(all))
        for p in TerminalAttack.payloads {
            try session.send("]")
            let fields = ["n", "k", "v", "e", "f", "g"].map { "\($0)-\(p.label) " + p.shown }
            screen = try session.waitFor("\(p.label)'s detail") { whole($0, ["Span detail · s-\(p.label) "] + fields) }
            try expectUntouched(screen, "detail of \(p.label)")
            for field in fields {
                #expect(screen.contains(field), "\(field) in the detail\n\(screen)")
            }
        }
        try session.send("Escape")

        // The logs pane: every event of the trace.
        try session.send("L")
        let events = TerminalAttack.payloads.map { "e-\($0.label) " + $0.shown }
        screen = try session.waitFor("the logs") { whole($0, ["Logs · 20 events"] + events) }
        try expectUntouched(screen, "logs")
        for event in events {
            #expect(screen.contains(event), "\(event) in the logs\n\(screen)")
        }
        try session.send("Escape")
        try session.send("Escape")

        // The raw-byte traces: each invalid byte a U+FFFD, what follows it escaped.
        try session.send("/")
        try session.send("-l", "trace=\(jaegerTrace[0].traceID.hex)")
        try session.send("Enter")
        screen = try session.waitFor("the Jaeger trace alone in the list") {
            whole($0, ["jaeger-raw"]) && ($0.contains("1 of 3") || $0.contains("1/3")) && !$0.contains("proto-raw")
        }
        try expectUntouched(screen, "filtered list")
        try session.send("Enter")
        let rawRows = ["jaeger-raw " + TerminalAttack.rawOSCShown,
                       "rawroot " + TerminalAttack.rawCSIShown + #" \u{9d}0;pwned-c1\u{9c}"#, "rawchild " + TerminalAttack.rawOSCShown]
        screen = try session.waitFor("the Jaeger trace's waterfall") { whole($0, rawRows) }
        try expectUntouched(screen, "raw-byte waterfall")
        for row in rawRows { #expect(screen.contains(row), "\(row)\n\(screen)") }
        try session.send("Enter")
        let rawFields = ["rawkey " + TerminalAttack.rawOSCShown, "rawvalue " + TerminalAttack.rawCSIShown,
                         "rawlog " + TerminalAttack.rawOSCShown]
        screen = try session.waitFor("the Jaeger root's detail") { whole($0, ["Span detail · jaeger-raw "] + rawFields) }
        try expectUntouched(screen, "raw-byte detail")
        for field in rawFields { #expect(screen.contains(field), "\(field)\n\(screen)") }

        // Quit: the summary on stderr quotes the Jaeger client's service.
        try session.send("q")
        let clients = "clients: jaeger-raw " + TerminalAttack.rawOSCShown + ": 3 dropped"
        screen = try session.waitFor("the exit and its summary") { $0.contains("TRACETTY-EXIT=0") && $0.contains(clients) }
        #expect(try PaneState(session).title == before.title)
        #expect(try PaneState(session).buffers.isEmpty)
        #expect(!(try PaneState(session).windowName.contains("pwned")))
        #expect(screen.contains(clients), "\(screen)")

        // The control: the same bytes, written raw to this pane, do take it over.
        func run(_ label: String, _ text: String) throws {
            try Data(text.utf8).write(to: controls.appendingPathComponent(label))
            try session.send("-l", "cat '\(controls.appendingPathComponent(label).path)'")
            try session.send("Enter")
        }
        func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if try condition() { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            Issue.record("control: \(what) never happened, so the checks above could not see it")
        }
        func payload(_ label: String) throws -> String {
            try #require(TerminalAttack.payloads.first { $0.label == label }).text
        }
        try run("osc0", try payload("osc0"))
        try waitUntil("OSC 0 setting the title") { try session.display("#{pane_title}") == "pwned-osc0" }
        try run("osc2", try payload("osc2"))
        try waitUntil("OSC 2 setting the title") { try session.display("#{pane_title}") == "pwned-osc2" }
        try run("osc52", try payload("osc52"))
        try waitUntil("OSC 52 filling a paste buffer") { try PaneState(session).buffers.contains("pwned-clip") }
        try run("rename", try payload("rename"))
        try waitUntil("ESC k renaming the window") { try session.display("#{window_name}") == "pwned-name" }
        for (label, enter) in [("alt1049", "\u{1b}[?1049h"), ("alt47", "\u{1b}[?47h")] {
            try run("enter-" + label, enter)
            try waitUntil("entering the alternate screen") { try session.display("#{alternate_on}") == "1" }
            try run(label, try payload(label))
            try waitUntil("\(label) leaving the alternate screen") { try session.display("#{alternate_on}") == "0" }
        }
        try run("move", try payload("move"))
        try waitUntil("the cursor moved to row 10, column 10") {
            let row = Array(try session.screen().split(separator: "\n", omittingEmptySubsequences: false)[9])
            return row.count >= 14 && String(row[9..<14]) == "MOVED"
        }
        // Quotes keep the marker out of the typed command line: only the output shows it.
        try session.send("-l", "echo MARK''-LINE")
        try session.send("Enter")
        try session.waitFor("the marker line") { $0.contains("\nMARK-LINE") }
        try run("clear", try payload("clear") + "CLEARED")
        try waitUntil("ESC [2J clearing the screen") {
            let screen = try session.screen()
            return screen.contains("CLEARED") && !screen.contains("MARK-LINE")
        }
    }
}
