import Accounts
import HTTPTypes
import KilnCore
import Testing

/// The Account API's routes (`AccountController`): configurations and workspaces, lists as bare arrays,
/// validation failures as Databricks answers them.
@Suite struct AccountRoutesTests {
    static let credentialsBody = """
        {"credentials_name": "main", "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/kiln"}}}
        """

    @Test func aCredentialConfigurationIsCreatedReadListedAndDeleted() async throws {
        try await TestServer.run { server in
            let created = try await server.call(.post, server.accountPath("credentials"), json: Self.credentialsBody)
            #expect(created.status == .ok)
            let id = try #require(created["credentials_id"]?.stringValue)
            #expect(created["account_id"]?.stringValue == server.accountID)
            // Databricks fills in the external id with the account id.
            #expect(created["aws_credentials"]?["sts_role"]?["external_id"]?.stringValue == server.accountID)

            let read = try await server.call(.get, server.accountPath("credentials/\(id)"))
            #expect(read.status == .ok)
            #expect(read["credentials_name"]?.stringValue == "main")

            let list = try await server.call(.get, server.accountPath("credentials"))
            #expect(list.json?.arrayValue?.compactMap { $0["credentials_id"]?.stringValue } == [id])

            let deleted = try await server.call(.delete, server.accountPath("credentials/\(id)"))
            #expect(deleted.status == .ok)
            let gone = try await server.call(.get, server.accountPath("credentials/\(id)"))
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let emptyList = try await server.call(.get, server.accountPath("credentials"))
            #expect(emptyList.json == .array([]))
        }
    }

    @Test(arguments: [
        #"{"aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/kiln"}}}"#,
        #"{"credentials_name": "x", "aws_credentials": {"sts_role": {"role_arn": "not-an-arn"}}}"#,
        #"{"credentials_name": "x"}"#,
        "[]",
    ])
    func anInvalidCredentialConfigurationIsMalformed(body: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, server.accountPath("credentials"), json: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "MALFORMED_REQUEST")
            #expect(try await server.call(.get, server.accountPath("credentials")).json == .array([]))
        }
    }

    @Test func aSecondConfigurationWithTheSameNameIsRefused() async throws {
        try await TestServer.run { server in
            #expect(try await server.call(.post, server.accountPath("credentials"), json: Self.credentialsBody).status == .ok)
            let again = try await server.call(.post, server.accountPath("credentials"), json: Self.credentialsBody)
            #expect(again.status == .badRequest)
            #expect(again.errorCode == "RESOURCE_ALREADY_EXISTS")
        }
    }

    @Test func aWorkspaceIsCreatedReadAndListedAndBecomesRunning() async throws {
        try await TestServer.run { server in
            let id = try await server.createWorkspace(deploymentName: "team")
            let read = try await server.call(.get, server.accountPath("workspaces/\(id)"))
            #expect(read.status == .ok)
            #expect(read["workspace_id"]?.int64Value == id)
            #expect(read["deployment_name"]?.stringValue == "team")
            #expect(read["workspace_status"]?.stringValue == "PROVISIONING")
            #expect(read["pricing_tier"]?.stringValue == "PREMIUM")

            let list = try await server.call(.get, server.accountPath("workspaces"))
            let ids = try #require(list.json?.arrayValue).compactMap { $0["workspace_id"]?.int64Value }
            #expect(ids == [server.workspace.workspaceID, id])

            await server.provisionWorkspaces()
            let running = try await server.call(.get, server.accountPath("workspaces/\(id)"))
            #expect(running["workspace_status"]?.stringValue == "RUNNING")
        }
    }

    @Test(arguments: [
        (#"{"aws_region": "us-east-1"}"#, "workspace_name is required"),
        (#"{"workspace_name": "w"}"#, "aws_region is required"),
        (#"{"workspace_name": "w", "aws_region": "mars-1"}"#, "region mars-1 is not supported"),
        (#"{"workspace_name": "w", "aws_region": "us-east-1"}"#, "credentials_id is required"),
    ])
    func anInvalidWorkspaceIsMalformed(body: String, reason: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, server.accountPath("workspaces"), json: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "MALFORMED_REQUEST")
            #expect(reply.message?.contains(reason) == true, "\(reply.text)")
        }
    }

    @Test func aWorkspaceThatRefersToAMissingConfigurationIsRefused() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(
                .post, server.accountPath("workspaces"),
                json: """
                    {"workspace_name": "w", "aws_region": "us-east-1", "credentials_id": "nope", "storage_configuration_id": "nope"}
                    """)
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func workspaceIDsInThePathAreNumbersOfThisAccount() async throws {
        try await TestServer.run { server in
            let notANumber = try await server.call(.get, server.accountPath("workspaces/abc"))
            #expect(notANumber.status == .badRequest)
            #expect(notANumber.errorCode == "INVALID_PARAMETER_VALUE")
            let unknown = try await server.call(.get, server.accountPath("workspaces/12345"))
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func theDefaultWorkspaceCannotBeDeleted() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.delete, server.accountPath("workspaces/\(server.workspace.workspaceID)"))
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_STATE")
            #expect(try await server.call(.get, server.accountPath("workspaces/\(server.workspace.workspaceID)")).status == .ok)
        }
    }

    @Test func aDeletedWorkspaceIsGoneAndItsURLServesNothing() async throws {
        try await TestServer.run { server in
            let id = try await server.createWorkspace(deploymentName: "brief")
            await server.provisionWorkspaces()
            let deleted = try await server.call(.delete, server.accountPath("workspaces/\(id)"))
            #expect(deleted.status == .ok)
            #expect(deleted["workspace_id"]?.int64Value == id)
            let gone = try await server.call(.get, server.accountPath("workspaces/\(id)"))
            #expect(gone.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let url = try await server.call(.get, "/w/brief/api/2.0/workspace/list?path=/")
            #expect(url.status == .notFound)
            #expect(url.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }
}
