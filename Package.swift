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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "TraceModel"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TraceFormats", dependencies: ["TraceModel", "CZlib"]),
        .target(
            name: "TraceIngest",
            dependencies: [
                "TraceModel", "TraceFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "TerminalUI"),
        .target(name: "TraceExplorer", dependencies: ["TraceModel", "TerminalUI"]),
        .systemLibrary(name: "CNCursesW", providers: [.apt(["libncursesw5-dev"])]),
        .target(name: "NCursesTerminal", dependencies: ["TerminalUI", "CNCursesW"]),
        .executableTarget(
            name: "tracetty",
            dependencies: [
                "TraceModel", "TraceFormats", "TraceIngest", "TerminalUI", "TraceExplorer", "NCursesTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TraceModelTests", dependencies: ["TraceModel"]),
        .testTarget(name: "TraceFormatsTests", dependencies: ["TraceFormats", "TraceModel"]),
        .testTarget(name: "TraceIngestTests", dependencies: ["TraceIngest", "TraceFormats", "TraceModel"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),
        .testTarget(
            name: "TraceExplorerTests",
            dependencies: ["TraceExplorer", "TraceModel", "TraceFormats", "TerminalUI"],
            exclude: ["__Snapshots__"]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["TraceFormats", "TraceModel"]),
    ],
    swiftLanguageModes: [.v6]
)
