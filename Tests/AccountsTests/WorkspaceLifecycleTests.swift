import Accounts
import Foundation
import KilnCore
import Logging
import Persistence
import PersistenceTestSupport
import Testing

/// The workspace lifecycle on every engine: PROVISIONING, then RUNNING or FAILED, repair, delete.
@Suite struct WorkspaceLifecycleTests {
    @Test(arguments: TestDatabases.engines)
    func provisionFailRepairDelete(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-storage-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let (account, _, _) = try #require(try await AccountStore(database: database).bootstrap(adminUserName: "a"))
            let resources = AccountResourceStore(database: database)
            let storage = WorkspaceStorage(root: root.path)
            let provisioner = WorkspaceProvisioner(database: database, storage: storage, logger: Logger(label: "t"))
            let workspaces = AccountWorkspaces(database: database, storage: storage)
            let credential = try await resources.create(
                .credentials, accountID: account.accountID,
                body: JSONTree.parse(
                    Array(
                        #"{"credentials_name":"c","aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}}"#.utf8)))
            let blocked = try await resources.create(
                .storageConfigurations, accountID: account.accountID,
                body: JSONTree.parse(
                    Array(
                        #"{"storage_configuration_name":"b","root_bucket_info":{"bucket_name":"blocked"}}"#.utf8)))
            try Data("not a folder".utf8).write(to: root.appendingPathComponent("blocked"))
            let created = try await workspaces.create(
                accountID: account.accountID,
                body: .object([
                    .init("workspace_name", .string("w")), .init("deployment_name", .string("w1")), .init("aws_region", .string("us-east-1")),
                    .init("credentials_id", credential["credentials_id"]!), .init("storage_configuration_id", blocked["storage_configuration_id"]!),
                ]))
            #expect(created["workspace_status"]?.stringValue == "PROVISIONING")
            let id = Int64(created["workspace_id"]!.doubleValue!)
            await provisioner.provisionPending()
            #expect(try await workspaces.get(accountID: account.accountID, workspaceID: id)["workspace_status"]?.stringValue == "FAILED")

            let good = try await resources.create(
                .storageConfigurations, accountID: account.accountID,
                body: JSONTree.parse(
                    Array(
                        #"{"storage_configuration_name":"g","root_bucket_info":{"bucket_name":"good"}}"#.utf8)))
            let repaired = try await workspaces.update(
                accountID: account.accountID, workspaceID: id,
                body: .object([.init("storage_configuration_id", good["storage_configuration_id"]!)]), mask: ["storage_configuration_id"])
            #expect(repaired["workspace_status"]?.stringValue == "PROVISIONING")
            await provisioner.provisionPending()
            #expect(try await workspaces.get(accountID: account.accountID, workspaceID: id)["workspace_status"]?.stringValue == "RUNNING")
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("good/\(id)/workspace.json").path))

            await #expect(throws: KilnError.self) {
                try await workspaces.update(
                    accountID: account.accountID, workspaceID: id,
                    body: .object([.init("aws_region", .string("us-west-2"))]), mask: ["aws_region"])
            }
            await #expect(throws: KilnError.self) {
                try await resources.delete(.credentials, accountID: account.accountID, id: credential["credentials_id"]!.stringValue!)
            }
            _ = try await workspaces.delete(accountID: account.accountID, workspaceID: id)
            await #expect(throws: KilnError.self) { try await workspaces.get(accountID: account.accountID, workspaceID: id) }
        }
    }
}
