// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "aiv",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "aiv", targets: ["aiv"]),
        .library(name: "AIVCore", targets: ["AIVCore"]),
        .library(name: "AIVSteps", targets: ["AIVSteps"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Columns text takes on a terminal or in a caption (East Asian width), and where a line may break.
        .target(name: "AIVText"),
        // Model, loading, expressions, compiling and the runtime: no network, no SQLite.
        .target(name: "AIVCore", dependencies: [
            "AIVText",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The built-in step kinds and the registry that lists them.
        .target(name: "AIVSteps", dependencies: [
            "AIVCore", "AIVMedia", "AIVOBS",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // FFmpeg's headers (libavformat, libavcodec, libavutil, libswscale, libavfilter), with a shim for macros.
        // Not linked: CFFmpegLoader loads the libraries when a media step first needs them.
        .systemLibrary(name: "CFFmpeg", providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libavfilter-dev"])]),
        .target(name: "CFFmpegLoader", linkerSettings: [.linkedLibrary("dl")]),
        // Media in-process: probing, stream-copy cuts, audio and subtitle extraction.
        .target(name: "AIVMedia", dependencies: ["AIVText", "CFFmpeg", "CFFmpegLoader"]),
        // OBS Studio over obs-websocket v5 (WebSocket client: swift-websocket on SwiftNIO).
        .target(name: "AIVOBS", dependencies: [
            "AIVCore",
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The network for service steps: AsyncHTTPClient (see HTTPClientTransport for why not URLSession).
        .target(name: "AIVNetwork", dependencies: [
            "AIVCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // SQLite (GRDB): the step cache, run history.
        .target(name: "AIVStore", dependencies: ["AIVCore", .product(name: "GRDB", package: "GRDB.swift")]),
        // The thin command-line interface.
        // Allocator settings for the command-line process (glibc's mallopt, which Swift cannot import).
        .target(name: "CAllocator"),
        .executableTarget(name: "aiv", dependencies: [
            "AIVCore", "AIVText", "AIVSteps", "AIVStore", "AIVNetwork", "CAllocator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Benchmarks that print what they measure: swift run -c release --static-swift-stdlib aiv-bench
        .executableTarget(name: "aiv-bench", dependencies: ["AIVCore", "AIVSteps", "AIVStore", "AIVOBS", "CAllocator"]),
        // Helpers shared by the test targets: temporary folders, media samples, and local stand-ins for Gemini, Notion and OBS.
        .target(name: "AIVTestSupport", dependencies: [
            "AIVCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Tests/Support"),
        .testTarget(name: "AIVCoreTests", dependencies: ["AIVCore", "AIVText", "AIVSteps", "AIVTestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "AIVRuntimeTests", dependencies: [
            "AIVCore", "AIVSteps", "AIVStore", "AIVNetwork", "AIVTestSupport",
            .product(name: "Clocks", package: "swift-clocks"),
        ]),
        .testTarget(name: "AIVStepsTests", dependencies: ["AIVCore", "AIVText", "AIVSteps", "AIVOBS", "AIVNetwork", "AIVTestSupport"]),
        .testTarget(name: "aivTests", dependencies: ["aiv", "AIVStore", "AIVCore", "AIVOBS", "AIVTestSupport"]),
    ]
)
