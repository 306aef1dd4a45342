import Foundation

/// The repository's sibling `shared/` folder: spec examples and payloads
/// captured from real clients. CI has it; a user's fresh clone may not, and
/// the tests that need it are skipped then with a message.
public enum Shared {
    /// The repository's root (this file is Tests/TestSupport/Shared.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let directory: URL? = {
        let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: shared.appendingPathComponent("fixtures").path) ? shared : nil
    }()

    public static var available: Bool { directory != nil }


    public static func url(_ relative: String) -> URL {
        (directory ?? URL(fileURLWithPath: "/nonexistent")).appendingPathComponent(relative)
    }

    public static func path(_ relative: String) -> String { url(relative).path }

    /// A file's bytes: an absolute path, or one relative to `shared/`.
    public static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: path.hasPrefix("/") ? URL(fileURLWithPath: path) : url(path)))
    }

    /// Files directly under `fixtures/<folder>` ending in `suffix`, sorted, as absolute paths.
    public static func files(_ folder: String, suffix: String) -> [String] {
        let base = url("fixtures").appendingPathComponent(folder).path
        guard available, let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return [] }
        return names.filter { $0.hasSuffix(suffix) }.sorted().map { base + "/" + $0 }
    }

    /// Files anywhere under `fixtures/<folder>` ending in `suffix`, sorted, as absolute paths.
    public static func files(under folder: String, suffix: String) -> [String] {
        let base = url("fixtures").appendingPathComponent(folder)
        guard available, let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) }.sorted()
            .map { base.appendingPathComponent($0).path }
    }

    /// A captured body's `.meta.json`, as a dictionary.
    public static func metaDictionary(forBody path: String) throws -> [String: Any] {
        let metaPath = String(path.dropLast(".body".count)) + ".meta.json"
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metaPath)))
        return object as? [String: Any] ?? [:]
    }

    /// `Content-Type` and `Content-Encoding` from a body's `.meta.json`.
    public static func meta(forBody path: String) throws -> (contentType: String?, encoding: String?) {
        let dict = try metaDictionary(forBody: path)
        return (dict["content_type"] as? String, dict["content_encoding"] as? String)
    }
}

/// One scratch directory per test process, under the system's temporary
/// directory, removed when the process exits: the suites' files and dumps
/// (thousands a run) no longer pile up in /tmp.
public enum TestScratch {
    public static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tracetty-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestScratch.directory) }
        return url
    }()
}
