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
    ],
    targets: [
        // Model, loading, expressions, templates, compiling: no network, no SQLite, no C.
        .target(name: "AIVCore", dependencies: [
            .product(name: "Yams", package: "Yams"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The built-in step kinds and the registry that lists them.
        .target(name: "AIVSteps", dependencies: ["AIVCore"]),
        // The thin command-line interface.
        .executableTarget(name: "aiv", dependencies: [
            "AIVCore", "AIVSteps",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Benchmarks that print what they measure: swift run -c release aiv-bench
        .executableTarget(name: "aiv-bench", dependencies: ["AIVCore", "AIVSteps"]),
        .testTarget(name: "AIVCoreTests", dependencies: ["AIVCore", "AIVSteps"]),
        .testTarget(name: "aivTests", dependencies: ["aiv"]),
    ]
)
