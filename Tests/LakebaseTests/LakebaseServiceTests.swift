import Compute
import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// The Lakebase service in process: requests, operations and the reconciler on a SQLite store, with
/// computes from a fake driver (no postgres needed).
@Suite struct LakebaseServiceTests {
    @Test func aNewProjectHasDataARunningComputeAndItsOwnerRole() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            let service = lake.service
            let operation = try await lake.createProject()
            #expect(operation["done"]?.boolValue == true)
            #expect(operation["error"] == nil)
            #expect(driver.directories.count == 1)
            #expect(await driver.ids().count == 1)
            let ownerRole = driver.statements.contains { $0.hasPrefix("CREATE ROLE \"ada@example.com\" LOGIN") }
            #expect(ownerRole)
            #expect(try await lake.state("projects/p/branches/production") == "READY")
            #expect(try await service.connectableEndpoints().count == 1)
        }
    }

    /// The race of REVIEW-2026-11 §5.13: a branch is copied from its source while the proxy wakes and
    /// suspends the source's compute. The fake driver reports any overlap on the source's data.
    @Test func wakesAndSuspendsOfTheSourceWaitForABranchCopy() async throws {
        let driver = FakeComputeDriver(copyTime: .milliseconds(300))
        try await LakebaseHarness.run(driver: driver) { lake in
            let service = lake.service
            _ = try await lake.createProject()
            let endpoint = try #require(try await service.connectableEndpoints().first)
            await service.suspend(uid: endpoint.uid)
            #expect(await !driver.isRunning(id: endpoint.uid))

            // Suspended source: a plain copy, with a wake arriving in the middle.
            async let first = lake.createBranch("first")
            try await Task.sleep(for: .milliseconds(80))
            #expect(try await service.wake(endpoint))
            #expect(try await first["done"]?.boolValue == true)

            // Running source: a base backup, with a suspend arriving in the middle.
            async let second = lake.createBranch("second")
            try await Task.sleep(for: .milliseconds(80))
            await service.suspend(uid: endpoint.uid)
            #expect(try await second["done"]?.boolValue == true)

            #expect(driver.violations == [])
            #expect(try await lake.state("projects/p/branches/first") == "READY")
            #expect(try await lake.state("projects/p/branches/second") == "READY")
            #expect(await !driver.isRunning(id: endpoint.uid))
        }
    }

    @Test func roleWorkOnASuspendedBranchRunsOnAMaintenanceServerThatStopsAfterwards() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            let service = lake.service
            _ = try await lake.createProject()
            let endpoint = try #require(try await service.connectableEndpoints().first)
            await service.suspend(uid: endpoint.uid)
            let startsBefore = driver.starts
            let operation = try await lake.create(
                .role, in: "projects/p/branches/production", id: "reader",
                spec: #"{"postgres_role": "reader", "identity_type": "USER"}"#)
            #expect(operation["error"] == nil)
            #expect(driver.starts == startsBefore + 1)
            #expect(await driver.ids() == [])
            let created = driver.statements.contains { $0.hasPrefix("CREATE ROLE \"reader\"") }
            #expect(created)
        }
    }

    @Test func aPurgedBranchLeavesNoDataAndNoCompute() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            _ = try await lake.createProject()
            let branch = try await lake.createBranch("scratch") // with a read-write endpoint of its own
            #expect(branch["error"] == nil)
            #expect(driver.directories.count == 2)
            #expect(await driver.ids().count == 2)
            let deletion = try await lake.delete("projects/p/branches/scratch", purge: true)
            #expect(deletion["error"] == nil)
            #expect(driver.directories.count == 1)
            #expect(await driver.ids().count == 1)
        }
    }
}
