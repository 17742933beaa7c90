import Persistence
import PersistenceTestSupport
import SQLKit
import Testing

/// The epochs caches stamp their values with move with every change to a topic's tables, in either direction
/// of the count, and with nothing else.
@Suite struct ChangeCountTests {
    @Test(arguments: TestDatabases.engines)
    func theEpochMovesWithEveryChangeOfTheCountAndOnlyThen(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let grants = database.changeCounts.objectGrants
            let first = try #require(await grants.current(database))
            #expect(await grants.current(database) == first)
            // A write elsewhere (no object or grant) leaves it.
            try await database.write { db in
                try await db.raw("INSERT INTO accounts (account_id, account_name, created_at) VALUES ('a', 'a', 0)").run()
            }
            #expect(await grants.current(database) == first)
            // A count that went down, as in a restored database, moves it too.
            try await database.write { db in
                try await db.raw("UPDATE cache_versions SET version = version - 5 WHERE topic = 'object_grants'").run()
            }
            let restored = try #require(await grants.current(database))
            #expect(restored != first)
            // Deleting an object counts by itself, not only through the grants it takes with it (where
            // foreign keys are off, as in Python's sqlite3, there is no cascade to count).
            try await database.write { db in
                try await db.raw(
                    """
                    INSERT INTO workspaces (workspace_id, account_id, workspace_name, deployment_name, is_default, workspace_status, created_at)
                    VALUES (1, 'a', 'w', 'w', false, 'RUNNING', 0)
                    """
                ).run()
                try await db.raw(
                    """
                    INSERT INTO workspace_objects (object_id, workspace_id, path, parent_path, object_type, size, created_at, modified_at)
                    VALUES (7, 1, '/x', '/', 'DIRECTORY', 0, 0, 0)
                    """
                ).run()
            }
            #expect(await grants.current(database) == restored)
            try await database.write { db in try await db.raw("DELETE FROM workspace_objects WHERE object_id = 7").run() }
            #expect(await grants.current(database) != restored)
        }
    }

    /// A write of this process reads the counts in its transaction, and they stand from its commit: the next
    /// use reads nothing. Here the other process takes the counts' table away just after the write, so a read
    /// would fail (and give no epoch); each topic's epoch comes from the write instead, the topic never read
    /// before (identity) too. Before any count is known, a write reads none, and the next use reads the table.
    ///
    /// The write's counts stand for `recheckInterval` only: an attempt that took longer (a loaded machine)
    /// proves nothing and is made again, with the table back; five such attempts fail the test on SQLite, and
    /// conclude nothing on PostgreSQL, which in the whole suite was seen to take longer every time.
    @Test(arguments: TestDatabases.engines)
    func aWriteReadsTheCountsAndTheyStandFromItsCommit(engine: DatabaseEngine) async throws {
        try await TestDatabases.withTwo(engine) { first, second in
            let (grants, identity) = (first.changeCounts.objectGrants, first.changeCounts.identity)
            let bump = "UPDATE cache_versions SET version = version + 1 WHERE topic = 'object_grants'"
            try await first.write { db in try await db.raw(SQLQueryString(bump)).run() }
            let start = try #require(await grants.current(first))
            try await second.read { db in try await db.raw("SELECT 1").run() } // its connection made beforehand
            for _ in 0..<5 {
                let began = ContinuousClock.now
                try await first.write { db in try await db.raw(SQLQueryString(bump)).run() }
                try await second.write { db in try await db.raw("ALTER TABLE cache_versions RENAME TO cache_versions_gone").run() }
                let (afterWrite, identityEpoch) = (await grants.current(first), await identity.current(first))
                let inTime = began.duration(to: .now) < ChangeCount.recheckInterval
                try await second.write { db in try await db.raw("ALTER TABLE cache_versions_gone RENAME TO cache_versions").run() }
                guard inTime else { continue }
                #expect(try #require(afterWrite) != start)
                #expect(identityEpoch != nil)
                return
            }
            // PostgreSQL under the whole suite can take longer each time (its ALTER TABLE waits its turn).
            if engine == .sqlite { Issue.record("Five attempts each took longer than ChangeCount.recheckInterval.") }
        }
    }
}
