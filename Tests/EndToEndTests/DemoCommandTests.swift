import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `tracetty server-1`, `server-2` and `demo` as a user runs them.
@Suite(.serialized, .ownThreads) struct DemoCommandTests {
    static var ready: Bool { TmuxSession.tracettyPath != nil }

    /// The port of a `listening server-N http HOST:PORT` line.
    static func listeningPort(_ child: RunningChild, _ service: String) -> Int? {
        while let line = child.readLine() {
            let parts = line.split(separator: " ")
            if parts.count == 4, parts[0] == "listening", parts[1] == service, parts[2] == "http" {
                return parts[3].split(separator: ":").last.flatMap { Int($0) }
            }
        }
        return nil
    }

    /// One HTTP/1.1 request over loopback: status and body (nil if no answer).
    static func request(port: Int, _ method: String, _ path: String, body: String = "") -> (Int, String)? {
        Loopback.request(port: port, method, path, body: Array(body.utf8)).map { ($0.status, $0.body) }
    }

    /// A free TCP port of 127.0.0.1 (bound, then closed).
    static func freePort(udp: Bool = false) -> Int? {
        let fd = socket(AF_INET, Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return ok ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func server2PrintsItsAddressAnswersAndStopsOnSIGTERM() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let agent = try #require(Self.freePort(udp: true))  // nobody listens: the spans are lost, the server does not care
        let child = try RunningChild(binary, ["server-2", "--port", "0", "--agent", "127.0.0.1:\(agent)"])
        let port = try #require(Self.listeningPort(child, "server-2"), "\(child.allOutput)")
        #expect(port > 0)
        let answer = try #require(Self.request(port: port, "POST", "/", body: "alice"))
        #expect(answer.0 == 200)
        #expect(answer.1 == "Hello alice!")
        #expect(Self.request(port: port, "GET", "/")?.0 == 405)
        #expect(kill(child.pid, SIGTERM) == 0)
        #expect(child.wait() == 0, "\(child.allOutput)")
        #expect(child.allOutput.contains("stopped server-2"), "\(child.allOutput)")
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func server1CallsServer2AcrossProcesses() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let agent = try #require(Self.freePort(udp: true))
        let server2 = try RunningChild(binary, ["server-2", "--port", "0", "--agent", "127.0.0.1:\(agent)"])
        defer { kill(server2.pid, SIGKILL); _ = server2.wait(timeout: .seconds(5)) }
        let port2 = try #require(Self.listeningPort(server2, "server-2"), "\(server2.allOutput)")
        let server1 = try RunningChild(binary, ["server-1", "--port", "0", "--server-2", "http://127.0.0.1:\(port2)",
                                                "--agent", "127.0.0.1:\(agent)"])
        let port1 = try #require(Self.listeningPort(server1, "server-1"), "\(server1.allOutput)")
        let answer = try #require(Self.request(port: port1, "GET", "/bob"))
        #expect(answer.0 == 200)
        #expect(answer.1.hasPrefix("Hello bob! time is "), "\(answer.1)")
        #expect(kill(server1.pid, SIGINT) == 0)
        #expect(server1.wait() == 0, "\(server1.allOutput)")
        #expect(kill(server2.pid, SIGTERM) == 0)
    }

    @Test(.enabled(if: ready, "needs the built tracetty"))
    func aTakenPortIsOneLineNamingThePortAndOption() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let holder = try RunningChild(binary, ["server-2", "--port", "0"])
        defer { kill(holder.pid, SIGKILL); _ = holder.wait(timeout: .seconds(5)) }
        let port = try #require(Self.listeningPort(holder, "server-2"), "\(holder.allOutput)")
        let result = try ChildProcess.run(binary, ["server-2", "--port", "\(port)"], timeout: .seconds(20))
        #expect(result.status == 2)
        #expect(result.stderr == "tracetty: port \(port) on 127.0.0.1 is already in use (server-2, --port): choose another port with --port\n")
        // demo: said before the terminal is touched (no escape sequences), naming demo's option.
        let demo = try ChildProcess.run(binary, ["demo", "--server-2-port", "\(port)", "--server-1-port", "0", "--agent-port", "0"],
                                        timeout: .seconds(20))
        #expect(demo.status == 2)
        #expect(demo.stderr == "tracetty: port \(port) on 127.0.0.1 is already in use (server-2, --server-2-port): choose another port with --server-2-port\n")
        #expect(!demo.stdout.contains("\u{1b}"))
    }

    @Test(.enabled(if: ready && TmuxSession.tmuxPath != nil, "needs tmux and the built tracetty"))
    func demoShowsTheSeedWaterfall() throws {
        let binary = try #require(TmuxSession.tracettyPath)
        let server1 = try #require(Self.freePort()), server2 = try #require(Self.freePort()), agent = try #require(Self.freePort(udp: true))
        let session = try TmuxSession(command: "'\(binary)' demo --rate 2 --server-1-port \(server1) --server-2-port \(server2) "
                                      + "--agent-port \(agent); echo TRACETTY-EXIT=$?; sleep 30")
        defer { session.kill() }
        var screen = try session.waitFor("a trace of the demo") { $0.contains("server-1: server-1") && $0.contains("3 spans") }
        #expect(screen.contains("demo · curl localhost:\(server1)/alice"))
        // Our own request joins the list.
        #expect(Self.request(port: server1, "GET", "/zed")?.0 == 200)
        try session.send("Enter")
        screen = try session.waitFor("the waterfall") {
            $0.contains("server-1 server-1") && $0.contains("server-1 server-1_to_server-2") && $0.contains("server-2 server-2")
        }
        try session.send("q")
        screen = try session.waitFor("a clean exit") { $0.contains("TRACETTY-EXIT=0") }
        #expect(screen.contains("tracetty demo: stopped."))
        #expect(screen.contains("send your own: curl localhost:\(server1)/alice"))
    }
}
