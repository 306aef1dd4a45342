import Foundation

/// What the analysis and latency benchmarks share: wall-clock runs of a
/// body, printed as a `label | median ms | min ms | max ms` row.
enum BenchTiming {
    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
    }

    /// Runs `body` `runs` times and prints its row.
    static func measure(_ label: String, runs: Int, _ body: () -> Void) {
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = clock.now
            body()
            times.append(milliseconds(clock.now - start))
        }
        report(label, times)
    }

    /// Prints the row for times already taken (milliseconds).
    static func report(_ label: String, _ values: [Double]) {
        let times = values.sorted()
        guard let first = times.first, let last = times.last else { return }
        let f = { (value: Double) in String(format: "%.2f", value) }
        print("\(label) | \(f(times[times.count / 2])) | \(f(first)) | \(f(last))")
    }
}
