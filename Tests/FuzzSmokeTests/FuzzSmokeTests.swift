import Foundation
import Testing
import TestSupport
import TraceModel

/// The fuzz targets' short version (FUZZING.md, "The short version in swift
/// test"): every target of Fuzz/Targets, compiled here with no libFuzzer and
/// no sanitizer, runs its own `check` over its generated seeds, the fixture
/// files Fuzz/run.sh seeds it with, and then random mutations of those for
/// its share of a 30 s budget (FUZZ_SMOKE_SECONDS). The assertions are the
/// targets' own invariants: a broken one aborts the test process with
/// `FUZZ INVARIANT BROKEN`, the invariant, the seed and the saved input, as
/// libFuzzer relies on. The budget bounds the run; nothing asserts on speed.
///
/// Replay a failure: `FUZZ_SMOKE_SEED=<seed> swift test --filter FuzzSmokeTests`
/// (the mutations depend on the seed only, not on timing), or the saved input
/// with `Fuzz/out/bin/<target> <file>`.
@Suite(.serialized)  // one input at a time: the thrift and OTLP targets keep one reused decoder
struct FuzzSmokeTests {
    static var targets: [any FuzzTarget.Type] { [
        ThriftCompactFuzz.self, ThriftBinaryFuzz.self, AgentFuzz.self, OTLPProtobufFuzz.self, OTLPJSONFuzz.self,
        JaegerJSONFuzz.self, ZipkinJSONFuzz.self, DumpFuzz.self, GzipFuzz.self, QueryFuzz.self, TerminalInputFuzz.self,
    ] }

    /// The fixture folders each target is seeded with, as Fuzz/run.sh passes
    /// them to libFuzzer (a folder ending in `/*`: every folder inside it; files
    /// are read recursively, as libFuzzer reads corpus folders).
    static let fixtureFolders: [String: [String]] = [
        "thrift-compact": ["jaeger-udp/*"],
        "agent": ["jaeger-udp/*"],
        "thrift-binary": ["jaeger-http/*"],
        "otlp-protobuf": ["otlp-http/python-protobuf", "otlp-http/python-protobuf-gzip"],
        "otlp-json": ["otlp-http/python-json"],
        "zipkin-json": ["zipkin-http/*"],
    ]
    /// Targets run.sh also seeds with the Samples folder.
    static let seededWithSamples: Set<String> = ["otlp-json", "dump"]

    /// The whole budget for all targets, shared equally; each target runs at
    /// least `minimumMutations` mutated inputs whatever the time, so the count
    /// below never depends on the machine's speed.
    static let budgetSeconds = ProcessInfo.processInfo.environment["FUZZ_SMOKE_SECONDS"].flatMap(Double.init) ?? 30
    static let minimumMutations = 100

