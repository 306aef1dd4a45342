import Foundation
import Testing

/// Runs the built `tracetty` in a real terminal (tmux) and reads its screen,
/// as a person would.
struct TmuxSession {
    let name: String
    let width: Int
    let height: Int
    /// The tmux server's socket name (`-L`): the tests' shared one, or a test's own.
    let socket: String

    static let sharedSocket = "tracetty-tests"

    /// The package's build folder: the test bundle sits beside the executables.
    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    static var tracettyPath: String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0])
        // The test binary may sit inside an .xctest bundle's folders: walk up.
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("tracetty").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static var tmuxPath: String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/tmux") {
            return dir + "/tmux"
        }
        return nil
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs tmux on a private server socket (never the user's own tmux), with
    /// no configuration file.
    @discardableResult
    static func tmux(_ arguments: [String], readOutput: Bool = false, socket: String = sharedSocket) throws -> String {
        guard let tmux = tmuxPath else { throw TmuxError.missing("tmux") }
        let result = try ChildProcess.run(tmux, ["-L", socket, "-f", "/dev/null"] + arguments, capture: readOutput,
                                          timeout: .seconds(20))
        return readOutput ? result.stdout : ""
    }

    /// `socket`: a test that changes server options or reads the paste
    /// buffers (which every session of a server shares) gives its own.
    init(command: String, width: Int = 120, height: Int = 36, socket: String = sharedSocket) throws {
        name = "t\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        self.width = width
        self.height = height
        self.socket = socket
        try tmux(["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)",
                  "env", "TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "sh", "-c", command])
    }

    /// tmux on this session's server.
    @discardableResult
    func tmux(_ arguments: [String], readOutput: Bool = false) throws -> String {
        try Self.tmux(arguments, readOutput: readOutput, socket: socket)
    }

    func send(_ keys: String...) throws {
        try tmux(["send-keys", "-t", name] + keys)
    }

    func screen() throws -> String {
        try tmux(["capture-pane", "-p", "-t", name], readOutput: true)
    }

    /// A format of the pane (`#{pane_title}`, `#{alternate_on}`…), as tmux shows it.
    func display(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", name, format], readOutput: true)
            .trimmingCharacters(in: .newlines)
    }

    /// Polls the screen until `predicate` holds (bounded), returning the last capture.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(20), _ predicate: (String) -> Bool) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            last = try screen()
            if predicate(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("timed out waiting for \(what); screen was:\n\(last)")
        return last
    }

    func kill() {
        _ = try? tmux(["kill-session", "-t", name])
    }
}

enum TmuxError: Error {
    case missing(String)
}

extension TmuxSession {
    /// The process id of the pane's command (the command itself when it was started with `exec`).
    func panePID() throws -> Int32? {
        Int32(try display("#{pane_pid}").trimmingCharacters(in: .whitespaces))
    }

    /// A field of /proc/PID/status in KiB (`VmHWM`, `VmRSS`).
    static func statusKiB(_ field: String, pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }
}
