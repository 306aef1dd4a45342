import Foundation
import Testing

/// Runs the built `tracetty` in a real terminal (tmux) and reads its screen,
/// as a person would.
struct TmuxSession {
    let name: String
    let width: Int
    let height: Int

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

    /// Runs tmux on a private server socket (never the user's own tmux).
    @discardableResult
    static func tmux(_ arguments: [String], readOutput: Bool = false) throws -> String {
        guard let tmux = tmuxPath else { throw TmuxError.missing("tmux") }
        let result = try ChildProcess.run(tmux, ["-L", "tracetty-tests"] + arguments, capture: readOutput,
                                          timeout: .seconds(20))
        return readOutput ? result.stdout : ""
    }

    init(command: String, width: Int = 120, height: Int = 36) throws {
        name = "t\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        self.width = width
        self.height = height
        try Self.tmux(["new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)",
                       "env", "TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "sh", "-c", command])
    }

    func send(_ keys: String...) throws {
        try Self.tmux(["send-keys", "-t", name] + keys)
    }

    func screen() throws -> String {
        try Self.tmux(["capture-pane", "-p", "-t", name], readOutput: true)
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
        _ = try? Self.tmux(["kill-session", "-t", name])
    }
}

enum TmuxError: Error {
    case missing(String)
}

extension TmuxSession {
    /// The process id of the pane's command (the command itself when it was started with `exec`).
    func panePID() throws -> Int32? {
        Int32(try Self.tmux(["display-message", "-p", "-t", name, "#{pane_pid}"], readOutput: true)
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A field of /proc/PID/status in KiB (`VmHWM`, `VmRSS`).
    static func statusKiB(_ field: String, pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }
}
