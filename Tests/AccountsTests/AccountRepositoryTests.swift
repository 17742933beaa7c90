import Accounts
import KilnCore
import Logging
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing

@Suite struct AccountRepositoryTests {
    @Test(arguments: TestDatabases.engines)
    func migrationsAreIdempotent(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            try await Migrator(database: database, logger: .init(label: "t")).migrate()
            let rows = try await database.read { db in
                try await db.raw("SELECT version FROM kiln_migrations").all()
            }
            #expect(rows.count == Schema.migrations.count)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func bootstrapCreatesTheDefaultsOnce(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let accounts = AccountStore(database: database)
            let first = try await accounts.bootstrap(adminUserName: "root@example.com")
            let (_, admin, workspace) = try #require(first)
            #expect(workspace.isDefault && workspace.status == "RUNNING")
            #expect(try await accounts.bootstrap(adminUserName: "root@example.com") == nil)
            #expect(try await accounts.defaultWorkspace() == workspace)
            #expect(try await accounts.workspace(id: workspace.workspaceID) == workspace)
            #expect(try await accounts.user(id: admin.userID) == admin)
            #expect(try await accounts.workspace(id: 42) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func tokensResolveUntilTheyExpireOrAreDeleted(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let tokens = TokenStore(database: database, clock: clock)
            let (_, admin, workspace) = try #require(try await accounts.bootstrap(adminUserName: "a"))
            let (secret, info) = try await tokens.create(
                workspaceID: workspace.workspaceID, userID: admin.userID, comment: "c", lifetimeSeconds: 60)
            #expect(secret.hasPrefix("dapi") && secret.count == 36)
            #expect(info.expiryTime == info.creationTime + 60_000)
            #expect(try await tokens.resolve(secret: secret, workspaceID: workspace.workspaceID)?.userID == admin.userID)
            #expect(try await tokens.resolve(secret: secret, workspaceID: workspace.workspaceID + 1) == nil)
            #expect(try await tokens.resolve(secret: secret + "x", workspaceID: workspace.workspaceID) == nil)
            clock.advance(millis: 60_001)
            #expect(try await tokens.resolve(secret: secret, workspaceID: workspace.workspaceID) == nil)

            let (forever, foreverInfo) = try await tokens.create(
                workspaceID: workspace.workspaceID, userID: admin.userID, comment: "", lifetimeSeconds: nil)
            #expect(foreverInfo.expiryTime == -1)
            #expect(try await tokens.list(workspaceID: workspace.workspaceID, userID: admin.userID).count == 2)
            try await tokens.delete(tokenID: foreverInfo.tokenID, workspaceID: workspace.workspaceID, userID: admin.userID)
            #expect(try await tokens.resolve(secret: forever, workspaceID: workspace.workspaceID) == nil)
            await #expect(throws: KilnError.self) {
                try await tokens.delete(tokenID: foreverInfo.tokenID, workspaceID: workspace.workspaceID, userID: admin.userID)
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func tokenLifetimeIsBounded(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let tokens = TokenStore(database: database)
            await #expect(throws: KilnError.self) {
                try await tokens.create(workspaceID: 1, userID: 1, comment: "", lifetimeSeconds: Int64.max / 2)
            }
        }
    }
}
