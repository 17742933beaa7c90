import Foundation
import KilnCore
import Logging
import Persistence
import PersistenceTestSupport
import Synchronization
import Testing
@testable import Accounts

/// The Account API's workspaces: create, provisioning, the update rules, delete and storage areas.
@Suite struct AccountWorkspacesTests {
    @Test(arguments: TestDatabases.engines)
    func createRecordsAProvisioningWorkspaceThatTheProvisionerRuns(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, created) = try await setup.create([
                "deployment_name": .string("w1"), "workspace_status": .string("RUNNING"), "unknown_field": .string("x"),
            ])
            #expect(created["workspace_status"] == .string("PROVISIONING"))
            #expect(created["workspace_status_message"] == .string("Workspace is being provisioned."))
            #expect(created["workspace_name"] == .string("w"))
            #expect(created["deployment_name"] == .string("w1"))
            #expect(created["account_id"] == .string(setup.accountID))
            #expect(created["creation_time"] == .integer(setup.clock.nowMillis()))
            #expect(created["cloud"] == .string("aws"))
            #expect(created["pricing_tier"] == .string("PREMIUM"))
            #expect(created["credentials_id"] == .string(setup.credentialsID))
            #expect(created["unknown_field"] == nil)
            #expect(setup.events.wakeups.withLock { $0 } == 1)
            #expect(try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id) == created)
            let listed = try await setup.workspaces.list(accountID: setup.accountID).map { AccountFixture.integer($0["workspace_id"]) }
            #expect(listed == [setup.defaultWorkspace.workspaceID, id])

