import KilnCore
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing
@testable import Accounts

/// Accounts, users, passwords and workspace lookups.
@Suite struct AccountStoreTests {
    func withBootstrapped(
        _ engine: DatabaseEngine, _ body: @Sendable (AccountStore, Account, User, Workspace, ManualClock, any Database) async throws -> Void
    ) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let (account, admin, workspace) = try #require(try await accounts.bootstrap(adminUserName: "root@example.com"))
            try await body(accounts, account, admin, workspace, clock, database)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func bootstrapCreatesOneAccountAdminAndDefaultWorkspace(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, admin, workspace, clock, _ async throws in
            #expect(account.name == "Kiln" && account.createdAt == clock.nowMillis())
            #expect(
                admin
                    == User(
                        userID: admin.userID, accountID: account.accountID, userName: "root@example.com",
                        displayName: "Kiln Admin", isAdmin: true, createdAt: clock.nowMillis()))
            #expect(workspace.accountID == account.accountID && workspace.name == "default" && workspace.deploymentName == "default")
            #expect(workspace.isDefault && workspace.isRunning && workspace.isServing)
            #expect(try await accounts.primaryAccount() == account)

            clock.advance(millis: 1000)
            #expect(try await accounts.bootstrap(adminUserName: "someone-else") == nil)
            #expect(try await accounts.primaryAccount() == account)
            #expect(try await accounts.users(accountID: account.accountID) == [admin])
            #expect(try await accounts.user(accountID: account.accountID, userName: "someone-else") == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func anEmptyStoreHasNoAccountOrDefaultWorkspace(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let accounts = AccountStore(database: database)
            #expect(try await accounts.primaryAccount() == nil)
            #expect(try await accounts.defaultWorkspace() == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func workspacesAreFoundByDeploymentNameAndId(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, _, workspace, _, database async throws in
            let second = try await AccountFixture.addWorkspace(database, accountID: account.accountID, deploymentName: "team")
            #expect(try await accounts.workspace(deploymentName: "default") == workspace)
            let found = try #require(try await accounts.workspace(deploymentName: "team"))
            #expect(found.workspaceID == second && !found.isDefault && found.status == "RUNNING")
            #expect(try await accounts.workspace(id: second) == found)
            #expect(try await accounts.workspace(deploymentName: "Team") == nil)
            #expect(try await accounts.workspace(deploymentName: "missing") == nil)
            #expect(try await accounts.defaultWorkspace() == workspace)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func usersAreListedInCreationOrderAndUniquePerAccount(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, admin, _, clock, database async throws in
            clock.advance(millis: 10)
            let bob = try await accounts.createUser(accountID: account.accountID, userName: "bob", displayName: "Bob")
            clock.advance(millis: 10)
            let ann = try await accounts.createUser(accountID: account.accountID, userName: "ann", displayName: "Ann", isAdmin: true)
            #expect(bob.createdAt == admin.createdAt + 10 && !bob.isAdmin)
            #expect(try await accounts.users(accountID: account.accountID) == [admin, bob, ann])
            #expect(Set(try await accounts.admins(accountID: account.accountID).map(\.userName)) == ["root@example.com", "ann"])
            #expect(try await accounts.user(accountID: account.accountID, userName: "bob") == bob)
            #expect(try await accounts.user(id: ann.userID) == ann)
            #expect(try await !accounts.isServicePrincipal(userID: bob.userID))

            let duplicate = await AccountFixture.failure {
                try await accounts.createUser(accountID: account.accountID, userName: "bob", displayName: "Other Bob")
            }
            #expect(duplicate?.code == .resourceAlreadyExists)
            #expect(duplicate?.message == "User with username bob already exists.")
            let other = try await AccountFixture.addAccount(database)
            let otherBob = try await accounts.createUser(accountID: other, userName: "bob", displayName: "Bob")
            #expect(try await accounts.users(accountID: other) == [otherBob])
            #expect(try await accounts.user(accountID: account.accountID, userName: "bob") == bob)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aUserIsDeletedOnlyFromTheirOwnAccount(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, _, _, _, database async throws in
            let bob = try await accounts.createUser(accountID: account.accountID, userName: "bob", displayName: "Bob")
            let other = try await AccountFixture.addAccount(database)
            let elsewhere = await AccountFixture.failure { try await accounts.deleteUser(accountID: other, userID: bob.userID) }
            #expect(elsewhere?.code == .resourceDoesNotExist)
            #expect(elsewhere?.message == "User \(bob.userID) does not exist.")
            #expect(try await accounts.user(id: bob.userID) == bob)
            try await accounts.deleteUser(accountID: account.accountID, userID: bob.userID)
            #expect(try await accounts.user(id: bob.userID) == nil)
            let again = await AccountFixture.failure { try await accounts.deleteUser(accountID: account.accountID, userID: bob.userID) }
            #expect(again?.code == .resourceDoesNotExist)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func passwordsVerifyPerAccountAndChangesReplaceThem(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, admin, _, _, database async throws in
            #expect(try await accounts.verifyPassword(accountID: account.accountID, userName: admin.userName, password: "") == nil)
            let first = try await accounts.assignRandomPassword(userID: admin.userID)
            #expect(first.count == 24)
            #expect(try await accounts.verifyPassword(accountID: account.accountID, userName: admin.userName, password: first) == admin)
            #expect(try await accounts.verifyPassword(accountID: nil, userName: admin.userName, password: first) == admin)
            #expect(try await accounts.verifyPassword(accountID: "other", userName: admin.userName, password: first) == nil)
            #expect(try await accounts.verifyPassword(accountID: account.accountID, userName: "nobody", password: first) == nil)

            // A new password replaces the old one, even though the old one was just verified (and remembered).
            try await accounts.setPassword(userID: admin.userID, password: "second password")
            #expect(try await accounts.verifyPassword(accountID: account.accountID, userName: admin.userName, password: first) == nil)
            #expect(try await accounts.verifyPassword(accountID: account.accountID, userName: admin.userName, password: "second password") == admin)

            // The same user name in two accounts: with no account given, the one whose password it is.
            let other = try await AccountFixture.addAccount(database)
            let twin = try await accounts.createUser(accountID: other, userName: admin.userName, displayName: "Twin")
            try await accounts.setPassword(userID: twin.userID, password: "twin password")
            #expect(try await accounts.verifyPassword(accountID: nil, userName: admin.userName, password: "twin password") == twin)
            #expect(try await accounts.verifyPassword(accountID: nil, userName: admin.userName, password: "second password") == admin)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deploymentNamePrefixesAreCheckedAndStored(engine: DatabaseEngine) async throws {
        try await withBootstrapped(engine) { accounts, account, _, _, _, database async throws in
            for bad in ["", "-acme", "acme-", "Acme", "ac_me", String(repeating: "a", count: 41)] {
                let refused = await AccountFixture.failure { try await accounts.setDeploymentNamePrefix(accountID: account.accountID, prefix: bad) }
                #expect(refused?.code == .invalidParameterValue, "\(bad)")
            }
            try await accounts.setDeploymentNamePrefix(accountID: account.accountID, prefix: String(repeating: "a", count: 40))
            try await accounts.setDeploymentNamePrefix(accountID: account.accountID, prefix: "a-1")
            let stored = try await database.read { db in
                try await db.select().column("deployment_name_prefix").from("accounts").where("account_id", .equal, account.accountID)
                    .first()?.decode(column: "deployment_name_prefix", as: String?.self)
            }
            #expect(stored == "a-1")
        }
    }
}
