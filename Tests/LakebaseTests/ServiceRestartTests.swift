import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// A Kiln that stops and starts again on the same store: operations it left run, computes come back.
@Suite struct ServiceRestartTests {
    @Test func anOperationLeftUnfinishedRunsWhenTheNextServiceStarts() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.withStorage { root in
            try await LakebaseHarness.run(root: root, driver: driver) { lake in
                try await lake.createProject()
                try await lake.createBranch("scratch")
            }
            #expect(driver.directories.count == 2)

            // A service that stores the purge of the branch and stops before running it.
            let branch = try LakebaseHarness.name("projects/p/branches/scratch")
            let stored = try await LakebaseHarness.run(root: root, driver: driver, activate: false) { lake in
                let operation = try await lake.service.record(.deleteBranch, branch, workspaceID: 1, payload: .object([.init("purge", .bool(true))])) { db in
                    try await LakebaseService.markDeleted(db, name: branch, ws: 1, now: lake.clock.nowMillis())
                }
                #expect(try await lake.state("projects/p/branches/scratch") == "DELETED")
                return operation.name
            }
            #expect(driver.directories.count == 2)

            try await LakebaseHarness.run(root: root, driver: driver) { lake in
                let operation = try await lake.service.operation(stored, caller: lake.caller)
                #expect(operation["done"] == .bool(true))
                #expect(operation.value(at: ["response", "@type"]) == .string("type.googleapis.com/google.protobuf.Empty"))
                await lake.expectError(.notFound) { try await lake.get("projects/p/branches/scratch") }
                #expect(driver.directories.count == 1)
            }
        }
    }

    @Test func computesComeBackAtStartExceptThoseSuspendedForBeingIdle() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.withStorage { root in
            let (production, dev) = try await LakebaseHarness.run(root: root, driver: driver) { lake in
                try await lake.createProject()
                try await lake.createBranch("dev")
                let dev = try await lake.uid("projects/p/branches/dev/endpoints/primary")
                // A new branch's compute starts right after its operation: suspend it once it runs.
                #expect(try await lake.state("projects/p/branches/dev/endpoints/primary", becoming: "ACTIVE") == "ACTIVE")
                await lake.service.suspend(uid: dev)
                return (try await lake.uid("projects/p/branches/production/endpoints/primary"), dev)
            }
            for id in await driver.ids() { await driver.stop(id: id) } // the machine restarted

            try await LakebaseHarness.run(root: root, driver: driver) { lake in
                // Operations run once the start-up is done: after one, the computes are back.
                try await lake.update("projects/p", mask: "spec.display_name", spec: #"{"display_name": "P"}"#)
                #expect(await driver.isRunning(id: production))
                #expect(await !driver.isRunning(id: dev))
                #expect(try await lake.state("projects/p/branches/dev/endpoints/primary") == "IDLE")
                let endpoint = try #require(try await lake.connectable(dev))
                #expect(try await lake.service.wake(endpoint))
                #expect(await driver.isRunning(id: dev))
            }
        }
    }
}
