import KilnCore
import Persistence
import PersistenceTestSupport
import Testing
@testable import Accounts

/// Who a request's credentials make the caller: in a workspace, and on the Account API.
@Suite struct AuthenticatorTests {
    /// An account with an admin and a plain user `ann` assigned to its default workspace (both with
    /// passwords), a second workspace nobody but the admin is assigned to, and another account whose admin
    /// `eve` is a stranger here.
    struct Setup: Sendable {
        let clock: ManualClock
        let authenticator: Authenticator
        let accounts: AccountStore
        let tokens: TokenStore
        let accountID: String
        let otherAccountID: String
        let workspace: Workspace
        let secondWorkspaceID: Int64
        let admin: User
        let ann: User
    }

    func withSetup(_ engine: DatabaseEngine, _ body: @Sendable (Setup) async throws -> Void) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let tokens = TokenStore(database: database, clock: clock)
            let (account, admin, workspace) = try #require(try await accounts.bootstrap(adminUserName: "admin"))
            let ann = try await accounts.createUser(accountID: account.accountID, userName: "ann", displayName: "Ann")
            _ = try await accounts.createUser(accountID: account.accountID, userName: "nopass", displayName: "No Password")
            let other = try await AccountFixture.addAccount(database)
            let eve = try await accounts.createUser(accountID: other, userName: "eve", displayName: "Eve", isAdmin: true)
            for (user, password) in [(admin, "admin-pass"), (ann, "ann-pass"), (eve, "eve-pass")] {
                try await accounts.setPassword(userID: user.userID, password: password)
            }
            let second = try await AccountFixture.addWorkspace(database, accountID: account.accountID, deploymentName: "second")
            try await accounts.assignments.set(workspaceID: workspace.workspaceID, principalID: ann.userID, permission: .user)
            try await body(
                Setup(
                    clock: clock, authenticator: Authenticator(accounts: accounts, tokens: tokens, assignments: accounts.assignments),
                    accounts: accounts, tokens: tokens,
                    accountID: account.accountID, otherAccountID: other, workspace: workspace, secondWorkspaceID: second,
                    admin: admin, ann: ann))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aWorkspaceTokenIdentifiesItsOwnerInThatWorkspaceOnly(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let (secret, info) = try await setup.tokens.create(
                workspaceID: setup.workspace.workspaceID, userID: setup.ann.userID, comment: "", lifetimeSeconds: 60)
            let identity = try await setup.authenticator.authenticate(bearer: secret, in: setup.workspace)
            #expect(identity == Identity(user: setup.ann, workspace: setup.workspace, tokenID: info.tokenID, permission: .user))

            let (elsewhere, _) = try await setup.tokens.create(
                workspaceID: setup.secondWorkspaceID, userID: setup.ann.userID, comment: "", lifetimeSeconds: nil)
            for refused in [elsewhere, "dapi-not-a-token", ""] {
                let failure = await AccountFixture.failure { try await setup.authenticator.authenticate(bearer: refused, in: setup.workspace) }
                #expect(failure?.code == .unauthenticated)
                #expect(failure?.message == "Invalid access token.")
            }
            setup.clock.advance(millis: 60_000)
            let expired = await AccountFixture.failure { try await setup.authenticator.authenticate(bearer: secret, in: setup.workspace) }
            #expect(expired?.code == .unauthenticated)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func basicAuthInAWorkspaceNeedsAUserOfItsAccountAndTheirPassword(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let identity = try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: setup.workspace)
            #expect(identity == Identity(user: setup.ann, workspace: setup.workspace, tokenID: nil, permission: .user))
            for (userName, password) in [("ann", "admin-pass"), ("ann", ""), ("nobody", "ann-pass"), ("nopass", ""), ("eve", "eve-pass")] {
                let failure = await AccountFixture.failure {
                    try await setup.authenticator.authenticate(userName: userName, password: password, in: setup.workspace)
                }
                #expect(failure?.code == .unauthenticated, "\(userName)")
                #expect(failure?.message == "Invalid user name or password.")
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func onlyActivePrincipalsAssignedToAWorkspaceDirectlyOrThroughNestedGroupsAuthenticateThere(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let second = try #require(try await setup.accounts.workspace(id: setup.secondWorkspaceID))
            let refused = await AccountFixture.failure { try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: second) }
            #expect(refused?.code == .permissionDenied)
            #expect(refused?.message == "User ann is not assigned to workspace \(second.workspaceID).")
            // ann is in `inner`, which is in `outer`; `outer` is assigned: ann gets in, as an admin once `outer` is one.
            let groups = setup.accounts.groups
            let inner = try await groups.create(accountID: setup.accountID, displayName: "inner", members: [setup.ann.userID])
            let outer = try await groups.create(accountID: setup.accountID, displayName: "outer", members: [inner.groupID])
            try await setup.accounts.assignments.set(workspaceID: second.workspaceID, principalID: outer.groupID, permission: .user)
            #expect(try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: second).permission == .user)
            try await setup.accounts.assignments.set(workspaceID: second.workspaceID, principalID: outer.groupID, permission: .admin)
            #expect(try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: second).isWorkspaceAdmin)
            // A group cannot come to contain itself.
            var cycle = inner
            cycle.members.append(outer.groupID)
            let loop = await AccountFixture.failure { try await groups.save(cycle) }
            #expect(loop?.code == .invalidParameterValue)
            // Deactivated, ann authenticates nowhere; removed from `inner`, not in `second` either.
            var ann = setup.ann
            ann.active = false
            try await setup.accounts.save(ann)
            let inactive = await AccountFixture.failure { try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: second) }
            #expect(inactive?.code == .unauthenticated)
            ann.active = true
            try await setup.accounts.save(ann)
            var emptied = inner
            emptied.members = []
            try await groups.save(emptied)
            let unassigned = await AccountFixture.failure { try await setup.authenticator.authenticate(userName: "ann", password: "ann-pass", in: second) }
            #expect(unassigned?.code == .permissionDenied)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func anAccountKeepsAnActiveAdminAndAWorkspaceAnAdminAssignedToIt(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            var admin = setup.admin
            admin.active = false
            #expect(await AccountFixture.failure { try await setup.accounts.save(admin) }?.code == .invalidParameterValue)
            #expect(
                await AccountFixture.failure { try await setup.accounts.deleteUser(accountID: setup.accountID, userID: admin.userID) }?.code
                    == .invalidParameterValue)
            let workspaceID = setup.workspace.workspaceID
            let last = await AccountFixture.failure {
                try await setup.accounts.assignments.set(workspaceID: workspaceID, principalID: setup.admin.userID, permission: .user)
            }
            #expect(last?.code == .invalidParameterValue)
            #expect(try await setup.accounts.assignments.list(workspaceID: workspaceID)[setup.admin.userID] == .admin)
            // Nor does deleting a workspace's only admin, or a group that is one, or deactivating it.
            let second = setup.secondWorkspaceID
            let team = try await setup.accounts.groups.create(accountID: setup.accountID, displayName: "team")
            try await setup.accounts.assignments.set(workspaceID: second, principalID: team.groupID, permission: .admin)
            try await setup.accounts.assignments.set(workspaceID: second, principalID: setup.admin.userID, permission: nil)
            #expect(
                await AccountFixture.failure { try await setup.accounts.groups.delete(accountID: setup.accountID, id: team.groupID) }?.code
                    == .invalidParameterValue)
            try await setup.accounts.assignments.set(workspaceID: second, principalID: setup.ann.userID, permission: .admin)
            try await setup.accounts.groups.delete(accountID: setup.accountID, id: team.groupID)
            var soleAdmin = setup.ann
            soleAdmin.active = false
            #expect(await AccountFixture.failure { try await setup.accounts.save(soleAdmin) }?.code == .invalidParameterValue)
            #expect(
                await AccountFixture.failure { try await setup.accounts.deleteUser(accountID: setup.accountID, userID: setup.ann.userID) }?.code
                    == .invalidParameterValue)
            // With a second admin, the first may go.
            var ann = setup.ann
            ann.isAdmin = true
            try await setup.accounts.save(ann)
            try await setup.accounts.assignments.set(workspaceID: workspaceID, principalID: ann.userID, permission: .admin)
            try await setup.accounts.assignments.set(workspaceID: workspaceID, principalID: setup.admin.userID, permission: nil)
            try await setup.accounts.save(admin)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theAccountAPIAcceptsOnlyAdminsOfThatAccountWithBasicAuth(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let authenticator = setup.authenticator
            let accountID = setup.accountID
            #expect(
                try await authenticator.authenticateAccountAdmin(
                    accountID: accountID, bearer: nil, userName: "admin", password: "admin-pass") == setup.admin)
            let wrong = await AccountFixture.failure {
                try await authenticator.authenticateAccountAdmin(accountID: accountID, bearer: nil, userName: "admin", password: "nope")
            }
            #expect(wrong?.code == .unauthenticated)
            #expect(wrong?.message == "Invalid user name or password.")
            let notAdmin = await AccountFixture.failure {
                try await authenticator.authenticateAccountAdmin(accountID: accountID, bearer: nil, userName: "ann", password: "ann-pass")
            }
            #expect(notAdmin?.code == .permissionDenied)
            #expect(notAdmin?.message == "Only account admins can use the Account API.")
            // An admin of another account, or an account that does not exist, gets the same answer.
            for (account, userName, password) in [(accountID, "eve", "eve-pass"), ("no-such-account", "admin", "admin-pass")] {
                let stranger = await AccountFixture.failure {
                    try await authenticator.authenticateAccountAdmin(accountID: account, bearer: nil, userName: userName, password: password)
                }
                #expect(stranger?.code == .resourceDoesNotExist)
                #expect(stranger?.message == "The account does not exist or the user does not belong to this account.")
            }
            #expect(
                try await authenticator.authenticateAccountAdmin(
                    accountID: setup.otherAccountID, bearer: nil, userName: "eve", password: "eve-pass"
                ).userName == "eve")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theAccountAPIAcceptsAnAdminsTokenFromAnyWorkspace(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            let authenticator = setup.authenticator
            let accountID = setup.accountID
            let (adminSecret, _) = try await setup.tokens.create(
                workspaceID: setup.secondWorkspaceID, userID: setup.admin.userID, comment: "", lifetimeSeconds: 60)
            let (annSecret, _) = try await setup.tokens.create(
                workspaceID: setup.workspace.workspaceID, userID: setup.ann.userID, comment: "", lifetimeSeconds: nil)
            #expect(
                try await authenticator.authenticateAccountAdmin(
                    accountID: accountID, bearer: adminSecret, userName: nil, password: nil) == setup.admin)
            let notAdmin = await AccountFixture.failure {
                try await authenticator.authenticateAccountAdmin(accountID: accountID, bearer: annSecret, userName: nil, password: nil)
            }
            #expect(notAdmin?.code == .permissionDenied)
            // A bearer token is checked on its own: good Basic credentials do not rescue a bad token.
            let badToken = await AccountFixture.failure {
                try await authenticator.authenticateAccountAdmin(accountID: accountID, bearer: "dapi-bad", userName: "admin", password: "admin-pass")
            }
            #expect(badToken?.code == .unauthenticated)
            #expect(badToken?.message == "Invalid access token.")
            setup.clock.advance(millis: 60_000)
            let expired = await AccountFixture.failure {
                try await authenticator.authenticateAccountAdmin(accountID: accountID, bearer: adminSecret, userName: nil, password: nil)
            }
            #expect(expired?.code == .unauthenticated)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theAccountAPIWithoutCompleteCredentialsFindsNoUser(engine: DatabaseEngine) async throws {
        try await withSetup(engine) { setup async throws in
            for (userName, password) in [(String?.none, String?.none), ("admin", nil), (nil, "admin-pass")] {
                let failure = await AccountFixture.failure {
                    try await setup.authenticator.authenticateAccountAdmin(
                        accountID: setup.accountID, bearer: nil, userName: userName, password: password)
                }
                #expect(failure?.code == .resourceDoesNotExist)
            }
        }
    }
}
