#if canImport(Glibc)
import Testing
import TraceFormats

/// `ProcessMemory`'s malloc settings are accepted by the C library. What
/// they do to the resident size is measured by Benchmarks/soak.py
/// (BENCHMARKS.md), not here: in this process other suites allocate at the
/// same time, and a heap with free room serves big buffers from it whatever
/// the threshold says, so no in-process check would be deterministic.
struct ProcessMemoryTests {
    @Test func glibcTakesTheSettings() {
        #expect(ProcessMemory.fixMmapThreshold())
        #expect(ProcessMemory.limitArenas(to: 8))
    }
}
#endif
