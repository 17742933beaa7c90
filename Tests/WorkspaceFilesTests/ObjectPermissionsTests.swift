import Accounts
import Foundation
import KilnCore
import NotebookFormats
import Persistence
import PersistenceTestSupport
import Testing

@testable import WorkspaceFiles

/// Workspace object permissions on a real database: grants reach down from folders, the root and `/Users` are
/// signposts only, creators manage what they make, and each operation asks for its level.
@Suite struct ObjectPermissionsTests {
    typealias Repository = WorkspaceRepositoryTests
    static func path(_ text: String) -> WorkspacePath { WorkspaceServiceTests.path(text) }
    static func code(_ body: () async throws -> Void) async -> ErrorCode? { await WorkspaceServiceTests.code(body) }

    /// Ann (id 10) in group 20; Bob (id 11) in nothing.
    static let ann = WorkspaceCaller(id: 10, principalIDs: [20], isAdmin: false)
    static let bob = WorkspaceCaller(id: 11, principalIDs: [], isAdmin: false)

    static func notebook(_ path: String, overwrite: Bool = false) -> ImportRequest {
        WorkspaceServiceTests.request(path, .source, Array("# Databricks notebook source\nprint(1)\n".utf8), language: .python, overwrite: overwrite)
    }

    @Test(arguments: TestDatabases.engines)
    func aGrantOnAFolderReachesEverythingBelowItAndNothingBeside(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/team/deep"))
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/other"))
            try await service.importObject(workspaceID: workspace, Self.notebook("/team/deep/nb"))
            let team = try await service.getStatus(workspaceID: workspace, path: Self.path("/team"))
            #expect(
                await Self.code { _ = try await service.getStatus(workspaceID: workspace, path: Self.path("/team/deep/nb"), caller: Self.ann) }
                    == .permissionDenied)
            _ = try await service.setPermissions(workspaceID: workspace, objectID: team.objectID, grants: [(20, .canRead)], replacing: true)
            #expect(try await service.getStatus(workspaceID: workspace, path: Self.path("/team/deep/nb"), caller: Self.ann).path.value == "/team/deep/nb")
            _ = try await service.export(workspaceID: workspace, path: Self.path("/team/deep/nb"), format: .source, caller: Self.ann)
            // The root is a signpost: Ann sees /team there, not /other; Bob sees neither.
            #expect(try await service.list(workspaceID: workspace, path: .root, caller: Self.ann).map(\.path.value) == ["/team"])
            #expect(try await service.list(workspaceID: workspace, path: .root, caller: Self.bob).isEmpty)
            #expect(await Self.code { _ = try await service.list(workspaceID: workspace, path: Self.path("/other"), caller: Self.ann) } == .permissionDenied)
            // Reading is not editing.
            #expect(
                await Self.code { try await service.importObject(workspaceID: workspace, Self.notebook("/team/deep/nb", overwrite: true), caller: Self.ann) }
                    == .permissionDenied)
            #expect(
                await Self.code { try await service.delete(workspaceID: workspace, path: Self.path("/team/deep/nb"), recursive: false, caller: Self.ann) }
                    == .permissionDenied)
            // The grants an object shows: inherited ones name the folder they come from.
            let nb = try await service.getStatus(workspaceID: workspace, path: Self.path("/team/deep/nb"))
            let (_, grants) = try await service.permissions(workspaceID: workspace, objectID: nb.objectID)
            #expect(grants == [ObjectGrant(principalID: 20, level: .canRead, inheritedFrom: team)])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func creatorsManageWhatTheyMakeWhereTheyMayEditAndNeedEditOnTheFolderToDelete(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await service.ensureShared(workspaceID: workspace)
            try await service.ensureHome(workspaceID: workspace, userName: "ann", userID: 10)
            #expect(await Self.code { try await service.mkdirs(workspaceID: workspace, path: Self.path("/mine"), caller: Self.ann) } == .permissionDenied)
            #expect(await Self.code { try await service.mkdirs(workspaceID: workspace, path: Self.path("/Users/bob"), caller: Self.ann) } == .permissionDenied)
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/Users/ann/a/b"), caller: Self.ann)
            try await service.importObject(workspaceID: workspace, Self.notebook("/Shared/nb"), caller: Self.ann)
            // /Shared is every user's; Ann's home is hers alone, and /Users shows Bob nothing of it.
            try await service.importObject(workspaceID: workspace, Self.notebook("/Shared/nb", overwrite: true), caller: Self.bob)
            #expect(
                await Self.code { _ = try await service.getStatus(workspaceID: workspace, path: Self.path("/Users/ann/a"), caller: Self.bob) }
                    == .permissionDenied)
            #expect(try await service.list(workspaceID: workspace, path: Self.path("/Users"), caller: Self.bob).isEmpty)
            #expect(try await service.list(workspaceID: workspace, path: Self.path("/Users"), caller: Self.ann).map(\.path.value) == ["/Users/ann"])
            // A notebook Bob was granted CAN_MANAGE on, in a folder he only reads, he edits but cannot delete.
            try await service.importObject(workspaceID: workspace, Self.notebook("/Users/ann/a/nb"), caller: Self.ann)
            let folder = try await service.getStatus(workspaceID: workspace, path: Self.path("/Users/ann/a"))
            let nb = try await service.getStatus(workspaceID: workspace, path: Self.path("/Users/ann/a/nb"))
            _ = try await service.setPermissions(
                workspaceID: workspace, objectID: folder.objectID, grants: [(11, .canRead)], replacing: false, caller: Self.ann)
            _ = try await service.setPermissions(workspaceID: workspace, objectID: nb.objectID, grants: [(11, .canManage)], replacing: false, caller: Self.ann)
            try await service.importObject(workspaceID: workspace, Self.notebook("/Users/ann/a/nb", overwrite: true), caller: Self.bob)
            #expect(
                await Self.code { try await service.delete(workspaceID: workspace, path: Self.path("/Users/ann/a/nb"), recursive: false, caller: Self.bob) }
                    == .permissionDenied)
            try await service.delete(workspaceID: workspace, path: Self.path("/Users/ann/a/nb"), recursive: false, caller: Self.ann)
            // Signposts list, never export: a folder's export holds everything below it.
            for signpost in ["/", "/Users"] {
                #expect(
                    await Self.code { _ = try await service.export(workspaceID: workspace, path: Self.path(signpost), format: .dbc, caller: Self.bob) }
                        == .permissionDenied)
            }
            _ = try await service.export(workspaceID: workspace, path: Self.path("/Users/ann"), format: .dbc, caller: Self.ann)
            // Every user manages /Shared, but only admins change who does.
            let shared = try await service.getStatus(workspaceID: workspace, path: Self.path("/Shared"))
            #expect(
                await Self.code {
                    _ = try await service.setPermissions(
                        workspaceID: workspace, objectID: shared.objectID, grants: [(11, .canManage)], replacing: true, caller: Self.bob)
                } == .permissionDenied)
            // Changing permissions needs CAN_MANAGE; the root's are fixed.
            #expect(
                await Self.code {
                    _ = try await service.setPermissions(workspaceID: workspace, objectID: folder.objectID, grants: [], replacing: true, caller: Self.bob)
                } == .permissionDenied)
            #expect(
                await Self.code { _ = try await service.setPermissions(workspaceID: workspace, objectID: 0, grants: [], replacing: true) }
                    == .invalidParameterValue)
        }
    }

    /// Grants are read from memory while their count of changes stands; a change made by another Kiln on
    /// the same database, and a delete that takes grants with it, count, so reads see them within
    /// `ChangeCount.recheckInterval`. A refused write changes nothing, in memory either.
    @Test(arguments: TestDatabases.engines)
    func grantsKeptInMemoryFollowChangesMadeAnywhere(engine: DatabaseEngine) async throws {
        try await TestDatabases.withTwo(engine) { database, elsewhere in
            let settle = { try await Task.sleep(for: ChangeCount.recheckInterval + .milliseconds(50)) }
            let clock = ManualClock()
            let (_, _, created) = try #require(try await AccountStore(database: database, clock: clock).bootstrap(adminUserName: "a"))
            let workspace = created.workspaceID
            let (here, there) = (WorkspaceService(database: database, clock: clock), WorkspaceService(database: elsewhere, clock: clock))
            try await here.mkdirs(workspaceID: workspace, path: Self.path("/team"))
            try await here.importObject(workspaceID: workspace, Self.notebook("/team/nb"))
            let team = try await here.getStatus(workspaceID: workspace, path: Self.path("/team"))
            _ = try await there.setPermissions(workspaceID: workspace, objectID: team.objectID, grants: [(20, .canRead)], replacing: true)
            try await settle()
            #expect(try await here.getStatus(workspaceID: workspace, path: Self.path("/team/nb"), caller: Self.ann).path.value == "/team/nb")
            #expect(try await here.list(workspaceID: workspace, path: .root, caller: Self.ann).map(\.path.value) == ["/team"])
            // Revoked elsewhere: refused here at once.
            _ = try await there.setPermissions(workspaceID: workspace, objectID: team.objectID, grants: [], replacing: true)
            try await settle()
            #expect(
                await Self.code { _ = try await here.getStatus(workspaceID: workspace, path: Self.path("/team/nb"), caller: Self.ann) }
                    == .permissionDenied)
            #expect(try await here.list(workspaceID: workspace, path: .root, caller: Self.ann).isEmpty)
            // A folder deleted elsewhere and made again at the same path keeps none of the old grants.
            _ = try await there.setPermissions(workspaceID: workspace, objectID: team.objectID, grants: [(20, .canManage)], replacing: true)
            try await settle()
            #expect(try await here.getStatus(workspaceID: workspace, path: Self.path("/team"), caller: Self.ann).objectID == team.objectID)
            try await there.delete(workspaceID: workspace, path: Self.path("/team"), recursive: true)
            try await there.mkdirs(workspaceID: workspace, path: Self.path("/team"))
            try await settle()
            #expect(
                await Self.code { _ = try await here.getStatus(workspaceID: workspace, path: Self.path("/team"), caller: Self.ann) }
                    == .permissionDenied)
            // A write refused after it granted (Bob may not edit the root) leaves no grant behind.
            #expect(await Self.code { try await here.mkdirs(workspaceID: workspace, path: Self.path("/bobs"), caller: Self.bob) } == .permissionDenied)
            #expect(
                await Self.code { _ = try await here.getStatus(workspaceID: workspace, path: Self.path("/bobs"), caller: Self.bob) }
                    == .resourceDoesNotExist)
        }
    }

    /// Many readers at once, more than the store has connections, each finding the grants in memory stale:
    /// none holds a connection while it waits for another (that deadlocked a pool of four at 16 clients).
    /// A deadlock never ends; the limit leaves room for a slow machine running every suite at once (this test
    /// took over a minute on PostgreSQL there, 1.2 s alone).
    @Test(.timeLimit(.minutes(3)), arguments: TestDatabases.engines)
    func manyReadersAtOnceNeverWaitOnEachOther(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/team"))
            let team = try await service.getStatus(workspaceID: workspace, path: Self.path("/team"))
            for round in 0..<3 {
                _ = try await service.setPermissions(
                    workspaceID: workspace, objectID: team.objectID, grants: [(20, round == 2 ? .canEdit : .canRead)], replacing: true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<64 {
                        group.addTask {
                            _ = try await service.getStatus(workspaceID: workspace, path: Self.path("/team"), caller: Self.ann)
                            _ = try await service.list(workspaceID: workspace, path: .root, caller: Self.ann)
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }
}
