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
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
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
        // The PostgreSQL store (a shared store for several gateway instances) over PostgresNIO's connection pool.
        .target(
            name: "XGatePostgres",
            dependencies: [
                "XGateJSON", "XGateCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The sync engine: outbound batches per peer, inbound apply, retries, corrections, expiry, feeds.
        // Logic over the store and transport protocols; clock and randomness injected.
        .target(name: "XGateEngine", dependencies: ["XGateJSON", "XGateCore", "XGateJOSE"]),
        // The HTTP API over the engine and the store: mutual TLS peers, operator tokens, limits, problem details.
        .target(
            name: "XGateServer",
            dependencies: [
                "XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Outgoing HTTPS with client certificates: pushes, feed pulls, acknowledgements, and the operator API client.
        .target(
            name: "XGateClient",
            dependencies: [
                "XGateJSON", "XGateCore", "XGateEngine",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The daemon: configuration file, services (push, pull, retry, expiry) in one service group, composition root.
        .target(
            name: "XGateDaemon",
            dependencies: [
                "XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine", "XGateSQLite", "XGatePostgres", "XGateFileSystem", "XGateServer",
                "XGateClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Reads Contracts/ and Peers/ from disk; writes keys with safe permissions.
        .target(name: "XGateFileSystem", dependencies: ["XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE"]),
        // The command-line interface: offline commands, `serve`, and the operator commands against a running daemon.
        .target(
            name: "XGateCLI",
            dependencies: [
                "XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE", "XGateFileSystem", "XGateDaemon", "XGateClient", "XGateSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "xgate", dependencies: ["XGateCLI"]),
        .executableTarget(
            name: "xgate-bench",
            dependencies: ["XGateJSON", "XGateSchema", "XGateCore", "XGateJOSE", "XGateFileSystem", "XGateTestSupport"]
        ),
        // Helpers shared by the test targets: repository paths, a seeded generator, realistic sample records.
        .target(name: "XGateTestSupport", dependencies: ["XGateJSON", "XGateCore", "XGateFileSystem"]),
        .testTarget(
            name: "XGateSQLiteTests",
            dependencies: ["XGateJSON", "XGateCore", "XGateSQLite", "XGateTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Runs the store conformance suite against a PostgreSQL cluster named by XGATE_TEST_POSTGRES.
        .testTarget(
            name: "XGatePostgresTests",
            dependencies: [
                "XGatePostgres", "XGateCore", "XGateTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "XGateEngineTests",
            dependencies: [
                "XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine", "XGateSQLite", "XGateFileSystem", "XGateTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The engine benchmark (make bench-engine): apply throughput into SQLite against the sqlite3 CLI's ceiling.
        .executableTarget(
            name: "xgate-bench-engine",
            dependencies: [
                "XGateJSON", "XGateCore", "XGateJOSE", "XGateEngine", "XGateSQLite", "XGateFileSystem", "XGateTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "XGateDaemonTests", dependencies: ["XGateDaemon", "XGateEngine", "XGateFileSystem"]),
        .testTarget(
            name: "XGateServerTests",
            dependencies: [
                "XGateServer", "XGateCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
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

// Nonisolated async functions run on their caller's executor (SE-0461). The store port relies on it: a transaction body
// and every store call it makes stay on the executor the store runs them on (SQLite: its writer connection's queue),
// instead of hopping to the global executor between calls.
for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
