import Accounts
import Foundation
import HTTPTypes
import KilnCore
import Testing

/// Who may call the workspace routes (`api/2.0`): a personal access token of the workspace, or Basic auth
/// of a user of its account; anything else is 401 `UNAUTHENTICATED` before a handler runs.
@Suite struct WorkspaceAuthenticationTests {
    static let workspaceRoutes: [(HTTPRequest.Method, String)] = [
        (.get, "/api/2.0/workspace/list?path=/"),
        (.post, "/api/2.0/workspace/mkdirs"),
        (.get, "/api/2.0/token/list"),
        (.get, "/api/2.0/preview/scim/v2/Me"),
        (.get, "/api/2.0/postgres/projects"),
    ]

    @Test(arguments: workspaceRoutes)
    func aRequestWithoutCredentialsIsUnauthenticated(method: HTTPRequest.Method, uri: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(method, uri, json: method == .post ? #"{"path": "/Shared"}"# : nil, auth: .none)
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "UNAUTHENTICATED")
            #expect(reply.headers[.contentType] == "application/json")
        }
    }

    @Test(arguments: [
        TestServer.Auth.bearer("dapi-not-a-token"),
        .header("Token abc"),
        .header("Bearer"),
        .header("Basic !!not-base64!!"),
        .header("Basic \(Data("no-colon".utf8).base64EncodedString())"),
    ])
    func badCredentialsAreUnauthenticated(auth: TestServer.Auth) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: auth)
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func aPersonalAccessTokenOpensTheWorkspace() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me")
            #expect(reply.status == .ok)
            #expect(reply["userName"]?.stringValue == TestServer.adminUserName)
        }
    }

    @Test func theBearerSchemeIsCaseInsensitive() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .header("bearer \(server.adminToken)"))
            #expect(reply.status == .ok)
        }
    }

    @Test func basicAuthOfTheAdminOpensTheWorkspaceAndAWrongPasswordDoesNot() async throws {
        try await TestServer.run(password: true) { server in
            let good = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: TestServer.adminBasic)
            #expect(good.status == .ok)
            #expect(good["userName"]?.stringValue == TestServer.adminUserName)

            let bad = try await server.call(
                .get, "/api/2.0/preview/scim/v2/Me", auth: .basic(TestServer.adminUserName, "wrong password"))
            #expect(bad.status == .unauthorized)
            #expect(bad.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func aUserWithoutAPasswordCannotUseBasicAuth() async throws {
        try await TestServer.run { server in
            _ = try await server.createUser("ada@example.com")
            for password in ["", "anything"] {
                let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .basic("ada@example.com", password))
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "UNAUTHENTICATED")
            }
        }
    }

    @Test func aTokenOfAUserRemovedFromTheWorkspaceOrTheAccountNoLongerWorks() async throws {
        try await TestServer.run { server in
            let (user, token) = try await server.createUser("ada@example.com")
            #expect(try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(token)).status == .ok)
            // The workspace's SCIM delete unassigns the user; the account keeps it.
            #expect(try await server.call(.delete, "/api/2.0/preview/scim/v2/Users/\(user.userID)").status == .ok)
            let unassigned = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(token))
            #expect(unassigned.status == .forbidden)
            #expect(unassigned.errorCode == "PERMISSION_DENIED")
            #expect(try await server.call(.get, server.accountPath("scim/v2/Users/\(user.userID)")).status == .ok)
            #expect(try await server.call(.delete, server.accountPath("scim/v2/Users/\(user.userID)")).status == .ok)
            let deleted = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(token))
            #expect(deleted.status == .unauthorized)
            #expect(deleted.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func aTokenOfOneWorkspaceDoesNotOpenAnother() async throws {
        try await TestServer.run(password: true) { server in
            _ = try await server.createWorkspace(deploymentName: "other")
            await server.provisionWorkspaces()
            let withToken = try await server.call(.get, "/w/other/api/2.0/preview/scim/v2/Me")
            #expect(withToken.status == .unauthorized)
            #expect(withToken.errorCode == "UNAUTHENTICATED")
            // Basic auth is the account user's, so it opens every workspace of the account.
            let withPassword = try await server.call(.get, "/w/other/api/2.0/preview/scim/v2/Me", auth: TestServer.adminBasic)
            #expect(withPassword.status == .ok)
        }
    }

    @Test func aWorkspaceThatIsNotRunningAnswersInvalidStateButItsAccountRoutesWork() async throws {
        try await TestServer.run(password: true) { server in
            let id = try await server.createWorkspace(deploymentName: "pending")
            // The account admin (Basic auth opens every workspace of the account) is told why.
            let reply = try await server.call(.get, "/w/pending/api/2.0/workspace/list?path=/", auth: TestServer.adminBasic)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_STATE")
            #expect(reply.message?.contains("PROVISIONING") == true)
            // Without credentials, or with a token of another workspace, nothing of its state shows.
            let otherToken = try await server.call(.get, "/w/pending/api/2.0/workspace/list?path=/", auth: .adminToken)
            #expect(otherToken.errorCode == "UNAUTHENTICATED")
            let anonymous = try await server.call(.get, "/w/pending/api/2.0/workspace/list?path=/", auth: .none)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.errorCode == "UNAUTHENTICATED")
            let account = try await server.call(.get, "/w/pending" + server.accountPath("workspaces/\(id)"))
            #expect(account.status == .ok)
            #expect(account["workspace_status"]?.stringValue == "PROVISIONING")

            await server.provisionWorkspaces()
            let running = try await server.call(.get, server.accountPath("workspaces/\(id)"))
            #expect(running["workspace_status"]?.stringValue == "RUNNING")
            let served = try await server.call(.get, "/w/pending/api/2.0/workspace/list?path=/", auth: .none)
            #expect(served.errorCode == "UNAUTHENTICATED")
        }
    }

    @Test func anUnknownRouteIsEndpointNotFound() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/no-such-api")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "ENDPOINT_NOT_FOUND")
        }
    }
}