    /// The run's seed: FUZZ_SMOKE_SEED (decimal or 0x hex) to replay, else random.
    static let runSeed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["FUZZ_SMOKE_SEED"] {
            let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
            if let parsed { return parsed }
        }
        return UInt64.random(in: 1...UInt64.max)
    }()

    static func target(named name: String) -> any FuzzTarget.Type {
        guard let target = targets.first(where: { $0.name == name }) else { preconditionFailure("no target \(name)") }
        return target
    }

    @Test("every file in Fuzz/Targets is smoke-tested here")
    func everyTargetIsListed() throws {
        let folder = Shared.repositoryRoot.appendingPathComponent("Fuzz/Targets").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".swift") && !$0.hasSuffix("Common.swift") }
            .map { String($0.dropLast(".swift".count)) }
        #expect(Set(files) == Set(Self.targets.map { $0.name }))
        #expect(Self.targets.count == 11)
    }

    @Test("the samples the seeds are written from are found whatever the current directory")
    func samplesAreFound() {
        #expect(samplesPath.hasPrefix("/"), "\(samplesPath)")
        #expect(sampleSpans().count > 10, "\(samplesPath)")
    }

    @Test("every fixture folder run.sh seeds a target with exists and holds files",
          .enabled(if: Shared.available, "skipped: ../shared/fixtures not found"))
    func fixtureFoldersExist() {
        for (name, folders) in Self.fixtureFolders {
            for folder in folders {
                #expect(!Self.fixtureFiles(folder).isEmpty, "\(name): no files under fixtures/\(folder)")
            }
        }
    }

    @Test("a target's check over its seeds, fixtures and random mutations", arguments: targets.map { $0.name })
    func smoke(_ name: String) async throws {
        // The loop runs on a thread of its own: 30 s of CPU on one of the
        // concurrency pool's two threads (2 cores) starved async tests beside it.
        let (generated, run) = try await withCheckedThrowingContinuation { (done: CheckedContinuation<(Int, Int), any Error>) in
            Thread { done.resume(with: Result { try Self.exercise(name) }) }.start()
        }
        #expect(generated > 0, "\(name) generates no seeds")
        #expect(run > 100, "\(name) ran \(run) inputs")
    }

    /// Seeds, fixtures, then mutations for the target's share of the budget:
    /// (generated seeds, inputs run). A broken invariant aborts (`fuzzFail`).
    static func exercise(_ name: String) throws -> (Int, Int) {
        let target = Self.target(named: name)
        let seed = Self.runSeed ^ fnv1a(name)
        let share = Self.budgetSeconds / Double(Self.targets.count)
        let started = ContinuousClock.now
        print("fuzz smoke \(name): seed \(hex(Self.runSeed)) (FUZZ_SMOKE_SEED=\(hex(Self.runSeed)) replays), "
              + "\(String(format: "%.1f", share)) s of mutations, at least \(Self.minimumMutations)")

        let generated = target.seeds()
        var fixtures: [[UInt8]] = []
        for folder in Self.fixtureFolders[name] ?? [] {
            for path in Self.fixtureFiles(folder) { fixtures.append(try Shared.bytes(path)) }
        }
        if Self.seededWithSamples.contains(name) {
            fixtures.append(try Shared.bytes(Shared.repositoryRoot.appendingPathComponent("Samples/seed.ndjson").path))
        }
        let corpus = generated + fixtures

        var run = 0
        func check(_ input: [UInt8], _ how: @escaping () -> String) {
            let index = run
            fuzzFailureContext = { Self.failureReport(name, index: index, how: how(), input: input) }
            target.check(input)
            run += 1
        }
        for (i, input) in corpus.enumerated() {
            check(input) { i < generated.count ? "generated seed \(i)" : "fixture \(i - generated.count)" }
        }

        var mutator = Mutator(seed: seed, corpus: corpus)
        let deadline = started + .seconds(share)
        var mutations = 0
        while mutations < Self.minimumMutations || ContinuousClock.now < deadline {
            let (input, how) = mutator.next()
            check(input, how)
            mutations += 1
        }
        fuzzFailureContext = nil

        let fixtureNote = Shared.available || Self.fixtureFolders[name] == nil ? "" : " (../shared absent: no fixtures)"
        print("fuzz smoke \(name): \(run) inputs (\(generated.count) generated seeds, \(fixtures.count) fixture files\(fixtureNote), "
              + "\(mutations) mutations) in \(ContinuousClock.now - started), seed \(hex(Self.runSeed))")
        return (generated.count, run)
    }

    /// What fuzzFail prints before aborting: which input broke which target,
    /// and where its bytes are saved for Fuzz/out/bin/<target>.
    static func failureReport(_ name: String, index: Int, how: String, input: [UInt8]) -> String {
        let path = TestScratch.directory.appendingPathComponent("fuzz-smoke-\(name)-\(hex(runSeed))-\(index)").path
        let saved = FileManager.default.createFile(atPath: path, contents: Data(input)) ? "saved as \(path)" : "not saved (\(path))"
        return "fuzz smoke \(name): input #\(index) (\(how), \(input.count) bytes) of the run with FUZZ_SMOKE_SEED=\(hex(runSeed)), "
            + "\(saved); replay: Fuzz/out/bin/\(name) \(path)"
    }

    /// Regular files under fixtures/<folder> (or under each folder inside it
    /// for `folder/*`), sorted; none when ../shared is absent.
    static func fixtureFiles(_ folder: String) -> [String] {
        guard Shared.available else { return [] }
        let fixtures = Shared.url("fixtures")
        var roots = [fixtures.appendingPathComponent(folder)]
        if folder.hasSuffix("/*") {
            let parent = fixtures.appendingPathComponent(String(folder.dropLast(2)))
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
            roots = names.sorted().map { parent.appendingPathComponent($0) }
                .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
        }
        var files: [String] = []
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            for case let relative as String in walker {
                let path = root.appendingPathComponent(relative)
                if (try? path.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(path.path) }
            }
        }
        return files.sorted()
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// A stable hash of the target's name, so each target has its own stream of
/// mutations from the run's seed (the same under `--filter` as in a full run).
func fnv1a(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
}

