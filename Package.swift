// swift-tools-version:6.1
import PackageDescription

// Data flows one way: bytes -> spans -> store -> snapshot -> cells -> terminal.
// Core targets (TraceModel, TraceFormats, TerminalUI, TraceExplorer) stay free of
// NIO, Hummingbird and curses so their tests build in seconds.
let package = Package(
    name: "tracetty",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tracetty", targets: ["tracetty"]),
        .library(name: "TraceModel", targets: ["TraceModel"]),
        .library(name: "TraceFormats", targets: ["TraceFormats"]),
        .library(name: "JaegerTracing", targets: ["JaegerTracing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // OTLP/gRPC receiver only (TraceIngest): no codegen, no swift-protobuf.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.42.0"),
    ],
    targets: [
        // Latency percentiles come from HdrHistogram (small: swift-numerics only).
        .target(name: "TraceModel", dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TraceFormats", dependencies: ["TraceModel", "CZlib"]),
        .target(
            name: "TraceIngest",
            dependencies: [
                "TraceModel", "TraceFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .target(name: "TerminalUI"),
        .target(name: "TraceExplorer", dependencies: ["TraceModel", "TraceFormats", "TerminalUI"]),
        .systemLibrary(name: "CNCursesW", providers: [.apt(["libncursesw5-dev"])]),
        .target(name: "NCursesTerminal", dependencies: ["TerminalUI", "CNCursesW"]),
        // A Jaeger UDP tracer for swift-distributed-tracing: no NIO, no Hummingbird.
        .target(
            name: "JaegerTracing",
            dependencies: [
                "TraceModel", "TraceFormats",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The seed's two services; the only targets that pull Hummingbird and async-http-client.
        .target(
            name: "DemoServers",
            dependencies: [
                "JaegerTracing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "tracetty",
            dependencies: [
                "TraceModel", "TraceFormats", "TraceIngest", "TerminalUI", "TraceExplorer", "NCursesTerminal",
                "JaegerTracing", "DemoServers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What several test targets share: the ../shared fixture locator and a collecting sink.
        .target(name: "TestSupport", dependencies: ["TraceModel", "TraceIngest"], path: "Tests/TestSupport"),
        .testTarget(name: "TraceModelTests", dependencies: ["TraceModel"]),
        // TerminalUI: its sanitizer is what the JSON writer's escapes are checked against.
        .testTarget(name: "TraceFormatsTests", dependencies: ["TraceFormats", "TraceModel", "TestSupport", "TerminalUI"]),
        .testTarget(
            name: "TraceIngestTests",
            dependencies: [
                "TraceIngest", "TraceFormats", "TraceModel", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),
        .testTarget(
            name: "TraceExplorerTests",
            dependencies: ["TraceExplorer", "TraceModel", "TraceFormats", "TerminalUI"],
            exclude: ["__Snapshots__"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["TraceFormats", "TraceModel", "TraceIngest", "TestSupport"]),
        .testTarget(name: "JaegerTracingTests", dependencies: ["JaegerTracing", "TraceFormats", "TraceModel", "TestSupport"]),
        // The fuzz targets' short version (FUZZING.md): all of Fuzz/Targets compiled together with
        // Fuzz/Support, symlinked into Tests/FuzzSmokeTests (a target path of "." holds the scratch
        // directories: SwiftPM's next build failed with "unknown build description"), each target's
        // check run over its seeds, the fixtures and random mutations. `swift build` never sees it.
        .testTarget(name: "FuzzSmokeTests", dependencies: ["TraceFormats", "TraceModel", "TerminalUI", "TestSupport"]),
        .testTarget(
            name: "DemoServersTests",
            dependencies: [
                "DemoServers", "JaegerTracing", "TraceIngest", "TraceFormats", "TraceModel", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