            await setup.provisioner.provisionPending()
            let running = try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id)
            #expect(running["workspace_status"] == .string("RUNNING"))
            #expect(running["workspace_status_message"] == .string("Workspace is running."))
            #expect(setup.events.prepared.withLock { $0 } == [id])
            let marker = try String(contentsOf: setup.area(id).appendingPathComponent("workspace.json"), encoding: .utf8)
            #expect(marker == "{\"workspace_id\":\(id)}\n")
            // A second pass finds nothing to do.
            await setup.provisioner.provisionPending()
            #expect(setup.events.prepared.withLock { $0 } == [id])
            #expect(try await AccountStore(database: setup.database).workspace(deploymentName: "w1")?.status == "RUNNING")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func workspacesOutsideAWSNeedNoRegionCredentialsOrStorage(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, created) = try await setup.create([
                "cloud": .string("GCP"), "aws_region": .null, "credentials_id": .null, "storage_configuration_id": .null,
                "location": .string("us-central1"),
            ])
            #expect(created["cloud"] == .string("gcp"))
            #expect(created["location"] == .string("us-central1"))
            #expect(created["credentials_id"] == nil)
            #expect(try await setup.workspaces.storageArea(workspaceID: id) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deploymentNamesAreGeneratedPrefixedAndUnique(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (_, generated) = try await setup.create()
            let name = try #require(generated["deployment_name"]?.stringValue)
            #expect(name.wholeMatch(of: /dbc-[0-9a-f]{8}-[0-9a-f]{4}/) != nil)
            let unprefixed = await AccountFixture.failure { try await setup.create(["deployment_name": .string("EMPTY")]) }
            #expect(unprefixed?.code == .malformedRequest)
            #expect(unprefixed?.message == "Failed parameter validation checks: deployment_name EMPTY needs an account deployment name prefix.")

            try await AccountStore(database: setup.database).setDeploymentNamePrefix(accountID: setup.accountID, prefix: "acme")
            #expect(try await setup.create(["deployment_name": .string("x")]).1["deployment_name"] == .string("acme-x"))
            #expect(try await setup.create(["deployment_name": .string("EMPTY")]).1["deployment_name"] == .string("acme"))
            let taken = await AccountFixture.failure { try await setup.create(["deployment_name": .string("x")]) }
            #expect(taken?.code == .resourceAlreadyExists)
            #expect(taken?.message == "Deployment name acme-x is already used by another workspace.")
            #expect(try await setup.workspaces.list(accountID: setup.accountID).count == 4)
        }
    }

    /// A create body with one field changed, and the error Databricks answers.
    struct InvalidCreate: Sendable, CustomTestStringConvertible {
        var field: String
        var value: JSONTree
        var code: ErrorCode
        /// The expected message; `{account}` stands for the account id.
        var message: String
        var testDescription: String { "\(field)=\(String(decoding: value.compactJSON(), as: UTF8.self))" }

        static func malformed(_ field: String, _ value: JSONTree, _ reason: String) -> Self {
            Self(field: field, value: value, code: .malformedRequest, message: "Failed parameter validation checks: \(reason)")
        }

        static let all: [Self] = [
            .malformed("workspace_name", .null, "workspace_name is required."),
            .malformed("workspace_name", .string(""), "workspace_name is required."),
            .malformed("aws_region", .null, "aws_region is required."),
            .malformed("credentials_id", .null, "credentials_id is required."),
            .malformed("storage_configuration_id", .null, "storage_configuration_id is required."),
            .malformed("pricing_tier", .string("GOLD"), "pricing_tier GOLD is not valid."),
            .malformed("compute_mode", .string("FAST"), "compute_mode FAST is not one of HYBRID, SERVERLESS."),
            .malformed("custom_tags", .array([]), "custom_tags must be an object of strings."),
            .malformed("custom_tags", .object([.init("k", .integer(1))]), "custom tag k is invalid: keys are 1-127 characters, values up to 255."),
            .malformed("custom_tags", .object([.init("", .string("v"))]), "custom tag  is invalid: keys are 1-127 characters, values up to 255."),
            .malformed(
                "deployment_name", .string("Bad_Name"),
                "deployment_name Bad_Name must be 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen."),
            .malformed(
                "deployment_name", .string("trailing-"),
                "deployment_name trailing- must be 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen."),
            .malformed("deployment_name", .string("default"), "deployment_name default is reserved."),
            .malformed("deployment_name", .string("w"), "deployment_name w is reserved."),
            Self(
                field: "credentials_id", value: .string("nope"), code: .resourceDoesNotExist,
                message: "Credential configuration nope referenced by credentials_id does not exist in account {account}."),
            Self(
                field: "network_id", value: .string("nope"), code: .resourceDoesNotExist,
                message: "Network configuration nope referenced by network_id does not exist in account {account}."),
        ]
    }

    @Test(arguments: TestDatabases.engines, InvalidCreate.all)
    func createRefusesInvalidWorkspaces(engine: DatabaseEngine, invalid: InvalidCreate) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let failure = await AccountFixture.failure { try await setup.create([invalid.field: invalid.value]) }
            #expect(failure?.code == invalid.code)
            #expect(failure?.message == invalid.message.replacingOccurrences(of: "{account}", with: setup.accountID))
            #expect(try await setup.workspaces.list(accountID: setup.accountID).count == 1)
            #expect(setup.events.wakeups.withLock { $0 } == 0)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aKeyIsAcceptedOnlyForItsUseCase(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let key = try await setup.resources.create(
                .customerManagedKeys, accountID: setup.accountID, body: AccountFixture.key(useCases: #"["MANAGED_SERVICES"]"#))
            let keyID = try #require(key["customer_managed_key_id"])
            let refused = await AccountFixture.failure { try await setup.create(["storage_customer_managed_key_id": keyID]) }
            #expect(refused?.code == .malformedRequest)
            #expect(
                refused?.message
                    == "Failed parameter validation checks: key \(keyID.stringValue!) in storage_customer_managed_key_id does not have the use case STORAGE.")
            let (_, created) = try await setup.create(["managed_services_customer_managed_key_id": keyID])
            #expect(created["managed_services_customer_managed_key_id"] == keyID)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func provisioningFailsWithTheReasonAndARepairRedeploys(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, _) = try await setup.create(["workspace_name": .string("unpreparable"), "deployment_name": .string("u1")])
            await setup.provisioner.provisionPending()
            let failed = try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id)
            #expect(failed["workspace_status"] == .string("FAILED"))
            #expect(failed["workspace_status_message"] == .string("Workspace provisioning failed: cannot prepare"))

            let renamed = await AccountFixture.failure {
                try await setup.workspaces.update(
                    accountID: setup.accountID, workspaceID: id,
                    body: setup.body(["deployment_name": .string("u2")]), mask: ["deployment_name"])
            }
            #expect(renamed?.code == .invalidState)
            #expect(renamed?.message == "The deployment name of a workspace cannot be changed.")
            #expect(try await setup.status(id) == "FAILED")

            let repaired = try await setup.updateSettled(
                id, body: .object([.init("workspace_name", .string("fixed")), .init("workspace_status", .string("RUNNING"))]), mask: nil)
            #expect(repaired["workspace_status"] == .string("RUNNING"))
            #expect(repaired["workspace_name"] == .string("fixed"))
            #expect(repaired["deployment_name"] == .string("u1"))
            #expect(setup.events.prepared.withLock { $0 } == [id, id])
            #expect(try await AccountStore(database: setup.database).workspace(id: id)?.name == "fixed")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aRunningWorkspaceTakesOnlyTheChangesItAllows(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, _) = try await setup.create()
            await setup.provisioner.provisionPending()
            let running = try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id)
            let wakeups = setup.events.wakeups.withLock { $0 }

            // Nothing that really changes: the workspace comes back as it is, and nothing is provisioned.
            let same = try await setup.workspaces.update(
                accountID: setup.accountID, workspaceID: id,
                body: .object([.init("credentials_id", .string(setup.credentialsID)), .init("workspace_status", .string("FAILED"))]), mask: nil)
            #expect(same == running)
            #expect(setup.events.wakeups.withLock { $0 } == wakeups)

            let renamed = await AccountFixture.failure {
                try await setup.workspaces.update(
                    accountID: setup.accountID, workspaceID: id,
                    body: .object([.init("workspace_name", .string("x"))]), mask: nil)
            }
            #expect(renamed?.code == .invalidState)
            #expect(renamed?.message.hasPrefix("Field workspace_name of a RUNNING workspace cannot be changed") == true)
            let unknown = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: setup.accountID, workspaceID: id, body: .object([]), mask: ["bogus"])
            }
            #expect(unknown?.code == .invalidParameterValue)
            #expect(unknown?.message == "Field bogus cannot be updated.")
            let notObject = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: setup.accountID, workspaceID: id, body: .string("x"), mask: nil)
            }
            #expect(notObject?.code == .malformedRequest)
            let dangling = await AccountFixture.failure {
                try await setup.workspaces.update(
                    accountID: setup.accountID, workspaceID: id,
                    body: .object([.init("credentials_id", .string("nope"))]), mask: nil)
            }
            #expect(dangling?.code == .resourceDoesNotExist)
            #expect(try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id) == running)

            let newCredential = try await setup.resources.create(
                .credentials, accountID: setup.accountID, body: AccountFixture.body(.credentials, name: "rotated"))
            let rotatedID = try #require(newCredential["credentials_id"])
            let updated = try await setup.updateSettled(id, body: .object([.init("credentials_id", rotatedID)]), mask: ["credentials_id"])
            #expect(updated["workspace_status"] == .string("RUNNING"))
            #expect(updated["workspace_status_message"] == .string("Workspace is running."))
            #expect(updated["credentials_id"] == rotatedID)
            #expect(setup.events.wakeups.withLock { $0 } == wakeups + 1)
            // An update re-checks references but leaves the contents alone: no second preparation.
            #expect(setup.events.prepared.withLock { $0 } == [id])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func updatesAreRefusedForDefaultMissingAndProvisioningWorkspaces(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let rename = JSONTree.object([.init("workspace_name", .string("x"))])
            let defaultID = setup.defaultWorkspace.workspaceID
            let onDefault = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: setup.accountID, workspaceID: defaultID, body: rename, mask: nil)
            }
            #expect(onDefault?.code == .invalidState)
            #expect(onDefault?.message == "The default workspace is managed by Kiln and cannot be updated.")
            let missing = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: setup.accountID, workspaceID: 42, body: rename, mask: nil)
            }
            #expect(missing?.code == .resourceDoesNotExist)
            #expect(missing?.message == "Workspace 42 does not exist.")

            let (id, _) = try await setup.create()
            let provisioning = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: setup.accountID, workspaceID: id, body: rename, mask: nil)
            }
            #expect(provisioning?.code == .invalidState)
            #expect(provisioning?.message == "Workspace \(id) is PROVISIONING; wait until it is RUNNING or FAILED.")
            let other = try await AccountFixture.addAccount(setup.database)
            let elsewhere = await AccountFixture.failure {
                try await setup.workspaces.update(accountID: other, workspaceID: id, body: rename, mask: nil)
            }
            #expect(elsewhere?.code == .resourceDoesNotExist)
            let hidden = await AccountFixture.failure { try await setup.workspaces.get(accountID: other, workspaceID: id) }
            #expect(hidden?.code == .resourceDoesNotExist)
            #expect(try await setup.workspaces.list(accountID: other).isEmpty)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func deleteRemovesTheRowsThenTellsThenRemovesTheStorage(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, _) = try await setup.create()
            await setup.provisioner.provisionPending()
            let running = try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id)
            let tokens = TokenStore(database: setup.database, clock: setup.clock)
            let (secret, _) = try await tokens.create(workspaceID: id, userID: setup.admin.userID, comment: "", lifetimeSeconds: nil)
            #expect(FileManager.default.fileExists(atPath: setup.area(id).path))

            #expect(try await setup.workspaces.delete(accountID: setup.accountID, workspaceID: id) == running)
            #expect(setup.events.deletions.withLock { $0 } == [.init(workspaceID: id, rowWasGone: true, areaWasThere: true)])
            #expect(!FileManager.default.fileExists(atPath: setup.area(id).path))
            #expect(try await tokens.resolve(secret: secret) == nil)
            let gone = await AccountFixture.failure { try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id) }
            #expect(gone?.code == .resourceDoesNotExist)
            let again = await AccountFixture.failure { try await setup.workspaces.delete(accountID: setup.accountID, workspaceID: id) }
            #expect(again?.code == .resourceDoesNotExist)
            #expect(setup.events.deletions.withLock { $0.count } == 1)
            // What it used is free to go now.
            _ = try await setup.resources.delete(.credentials, accountID: setup.accountID, id: setup.credentialsID)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theDefaultWorkspaceCannotBeDeleted(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let refused = await AccountFixture.failure {
                try await setup.workspaces.delete(accountID: setup.accountID, workspaceID: setup.defaultWorkspace.workspaceID)
            }
            #expect(refused?.code == .invalidState)
            #expect(refused?.message == "The default workspace is served on the bare host and cannot be deleted.")
            #expect(setup.events.deletions.withLock { $0.isEmpty })
            #expect(try await AccountStore(database: setup.database).defaultWorkspace() == setup.defaultWorkspace)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aWorkspaceStorageAreaIsUnderItsBucket(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (id, _) = try await setup.create()
            #expect(try await setup.workspaces.storageArea(workspaceID: id) == setup.area(id).path)
            let viaStatic = try await AccountWorkspaces.storageArea(
                workspaceID: id, database: setup.database, resources: setup.resources, storage: WorkspaceStorage(root: "/elsewhere"))
            #expect(viaStatic == "/elsewhere/good/\(id)")
            #expect(try await setup.workspaces.storageArea(workspaceID: setup.defaultWorkspace.workspaceID) == nil)
            #expect(try await setup.workspaces.storageArea(workspaceID: 42) == nil)
        }
    }
}
