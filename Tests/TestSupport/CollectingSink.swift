import Synchronization
import TraceIngest
import TraceModel

/// A sink that keeps every span a listener accepts, for assertions.
public final class CollectingSink: SpanSink {
    private let batches = Mutex<[(ListenerKind, [Span])]>([])

    public init() {}

    public func accept(_ spans: [Span], from listener: ListenerKind) {
        batches.withLock { $0.append((listener, spans)) }
    }

    public func spans(from listener: ListenerKind? = nil) -> [Span] {
        batches.withLock { b in b.filter { listener == nil || $0.0 == listener }.flatMap(\.1) }
    }

    public var all: [Span] { spans() }
    public var count: Int { batches.withLock { $0.reduce(0) { $0 + $1.1.count } } }
}
