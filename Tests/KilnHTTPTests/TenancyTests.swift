import Accounts
import HTTPTypes
import KilnCore
import Testing

/// Which workspace a request addresses (`TenantResponder`, `WorkspacePathPrefix`): the `/w/<deployment>`
/// prefix, a `<deployment>.localhost` host, the `X-Databricks-Workspace-Id` header, else the default
/// workspace. Each case is observed through `scim/v2/Me`, which names the workspace in `X-Databricks-Org-Id`.
@Suite struct TenancyTests {
    /// Runs `body` with a second, RUNNING workspace `ws1` and the admin's token there.
    func withTwoWorkspaces(_ body: @Sendable (TestServer, Int64, TestServer.Auth) async throws -> Void) async throws {
        try await TestServer.run { server in
            let id = try await server.createWorkspace(deploymentName: "ws1")
            await server.provisionWorkspaces()
            try await body(server, id, .bearer(try await server.adminToken(in: id)))
        }
    }

    func orgID(_ reply: Reply) -> Int64? { reply.headers[.orgID].flatMap { Int64($0) } }

    @Test func theBareHostIsTheDefaultWorkspace() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me")
            #expect(orgID(reply) == server.workspace.workspaceID)
        }
    }

    @Test func aPathPrefixAHostAndAWorkspaceIDHeaderEachChooseTheWorkspace() async throws {
        try await withTwoWorkspaces { server, id, ws1 in
            let byPrefix = try await server.call(.get, "/w/ws1/api/2.0/preview/scim/v2/Me", auth: ws1)
            #expect(byPrefix.status == .ok)
            #expect(orgID(byPrefix) == id)

            let byHost = try await server.call(
                .get, "/api/2.0/preview/scim/v2/Me", headers: [.host: "WS1.localhost:8080"], auth: ws1)
            #expect(byHost.status == .ok)
            #expect(orgID(byHost) == id)

            let byHeader = try await server.call(
                .get, "/api/2.0/preview/scim/v2/Me", headers: [.workspaceID: String(id)], auth: ws1)
            #expect(byHeader.status == .ok)
            #expect(orgID(byHeader) == id)

            // A header that agrees with the URL is accepted, surrounding spaces and all.
            let matching = try await server.call(
                .get, "/w/ws1/api/2.0/preview/scim/v2/Me", headers: [.workspaceID: " \(id) "], auth: ws1)
            #expect(orgID(matching) == id)
        }
    }

    @Test func theWorkspacesKeepTheirObjectsApart() async throws {
        try await withTwoWorkspaces { server, _, ws1 in
            let made = try await server.call(
                .post, "/w/ws1/api/2.0/workspace/mkdirs", json: #"{"path": "/only-in-ws1"}"#, auth: ws1)
            #expect(made.status == .ok)
            let there = try await server.call(
                .get, "/w/ws1/api/2.0/workspace/get-status?path=/only-in-ws1", auth: ws1)
            #expect(there.status == .ok)
            let notHere = try await server.call(.get, "/api/2.0/workspace/get-status?path=/only-in-ws1")
            #expect(notHere.status == .notFound)
            #expect(notHere.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func aWorkspaceIDHeaderThatContradictsTheURLIsRefused() async throws {
        try await withTwoWorkspaces { server, _, ws1 in
            let reply = try await server.call(
                .get, "/w/ws1/api/2.0/preview/scim/v2/Me", headers: [.workspaceID: String(server.workspace.workspaceID)],
                auth: ws1)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(reply.message?.contains("does not match") == true)

            let byHost = try await server.call(
                .get, "/api/2.0/preview/scim/v2/Me",
                headers: [.host: "ws1.localhost", .workspaceID: String(server.workspace.workspaceID)], auth: ws1)
            #expect(byHost.errorCode == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test(arguments: ["abc", "12.5", ""])
    func aWorkspaceIDHeaderMustBeANumber(value: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", headers: [.workspaceID: value])
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test func anUnknownWorkspaceIsResourceDoesNotExistEvenOnPublicRoutes() async throws {
        try await TestServer.run { server in
            let byHeader = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", headers: [.workspaceID: "424242"])
            #expect(byHeader.status == .notFound)
            #expect(byHeader.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let byPrefix = try await server.call(.get, "/w/nowhere/healthz", auth: .none)
            #expect(byPrefix.status == .notFound)
            #expect(byPrefix.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let byHost = try await server.call(.get, "/healthz", headers: [.host: "nowhere.localhost"], auth: .none)
            #expect(byHost.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func hostsOutsideTheBaseDomainAreTheDefaultWorkspace() async throws {
        try await withTwoWorkspaces { server, _, _ in
            for host in ["127.0.0.1:8080", "localhost", "ws1.example.com", "a.ws1.localhost", "[::1]:8080"] {
                let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", headers: [.host: host])
                #expect(reply.status == .ok, "\(host)")
                #expect(orgID(reply) == server.workspace.workspaceID, "\(host)")
            }
        }
    }

    @Test func aClientCannotChooseTheDeploymentThroughTheInternalHeader() async throws {
        try await withTwoWorkspaces { server, _, _ in
            let reply = try await server.call(
                .get, "/api/2.0/preview/scim/v2/Me", headers: [.kilnDeploymentHeader: "ws1"])
            #expect(reply.status == .ok)
            #expect(orgID(reply) == server.workspace.workspaceID)
        }
    }
}

extension HTTPField.Name {
    static let workspaceID = HTTPField.Name("X-Databricks-Workspace-Id")!
    static let orgID = HTTPField.Name("X-Databricks-Org-Id")!
    static let kilnDeploymentHeader = HTTPField.Name("X-Kiln-Deployment")!
}
