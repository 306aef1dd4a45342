import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program and collects its output, with a deadline. Written on
/// posix_spawn and waitpid of that one pid: Foundation's `Process` has been
/// seen to hang in `waitUntilExit` here while other tests spawn processes in
/// parallel, and a test must never hang CI.
enum ChildProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    enum Failure: Error, CustomStringConvertible {
        case spawn(String, Int32)
        var description: String {
            switch self {
            case .spawn(let path, let code): return "cannot start \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// posix_spawn with an empty signal mask (the child starts with no signal
    /// blocked, whatever the calling test thread blocks) and the given file actions.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String]?,
                      actions: inout posix_spawn_file_actions_t) -> (pid_t, Int32) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        // The child keeps only 0, 1 and 2. swift-nio opens its sockets
        // without close-on-exec, so a tracetty or tmux started by one test
        // would otherwise hold other tests' listening ports for its lifetime.
        if let closeFrom = closeFromAction { _ = closeFrom(&actions, 3) }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, env)
        return (pid, code)
    }

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, which the
    /// Glibc module does not import: looked up at run time.
    private static let closeFromAction: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// - Parameter capture: false sends output to /dev/null: needed for a
    ///   program that leaves a daemon behind (tmux), which would hold a pipe open.
    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                    stdin: [UInt8] = [], capture: Bool = true, timeout: Duration = .seconds(60)) throws -> Result {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        // Close-on-exec: a program another test starts at the same moment
        // (a tmux server lives on) must not inherit these and keep them open.
        // (pipe2 is not imported; the window between pipe and fcntl is tiny.)
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw Failure.spawn(path, errno) }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        let (pid, code) = spawn(path, arguments, environment: environment, actions: &actions)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard code == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw Failure.spawn(path, code)
        }
        if !stdin.isEmpty {
            _ = stdin.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
        }
        close(inPipe[1])

        var out: [UInt8] = [], err: [UInt8] = []
        var open = [outPipe[0], errPipe[0]]
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty {
            if ContinuousClock.now > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 100) >= 0 || errno == EINTR else { break }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &buffer, buffer.count)
                if n > 0 {
                    if entry.fd == outPipe[0] { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == entry.fd }
                    close(entry.fd)
                }
            }
        }
        for fd in open { close(fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, WTERMSIG by hand (macros are not imported).
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exit, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self), timedOut: timedOut)
    }
}

/// A program left running: read its output line by line, signal it, wait.
final class RunningChild {
    let pid: pid_t
    private let stdoutFD: Int32
    private var pending: [UInt8] = []
    private(set) var allOutput = ""

    init(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        var outPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw ChildProcess.Failure.spawn(path, errno) }
        for fd in outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        let (pid, code) = ChildProcess.spawn(path, arguments, environment: environment, actions: &actions)
        close(outPipe[1])
        guard code == 0 else {
            close(outPipe[0])
            throw ChildProcess.Failure.spawn(path, code)
        }
        self.pid = pid
        self.stdoutFD = outPipe[0]
    }

    /// The next line of output (stdout and stderr together), or nil at the deadline / end.
    func readLine(timeout: Duration = .seconds(20)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var fd = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min(1000, max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            guard poll(&fd, 1, ms) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(stdoutFD, &buffer, buffer.count)
            guard n > 0 else { return nil }
            pending += buffer[0..<n]
            allOutput += String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }

    /// Reads what is left and waits for the exit status (killed at the deadline).
    func wait(timeout: Duration = .seconds(20)) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while readLine(timeout: max(.milliseconds(10), deadline - ContinuousClock.now)) != nil {}
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        close(stdoutFD)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// Sends bytes the way clients do, over real loopback sockets.
enum Loopback {
    static func sendUDP(_ datagram: [UInt8], port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let n = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return n == datagram.count
    }

    /// One HTTP/1.1 POST; returns the status code (nil if no answer).
    static func post(port: Int, path: String, contentType: String, body: [UInt8], extraHeaders: [String] = []) -> Int? {
        request(port: port, "POST", path, headers: ["Content-Type: \(contentType)"] + extraHeaders, body: body)?.status
    }

    /// A TCP connection to 127.0.0.1:`port` whose reads give up after the
    /// timeout; nil when it cannot be made. The caller closes it.
    static func connect(port: Int, receiveTimeoutSeconds: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 { close(fd); return nil }
        return fd
    }

    /// One HTTP/1.1 request with `Connection: close`: status and body (nil if no answer).
    static func request(port: Int, _ method: String, _ path: String, headers: [String] = [],
                        body: [UInt8] = []) -> (status: Int, body: String)? {
        guard let fd = connect(port: port, receiveTimeoutSeconds: 10) else { return nil }
        defer { close(fd) }
        let head = (["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Content-Length: \(body.count)",
                     "Connection: close"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
        let request = Array(head.utf8) + body
        var offset = 0
        while offset < request.count {
            let n = request[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            offset += n
        }
        // The server closes after answering (Connection: close); bounded read.
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 1 << 20 {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let statusLine = text.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