/// SplitMix64: seedable and the same sequence everywhere (the standard
/// library's generator cannot be seeded).
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// libFuzzer's kinds of mutation without its coverage feedback: each input
/// is one to four stacked mutations of a corpus entry or of an earlier
/// mutant (some are kept, so mutations compound), at most 64 KiB as run.sh's
/// -max_len.
struct Mutator {
    enum Mutation: CaseIterable {
        case flipBit, setByte, insertBytes, deleteBytes, truncate, splice, randomBytes, repeatChunk
    }

    static let maxLength = 65_536
    /// Bytes that matter to the formats: zero, sign and varint edges, JSON and line syntax.
    static let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x2C, 0x3A, 0x5B, 0x5D, 0x7B, 0x7D, 0x5C]

    var random: SplitMix64
    var pool: [[UInt8]]
    let corpusCount: Int

    init(seed: UInt64, corpus: [[UInt8]]) {
        random = SplitMix64(state: seed)
        pool = corpus.isEmpty ? [[]] : corpus
        corpusCount = pool.count
    }

    /// The next input and how it was made (for the failure report).
    mutating func next() -> ([UInt8], () -> String) {
        let base = random.below(pool.count)
        var input = pool[base]
        var applied: [Mutation] = []
        for _ in 0...random.below(4) {
            let mutation = Mutation.allCases[random.below(Mutation.allCases.count)]
            apply(mutation, to: &input)
            applied.append(mutation)
        }
        if input.count > Self.maxLength { input.removeLast(input.count - Self.maxLength) }
        // Keep a few mutants to mutate further; past 512, replace an earlier mutant.
        if random.below(4) == 0 {
            if pool.count < corpusCount + 512 { pool.append(input) } else { pool[corpusCount + random.below(512)] = input }
        }
        let origin = base < corpusCount ? "corpus entry \(base)" : "mutant \(base - corpusCount)"
        return (input, { "\(applied.map { "\($0)" }.joined(separator: "+")) of \(origin)" })
    }

    mutating func apply(_ mutation: Mutation, to input: inout [UInt8]) {
        switch mutation {
        case .flipBit:
            guard !input.isEmpty else { input = [random.byte()]; return }
            input[random.below(input.count)] ^= 1 << UInt8(random.below(8))
        case .setByte:
            guard !input.isEmpty else { input = [random.byte()]; return }
            let value = random.below(2) == 0 ? Self.interesting[random.below(Self.interesting.count)] : random.byte()
            input[random.below(input.count)] = value
        case .insertBytes:
            let at = random.below(input.count + 1)
            let count = 1 + random.below(8)
            input.insert(contentsOf: (0..<count).map { _ in random.byte() }, at: at)
        case .deleteBytes:
            guard !input.isEmpty else { return }
            let start = random.below(input.count)
            let count = 1 + random.below(min(16, input.count - start))
            input.removeSubrange(start..<(start + count))
        case .truncate:
            guard !input.isEmpty else { return }
            input.removeLast(input.count - random.below(input.count))
        case .splice:
            let other = pool[random.below(pool.count)]
            let cut = random.below(input.count + 1)
            let from = random.below(other.count + 1)
            input = Array(input[..<cut]) + other[from...]
        case .randomBytes:
            input = (0..<random.below(257)).map { _ in random.byte() }
        case .repeatChunk:
            guard !input.isEmpty else { return }
            let start = random.below(input.count)
            let chunk = input[start..<(start + 1 + random.below(min(64, input.count - start)))]
            let times = 2 + random.below(31)
            let repeated = (0..<times).flatMap { _ in chunk }
            input.insert(contentsOf: repeated, at: random.below(input.count + 1))
        }
    }
}
