import KilnCore
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing
@testable import Accounts

/// Personal access tokens: secrets shown once, stored hashed, scoped to a user and a workspace, expiring
/// by the clock.
@Suite struct TokenStoreTests {
    struct Setup: Sendable {
        let database: any Database
        let clock: ManualClock
        let tokens: TokenStore
        let admin: User
        let other: User
        let workspaceID: Int64
        let secondWorkspaceID: Int64
    }

    func withSetup(_ engine: DatabaseEngine, _ body: @Sendable (Setup) async throws -> Void) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let (account, admin, workspace) = try #require(try await accounts.bootstrap(adminUserName: "admin"))
            let other = try await accounts.createUser(accountID: account.accountID, userName: "other", displayName: "Other")
            let second = try await AccountFixture.addWorkspace(database, accountID: account.accountID, deploymentName: "second")
            try await body(
                Setup(
                    database: database, clock: clock, tokens: TokenStore(database: database, clock: clock), admin: admin,
                    other: other, workspaceID: workspace.workspaceID, secondWorkspaceID: second))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aNewTokenHasAFreshSecretAndIdAndIsStoredOnlyAsAHash(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, info) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "ci", lifetimeSeconds: 3600)
            #expect(secret.wholeMatch(of: /dapi[0-9a-f]{32}/) != nil)
            #expect(info.tokenID.wholeMatch(of: /[0-9a-f]{64}/) != nil)
            #expect(info.comment == "ci")
            #expect(info.creationTime == setup.clock.nowMillis())
            #expect(info.expiryTime == setup.clock.nowMillis() + 3_600_000)
            let (secondSecret, secondInfo) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "ci", lifetimeSeconds: 3600)
            #expect(secondSecret != secret && secondInfo.tokenID != info.tokenID)

            let stored = try await setup.database.read { db in
                try await db.select().column("token_hash").from("tokens").where("token_id", .equal, info.tokenID).first()?
                    .decode(column: "token_hash", as: String.self)
            }
            #expect(stored == sha256Hex(secret))
            #expect(stored != secret)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aTokenResolvesToItsOwnerAndWorkspaceUntilItExpires(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, info) = try await setup.tokens.create(
                workspaceID: setup.secondWorkspaceID, userID: setup.other.userID, comment: "", lifetimeSeconds: 60)
            let resolved = try #require(try await setup.tokens.resolve(secret: secret))
            #expect(resolved.userID == setup.other.userID)
            #expect(resolved.workspaceID == setup.secondWorkspaceID)
            #expect(resolved.tokenID == info.tokenID)
            let inWorkspace = try #require(try await setup.tokens.resolve(secret: secret, workspaceID: setup.secondWorkspaceID))
            #expect(inWorkspace.userID == setup.other.userID && inWorkspace.tokenID == info.tokenID)
            #expect(try await setup.tokens.resolve(secret: secret, workspaceID: setup.workspaceID) == nil)
            #expect(try await setup.tokens.resolve(secret: "dapi" + String(repeating: "0", count: 32)) == nil)

            setup.clock.advance(millis: 59_999)
            #expect(try await setup.tokens.resolve(secret: secret) != nil)
            setup.clock.advance(millis: 1)
            #expect(try await setup.tokens.resolve(secret: secret) == nil)
            #expect(try await setup.tokens.resolve(secret: secret, workspaceID: setup.secondWorkspaceID) == nil)
            // An expired token is still listed until it is revoked.
            #expect(try await setup.tokens.list(workspaceID: setup.secondWorkspaceID, userID: setup.other.userID) == [info])
        }
    }

    @Test(arguments: TestDatabases.engines, [Int64?.none, 0, -5])
    func withoutAPositiveLifetimeATokenNeverExpires(engine: DatabaseEngine, lifetime: Int64?) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, info) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "", lifetimeSeconds: lifetime)
            #expect(info.expiryTime == -1)
            setup.clock.advance(millis: 20 * 365 * 24 * 3_600_000)
            #expect(try await setup.tokens.resolve(secret: secret, workspaceID: setup.workspaceID)?.tokenID == info.tokenID)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func lifetimesUpToTenYearsAreAccepted(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let longest = TokenStore.maximumLifetimeSeconds
            #expect(longest == 315_360_000)
            let (_, info) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "", lifetimeSeconds: longest)
            #expect(info.expiryTime == setup.clock.nowMillis() + longest * 1000)
            let tooLong = await AccountFixture.failure {
                try await setup.tokens.create(workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "", lifetimeSeconds: longest + 1)
            }
            #expect(tooLong?.code == .invalidParameterValue)
            #expect(tooLong?.message == "lifetime_seconds must be at most 315360000 (ten years).")
            #expect(try await setup.tokens.list(workspaceID: setup.workspaceID, userID: setup.admin.userID).count == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func listsShowOneUsersTokensInOneWorkspaceOldestFirst(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            var mine: [TokenInfo] = []
            for comment in ["first", "second", "third"] {
                mine.append(
                    try await setup.tokens.create(
                        workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: comment, lifetimeSeconds: nil
                    ).info)
                setup.clock.advance(millis: 10)
            }
            _ = try await setup.tokens.create(workspaceID: setup.workspaceID, userID: setup.other.userID, comment: "theirs", lifetimeSeconds: nil)
            _ = try await setup.tokens.create(workspaceID: setup.secondWorkspaceID, userID: setup.admin.userID, comment: "elsewhere", lifetimeSeconds: nil)
            #expect(try await setup.tokens.list(workspaceID: setup.workspaceID, userID: setup.admin.userID) == mine)
            #expect(try await setup.tokens.list(workspaceID: setup.workspaceID, userID: setup.other.userID).map(\.comment) == ["theirs"])
            #expect(try await setup.tokens.list(workspaceID: setup.secondWorkspaceID, userID: setup.other.userID).isEmpty)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func onlyTheOwnerRevokesATokenInItsWorkspace(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, info) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.admin.userID, comment: "", lifetimeSeconds: nil)
            for (workspaceID, userID) in [(setup.workspaceID, setup.other.userID), (setup.secondWorkspaceID, setup.admin.userID)] {
                let refused = await AccountFixture.failure {
                    try await setup.tokens.delete(tokenID: info.tokenID, workspaceID: workspaceID, userID: userID)
                }
                #expect(refused?.code == .resourceDoesNotExist)
                #expect(refused?.message == "Token with ID \(info.tokenID) does not exist.")
            }
            #expect(try await setup.tokens.resolve(secret: secret) != nil)
            try await setup.tokens.delete(tokenID: info.tokenID, workspaceID: setup.workspaceID, userID: setup.admin.userID)
            #expect(try await setup.tokens.resolve(secret: secret) == nil)
            #expect(try await setup.tokens.list(workspaceID: setup.workspaceID, userID: setup.admin.userID).isEmpty)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deletingAUserRevokesTheirTokens(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, _) = try await setup.tokens.create(
                workspaceID: setup.workspaceID, userID: setup.other.userID, comment: "", lifetimeSeconds: nil)
            try await AccountStore(database: setup.database).deleteUser(accountID: setup.other.accountID, userID: setup.other.userID)
            #expect(try await setup.tokens.resolve(secret: secret) == nil)
        }
    }
}
