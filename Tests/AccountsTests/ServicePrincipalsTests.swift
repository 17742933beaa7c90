import Foundation
import KilnCore
import Persistence
import PersistenceTestSupport
import SQLKit
import Testing
@testable import Accounts

/// Service principals: client id and secret, and the signed, expiring M2M access tokens they get.
@Suite struct ServicePrincipalsTests {
    func withPrincipals(
        _ engine: DatabaseEngine, _ body: @Sendable (ServicePrincipals, AccountStore, String, ManualClock, any Database) async throws -> Void
    ) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let (account, _, _) = try #require(try await accounts.bootstrap(adminUserName: "admin"))
            try await body(ServicePrincipals(database: database, clock: clock), accounts, account.accountID, clock, database)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aServicePrincipalIsAnAccountUserOutsideTheUserList(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, accounts, accountID, _, _ async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "robot", isAdmin: true)
            #expect(clientID.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
            #expect(secret.wholeMatch(of: /dose[0-9a-f]{40}/) != nil)
            let user = try #require(try await accounts.user(accountID: accountID, userName: clientID))
            #expect(user.displayName == "robot" && user.isAdmin)
            #expect(try await accounts.isServicePrincipal(userID: user.userID))
            #expect(try await accounts.users(accountID: accountID).map(\.userName) == ["admin"])
            #expect(try await accounts.admins(accountID: accountID).map(\.userName).sorted() == ["admin", clientID].sorted())
        }
    }

    @Test(arguments: TestDatabases.engines)
    func scimMakesServicePrincipalsWithoutASecretThatNoSecretLogsInAs(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, accounts, accountID, clock, _ async throws in
            let made = try await principals.create(accountID: accountID, displayName: "etl", applicationID: nil)
            clock.advance(millis: 1) // listed in creation order
            let chosen = try await principals.create(accountID: accountID, displayName: "deploy", applicationID: "app-42")
            #expect(chosen.applicationID == "app-42" && !made.applicationID.isEmpty && !made.user.isAdmin)
            #expect(try await principals.list(accountID: accountID).map(\.applicationID) == [made.applicationID, "app-42"])
            #expect(try await principals.principal(accountID: accountID, id: made.user.userID) == made)
            #expect(try await principals.principal(accountID: "other", id: made.user.userID) == nil)
            let admin = try #require(try await accounts.user(accountID: accountID, userName: "admin"))
            #expect(try await principals.principal(accountID: accountID, id: admin.userID) == nil)
            for secret in ["", TokenStore.hash(""), "dose" + String(repeating: "0", count: 40)] {
                #expect(try await principals.authenticate(clientID: made.applicationID, secret: secret) == nil)
            }
            await #expect(throws: KilnError.self) {
                try await principals.create(accountID: accountID, displayName: "again", applicationID: "app-42")
            }
            #expect(try await principals.list(accountID: accountID).count == 2)
        }
    }

    /// An application id is unique across accounts: another account's is refused as taken, not as a
    /// database error.
    @Test(arguments: TestDatabases.engines)
    func anApplicationIDOfAnotherAccountIsTaken(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, _, accountID, _, database async throws in
            try await database.write { db in
                try await db.insert(into: "accounts").columns("account_id", "account_name", "created_at")
                    .values(SQLBind("other-account"), SQLBind("Other"), SQLBind(0)).run()
            }
            _ = try await principals.create(accountID: accountID, displayName: "etl", applicationID: "shared-id")
            let error = await #expect(throws: KilnError.self) {
                try await principals.create(accountID: "other-account", displayName: "etl", applicationID: "shared-id")
            }
            #expect(error?.code == .resourceAlreadyExists)
            #expect(try await principals.list(accountID: "other-account").isEmpty)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func eachUnexpiredSecretLogsInUntilDeleted(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, _, accountID, clock, _ async throws in
            let robot = try await principals.create(accountID: accountID, displayName: "robot", applicationID: nil)
            let (long, longSecret) = try await principals.createSecret(for: robot)
            clock.advance(millis: 1)
            let (short, shortSecret) = try await principals.createSecret(for: robot, lifetimeSeconds: 60)
            #expect(long.expiresAt - long.createdAt == ServicePrincipals.defaultSecretLifetimeSeconds * 1000)
            #expect(try await principals.secrets(of: robot).map(\.id) == [long.id, short.id])
            for secret in [longSecret, shortSecret] {
                #expect(try await principals.authenticate(clientID: robot.applicationID, secret: secret)?.userID == robot.user.userID)
            }
            clock.advance(millis: 61_000) // the short one expired
            #expect(try await principals.authenticate(clientID: robot.applicationID, secret: shortSecret) == nil)
            try await principals.deleteSecret(id: long.id, of: robot)
            #expect(try await principals.authenticate(clientID: robot.applicationID, secret: longSecret) == nil)
            await #expect(throws: KilnError.self) { try await principals.deleteSecret(id: long.id, of: robot) }
            await #expect(throws: KilnError.self) { try await principals.createSecret(for: robot, lifetimeSeconds: 0) }
            #expect(try await principals.secrets(of: robot).map(\.id) == [short.id])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func onlyTheRightSecretAuthenticates(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, accounts, accountID, _, _ async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "a", isAdmin: false)
            let (otherID, otherSecret) = try await principals.create(accountID: accountID, displayName: "b", isAdmin: false)
            #expect(try await principals.authenticate(clientID: clientID, secret: secret)?.userName == clientID)
            #expect(try await principals.authenticate(clientID: otherID, secret: otherSecret)?.userName == otherID)
            #expect(try await principals.authenticate(clientID: clientID, secret: otherSecret) == nil)
            #expect(try await principals.authenticate(clientID: clientID, secret: secret + "x") == nil)
            #expect(try await principals.authenticate(clientID: clientID, secret: "") == nil)
            #expect(try await principals.authenticate(clientID: "unknown", secret: secret) == nil)
            // Deleting the user deletes the principal.
            let user = try #require(try await accounts.user(accountID: accountID, userName: clientID))
            try await accounts.deleteUser(accountID: accountID, userID: user.userID)
            #expect(try await principals.authenticate(clientID: clientID, secret: secret) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func accessTokensCarryTheirUserAndAudience(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, _, accountID, _, _ async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "a", isAdmin: false)
            let user = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            for audience in [ServicePrincipals.Audience.account(accountID), .workspace(1_234_567_890_123_456)] {
                let token = try await principals.issueToken(for: user, audience: audience)
                #expect(token.hasPrefix("kiln_m2m."))
                let (verifiedUser, verifiedAudience) = try #require(try await principals.verify(token))
                #expect(verifiedUser == user)
                #expect(verifiedAudience == audience)
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func anAccessTokenExpiresAfterAnHour(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, _, accountID, clock, _ async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "a", isAdmin: false)
            let user = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            let token = try await principals.issueToken(for: user, audience: .account(accountID))
            clock.advance(millis: (ServicePrincipals.tokenLifetimeSeconds - 1) * 1000)
            #expect(try await principals.verify(token) != nil)
            clock.advance(millis: 1000)
            #expect(try await principals.verify(token) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func forgedOrForeignTokensAreRefused(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, accounts, accountID, clock, database async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "a", isAdmin: false)
            let user = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            let token = try await principals.issueToken(for: user, audience: .workspace(7))
            let parts = token.split(separator: ".").map(String.init)
            #expect(parts.count == 3)
            let forgedPayload = Base64URL.encode(Data("\(user.userID)|account:\(accountID)|\(clock.nowMillis() / 1000 + 3600)".utf8))
            let flippedSignature = (parts[2].hasPrefix("A") ? "B" : "A") + parts[2].dropFirst()
            for forged in [
                "kiln_m2m.\(forgedPayload).\(parts[2])", "\(parts[0]).\(parts[1]).\(flippedSignature)",
                "other.\(parts[1]).\(parts[2])", "\(parts[0]).\(parts[1])", token + ".x", "", "dapi0123",
            ] {
                #expect(try await principals.verify(forged) == nil, "\(forged)")
            }
            // The signing key is kept in the database: another instance on it verifies the token.
            #expect(try await ServicePrincipals(database: database, clock: clock).verify(token) != nil)
            // A token whose user is gone is refused.
            try await accounts.deleteUser(accountID: accountID, userID: user.userID)
            #expect(try await principals.verify(token) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func tokensOfAnotherInstallationAreRefused(engine: DatabaseEngine) async throws {
        try await withPrincipals(engine) { principals, _, accountID, _, _ async throws in
            let (clientID, secret) = try await principals.create(accountID: accountID, displayName: "a", isAdmin: false)
            let user = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            let foreign = try await TestDatabases.with(engine) { other async throws in
                try await ServicePrincipals(database: other).issueToken(for: user, audience: .account(accountID))
            }
            #expect(try await principals.verify(foreign) == nil)
        }
    }

    @Test(
        arguments: [
            ("account:abc", ServicePrincipals.Audience.account("abc")), ("workspace:42", .workspace(42)),
            ("workspace:x", nil), ("user:1", nil), ("", nil),
        ] as [(String, ServicePrincipals.Audience?)])
    func audiencesAreWrittenAndReadBack(text: String, audience: ServicePrincipals.Audience?) {
        #expect(ServicePrincipals.Audience(text: text) == audience)
        if let audience { #expect(audience.text == text) }
    }
}
