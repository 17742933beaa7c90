import Foundation
import KilnCore
import NotebookFormats
import Persistence
import PersistenceTestSupport
import SQLKit
import Synchronization
import Testing

@testable import WorkspaceFiles

/// A get-status on SQLite is answered from memory (`WorkspaceService.objectCache`, `ChangeTopic.objects`), and
/// stays right: a change made through the same database is seen by the next call, one made by another process
/// on the same file within `ChangeCount.recheckInterval`. On PostgreSQL every get-status reads its row.
@Suite struct ObjectCacheTests {
    static func path(_ text: String) -> WorkspacePath { try! WorkspacePath(text) }

    static func source(_ path: String, _ text: String, overwrite: Bool = false) -> ImportRequest {
        ImportRequest(path: Self.path(path), format: .source, language: .python, content: Array(text.utf8), overwrite: overwrite)
    }

    static func status(_ service: WorkspaceService, _ workspace: Int64, _ path: String) async throws -> ObjectInfo? {
        do {
            return try await service.getStatus(workspaceID: workspace, path: Self.path(path))
        } catch let error as KilnError where error.code == .resourceDoesNotExist {
            return nil
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theCacheIsKeptOnSQLiteOnly(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            #expect((WorkspaceService(database: database).objectCache != nil) == (engine == .sqlite))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func changesThroughTheSameDatabaseAreSeenByTheNextCall(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await TestDatabases.addWorkspace(7, to: database)
            let service = WorkspaceService(database: database)
            // Another service of the same database, as each request's controller and the home folders share one.
            let writer = WorkspaceService(database: database)
            #expect(try await Self.status(service, 7, "/nb") == nil)
            try await writer.importObject(workspaceID: 7, Self.source("/nb", "print(1)"))
            let first = try #require(try await Self.status(service, 7, "/nb"))
            // The write moved the epoch itself (not a recheck 250 ms on, which would hide a count not told).
            let epoch = database.changeCounts.objects.standingEpoch()
            let kept = try await service.export(workspaceID: 7, path: Self.path("/nb"), format: .source)
            #expect(String(decoding: kept.content, as: UTF8.self).contains("print(1)"))
            try await writer.importObject(workspaceID: 7, Self.source("/nb", "print('a longer notebook')", overwrite: true))
            if engine == .sqlite, let moved = database.changeCounts.objects.standingEpoch() {
                #expect(moved > epoch ?? -1)
            }
            let second = try #require(try await Self.status(service, 7, "/nb"))
            #expect(second.size > first.size)
            // The export kept before is checked by the version read with the object: the new content, not the old.
            let exported = try await service.export(workspaceID: 7, path: Self.path("/nb"), format: .source)
            #expect(String(decoding: exported.content, as: UTF8.self).contains("a longer notebook"))
            try await writer.delete(workspaceID: 7, path: Self.path("/nb"), recursive: false)
            #expect(try await Self.status(service, 7, "/nb") == nil)
        }
    }

    /// A get-status of an object already read costs no read of the database on SQLite while nothing changes (at
    /// most the count's, should 250 ms pass between two calls), and one each on PostgreSQL.
    @Test(arguments: TestDatabases.engines)
    func aGetStatusReadsNothingWhileNoObjectChangesOnSQLite(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await TestDatabases.addWorkspace(7, to: database)
            let counted = ReadCountingDatabase(database)
            let service = WorkspaceService(database: counted)
            try await service.importObject(workspaceID: 7, Self.source("/nb", "print(1)"))
            _ = try #require(try await Self.status(service, 7, "/nb"))
            let before = counted.reads
            for _ in 0..<20 { _ = try #require(try await Self.status(service, 7, "/nb")) }
            let reads = counted.reads - before
            #expect(engine == .sqlite ? reads <= 2 : reads == 20, "\(reads) reads")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func changesMadeByAnotherProcessAreSeenWithinTheRecheckInterval(engine: DatabaseEngine) async throws {
        try await TestDatabases.withTwo(engine) { database, elsewhere in
            try await TestDatabases.addWorkspace(7, to: database)
            let (service, other) = (WorkspaceService(database: database), WorkspaceService(database: elsewhere))
            try await service.importObject(workspaceID: 7, Self.source("/nb", "print(1)"))
            let first = try #require(try await Self.status(service, 7, "/nb"))
            try await other.importObject(workspaceID: 7, Self.source("/nb", "print('a longer notebook')", overwrite: true))
            try await Task.sleep(for: ChangeCount.recheckInterval + .milliseconds(50))
            #expect(try await Self.status(service, 7, "/nb")?.size ?? 0 > first.size)
            try await other.delete(workspaceID: 7, path: Self.path("/nb"), recursive: false)
            try await Task.sleep(for: ChangeCount.recheckInterval + .milliseconds(50))
            #expect(try await Self.status(service, 7, "/nb") == nil)
        }
    }

    /// On SQLite the objects' count moves with every change of a workspace object, by any writer: a row
    /// inserted, changed or deleted, as SQL outside Kiln's stores would make it.
    @Test func theCountMovesWithEveryChangeOfAnObject() async throws {
        try await TestDatabases.with(.sqlite) { database in
            try await TestDatabases.addWorkspace(7, to: database)
            let service = WorkspaceService(database: database)
            try await service.importObject(workspaceID: 7, Self.source("/nb", "print(1)"))
            let count = { (statement: String) async throws -> (Int64, Int64) in
                try await database.write { db in
                    let read = "SELECT version FROM cache_versions WHERE topic = 'objects'"
                    let before = try #require(try await db.raw(SQLQueryString(read)).first()?.int64("version"))
                    try await db.raw(SQLQueryString(statement)).run()
                    return (before, try #require(try await db.raw(SQLQueryString(read)).first()?.int64("version")))
                }
            }
            for statement in [
                """
                INSERT INTO workspace_objects (object_id, workspace_id, path, parent_path, object_type, size, created_at, modified_at) \
                SELECT object_id + 1, workspace_id, '/copy', '/', object_type, size, created_at, modified_at \
                FROM workspace_objects WHERE path = '/nb'
                """,
                "UPDATE workspace_objects SET modified_at = modified_at + 1 WHERE path = '/nb'",
                "DELETE FROM workspace_objects WHERE path = '/nb'",
            ] {
                let (before, after) = try await count(statement)
                #expect(after > before, "\(statement)")
            }
            let (before, after) = try await count("UPDATE workspace_objects SET modified_at = 0 WHERE path = '/none'")
            #expect(after == before)
        }
    }
}

/// A database that counts the reads made through it (`read`), and passes everything on.
final class ReadCountingDatabase: Database {
    let database: any Database
    private let count = Mutex(0)

    init(_ database: any Database) {
        self.database = database
    }

    var reads: Int { count.withLock { $0 } }
    var engine: DatabaseEngine { database.engine }
    var changeCounts: ChangeCounts { database.changeCounts }

    // Persistence is built with NonisolatedNonsendingByDefault; its requirements are spelt so here.
    nonisolated(nonsending) func read<T: Sendable>(
        yieldingFirst: Bool, _ body: nonisolated(nonsending) @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        count.withLock { $0 += 1 }
        return try await database.read(yieldingFirst: yieldingFirst, body)
    }

    nonisolated(nonsending) func write<T: Sendable>(
        lockKey: Int64?, _ body: nonisolated(nonsending) @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await database.write(lockKey: lockKey, body)
    }

    nonisolated(nonsending) func shutdown() async {
        await database.shutdown()
    }
}
