import Compute
import ComputeTestSupport
import Foundation
import KilnCore
@testable import Lakebase
import Logging
import Persistence
import SQLKit
import Testing

/// The Lakebase service in process: requests, operations and the reconciler on a SQLite store, with
/// computes from a fake driver (no postgres needed).
@Suite struct LakebaseServiceTests {
    let caller = LakebaseCaller(workspaceID: 1, identity: "ada@example.com", identityType: "USER")

    /// Runs `body` with a service whose operation runner is running, on a new store under a temporary root.
    func withService(driver: FakeComputeDriver = FakeComputeDriver(), _ body: @Sendable (LakebaseService) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "kiln-lakebase-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let logger = Logger(label: "kiln-test")
        let store = try await SQLiteStore.open(path: root + "/kiln.sqlite", logger: logger)
        try await store.closing {
            try await Migrator(database: store, logger: logger).migrate()
            try await store.write { db in   // the workspace the caller's resources belong to
                try await db.raw("INSERT INTO accounts (account_id, account_name, created_at) VALUES ('a', 'a', 0)").run()
                try await db.raw("""
                    INSERT INTO workspaces (workspace_id, account_id, workspace_name, deployment_name, is_default, workspace_status, created_at)
                    VALUES (1, 'a', 'w', 'w', true, 'RUNNING', 0)
                    """).run()
            }
            let service = LakebaseService(database: store, computes: DataDirectoryOwner(driver: driver),
                                          storageArea: { "\(root)/workspaces/\($0)" }, sweepInterval: .seconds(3600), logger: logger)
            try await withThrowingTaskGroup { group in
                group.addTask { try await service.run() }
                service.activate()
                try await body(service)
                group.cancelAll()
            }
        }
    }

    static func json(_ text: String) throws -> JSONTree { try JSONTree.parse(Array(text.utf8)) }

    func createProject(_ service: LakebaseService, _ id: String = "p") async throws -> JSONTree {
        try await service.create(.project, parent: nil, id: id, replaceExisting: false, body: Self.json("{}"), caller: caller)
    }

    func createBranch(_ service: LakebaseService, _ id: String, from source: String = "production") async throws -> JSONTree {
        try await service.create(.branch, parent: ResourceName("projects/p"), id: id, replaceExisting: false,
                                 body: Self.json(#"{"spec": {"source_branch": "projects/p/branches/\#(source)", "no_expiry": true}}"#), caller: caller)
    }

    func state(_ service: LakebaseService, _ name: String) async throws -> String? {
        try await service.get(ResourceName(name)!, caller: caller).value(at: ["status", "current_state"])?.stringValue
    }

    @Test func aNewProjectHasDataARunningComputeAndItsOwnerRole() async throws {
        let driver = FakeComputeDriver()
        try await withService(driver: driver) { service in
            let operation = try await createProject(service)
            #expect(operation["done"]?.boolValue == true)
            #expect(operation["error"] == nil)
            #expect(driver.directories.count == 1)
            #expect(await driver.ids().count == 1)
            #expect(driver.statements.contains { $0.hasPrefix("CREATE ROLE \"ada@example.com\" LOGIN") })
            #expect(try await state(service, "projects/p/branches/production") == "READY")
            #expect(try await service.connectableEndpoints().count == 1)
        }
    }

    /// The race of REVIEW-2026-11 §5.13: a branch is copied from its source while the proxy wakes and
    /// suspends the source's compute. The fake driver reports any overlap on the source's data.
    @Test func wakesAndSuspendsOfTheSourceWaitForABranchCopy() async throws {
        let driver = FakeComputeDriver(copyTime: .milliseconds(300))
        try await withService(driver: driver) { service in
            _ = try await createProject(service)
            let endpoint = try #require(try await service.connectableEndpoints().first)
            await service.suspend(uid: endpoint.uid)
            #expect(await !driver.isRunning(id: endpoint.uid))

            // Suspended source: a plain copy, with a wake arriving in the middle.
            async let first = createBranch(service, "first")
            try await Task.sleep(for: .milliseconds(80))
            #expect(try await service.wake(endpoint))
            #expect(try await first["done"]?.boolValue == true)

            // Running source: a base backup, with a suspend arriving in the middle.
            async let second = createBranch(service, "second")
            try await Task.sleep(for: .milliseconds(80))
            await service.suspend(uid: endpoint.uid)
            #expect(try await second["done"]?.boolValue == true)

            #expect(driver.violations == [])
            #expect(try await state(service, "projects/p/branches/first") == "READY")
            #expect(try await state(service, "projects/p/branches/second") == "READY")
            #expect(await !driver.isRunning(id: endpoint.uid))
        }
    }

    @Test func roleWorkOnASuspendedBranchRunsOnAMaintenanceServerThatStopsAfterwards() async throws {
        let driver = FakeComputeDriver()
        try await withService(driver: driver) { service in
            _ = try await createProject(service)
            let endpoint = try #require(try await service.connectableEndpoints().first)
            await service.suspend(uid: endpoint.uid)
            let startsBefore = driver.starts
            let operation = try await service.create(
                .role, parent: ResourceName("projects/p/branches/production"), id: "reader", replaceExisting: false,
                body: Self.json(#"{"spec": {"postgres_role": "reader", "identity_type": "USER"}}"#), caller: caller)
            #expect(operation["error"] == nil)
            #expect(driver.starts == startsBefore + 1)
            #expect(await driver.ids() == [])
            #expect(driver.statements.contains { $0.hasPrefix("CREATE ROLE \"reader\"") })
        }
    }

    @Test func aPurgedBranchLeavesNoDataAndNoCompute() async throws {
        let driver = FakeComputeDriver()
        try await withService(driver: driver) { service in
            _ = try await createProject(service)
            let branch = try await createBranch(service, "scratch")   // with a read-write endpoint of its own
            #expect(branch["error"] == nil)
            #expect(driver.directories.count == 2)
            #expect(await driver.ids().count == 2)
            let deletion = try await service.delete(ResourceName("projects/p/branches/scratch")!, purge: true, reassignOwnedTo: nil, caller: caller)
            #expect(deletion["error"] == nil)
            #expect(driver.directories.count == 1)
            #expect(await driver.ids().count == 1)
        }
    }
}
