import Accounts
import HTTPTypes
import KilnCore
import KilnHTTP
import Testing

/// Who may call the Account API (`api/2.0/accounts/{account_id}/…`): an admin of the account in the path,
/// by Basic auth or by a token of theirs (`Authenticator.authenticateAccountAdmin`).
@Suite struct AccountAuthenticationTests {
    @Test func withoutCredentialsTheAccountAPIIsUnauthenticated() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, server.accountPath("workspaces"), auth: .none)
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func basicAuthOfTheAccountAdminOpensIt() async throws {
        try await TestServer.run(password: true) { server in
            let reply = try await server.call(.get, server.accountPath("workspaces"), auth: TestServer.adminBasic)
            #expect(reply.status == .ok)
            #expect(reply.json?.arrayValue?.count == 1)

            let wrong = try await server.call(
                .get, server.accountPath("workspaces"), auth: .basic(TestServer.adminUserName, "not it"))
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "UNAUTHENTICATED")
        }
    }

    /// Databricks' Account API takes no workspace PATs; Kiln's takes the token of an account admin
    /// (the documented design of `Authenticator.authenticateAccountAdmin`), and refuses unknown tokens.
    @Test func aTokenOfTheAccountAdminOpensItAndAnUnknownTokenDoesNot() async throws {
        try await TestServer.run { server in
            let admin = try await server.call(.get, server.accountPath("workspaces"))
            #expect(admin.status == .ok)
            let unknown = try await server.call(.get, server.accountPath("workspaces"), auth: .bearer("dapi-unknown"))
            #expect(unknown.status == .unauthorized)
            #expect(unknown.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func aUserWhoIsNotAnAdminIsPermissionDenied() async throws {
        try await TestServer.run { server in
            let (_, token) = try await server.createUser("ada@example.com")
            let reply = try await server.call(.get, server.accountPath("workspaces"), auth: .bearer(token))
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == "PERMISSION_DENIED")
            // The same token still opens the workspace.
            let me = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(token))
            #expect(me.status == .ok)
            #expect(me["userName"]?.stringValue == "ada@example.com")
        }
    }

    @Test func anotherAccountInThePathLooksLikeOneThatDoesNotExist() async throws {
        try await TestServer.run(password: true) { server in
            for auth in [TestServer.Auth.adminToken, TestServer.adminBasic] {
                let reply = try await server.call(.get, "/api/2.0/accounts/not-our-account/workspaces", auth: auth)
                #expect(reply.status == .notFound)
                #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST")
            }
        }
    }

    @Test func aWorkspaceOAuthTokenIsRefusedButAnAccountOneOfAnAdminPrincipalWorks() async throws {
        try await TestServer.run { server in
            let principals = server.services.servicePrincipals
            let (clientID, secret) = try await principals.create(accountID: server.accountID, displayName: "robot", isAdmin: true)
            let principal = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            let workspaceToken = try await principals.issueToken(for: principal, audience: .workspace(server.workspace.workspaceID))
            let accountToken = try await principals.issueToken(for: principal, audience: .account(server.accountID))

            let refused = try await server.call(.get, server.accountPath("workspaces"), auth: .bearer(workspaceToken))
            #expect(refused.status == .unauthorized)
            #expect(refused.errorCode == "UNAUTHENTICATED")
            let accepted = try await server.call(.get, server.accountPath("workspaces"), auth: .bearer(accountToken))
            #expect(accepted.status == .ok)
            // Both open the workspace itself once the principal is assigned to it.
            let unassigned = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(accountToken))
            #expect(unassigned.status == .forbidden)
            #expect(unassigned.errorCode == "PERMISSION_DENIED")
            try await server.services.accounts.assignments.set(
                workspaceID: server.workspace.workspaceID, principalID: principal.userID, permission: .user)
            for token in [workspaceToken, accountToken] {
                let me = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(token))
                #expect(me.status == .ok)
            }
        }
    }

    @Test func anOAuthTokenOfAPrincipalThatIsNotAnAdminIsPermissionDenied() async throws {
        try await TestServer.run { server in
            let principals = server.services.servicePrincipals
            let (clientID, secret) = try await principals.create(accountID: server.accountID, displayName: "robot", isAdmin: false)
            let principal = try #require(try await principals.authenticate(clientID: clientID, secret: secret))
            let token = try await principals.issueToken(for: principal, audience: .account(server.accountID))
            let reply = try await server.call(.get, server.accountPath("workspaces"), auth: .bearer(token))
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == "PERMISSION_DENIED")
        }
    }
}
