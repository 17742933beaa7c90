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
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            let service = lake.service
            _ = try await lake.createProject()
            let endpoint = try #require(try await service.connectableEndpoints().first)
            await service.suspend(uid: endpoint.uid)
            #expect(await !driver.isRunning(id: endpoint.uid))

            // Suspended source: a plain copy, held at the fake's gate, with a wake arriving in the middle.
            driver.holdCopies()
            async let first = lake.createBranch("first")
            await driver.waitForCopies(1)
            async let woke = service.wake(endpoint)
            try await Task.sleep(for: .milliseconds(300)) // a wake that did not wait would have started by now
            #expect(await !driver.isRunning(id: endpoint.uid), "the wake started a compute on data being copied")
            driver.releaseCopies()
            #expect(try await woke)
            #expect(try await first["done"]?.boolValue == true)

            // Running source: a base backup, held likewise, with a suspend arriving in the middle.
            driver.holdCopies()
            async let second = lake.createBranch("second")
            await driver.waitForCopies(2)
            async let suspended: Void = service.suspend(uid: endpoint.uid)
            try await Task.sleep(for: .milliseconds(300))
            #expect(await driver.isRunning(id: endpoint.uid), "the suspend stopped the server a base backup reads")
            driver.releaseCopies()
            await suspended
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
            #expect(try await lake.state("projects/p/branches/scratch/endpoints/primary", becoming: "ACTIVE") == "ACTIVE")
            #expect(driver.directories.count == 2)
            #expect(await driver.ids().count == 2)
            let deletion = try await lake.delete("projects/p/branches/scratch", purge: true)
            #expect(deletion["error"] == nil)
            #expect(driver.directories.count == 1)
            #expect(await driver.ids().count == 1)
        }
    }
}
