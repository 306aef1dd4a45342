#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import GRPCCore
import NIOCore
import Synchronization

/// One OTLP/gRPC connection kept for a whole replay, for a caller that is
/// not async: `ReplaySender.send` is synchronous. A detached task owns the
/// `OTLPGRPCSender` (one HTTP/2 connection, which grpc-swift reconnects by
/// itself, with backoff, after a failure) and takes the requests one by one
/// from a stream; `export` hands one over and waits on a semaphore.
///
/// `export` blocks its thread: call it from the main thread or a thread of
/// its own, never from a Swift concurrency pool thread (the connection's
/// tasks run on that pool; with 2 cores it has 2 threads, both could be
/// waiting).
final class BlockingGRPCExporter: Sendable {
    /// One request and the slot its answer comes back in.
    private final class Pending: Sendable {
        let body: [UInt8]
        let authorization: String?
        let timeout: Duration
        private let answer = Mutex<ReplaySendError??>(nil)
        private let answered = DispatchSemaphore(value: 0)

        init(body: [UInt8], authorization: String?, timeout: Duration) {
            self.body = body
            self.authorization = authorization
            self.timeout = timeout
        }

        /// nil: accepted.
        func finish(_ error: ReplaySendError?) {
            answer.withLock { $0 = .some(error) }
            answered.signal()
        }

        /// The answer, or nil when none came within `seconds`.
        func wait(seconds: Int) -> ReplaySendError?? {
            guard answered.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
            return answer.withLock { $0 }
        }
    }

    /// What the connection's task tells the owner (a separate object: the
    /// task must not keep the exporter alive, its deinit ends the task).
    private final class Outcome: Sendable {
        /// Why the connection ended, once it has (then every request fails with it).
        let ended = Mutex<ReplaySendError?>(nil)
        let finished = DispatchSemaphore(value: 0)
    }

    let address: String
    private let requests: AsyncStream<Pending>.Continuation
    private let outcome = Outcome()
    private let connection: Task<Void, Never>

    /// Starts connecting at once; `address` names the target in errors.
    init(host: String, port: Int, address: String) {
        self.address = address
        // Each caller waits for its answer before handing over the next: one
        // in flight, one more if a caller gave up waiting. A third is refused.
        let (stream, requests) = AsyncStream.makeStream(of: Pending.self, bufferingPolicy: .bufferingOldest(2))
        self.requests = requests
        connection = Task.detached { [outcome] in
            var reason = ReplaySendError.sendFailed(address: address, reason: "the connection was closed")
            do {
                try await OTLPGRPCSender.withConnection(host: host, port: port) { sender in
                    for await pending in stream {
                        do {
                            _ = try await sender.export(pending.body, authorization: pending.authorization,
                                                        timeout: pending.timeout)
                            pending.finish(nil)
                        } catch {
                            pending.finish(Self.sendError(error, address: address))
                        }
                    }
                }
            } catch {
                reason = Self.sendError(error, address: address)
            }
            outcome.ended.withLock { $0 = reason }
            requests.finish()
            // Requests that came in while it ended are answered, not left waiting.
            for await pending in stream { pending.finish(reason) }
            outcome.finished.signal()
        }
    }

    /// Ends the connection when the last owner lets go, without waiting.
    deinit { requests.finish() }

    /// True once the connection has ended: the owner makes a new one.
    var hasEnded: Bool { outcome.ended.withLock { $0 != nil } }

    /// One Export call with `body` (an encoded `ExportTraceServiceRequest`);
    /// nil when the receiver answered OK. Blocks at most `timeoutSeconds`
    /// (the call's deadline) and a few seconds more.
    func export(_ body: [UInt8], authorization: String?, timeoutSeconds: Int) -> ReplaySendError? {
        if let reason = outcome.ended.withLock({ $0 }) { return reason }
        let pending = Pending(body: body, authorization: authorization, timeout: .seconds(timeoutSeconds))
        switch requests.yield(pending) {
        case .enqueued: break
        case .dropped:
            return .sendFailed(address: address, reason: "earlier requests are still unanswered")
        case .terminated:
            return outcome.ended.withLock { $0 } ?? .sendFailed(address: address, reason: "the connection was closed")
        @unknown default:
            return .sendFailed(address: address, reason: "the request could not be queued")
        }
        // The call's deadline answers first; the margin covers a task not yet scheduled on a busy machine.
        let margin = 5
        guard let answer = pending.wait(seconds: timeoutSeconds + margin) else {
            return .receiveFailed(address: address, reason: "no reply within \(timeoutSeconds + margin) s")
        }
        return answer
    }

    /// Closes the connection and waits until it is closed. A graceful close
    /// that takes longer than `graceSeconds` (a connection stuck before its
    /// HTTP/2 preface) is cut short.
    func close(graceSeconds: Int = 1) {
        requests.finish()
        if outcome.finished.wait(timeout: .now() + .seconds(graceSeconds)) == .timedOut {
            connection.cancel()
            _ = outcome.finished.wait(timeout: .now() + .seconds(graceSeconds))
        }
    }

    /// The errors of a connection that could not be made (a later reset is a failed send).
    private static let connectErrnos: Set<Int32> = [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EADDRNOTAVAIL]

    /// A failed call as the other schemes say it: a refused or failed
    /// connection with the system's reason, else the gRPC status and message.
    static func sendError(_ error: any Error, address: String) -> ReplaySendError {
        guard let rpc = error as? RPCError else {
            return .sendFailed(address: address, reason: "\(error)")
        }
        // grpc-swift wraps the socket's error in one or two UNAVAILABLE errors.
        var cause: (any Error)? = rpc.cause
        while let current = cause {
            if let io = current as? IOError {
                let reason = String(cString: strerror(io.errnoCode))
                return connectErrnos.contains(io.errnoCode)
                    ? .cannotConnect(address: address, reason: reason) : .sendFailed(address: address, reason: reason)
            }
            cause = (current as? RPCError)?.cause
        }
        let code = rpc.code.rawValue
        return .grpcStatus(address: address, code: code, name: statusNames.indices.contains(code) ? statusNames[code] : "\(rpc.code)",
                           message: rpc.message)
    }

    /// The names gRPC's documents and other clients use, by code.
    private static let statusNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]
}
