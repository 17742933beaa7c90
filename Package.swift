// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The modules a Workspace API request runs through: the nonisolated `async` functions they declare run on
/// their caller's executor (SE-0461), where a request answered on an event loop already is, instead of each
/// hopping to the global executor at entry, which asks the task for its executor preference under the
/// task's status lock: a get-status costs 3 % fewer instructions (bench/instructions). Hummingbird's
/// middleware `handle` stays `@concurrent`, as its protocol (compiled without this) requires of the `next`
/// it is given. The rule follows the module that declares a function, whoever calls it: an actor that
/// awaits one of these modules' functions (a `Database` read, say) is held while it runs until it suspends.
/// None does today but through `KeyedLocks` (Compute's `ComputeSupervisor`). The Lakebase modules keep
/// Swift 6's default: their actors call work of their own that blocks (processes, files).
let requestPathSettings: [SwiftSetting] = swiftSettings + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]

/// How the release build of the kiln executable is linked on Linux, for its memory (README, "Choices where
/// Databricks leaves room"): with lld, its functions laid out in the order of scripts/startup.order (those an
/// idle Kiln and its requests run, then those only a start runs; written by scripts/make-startup-order; names
/// not in the binary are ignored), relative relocations packed (`-z pack-relative-relocs`: 28 KB read at
/// start instead of 3.3 MB), and no dynamic symbol table of its own functions (Swift's static runtime asks for
/// `-export-dynamic`; Kiln looks none of them up).
let kilnLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/scripts/startup.order",
            "-Xlinker", "--no-warn-symbol-ordering",
            "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--no-export-dynamic",
        ],
        .when(platforms: [.linux], configuration: .release)
    )
]

let package = Package(
    name: "kiln",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kiln", targets: ["kiln"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/JohnSundell/Ink.git", from: "0.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
    ],
    targets: [
        .target(
            name: "KilnCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "NotebookFormats",
            dependencies: [
                "KilnCore",
                .product(name: "Ink", package: "Ink"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "KilnCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "Accounts",
            dependencies: [
                "KilnCore",
                "Persistence",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "Compute",
            dependencies: [
                "KilnCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PGWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PGProxy",
            dependencies: [
                "PGWire",
                "KilnCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Lakebase",
            dependencies: [
                "KilnCore",
                "Persistence",
                "Compute",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WorkspaceFiles",
            dependencies: [
                "KilnCore", "Persistence", "NotebookFormats", .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "KilnHTTP",
            dependencies: [
                "KilnCore",
                "Accounts",
                "WorkspaceFiles",
                "NotebookFormats",
                "Lakebase",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: requestPathSettings
        ),
        // glibc's malloc.h and sys/auxv.h, for MemoryReturnService and ExecutablePages.
        .target(name: "CGlibc"),
        .target(
            name: "KilnApp",
            dependencies: [
                "CGlibc",
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                "KilnCore",
                "Persistence",
                "Accounts",
                "WorkspaceFiles",
                "KilnHTTP",
                "Lakebase",
                "Compute",
                "PGProxy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnApp",
                "Accounts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: kilnLinkerSettings
        ),
        .executableTarget(
            name: "kiln-format-bench",
            dependencies: ["NotebookFormats"],
            path: "bench/FormatBench",
            swiftSettings: swiftSettings
        ),
        // Test support: a fake `ComputeDriver` (no processes, no files) and the metadata engines to run on.
        .target(name: "ComputeTestSupport", dependencies: ["Compute"], path: "Tests/ComputeTestSupport", swiftSettings: swiftSettings),
        .target(
            name: "PersistenceTestSupport",
            dependencies: [
                "Persistence", "KilnCore", .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Tests/PersistenceTestSupport",
            swiftSettings: swiftSettings
        ),
        // One test target per module; none of them needs PostgreSQL installed.
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AccountsTests",
            dependencies: ["Accounts", "KilnCore", "Persistence", "PersistenceTestSupport", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ComputeTests", dependencies: ["Compute", "ComputeTestSupport", "KilnCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PGWireTests",
            dependencies: [
                "PGWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PGProxyTests",
            dependencies: [
                "PGProxy", "PGWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LakebaseTests",
            dependencies: [
                "Lakebase", "Compute", "ComputeTestSupport", "KilnCore", "Persistence", "PersistenceTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "NotebookFormatsTests", dependencies: ["NotebookFormats", "KilnCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PersistenceTests",
            dependencies: [
                "Persistence", "PersistenceTestSupport", "KilnCore", .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkspaceFilesTests",
            dependencies: [
                "WorkspaceFiles", "NotebookFormats", "Accounts", "Persistence", "PersistenceTestSupport", "KilnCore",
                .product(name: "SQLKit", package: "sql-kit"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KilnHTTPTests",
            dependencies: [
                "KilnHTTP", "KilnCore", "Accounts", "WorkspaceFiles", "Lakebase", "Compute", "Persistence", "ComputeTestSupport",
                "PersistenceTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KilnAppTests",
            dependencies: [
                "KilnApp", "KilnHTTP", "KilnCore", "Persistence", "Lakebase", "Compute", "PGProxy", "ComputeTestSupport",
                "PersistenceTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "kilnTests",
            dependencies: ["kiln", "KilnApp", "Accounts", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // Live tests: real postgres processes and real sockets.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Compute", "PGProxy", "PGWire", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
