import Compute
import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// The identities `databricks_create_role` accepts reach the endpoint's data directory.
@Suite struct IdentitiesTests {
    @Test func publishingWritesTheWorkspacesIdentitiesIntoTheRunningComputesDataDirectory() async throws {
        let driver = FakeComputeDriver()
        let identities: @Sendable (Int64) async throws -> [String: String] = { workspaceID in
            workspaceID == 1 ? ["ada@example.com": "USER", "0f3c-app": "SERVICE_PRINCIPAL", "admins": "GROUP"] : [:]
        }
        try await LakebaseHarness.withStorage { root in
            try await LakebaseHarness.run(root: root, driver: driver, identities: identities) { lake in
                try await lake.createProject()
                let uid = try await lake.uid(ProjectTests.production + "/endpoints/primary")
                let endpoint = try #require(try await lake.connectable(uid))
                await lake.service.publishIdentities(for: endpoint)
                let directory = try #require(await driver.spec(id: uid)?.dataDirectory)
                #expect(
                    driver.file(DatabricksAuthExtension.identitiesFile, inDataDirectory: directory)
                        == #"{"0f3c-app":"SERVICE_PRINCIPAL","ada@example.com":"USER","admins":"GROUP"}"#)
            }
        }
    }
}
