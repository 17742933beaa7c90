public import Logging
import KilnCore
import SQLKit

/// Applies the migrations a database has not seen yet, each in its own transaction, and records them
/// in `kiln_migrations`.
public struct Migrator: Sendable {
    private let database: any Database
    private let migrations: [Migration]
    private let logger: Logger

    public init(database: any Database, migrations: [Migration] = Schema.migrations, logger: Logger) {
        self.database = database
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Brings the schema up to date. Safe to run concurrently from several Kiln processes on PostgreSQL.
    public func migrate() async throws {
        try await database.write { db in
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS kiln_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """
            ).run()
        }
        for migration in migrations {
            let engine = database.engine
            let applied = try await database.write(lockKey: Self.migrationLockKey) { db -> Bool in
                let current =
                    try await db.raw("SELECT MAX(version) AS version FROM kiln_migrations")
                    .first()?.decode(column: "version", as: Int?.self) ?? 0
                if current > (migrations.last?.version ?? 0) {
                    throw DatabaseError.schemaTooNew(found: current, known: migrations.last?.version ?? 0)
                }
                guard current < migration.version else { return false }
                for statement in migration.statements(engine) {
                    try await db.raw("\(unsafeRaw: statement)").run()
                }
                try await db.insert(into: "kiln_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(SystemClock().nowMillis()))
                    .run()
                return true
            }
            if applied {
                logger.info("Applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    /// Serialises migrations across processes sharing one PostgreSQL database.
    static let migrationLockKey: Int64 = 0x4B494C4E // "KILN"
}
