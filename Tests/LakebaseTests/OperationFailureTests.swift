import Compute
import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Operations whose work fails on the computes: the operation ends with `error` ({"error_code","message"}),
/// and nothing half made stays behind — a create is removed, an update goes back, a delete stays undone.
@Suite struct OperationFailureTests {
    static let production = "projects/p/branches/production"

    /// Runs `body` with a service on a driver that fails on demand.
    func withFlakyService(_ body: @Sendable (LakebaseHarness, FlakyComputeDriver) async throws -> Void) async throws {
        let driver = FakeComputeDriver()
        let flaky = FlakyComputeDriver(driver)
        try await LakebaseHarness.run(driver: driver, computes: flaky) { lake in try await body(lake, flaky) }
    }

    @Test func aProjectWhoseComputeCannotStartIsRemoved() async throws {
        try await withFlakyService { lake, flaky in
            flaky.failStarts { _ in true }
            let operation = try await lake.createProject()
            #expect(operation["done"] == .bool(true))
            #expect(operation["response"] == nil)
            #expect(operation.operationErrorCode == "INTERNAL_ERROR")
            #expect(operation.value(at: ["error", "message"]) == .string("postgres exited during start-up (test)"))
            await lake.expectError(.notFound) { try await lake.get("projects/p") }
            #expect(lake.driver.directories.isEmpty)
            #expect(await lake.driver.ids() == [])
        }
    }

    /// A new branch is READY once its data is copied; its compute starts after the operation is reported.
    /// One that cannot start leaves the branch and its data as they are, its endpoint IDLE, and a client's
    /// wake hears why; deleting the branch then removes its data.
    @Test func aNewBranchWhoseComputeCannotStartKeepsItsDataAndItsWakeSaysWhy() async throws {
        try await withFlakyService { lake, flaky in
            try await lake.createProject()
            let production = try await lake.uid(Self.production + "/endpoints/primary")
            flaky.failStarts { $0.id != production }
            let operation = try await lake.createBranch("dev")
            #expect(operation["error"] == nil)
            #expect(try await lake.state("projects/p/branches/dev") == "READY")
            let dev = try await lake.uid("projects/p/branches/dev/endpoints/primary")
            // The start was tried (and failed) once the follow-up ran.
            for _ in 0..<500 where !flaky.failedStarts.contains(dev) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(flaky.failedStarts.contains(dev))
            #expect(try await lake.state("projects/p/branches/dev/endpoints/primary") == "IDLE")
            #expect(lake.driver.directories.count == 2)
            #expect(await lake.driver.ids() == [production])
            let endpoint = try #require(try await lake.service.connectableEndpoint(uid: dev))
            await #expect(throws: ComputeError.self) { try await lake.service.wake(endpoint) }
            #expect(try await lake.delete("projects/p/branches/dev", purge: true)["error"] == nil)
            #expect(lake.driver.directories.count == 1)
        }
    }

    @Test func aReplicaThatCannotStartIsRemovedWithItsSlot() async throws {
        try await withFlakyService { lake, flaky in
            try await lake.createProject()
            flaky.failStarts { $0.settings["hot_standby"] == "on" }
            let operation = try await lake.create(.endpoint, in: Self.production, id: "reader", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            #expect(operation.operationErrorCode == "INVALID_PARAMETER_VALUE")
            #expect(operation.value(at: ["error", "message"])?.stringValue?.hasPrefix("The compute could not start with these settings") == true)
            await lake.expectError(.notFound) { try await lake.get(Self.production + "/endpoints/reader") }
            #expect(lake.driver.directories.count == 1)
            #expect(lake.driver.statements.last?.hasPrefix("-- drop replication slot kiln_ep_") == true)
        }
    }

    @Test func anEndpointUpdateThatCannotStartGoesBackToItsPreviousSettings() async throws {
        try await withFlakyService { lake, flaky in
            try await lake.createProject()
            let primary = Self.production + "/endpoints/primary"
            let uid = try await lake.uid(primary)
            flaky.failStarts { $0.settings["work_mem"] == "1TB" }
            let operation = try await lake.update(primary, mask: "spec.settings.pg_settings", spec: #"{"settings": {"pg_settings": {"work_mem": "1TB"}}}"#)
            #expect(operation.operationErrorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await lake.status(primary, "settings") == nil)
            #expect(await lake.driver.isRunning(id: uid))
            #expect(await lake.driver.spec(id: uid)?.settings["work_mem"] != "1TB")
        }
    }

    @Test func aRoleThatPostgresRefusesIsNotKeptAndOneThatCannotBeDroppedStays() async throws {
        try await withFlakyService { lake, flaky in
            try await lake.createProject()
            flaky.failStatements(containing: "CREATE ROLE \"bad\"")
            let creation = try await lake.create(.role, in: Self.production, id: "bad-role", spec: #"{"postgres_role": "bad"}"#)
            #expect(creation.operationErrorCode == "BAD_REQUEST")
            #expect(creation.value(at: ["error", "message"])?.stringValue?.hasPrefix("PostgreSQL refused the change: ") == true)
            await lake.expectError(.notFound) { try await lake.get(Self.production + "/roles/bad-role") }

            try await lake.create(.role, in: Self.production, id: "kept", spec: #"{"postgres_role": "kept"}"#)
            flaky.failStatements(containing: "DROP ROLE")
            #expect(try await lake.delete(Self.production + "/roles/kept").operationErrorCode == "BAD_REQUEST")
            #expect(try await lake.status(Self.production + "/roles/kept", "postgres_role") == .string("kept"))
        }
    }

    @Test func aDatabaseRenameThatPostgresRefusesKeepsTheOldName() async throws {
        try await withFlakyService { lake, flaky in
            try await lake.createProject()
            let database = Self.production + "/databases/databricks-postgres"
            flaky.failStatements(containing: "RENAME TO")
            let rename = try await lake.update(database, mask: "spec.postgres_database", spec: #"{"postgres_database": "renamed"}"#)
            #expect(rename.operationErrorCode == "BAD_REQUEST")
            #expect(try await lake.status(database, "postgres_database") == .string("databricks_postgres"))
        }
    }
}
