import Foundation
import Testing

/// Text snapshots kept beside the tests in `__Snapshots__/NAME.txt`.
/// Re-record with `TRACETTY_RECORD_SNAPSHOTS=1 swift test`; a failing
/// comparison prints both renderings row by row.
func assertSnapshot(_ lines: [String], named name: String, sourceLocation: SourceLocation = #_sourceLocation, filePath: String = #filePath) {
    let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let file = directory.appendingPathComponent(name + ".txt")
    let actual = lines.joined(separator: "\n") + "\n"
    let record = ProcessInfo.processInfo.environment["TRACETTY_RECORD_SNAPSHOTS"] == "1"
    guard !record, let expected = try? String(contentsOf: file, encoding: .utf8) else {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            try actual.write(to: file, atomically: true, encoding: .utf8)
        } catch {
            Issue.record("could not write snapshot \(file.path): \(error)", sourceLocation: sourceLocation)
        }
        if !record {
            Issue.record("no baseline for \(name): recorded \(file.path); check it and run again", sourceLocation: sourceLocation)
        }
        return
    }
    if expected != actual {
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let got = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var report = "snapshot \(name) differs (re-record with TRACETTY_RECORD_SNAPSHOTS=1 if the change is intended)\n"
        for i in 0..<max(want.count, got.count) {
            let w = i < want.count ? String(want[i]) : "<none>"
            let g = i < got.count ? String(got[i]) : "<none>"
            if w != g {
                report += String(format: "row %2d expected: |%@|\n", i, w)
                report += String(format: "row %2d actual:   |%@|\n", i, g)
            }
        }
        Issue.record(Comment(rawValue: report), sourceLocation: sourceLocation)
    }
}
