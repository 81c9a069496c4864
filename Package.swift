// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "xgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "xgate", targets: ["xgate"]),
        .library(name: "XGateCore", targets: ["XGateCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // JSON values, parsing, canonical serialisation, JSON Pointer. No dependencies, no I/O.
        .target(name: "XGateJSON"),
        // JSON Schema draft 2020-12 validator over XGateJSON values. No I/O.
        .target(name: "XGateSchema", dependencies: ["XGateJSON"]),
        // The domain core: identifiers, catalogue, records and merge, calendar, batches, registry model. No I/O.
        .target(
            name: "XGateCore",
            dependencies: [
                "XGateJSON", "XGateSchema",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // JWS (RFC 7515 JSON serialisation) with Ed25519 (RFC 8037) over swift-crypto.
        .target(
            name: "XGateJOSE",
            dependencies: [
                "XGateJSON", "XGateCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The SQLite store (every node's embedded store) over GRDB.
        .target(
            name: "XGateSQLite",
            dependencies: ["XGateJSON", "XGateCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The sync engine: outbound batches per peer, inbound apply, retries, corrections, expiry, feeds.
        // Logic over the store and transport protocols; clock and randomness injected.
        .target(name: "XGateEngine", dependencies: ["XGateJSON", "XGateCore", "XGateJOSE"]),
        // Reads Contracts/ and Peers/ from disk; writes keys with safe permissions.
        .target(name: "XGateFileSystem", dependencies: ["XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE"]),
        // The command-line interface (offline commands for now).
        .target(
            name: "XGateCLI",
            dependencies: [
                "XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE", "XGateFileSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "xgate", dependencies: ["XGateCLI"]),
        .executableTarget(
            name: "xgate-bench",
            dependencies: ["XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE", "XGateFileSystem", "XGateTestSupport"]
        ),
        // Helpers shared by the test targets: repository paths, a seeded generator, realistic sample records.
        .target(name: "XGateTestSupport", dependencies: ["XGateJSON", "XGateCore", "XGateFileSystem"]),
        .testTarget(name: "XGateSQLiteTests", dependencies: ["XGateJSON", "XGateCore", "XGateSQLite", "XGateTestSupport"]),
        .testTarget(
            name: "XGateEngineTests",
            dependencies: ["XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine", "XGateSQLite", "XGateFileSystem", "XGateTestSupport"]
        ),
        // The engine benchmark (make bench-engine): apply throughput into SQLite against the sqlite3 CLI's ceiling.
        .executableTarget(
            name: "xgate-bench-engine",
            dependencies: ["XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine", "XGateSQLite", "XGateFileSystem", "XGateTestSupport"]
        ),
        .testTarget(name: "XGateJSONTests", dependencies: ["XGateJSON"]),
        .testTarget(name: "XGateSchemaTests", dependencies: ["XGateJSON", "XGateSchema"]),
        .testTarget(name: "XGateCoreTests", dependencies: ["XGateJSON", "XGateSchema", "XGateCore", "XGateTestSupport"]),
        .testTarget(name: "XGateJOSETests", dependencies: ["XGateJSON", "XGateCore", "XGateJOSE", "XGateFileSystem", "XGateTestSupport"]),
        .testTarget(
            name: "XGateCLITests",
            dependencies: ["XGateJSON", "XGateCore", "XGateJOSE", "XGateFileSystem", "XGateTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
