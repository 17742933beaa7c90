import Accounts
import Foundation
import NIOCore
import NotebookFormats
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing

@testable import WorkspaceFiles

/// Notebook exports kept in memory: never older than the notebook, and bounded.
@Suite struct ExportCacheTests {
    static func source(_ text: String) throws -> ImportRequest {
        ImportRequest(
            path: try WorkspacePath("/nb"), format: .source, language: .python,
            content: Array("# Databricks notebook source\n\(text)".utf8), overwrite: true)
    }

    /// Waits until this process sees a change of objects made by another: on SQLite, where the objects are kept
    /// in memory (`WorkspaceService.objectCache`), for up to `ChangeCount.recheckInterval`; at once on PostgreSQL.
    static func waitForAnotherProcess(_ engine: DatabaseEngine) async throws {
        if engine == .sqlite { try await Task.sleep(for: ChangeCount.recheckInterval + .milliseconds(50)) }
    }

    /// The clock stands still, so every import below has the same modification time: only the content's
    /// version tells the exports apart, whether this process, another Kiln on the database (seen on SQLite
    /// within `ChangeCount.recheckInterval`), or a writer that leaves the version alone changed the content.
    @Test(arguments: TestDatabases.engines)
    func anExportFollowsEveryChangeMadeHereOrElsewhere(engine: DatabaseEngine) async throws {
        try await TestDatabases.withTwo(engine) { database, elsewhere in
            let clock = ManualClock()
            let (_, _, created) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            let workspace = created.workspaceID
            let (here, there) = (WorkspaceService(database: database, clock: clock), WorkspaceService(database: elsewhere, clock: clock))
            let path = try WorkspacePath("/nb")
            func exported(_ format: WorkspaceFormat = .source) async throws -> String {
                let object = try await here.export(workspaceID: workspace, path: path, format: format)
                #expect(object.jsonBody == nil || object.jsonBody == object.json())
                return String(decoding: object.content, as: UTF8.self)
            }
            try await here.importObject(workspaceID: workspace, Self.source("print(1)"))
            #expect(try await exported() == "# Databricks notebook source\nprint(1)")
            #expect(try await exported() == "# Databricks notebook source\nprint(1)")
            #expect(here.exportCache.usage.entries == 1)
            try await here.importObject(workspaceID: workspace, Self.source("print(2)"))
            #expect(try await exported() == "# Databricks notebook source\nprint(2)")
            try await there.importObject(workspaceID: workspace, Self.source("print(3)"))
            try await Self.waitForAnotherProcess(engine)
            #expect(try await exported() == "# Databricks notebook source\nprint(3)")
            #expect(try await exported(.jupyter).contains(#""print(3)""#))
            #expect(here.exportCache.usage.entries == 2)
            // A writer that changes the content and not its version (migration 8's trigger raises it).
            try await there.importObject(
                workspaceID: workspace,
                ImportRequest(
                    path: try WorkspacePath("/other"), format: .source, language: .python,
                    content: Array("# Databricks notebook source\nprint(4)".utf8), overwrite: false))
            try await elsewhere.write { db in
                try await db.raw(
                    "UPDATE workspace_objects SET content = (SELECT content FROM workspace_objects WHERE path = '/other') WHERE path = '/nb'"
                ).run()
            }
            try await Self.waitForAnotherProcess(engine)
            #expect(try await exported() == "# Databricks notebook source\nprint(4)")
        }
    }

    /// A kept export is answered from the metadata row alone: with migration 8's trigger dropped, content
    /// changed behind its version's back (the case the trigger exists for) is not seen by the kept format,
    /// while a format not kept yet is made from the content now stored.
    @Test(arguments: TestDatabases.engines)
    func aKeptExportIsAnsweredWithoutReadingTheContent(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let clock = ManualClock()
            let (_, _, created) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            let workspace = created.workspaceID
            let service = WorkspaceService(database: database, clock: clock)
            let path = try WorkspacePath("/nb")
            func exported(_ format: WorkspaceFormat) async throws -> String {
                String(decoding: try await service.export(workspaceID: workspace, path: path, format: format).content, as: UTF8.self)
            }
            try await service.importObject(workspaceID: workspace, Self.source("print(1)"))
            try await service.importObject(
                workspaceID: workspace,
                ImportRequest(
                    path: try WorkspacePath("/other"), format: .source, language: .python,
                    content: Array("# Databricks notebook source\nprint(2)".utf8), overwrite: false))
            #expect(try await exported(.source) == "# Databricks notebook source\nprint(1)")
            try await database.write { db in
                let trigger = "DROP TRIGGER workspace_objects_content_version"
                try await db.raw(SQLQueryString(engine == .postgres ? trigger + " ON workspace_objects" : trigger)).run()
                try await db.raw(
                    "UPDATE workspace_objects SET content = (SELECT content FROM workspace_objects WHERE path = '/other') WHERE path = '/nb'"
                ).run()
            }
            #expect(try await exported(.source) == "# Databricks notebook source\nprint(1)")
            #expect(try await exported(.jupyter).contains(#""print(2)""#))
        }
    }

    @Test func theOldestGoOnceTheBytesOrTheCountAreOver() throws {
        let cache = ExportCache(capacity: 1_500, largestEntry: 200, maximumEntries: 3)
        var made: [Int64] = []
        func export(_ id: Int64, size: Int) -> ExportedObject {
            let key = ExportCache.Key(workspaceID: 1, objectID: id, path: .root, modifiedAt: 0, format: .source)
            if let kept = cache.kept(key, contentVersion: 0) { return kept }
            made.append(id)
            return cache.keep(
                ExportedObject(content: Data(repeating: 2, count: size), fileType: "py"), for: key, contentVersion: 0, storedSize: size)
        }
        // Each entry of a 200-byte export holds 200 + 512 (its 299-byte JSON body's allocation): two fit.
        for id: Int64 in 1...3 { _ = export(id, size: 200) }
        #expect(cache.usage == (2, 1_424))
        _ = export(3, size: 200)
        #expect(made == [1, 2, 3])
        _ = export(1, size: 200)
        #expect(made == [1, 2, 3, 1])
        // Over the largest entry: made every time, never kept.
        _ = export(9, size: 201)
        _ = export(9, size: 201)
        #expect(made.suffix(2) == [9, 9])
        // The count: four small entries leave the newest three.
        for id: Int64 in 10...13 { _ = export(id, size: 1) }
        #expect(cache.usage.entries == 3)
        #expect(export(13, size: 1).jsonBody == ByteBuffer(string: #"{"content":"Ag==","file_type":"py"}"#))
        #expect(made.last == 13)
    }
}
