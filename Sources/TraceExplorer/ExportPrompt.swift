import TraceModel
import TraceFormats
import TerminalUI

/// What to write and where: the traces (the filtered list, or the open
/// trace), the file, its format, and whether an existing file may go.
public struct ExportRequest: Sendable, Hashable {
    public var traceIDs: [TraceID]
    public var path: String
    public var format: ExportFormat
    public var overwrite: Bool

    public init(traceIDs: [TraceID], path: String, format: ExportFormat, overwrite: Bool) {
        self.traceIDs = traceIDs
        self.path = path
        self.format = format
        self.overwrite = overwrite
    }
}

/// `e`: asks for a file name (with a default) and a format, then for a
/// confirmation when the file exists. Writing is the runtime's, off the UI's path.
public struct ExportPrompt: ExplorerComponent, Sendable {
    public enum Action: Sendable, Equatable {
        case edit(TextField.Edit), accept, cancel, switchFormat, confirm, decline
    }

    public var field: TextField
    public private(set) var format: ExportFormat
    public let traceIDs: [TraceID]
    /// What is exported, for the prompt: `12 traces` or `trace 8777…`.
    public let what: String
    /// The file exists: the prompt asks before overwriting it.
    public private(set) var confirming = false
    /// The name as first offered: switching the format changes its extension while untouched.
    private var offered: String

    init(traceIDs: [TraceID], what: String, defaultName: String, format: ExportFormat = .otlp) {
        self.traceIDs = traceIDs
        self.what = what
        self.format = format
        offered = defaultName + Self.fileExtension(format)
        field = TextField(offered)
    }

    static func fileExtension(_ format: ExportFormat) -> String {
        format == .otlp ? ".ndjson" : ".json"
    }

    public func bindings(_ context: ComponentContext) -> [KeyBinding<Action>] {
        if confirming {
            return [
                KeyBinding([.char("y")], "overwrite the file", hint: "overwrite", .confirm),
                KeyBinding([.char("n"), .escape], "keep the file; edit the name", hint: "keep it", .decline),
            ]
        }
        return [
            KeyBinding([.enter], "write the file", hint: "export", .accept),
            KeyBinding([.tab], "format: OTLP JSON lines / Jaeger UI JSON", hint: "format", .switchFormat),
            KeyBinding([.escape], "cancel the export", hint: "cancel", .cancel),
        ] + TextField.editBindings { .edit($0) }
    }

    enum Outcome: Equatable { case none, close, write(ExportRequest) }

    mutating func perform(_ action: Action, key: Key) -> Outcome {
        switch action {
        case .edit(let edit): field.apply(edit, key: key)
        case .switchFormat:
            let untouched = field.text == offered
            format = format == .otlp ? .jaeger : .otlp
            if untouched {
                let base = offered.hasSuffix(".ndjson") ? String(offered.dropLast(7)) : String(offered.dropLast(5))
                offered = base + Self.fileExtension(format)
                field.set(offered)
            }
        case .accept:
            let path = field.text.trimmingSpaces
            // `-` is standard output to the writer: here that is the screen.
            guard !path.isEmpty, path != "-" else { return .none }
            return .write(ExportRequest(traceIDs: traceIDs, path: path, format: format, overwrite: false))
        case .cancel: return .close
        case .confirm:
            confirming = false
            return .write(ExportRequest(traceIDs: traceIDs, path: field.text.trimmingSpaces, format: format, overwrite: true))
        case .decline: confirming = false
        }
        return .none
    }

    /// The runtime found the file there: ask.
    mutating func askToOverwrite() { confirming = true }

    /// The prompt line's text before the field.
    var prompt: String {
        confirming ? "\(field.text) exists: overwrite? (y/n) " : "export \(what) as \(format == .otlp ? "OTLP" : "Jaeger") to: "
    }
}
