#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes to stdout and stderr with write(2), so that a reader that went away
/// ends tracetty as quietly as it ends `cat`.
///
/// `FileHandle.write` traps on EPIPE (a `try!` inside Foundation) when
/// SIGPIPE is ignored, which a parent can leave us with (SIG_IGN survives
/// exec): `tracetty print dump | head` then died with a backtrace. Here
/// EPIPE ends the process by SIGPIPE itself, as the default action would
/// have: no message, and the shell sees 141.
enum StandardStreams {
    static func writeOut(_ bytes: some Collection<UInt8>) {
        put(bytes, to: STDOUT_FILENO)
    }

    static func writeOut(_ text: String) {
        put(text.utf8, to: STDOUT_FILENO)
    }

    static func writeError(_ text: String) {
        put(text.utf8, to: STDERR_FILENO)
    }

    private static func put(_ bytes: some Collection<UInt8>, to fd: Int32) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { writeAll($0, to: fd) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { writeAll($0, to: fd) }
        }
    }

    private static func writeAll(_ buffer: UnsafeBufferPointer<UInt8>, to fd: Int32) {
        guard var next = buffer.baseAddress else { return }
        var left = buffer.count
        while left > 0 {
            let written = write(fd, next, left)
            if written > 0 {
                next += written
                left -= written
            } else if written < 0, errno == EINTR {
                continue
            } else if written < 0, errno == EPIPE {
                endByBrokenPipe()
            } else {
                return  // another error (a full disk): nothing more we can say on this stream
            }
        }
    }

    /// Dies of SIGPIPE as if it had never been ignored.
    static func endByBrokenPipe() -> Never {
        signal(SIGPIPE, SIG_DFL)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGPIPE)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        raise(SIGPIPE)
        _exit(128 + SIGPIPE)  // not reached unless the signal is somehow held
    }
}
