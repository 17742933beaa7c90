import KilnCore
import Persistence
import PersistenceTestSupport
import Testing

@testable import Accounts

/// What authenticates a request is served from memory (`RowCache` of `ChangeTopic.identity`), and stays right: a change made
/// through the same database is seen by the next call, and one made by another process on the same
/// database within `ChangeCount.recheckInterval`.
@Suite struct IdentityCachingTests {
    struct Setup: Sendable {
        let accounts: AccountStore
        let tokens: TokenStore
        let user: User
        let workspaceID: Int64
        let secret: String
        let tokenID: String
    }

    /// A user with a token in the default workspace, read once so that it is cached.
    static func setUp(_ database: any Database) async throws -> Setup {
        let clock = ManualClock()
        let accounts = AccountStore(database: database, clock: clock)
        let (account, _, workspace) = try #require(try await accounts.bootstrap(adminUserName: "admin"))
        let user = try await accounts.createUser(accountID: account.accountID, userName: "ann", displayName: "Ann")
        try await accounts.assignments.set(workspaceID: workspace.workspaceID, principalID: user.userID, permission: .user)
        let tokens = TokenStore(database: database, clock: clock)
        let (secret, info) = try await tokens.create(workspaceID: workspace.workspaceID, userID: user.userID, comment: "", lifetimeSeconds: nil)
        let setup = Setup(
            accounts: accounts, tokens: tokens, user: user, workspaceID: workspace.workspaceID, secret: secret, tokenID: info.tokenID)
        #expect(try await setup.tokens.resolve(secret: secret, workspaceID: workspace.workspaceID)?.userID == user.userID)
        #expect(try await setup.accounts.assignments.access(of: user.userID, in: workspace.workspaceID).permission == .user)
        #expect(try await setup.accounts.user(id: user.userID)?.active == true)
        return setup
    }

    @Test(arguments: TestDatabases.engines)
    func changesThroughTheSameDatabaseAreSeenByTheNextCall(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let setup = try await Self.setUp(database)
            // Other stores of the same database, as the HTTP controllers hold.
            let (accounts, tokens) = (AccountStore(database: database), TokenStore(database: database))
            try await accounts.assignments.set(workspaceID: setup.workspaceID, principalID: setup.user.userID, permission: nil)
            #expect(try await setup.accounts.assignments.access(of: setup.user.userID, in: setup.workspaceID).permission == nil)
            var user = setup.user
            user.active = false
            try await accounts.save(user)
            #expect(try await setup.accounts.user(id: user.userID)?.active == false)
            try await tokens.delete(tokenID: setup.tokenID, workspaceID: setup.workspaceID, userID: nil)
            #expect(try await setup.tokens.resolve(secret: setup.secret, workspaceID: setup.workspaceID) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func changesMadeByAnotherProcessAreSeenWithinTheRecheckInterval(engine: DatabaseEngine) async throws {
        try await TestDatabases.withTwo(engine) { database, elsewhere in
            let setup = try await Self.setUp(database)
            let (accounts, tokens) = (AccountStore(database: elsewhere), TokenStore(database: elsewhere))
            try await tokens.delete(tokenID: setup.tokenID, workspaceID: setup.workspaceID, userID: nil)
            try await accounts.assignments.set(workspaceID: setup.workspaceID, principalID: setup.user.userID, permission: nil)
            var user = setup.user
            user.active = false
            try await accounts.save(user)
            try await Task.sleep(for: ChangeCount.recheckInterval + .milliseconds(50))
            #expect(try await setup.tokens.resolve(secret: setup.secret, workspaceID: setup.workspaceID) == nil)
            #expect(try await setup.accounts.assignments.access(of: setup.user.userID, in: setup.workspaceID).permission == nil)
            #expect(try await setup.accounts.user(id: user.userID)?.active == false)
        }
    }

    /// The count moves with every table that authenticates a request, and with nothing else.
    @Test(arguments: TestDatabases.engines)
    func theCountMovesWithTheIdentityTablesOnly(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let setup = try await Self.setUp(database)
            let before = try #require(await database.changeCounts.identity.current(database))
            _ = try await AccountFixture.addWorkspace(database, accountID: setup.user.accountID, deploymentName: "second")
            let afterWorkspace = try #require(await database.changeCounts.identity.current(database))
            #expect(afterWorkspace > before)
            _ = try await setup.accounts.groups.create(accountID: setup.user.accountID, displayName: "team", members: [setup.user.userID])
            let afterGroup = try #require(await database.changeCounts.identity.current(database))
            #expect(afterGroup > afterWorkspace)
            try await setup.accounts.setDeploymentNamePrefix(accountID: setup.user.accountID, prefix: "acme")
            #expect(await database.changeCounts.identity.current(database) == afterGroup)
        }
    }
}
