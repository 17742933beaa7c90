import Foundation
import KilnCore
import Logging
public import Persistence
import SQLKit
import Synchronization

/// The engines the repository suite runs on: SQLite always, PostgreSQL when the test command provides
/// a server (`KILN_TEST_POSTGRES_URL`, set by `scripts/test`).
public enum TestDatabases {
    public static let postgresURL = ProcessInfo.processInfo.environment["KILN_TEST_POSTGRES_URL"]

    public static var engines: [DatabaseEngine] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// Runs `body` on a new, migrated, empty database of `engine`, and removes it afterwards.
    public static func with<T: Sendable>(
        _ engine: DatabaseEngine, _ body: @Sendable (any Database) async throws -> T
    ) async throws -> T {
        try await with(engine, secondStore: false) { first, _ in try await body(first) }
    }

    /// Runs `body` on two stores of one new, migrated, empty database of `engine`, as two Kiln processes
    /// sharing it would have (each with its own connections and `ChangeCounts`).
    public static func withTwo<T: Sendable>(
        _ engine: DatabaseEngine, _ body: @Sendable (any Database, any Database) async throws -> T
    ) async throws -> T {
        try await with(engine, secondStore: true) { first, second in try await body(first, second!) }
    }

    /// A new database of `engine`, and a second store of it when `secondStore` is true.
    private static func with<T: Sendable>(
        _ engine: DatabaseEngine, secondStore: Bool, _ body: @Sendable (any Database, (any Database)?) async throws -> T
    ) async throws -> T {
        let logger = Logger(label: "kiln-test")
        switch engine {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("kiln.sqlite").path
            let store = try await SQLiteStore.open(path: path, logger: logger)
            return try await store.closing {
                try await Migrator(database: store, logger: logger).migrate()
                guard secondStore else { return try await body(store, nil) }
                let second = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
                return try await second.closing { try await body(store, second) }
            }
        case .postgres:
            let base = try requirePostgresURL()
            let name = "kiln_test_\(IdentifierGenerator.hex(12))"
            try await withStore(url: base, logger: logger) { admin in
                try await admin.read { db in try await db.raw("CREATE DATABASE \(ident: name)").run() }
            }
            let databaseURL = String(base[..<base.lastIndex(of: "/")!]) + "/\(name)"
            let outcome: Result<T, any Error>
            do {
                outcome = .success(
                    try await withStore(url: databaseURL, logger: logger) { store in
                        try await Migrator(database: store, logger: logger).migrate()
                        guard secondStore else { return try await body(store, nil) }
                        return try await withStore(url: databaseURL, logger: logger) { second in try await body(store, second) }
                    })
            } catch {
                outcome = .failure(error)
            }
            try? await withStore(url: base, logger: logger) { admin in
                try await admin.read { db in try await db.raw("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)").run() }
            }
            return try outcome.get()
        }
    }

    private static func withStore<T: Sendable>(
        url: String, logger: Logger, _ body: @Sendable (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresStore(url: url, logger: logger)
        return try await store.withRunningClient { try await body(store) }
    }

    private static func requirePostgresURL() throws -> String {
        guard let postgresURL else { throw ConfigurationMissing() }
        return postgresURL
    }

    struct ConfigurationMissing: Error {}
}

extension TestDatabases {
    /// Adds the account `accountID` (unless it is there) and a RUNNING workspace `workspaceID` of it, as bare
    /// rows: what tests of a domain that only needs a workspace to belong to (Lakebase, the workspace tree) start from.
    public static func addWorkspace(_ workspaceID: Int64, accountID: String = "a", to database: any Database) async throws {
        try await database.write { db in
            try await db.raw(
                "INSERT INTO accounts (account_id, account_name, created_at) VALUES (\(bind: accountID), \(bind: accountID), 0) ON CONFLICT DO NOTHING"
            )
            .run()
            try await db.raw(
                """
                INSERT INTO workspaces (workspace_id, account_id, workspace_name, deployment_name, is_default, workspace_status, created_at)
                VALUES (\(bind: workspaceID), \(bind: accountID), \(bind: "w\(workspaceID)"), \(bind: "w\(workspaceID)"), false, 'RUNNING', 0)
                """
            ).run()
        }
    }
}
