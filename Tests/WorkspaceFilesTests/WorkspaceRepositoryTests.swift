import Accounts
import Foundation
import KilnCore
import NotebookFormats
import Persistence
import PersistenceTestSupport
import Testing
import WorkspaceFiles

/// The Workspace API's storage semantics, on every engine.
@Suite struct WorkspaceRepositoryTests {
    static let notebook = Data("# Databricks notebook source\nprint(1)".utf8)

    static func withWorkspace(
        _ engine: DatabaseEngine, _ body: @Sendable (WorkspaceService, Int64, ManualClock) async throws -> Void
    ) async throws {
        try await TestDatabases.with(engine) { database in
            let clock = ManualClock()
            let (_, _, workspace) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            try await body(WorkspaceService(database: database, clock: clock), workspace.workspaceID, clock)
        }
    }

    static func source(_ path: String, _ content: Data = notebook, overwrite: Bool = false) throws -> ImportRequest {
        ImportRequest(path: try WorkspacePath(path), format: .source, language: .python, content: [UInt8](content), overwrite: overwrite)
    }

    @Test(arguments: TestDatabases.engines)
    func mkdirsCreatesParentsAndListsChildren(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, _ in
            try await service.mkdirs(workspaceID: workspace, path: WorkspacePath("/a/b/c"))
            try await service.mkdirs(workspaceID: workspace, path: WorkspacePath("/a/b/c"))
            try await service.importObject(workspaceID: workspace, Self.source("/a/nb"))
            let children = try await service.list(workspaceID: workspace, path: WorkspacePath("/a"))
            #expect(children.map(\.path.value) == ["/a/b", "/a/nb"])
            #expect(children.map(\.objectType) == [.directory, .notebook])
            #expect(try await service.list(workspaceID: workspace, path: WorkspacePath("/a/b/c")).isEmpty)
            #expect(try await service.list(workspaceID: workspace, path: WorkspacePath("/a/nb")).map(\.path.value) == ["/a/nb"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func importAndExportKeepNotebooksAndFiles(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, _ in
            let bytes = Data([0, 1, 2, 255, 254])
            try await service.importObject(workspaceID: workspace, Self.source("/nb"))
            try await service.importObject(
                workspaceID: workspace,
                ImportRequest(path: WorkspacePath("/blob.bin"), format: .raw, language: nil, content: [UInt8](bytes), overwrite: false))
            let exported = try await service.export(workspaceID: workspace, path: WorkspacePath("/nb"), format: .source)
            #expect(exported.content == Self.notebook && exported.fileType == "py")
            #expect(try await service.export(workspaceID: workspace, path: WorkspacePath("/blob.bin"), format: .auto).content == bytes)
            let status = try await service.getStatus(workspaceID: workspace, path: WorkspacePath("/blob.bin"))
            #expect(status.objectType == .file && status.size == 5)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func overwriteKeepsIdentityAndRequiresTheFlag(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, clock in
            let first = try await service.importObject(workspaceID: workspace, Self.source("/nb"))
            await #expect(throws: KilnError(.resourceAlreadyExists, "Path (/nb) already exists.")) {
                try await service.importObject(workspaceID: workspace, Self.source("/nb"))
            }
            clock.advance(millis: 5)
            let second = try await service.importObject(
                workspaceID: workspace, Self.source("/nb", Data("print(2)".utf8), overwrite: true))
            #expect(second.objectID == first.objectID && second.createdAt == first.createdAt)
            #expect(second.modifiedAt == first.modifiedAt + 5)
            let status = try await service.getStatus(workspaceID: workspace, path: WorkspacePath("/nb"))
            #expect(status == second)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func importNeedsAnExistingFolder(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, _ in
            await #expect(throws: KilnError(.resourceDoesNotExist, "The parent folder (/missing) does not exist.")) {
                try await service.importObject(workspaceID: workspace, Self.source("/missing/nb"))
            }
            try await service.importObject(workspaceID: workspace, Self.source("/nb"))
            await #expect(throws: KilnError.self) {
                try await service.importObject(workspaceID: workspace, Self.source("/nb/child"))
            }
            await #expect(throws: KilnError.self) {
                try await service.mkdirs(workspaceID: workspace, path: WorkspacePath("/nb/sub"))
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func recursiveDeleteRemovesExactlyTheSubtree(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, _ in
            for path in ["/p/a/x", "/p/a b/x", "/p/a-b/x", "/p/a0/x", "/p/ab/x", "/p/a/y/z"] {
                try await service.mkdirs(workspaceID: workspace, path: WorkspacePath(path))
            }
            await #expect(throws: KilnError(.directoryNotEmpty, "Folder (/p/a) is not empty")) {
                try await service.delete(workspaceID: workspace, path: WorkspacePath("/p/a"), recursive: false)
            }
            try await service.delete(workspaceID: workspace, path: WorkspacePath("/p/a"), recursive: true)
            let names = try await service.list(workspaceID: workspace, path: WorkspacePath("/p")).map(\.path.name)
            #expect(names == ["a b", "a-b", "a0", "ab"])
            await #expect(throws: KilnError.self) {
                try await service.getStatus(workspaceID: workspace, path: WorkspacePath("/p/a/y/z"))
            }
            await #expect(throws: KilnError.self) {
                try await service.delete(workspaceID: workspace, path: WorkspacePath("/p/a"), recursive: true)
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func concurrentImportsToOnePathHaveOneWinner(engine: DatabaseEngine) async throws {
        try await Self.withWorkspace(engine) { service, workspace, _ in
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        do {
                            try await service.importObject(
                                workspaceID: workspace, Self.source("/race", Data("print(\(i))".utf8)))
                            return true
                        } catch let error as KilnError where error.code == .resourceAlreadyExists {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await service.list(workspaceID: workspace, path: .root).filter { $0.path.value == "/race" }.count == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func workspacesAreIsolated(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let clock = ManualClock()
            let (account, _, first) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            let (mine, theirs) = (first.workspaceID, first.workspaceID + 1)
            try await TestDatabases.addWorkspace(theirs, accountID: account.accountID, to: database)
            let service = WorkspaceService(database: database, clock: clock)
            try await service.mkdirs(workspaceID: mine, path: WorkspacePath("/mine/shared"))
            try await service.importObject(workspaceID: theirs, Self.source("/theirs"))
            try await service.mkdirs(workspaceID: theirs, path: WorkspacePath("/mine/shared"))
            #expect(try await service.list(workspaceID: mine, path: .root).map(\.path.value).contains("/mine"))
            #expect(try await !service.list(workspaceID: mine, path: .root).map(\.path.value).contains("/theirs"))
            #expect(try await service.list(workspaceID: theirs, path: .root).map(\.path.value).sorted() == ["/mine", "/theirs"])
            await #expect(throws: KilnError.self) { try await service.getStatus(workspaceID: mine, path: WorkspacePath("/theirs")) }
            // The same path in both: deleting one leaves the other.
            let before = try await service.getStatus(workspaceID: theirs, path: WorkspacePath("/mine/shared"))
            #expect(try await service.getStatus(workspaceID: mine, path: WorkspacePath("/mine/shared")).objectID != before.objectID)
            try await service.delete(workspaceID: mine, path: WorkspacePath("/mine"), recursive: true)
            #expect(try await service.getStatus(workspaceID: theirs, path: WorkspacePath("/mine/shared")) == before)
        }
    }
}
