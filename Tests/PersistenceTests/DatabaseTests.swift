import KilnCore
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing

/// The `Database` contract, on every engine the test command provides.
@Suite struct DatabaseTests {
    private struct Refused: Error {}

    private func createCounter(_ database: any Database) async throws {
        try await database.write { db in
            try await db.raw("CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)").run()
            try await db.raw("INSERT INTO counters (name, value) VALUES ('c', 0)").run()
        }
    }

    private func counter(_ db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT value FROM counters WHERE name = 'c'").first()?.decode(column: "value", as: Int.self) ?? -1
    }

    private func rowCount(_ database: any Database, _ table: String) async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? -1
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aWriteCommitsAndReturnsTheBodysResult(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            #expect(database.engine == engine)
            let inserted = try await database.write { db in
                try await db.insert(into: "kiln_secrets").columns("name", "secret").values(SQLBind("a"), SQLBind("x")).run()
                return "inserted"
            }
            #expect(inserted == "inserted")
            let secret = try await database.read { db in
                try await db.select().column("secret").from("kiln_secrets").where("name", .equal, "a").first()?
                    .decode(column: "secret", as: String.self)
            }
            #expect(secret == "x")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aThrowingWriteRollsBackEverythingItDid(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            await #expect(throws: Refused.self) {
                try await database.write(lockKey: 7) { db in
                    try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('a', 'x')").run()
                    try await db.raw("CREATE TABLE scratch (id INTEGER)").run()
                    throw Refused()
                }
            }
            #expect(try await rowCount(database, "kiln_secrets") == 0)
            // The table was rolled back too: creating it again succeeds.
            try await database.write { db in try await db.raw("CREATE TABLE scratch (id INTEGER)").run() }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aFailedStatementRollsBackTheWriteAndLeavesTheStoreUsable(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            await #expect(throws: (any Error).self) {
                try await database.write { db in
                    try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('a', 'x')").run()
                    try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('a', 'duplicate')").run()
                }
            }
            #expect(try await rowCount(database, "kiln_secrets") == 0)
            try await database.write { db in try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('a', 'x')").run() }
            #expect(try await rowCount(database, "kiln_secrets") == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func writesWithALockKeyDoNotLoseUpdates(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await createCounter(database)
            // Read, pause, write back: without serialisation, concurrent writers would overwrite each other.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await database.write(lockKey: 42) { db in
                            let value = try await counter(db)
                            try await Task.sleep(for: .milliseconds(2))
                            try await db.raw("UPDATE counters SET value = \(bind: value + 1) WHERE name = 'c'").run()
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await database.read { try await counter($0) } == 8)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func readsDoNotSeeAWriteUntilItCommits(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let (inserted, insertedContinuation) = AsyncStream<Void>.makeStream()
            let (checked, checkedContinuation) = AsyncStream<Void>.makeStream()
            let writer = Task {
                try await database.write { db in
                    try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('a', 'x')").run()
                    insertedContinuation.finish()
                    for await _ in checked {}
                }
            }
            for await _ in inserted {}
            let duringWrite = try await rowCount(database, "kiln_secrets")
            checkedContinuation.finish()
            try await writer.value
            #expect(duringWrite == 0)
            #expect(try await rowCount(database, "kiln_secrets") == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func moreConcurrentReadsThanConnectionsAllFinish(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        try await database.read { db in
                            try await db.raw("SELECT \(bind: index) AS n").first()?.decode(column: "n", as: Int.self) ?? -1
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.sorted() == Array(0..<24))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theSchemaEnforcesForeignKeysAndCascades(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            await #expect(throws: (any Error).self) {
                try await database.write { db in
                    try await db.raw(
                        """
                        INSERT INTO users (user_id, account_id, user_name, display_name, is_admin, created_at)
                        VALUES (1, 'missing', 'u', 'U', \(bind: false), 0)
                        """
                    ).run()
                }
            }
            try await database.write { db in
                try await db.raw("INSERT INTO accounts (account_id, account_name, created_at) VALUES ('acc', 'A', 0)").run()
                try await db.raw(
                    """
                    INSERT INTO users (user_id, account_id, user_name, display_name, is_admin, created_at)
                    VALUES (1, 'acc', 'u', 'U', \(bind: false), 0)
                    """
                ).run()
            }
            #expect(try await rowCount(database, "users") == 1)
            try await database.write { db in try await db.raw("DELETE FROM accounts WHERE account_id = 'acc'").run() }
            #expect(try await rowCount(database, "users") == 0)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func pathsCompareByteWise(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await database.write { db in
                try await db.raw("INSERT INTO accounts (account_id, account_name, created_at) VALUES ('acc', 'A', 0)").run()
                try await db.raw(
                    """
                    INSERT INTO workspaces (workspace_id, account_id, workspace_name, deployment_name, is_default,
                        workspace_status, created_at) VALUES (1, 'acc', 'w', 'd', \(bind: true), 'RUNNING', 0)
                    """
                ).run()
                for (id, path) in ["/b", "/a/x", "/B", "/a-b", "/é", "/a"].enumerated() {
                    try await db.raw(
                        """
                        INSERT INTO workspace_objects (object_id, workspace_id, path, parent_path, object_type, size,
                            created_at, modified_at) VALUES (\(bind: id), 1, \(bind: path), '/', 'FILE', 0, 0, 0)
                        """
                    ).run()
                }
            }
            let paths = try await database.read { db in
                try await db.raw("SELECT path FROM workspace_objects ORDER BY path").all().map { try $0.decode(column: "path", as: String.self) }
            }
            #expect(paths == ["/B", "/a", "/a-b", "/a/x", "/b", "/é"])
        }
    }
}
