import Accounts
import HTTPTypes
import KilnCore
import KilnHTTP
import Prometheus
import Testing

/// Routes that need no credentials — health and the SDK's host-metadata probe — answer whatever
/// `Authorization` header comes with them.
@Suite struct PublicRoutesTests {
    static let credentials: [TestServer.Auth] = [.none, .bearer("dapi-not-a-token"), .header("Garbage")]

    @Test(arguments: credentials)
    func healthNeedsNoCredentials(auth: TestServer.Auth) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/healthz", auth: auth)
            #expect(reply.status == .ok)
            #expect(reply["status"]?.stringValue == "ok")
        }
    }

    @Test(arguments: credentials)
    func hostMetadataOfTheBareHostNamesTheAccountsOIDCEndpoint(auth: TestServer.Auth) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/.well-known/databricks-config", auth: auth)
            #expect(reply.status == .ok)
            #expect(reply["account_id"]?.stringValue == server.accountID)
            #expect(reply["workspace_id"]?.stringValue == String(server.workspace.workspaceID))
            #expect(reply["oidc_endpoint"]?.stringValue == "http://localhost/oidc/accounts/{account_id}")
        }
    }

    @Test func hostMetadataOfAWorkspacePrefixNamesTheWorkspacesOwnEndpoint() async throws {
        try await TestServer.run { server in
            let id = try await server.createWorkspace(deploymentName: "ws2")
            let reply = try await server.call(.get, "/w/ws2/.well-known/databricks-config", auth: .none)
            #expect(reply.status == .ok)
            #expect(reply["workspace_id"]?.stringValue == String(id))
            #expect(reply["oidc_endpoint"]?.stringValue == "http://localhost/w/ws2/oidc")
        }
    }

    @Test func metricsNeedNoCredentialsAndShowWhatWasRecorded() async throws {
        try await TestServer.run { server in
            server.services.metrics.makeCounter(name: "kiln_test_requests", labels: [("route", "x")]).increment(by: Int64(3))
            let reply = try await server.call(.get, "/metrics", auth: .bearer("dapi-not-a-token"))
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(reply.text.contains(#"kiln_test_requests{route="x"} 3"#))
        }
    }

    @Test func errorsAreJSONWithTheDatabricksEnvelope() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/no/such/page", auth: .none)
            #expect(reply.status == .notFound)
            #expect(reply.headers[.contentType] == "application/json")
            #expect(reply.errorCode == "ENDPOINT_NOT_FOUND")
            #expect(reply.message == "No API found for 'GET /no/such/page'")
        }
    }
}
