import Foundation
import KilnCore
import PersistenceTestSupport
import Persistence
import Synchronization
import Testing
@testable import Accounts

/// The background step of workspace creation: each pass takes every PROVISIONING workspace to RUNNING, or
/// to FAILED with the reason.
@Suite struct WorkspaceProvisionerTests {
    @Test(arguments: TestDatabases.engines)
    func aPassProvisionsEveryPendingWorkspace(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (first, _) = try await setup.create()
            let (second, _) = try await setup.create()
            await setup.provisioner.provisionPending()
            for id in [first, second] {
                #expect(try await setup.status(id) == "RUNNING")
                #expect(FileManager.default.fileExists(atPath: setup.area(id).appendingPathComponent("workspace.json").path))
            }
            #expect(setup.events.prepared.withLock { $0.sorted() } == [first, second].sorted())
            // The default workspace has no storage area and is never provisioned.
            #expect(!setup.events.prepared.withLock { $0 }.contains(setup.defaultWorkspace.workspaceID))
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aFailureNamesItsReasonAndDoesNotStopTheOthers(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let blocked = try await setup.resources.create(
                .storageConfigurations, accountID: setup.accountID, body: AccountFixture.storage(name: "blocked", bucket: "blocked"))
            try Data("not a folder".utf8).write(to: setup.root.appendingPathComponent("blocked"))
            let (unwritable, _) = try await setup.create(["storage_configuration_id": try #require(blocked["storage_configuration_id"])])
            let (unpreparable, _) = try await setup.create(["workspace_name": .string("unpreparable")])
            let (storageless, _) = try await setup.create([
                "cloud": .string("gcp"), "aws_region": .null, "credentials_id": .null, "storage_configuration_id": .null,
            ])
            let (fine, _) = try await setup.create()
            await setup.provisioner.provisionPending()

            func message(_ id: Int64) async throws -> String? {
                try await setup.workspaces.get(accountID: setup.accountID, workspaceID: id)["workspace_status_message"]?.stringValue
            }
            #expect(try await setup.status(unwritable) == "FAILED")
            #expect(try await message(unwritable)?.hasPrefix("Workspace provisioning failed: The root bucket blocked cannot be written") == true)
            #expect(try await setup.status(unpreparable) == "FAILED")
            #expect(try await message(unpreparable) == "Workspace provisioning failed: cannot prepare")
            #expect(try await setup.status(storageless) == "FAILED")
            #expect(try await message(storageless) == "Workspace provisioning failed: The workspace has no storage configuration.")
            #expect(try await setup.status(fine) == "RUNNING")

            // A later pass leaves FAILED workspaces alone until they are repaired.
            let preparations = setup.events.prepared.withLock { $0.count }
            await setup.provisioner.provisionPending()
            #expect(setup.events.prepared.withLock { $0.count } == preparations)
            #expect(try await setup.status(unpreparable) == "FAILED")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func asAServiceItProvisionsWhenWokenAndStopsWhenCancelled(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let status = try await setup.withProvisionerRunning {
                let (id, _) = try await setup.create()
                let deadline = ContinuousClock.now + .seconds(60)
                var status = try await setup.status(id)
                while status == "PROVISIONING", ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                    status = try await setup.status(id)
                }
                return status
            }
            #expect(status == "RUNNING")
            #expect(setup.events.wakeups.withLock { $0 } == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func anUnexpectedErrorFailsTheWorkspaceInsteadOfLeavingItProvisioning(engine: DatabaseEngine) async throws {
        try await WorkspaceFixture.with(engine) { setup async throws in
            let (crashing, _) = try await setup.create(["workspace_name": .string("crashing")])
            await setup.provisioner.provisionPending()
            #expect(try await setup.status(crashing) == "FAILED")
        }
    }
}
