import Foundation
import Testing
import TraceModel
import TraceFormats
import TerminalUI
@testable import TraceExplorer

/// `e`: the prompt, its default name and format, the confirmation before an
/// existing file goes, and the runtime writing the file for real.
@Suite struct ExportBehaviourTests {
    @Test func thePromptOffersANameAndAFormat() throws {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        _ = state.update(.key(.char("e")))
        guard case .export(let prompt) = state.overlay else { Issue.record("no export prompt"); return }
        #expect(prompt.field.text == "tracetty-export.ndjson")
        #expect(prompt.traceIDs.count == 4)
        #expect(state.focus == .exportPrompt)
        let lines = ExplorerView.render(state).lines()
        #expect(lines.contains { $0.contains("export 4 traces as OTLP to: tracetty-export.ndjson") })
        _ = state.update(.key(.tab))
        guard case .export(let jaeger) = state.overlay else { return }
        #expect(jaeger.format == .jaeger)
        #expect(jaeger.field.text == "tracetty-export.json")
        let effects = state.update(.key(.enter))
        #expect(effects == [.export(ExportRequest(traceIDs: jaeger.traceIDs, path: "tracetty-export.json", format: .jaeger,
                                                  overwrite: false))])
        // The file is there: asked, then overwritten on `y`.
        _ = state.update(.computed(.exportTargetExists(ExportRequest(traceIDs: jaeger.traceIDs, path: "tracetty-export.json",
                                                                     format: .jaeger, overwrite: false))))
        #expect(ExplorerView.render(state).lines().contains { $0.contains("tracetty-export.json exists: overwrite? (y/n)") })
        #expect(state.update(.key(.char("y"))) == [.export(ExportRequest(traceIDs: jaeger.traceIDs, path: "tracetty-export.json",
                                                                          format: .jaeger, overwrite: true))])
        _ = state.update(.computed(.exported(ExportRequest(traceIDs: jaeger.traceIDs, path: "tracetty-export.json", format: .jaeger,
                                                           overwrite: true), traces: 4, spans: 9, bytes: 4_321)))
        #expect(state.overlay == nil)
        #expect(state.notice == "exported 4 traces (9 spans, 4.22 KiB) to tracetty-export.json")
    }

    @Test func theWaterfallExportsTheOpenTrace() {
        var state = ExplorerFixtures.state(width: 100, height: 30)
        ExplorerFixtures.openSeed(&state)
        _ = state.update(.key(.char("e")))
        guard case .export(let prompt) = state.overlay else { Issue.record("no export prompt"); return }
        #expect(prompt.traceIDs == [ExplorerFixtures.seedID])
        #expect(prompt.field.text == "trace-877731db.ndjson")
        _ = state.update(.key(.escape))
        #expect(state.overlay == nil)
        #expect(state.focus == .waterfall)
    }

    /// The runtime writes through the worker; the file reads back the same spans.
    @Test func theRuntimeWritesAFileThatReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tracetty-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("all.ndjson").path
        let store = ExplorerRuntimeTests.seedStore()
        let keys: [Key] = [.char("e"), .ctrl("u")] + path.map { Key.char($0) } + [.enter]
        let terminal = BufferTerminal(width: 100, height: 30, script: [.idle(1)] + keys.map { .event(.key($0)) } + [.idle(1), .idle(1)])
        terminal.whenScriptEnds = .quit(.controlC)
        var runtime = ExplorerRuntimeTests.runtime(terminal, store: store, feed: ScriptedFeed(), clock: ManualClock())
        #expect(runtime.run() == 0)
        #expect(runtime.model.notice?.hasPrefix("exported 4 traces (9 spans") == true)
        let back = try DumpDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))), source: path).spans
        let original = store.withStore { s in s.allTraceIDs.flatMap { s.traceSpans($0) ?? [] } }
        #expect(Set(back.map(\.spanID)) == Set(original.map(\.spanID)))
        #expect(back.count == original.count)
        for span in back {
            // OTLP gives every resource its service.name attribute; all else is field for field.
            guard var same = original.first(where: { $0.traceID == span.traceID && $0.spanID == span.spanID }) else {
                Issue.record("span \(span.spanID.hex) was not exported")
                continue
            }
            #expect(same.resource.serviceName == span.resource.serviceName)
            same.resource = span.resource
            #expect(same == span)
        }
    }
}
