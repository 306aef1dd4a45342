// The Jaeger agent envelopes (Agent.emitBatch / emitZipkinBatch), protocol
// detected from the first byte as the UDP listeners do.
import TraceFormats

enum AgentFuzz: FuzzTarget {
    static let name = "agent"

    static func seeds() -> [[UInt8]] { thriftSeeds(.compact) + thriftSeeds(.binary) }

    static func check(_ input: [UInt8]) {
        checkAgent(input, nil)
    }
}
