import Foundation
import KilnCore
import Logging
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing

@Suite struct MigratorTests {
    private static let logger = Logger(label: "kiln-test")
    private static var latest: Int { Schema.migrations.map(\.version).max() ?? 0 }

    private static func migrate(_ database: any Database, _ migrations: [Migration]) async throws {
        try await Migrator(database: database, migrations: migrations, logger: logger).migrate()
    }

    private static func applied(_ database: any Database) async throws -> [(version: Int, name: String, appliedAt: Int64)] {
        try await database.read { db in
            try await db.raw("SELECT version, name, applied_at FROM kiln_migrations ORDER BY version").all().map { row in
                (
                    try row.decode(column: "version", as: Int.self), try row.decode(column: "name", as: String.self),
                    try row.decode(column: "applied_at", as: Int64.self)
                )
            }
        }
    }

    private static func tableExists(_ database: any Database, _ table: String) async -> Bool {
        (try? await database.read { db in try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table)").run() }) != nil
    }

    /// Migrations after the schema's: each creates the table `extra_<version>`, after running `also`.
    private static func extra(_ version: Int, also: [String] = []) -> Migration {
        Migration(version: version, name: "extra \(version)") { _ in also + ["CREATE TABLE extra_\(version) (id INTEGER)"] }
    }

    /// Runs `body` with an SQLite store on a new file, before any migration; the file is removed afterwards.
    private static func withNewSQLiteStore(_ body: @Sendable (SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-migrator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteStore.open(path: directory.appendingPathComponent("kiln.sqlite").path, logger: logger)
        try await store.closing { try await body(store) }
    }

    @Test(arguments: TestDatabases.engines)
    func everySchemaVersionIsRecordedWithItsNameAndTime(engine: DatabaseEngine) async throws {
        let before = SystemClock().nowMillis()
        try await TestDatabases.with(engine) { database in
            let rows = try await Self.applied(database)
            #expect(rows.map(\.version) == Schema.migrations.map(\.version))
            #expect(rows.map(\.version) == Array(1...Self.latest), "versions start at 1 and increase by one")
            #expect(rows.map(\.name) == Schema.migrations.map(\.name))
            let after = SystemClock().nowMillis()
            #expect(rows.allSatisfy { before - 1 <= $0.appliedAt && $0.appliedAt <= after + 1 })
        }
    }

    @Test(arguments: TestDatabases.engines)
    func migratingAgainChangesNothing(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let first = try await Self.applied(database)
            try await Self.migrate(database, Schema.migrations)
            let second = try await Self.applied(database)
            #expect(second.map(\.version) == first.map(\.version))
            #expect(second.map(\.appliedAt) == first.map(\.appliedAt))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func newMigrationsRunInVersionOrderWhateverTheListOrder(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let next = Self.latest + 1
            // The later migration needs the earlier one's table.
            let later = Migration(version: next + 1, name: "later") { _ in ["INSERT INTO extra_\(next) (id) VALUES (1)"] }
            try await Self.migrate(database, [later] + Schema.migrations + [Self.extra(next)])
            #expect(try await Self.applied(database).map(\.version).suffix(2) == [next, next + 1])
            let count = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM \(ident: "extra_\(next)")").first()?.decode(column: "n", as: Int.self)
            }
            #expect(count == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func statementsAreWrittenForTheDatabasesEngine(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let seen = Locked<[DatabaseEngine]>([])
            let migration = Migration(version: Self.latest + 1, name: "dialect") { engine in
                seen.update { $0.append(engine) }
                return ["CREATE TABLE blobs (data \(engine.blobType))"]
            }
            try await Self.migrate(database, Schema.migrations + [migration])
            #expect(seen.value == [engine])
            try await database.write { db in
                try await db.insert(into: "blobs").columns("data").values(SQLBind(Data([0, 1, 255]))).run()
            }
            let data = try await database.read { db in
                try await db.raw("SELECT data FROM blobs").first()?.decode(column: "data", as: Data.self)
            }
            #expect(data == Data([0, 1, 255]))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aFailingMigrationLeavesTheStoreAtThePreviousVersion(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let next = Self.latest + 1
            let broken = Self.extra(next + 1, also: ["CREATE TABLE half_done (id INTEGER)", "SELECT * FROM no_such_table"])
            await #expect(throws: (any Error).self) {
                try await Self.migrate(database, Schema.migrations + [Self.extra(next), broken, Self.extra(next + 2)])
            }
            #expect(try await Self.applied(database).map(\.version).last == next)
            #expect(await Self.tableExists(database, "extra_\(next)"))
            #expect(!(await Self.tableExists(database, "half_done")), "the failed migration's statements are rolled back")
            #expect(!(await Self.tableExists(database, "extra_\(next + 2)")), "nothing after the failure runs")

            // Once fixed, the rest is applied.
            try await Self.migrate(database, Schema.migrations + [Self.extra(next), Self.extra(next + 1), Self.extra(next + 2)])
            #expect(try await Self.applied(database).map(\.version).suffix(3) == [next, next + 1, next + 2])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aSchemaNewerThanKilnIsRefused(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await Self.migrate(database, Schema.migrations + [Self.extra(Self.latest + 1)])
            let error = await #expect(throws: DatabaseError.self) {
                try await Self.migrate(database, Schema.migrations)
            }
            guard case .schemaTooNew(let found, let known) = error else {
                Issue.record("expected schemaTooNew, got \(String(describing: error))")
                return
            }
            #expect(found == Self.latest + 1 && known == Self.latest)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func concurrentMigratorsApplyEachMigrationOnce(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let migrations = Schema.migrations + [Self.extra(Self.latest + 1), Self.extra(Self.latest + 2)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await Self.migrate(database, migrations) } }
                try await group.waitForAll()
            }
            #expect(try await Self.applied(database).map(\.version) == Array(1...Self.latest + 2))
        }
    }

    @Test func aFreshDatabaseGetsEveryTable() async throws {
        try await Self.withNewSQLiteStore { store in
            #expect(!(await Self.tableExists(store, "kiln_migrations")))
            try await Self.migrate(store, Schema.migrations)
            let tables = try await store.read { db in
                try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()
                    .map { try $0.decode(column: "name", as: String.self) }
            }
            let expected: Set = [
                "account_resources", "accounts", "kiln_migrations", "kiln_secrets", "lakebase_operations",
                "lakebase_resources", "service_principals", "tokens", "users", "workspace_objects", "workspaces",
            ]
            #expect(expected.subtracting(tables).isEmpty, "missing: \(expected.subtracting(tables).sorted())")
        }
    }

    /// Migration 9 moves `workspace_objects.content` after `content_version` on SQLite: an object made before
    /// keeps its content, version, permissions and the trigger that raises its version.
    @Test func workspaceObjectContentBecomesTheLastColumnAndKeepsEverything() async throws {
        try await Self.withNewSQLiteStore { store in
            try await Self.migrate(store, Schema.migrations.filter { $0.version < 9 })
            try await TestDatabases.addWorkspace(7, to: store)
            let content = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            try await store.write(lockKey: nil) { db in
                try await db.raw(
                    """
                    INSERT INTO workspace_objects (object_id, workspace_id, path, parent_path, object_type, size, created_at, \
                    modified_at, content, content_version) VALUES (11, 7, '/nb', '/', 'NOTEBOOK', 70000, 1, 2, \(bind: content), 5)
                    """
                ).run()
                try await db.raw("INSERT INTO workspace_object_acls VALUES (7, 11, 3, 'CAN_EDIT')").run()
            }
            func columns() async throws -> [String] {
                try await store.read { db in
                    try await db.raw("SELECT name FROM pragma_table_info('workspace_objects') ORDER BY cid").all()
                        .map { try $0.decode(column: "name", as: String.self) }
                }
            }
            #expect(try await columns().suffix(2) == ["content", "content_version"])

            try await Self.migrate(store, Schema.migrations)
            #expect(try await columns().suffix(2) == ["content_version", "content"])
            let row = try #require(
                try await store.read { db in
                    try await db.raw("SELECT content, content_version, path FROM workspace_objects WHERE object_id = 11").first()
                })
            #expect(try row.decode(column: "content", as: Data.self) == content)
            #expect(try row.decode(column: "content_version", as: Int64.self) == 5)
            #expect(try row.decode(column: "path", as: String.self) == "/nb")
            let grants = try await store.read { db in
                try await db.raw("SELECT level FROM workspace_object_acls WHERE object_id = 11").all()
                    .map { try $0.decode(column: "level", as: String.self) }
            }
            #expect(grants == ["CAN_EDIT"])
            // A writer that changes the content and leaves the version still moves it (migration 8's trigger).
            try await store.write(lockKey: nil) { db in
                try await db.raw("UPDATE workspace_objects SET content = X'00' WHERE object_id = 11").run()
            }
            let version = try await store.read { db in
                try await db.raw("SELECT content_version FROM workspace_objects WHERE object_id = 11").first()?
                    .decode(column: "content_version", as: Int64.self)
            }
            #expect(version == 6)
        }
    }
}
