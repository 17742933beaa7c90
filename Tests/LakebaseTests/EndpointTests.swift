import Compute
import ComputeTestSupport
import Foundation
import KilnCore
@testable import Lakebase
import Persistence
import Testing

/// Endpoints: read-write and read-only computes, their settings as the server runs them, disabling,
/// scale to zero through the proxy's `suspend`/`wake`, and which endpoints the proxy may connect to.
@Suite struct EndpointTests {
    static let production = "projects/p/branches/production"
    static let primary = production + "/endpoints/primary"

    @Test func anEndpointRunsWithItsSizesSettingsAndPgSettings() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject(
                body: #"""
                    {"spec": {"default_endpoint_settings": {"autoscaling_limit_min_cu": 2, "autoscaling_limit_max_cu": 4,
                                                            "pg_settings": {"work_mem": "64MB"}}}}
                    """#)
            let endpoint = try await lake.get(Self.primary)
            let uid = try #require(endpoint["uid"]?.stringValue)
            let spec = try #require(await driver.spec(id: uid))
            var expected = ComputeSize(minCU: 2, maxCU: 4).settings
            expected["work_mem"] = "64MB"
            #expect(spec.settings == expected)
            #expect(endpoint.value(at: ["status", "hosts", "port"]) == .integer(Int64(spec.port)))
            #expect(endpoint.value(at: ["status", "current_state"]) == .string("ACTIVE"))

            try await lake.update(Self.primary, mask: "spec.settings.pg_settings", spec: #"{"settings": {"pg_settings": {"work_mem": "128MB"}}}"#)
            #expect(await driver.spec(id: uid)?.settings["work_mem"] == "128MB")
            try await lake.update(Self.primary, mask: "spec.autoscaling_limit_max_cu", spec: #"{"autoscaling_limit_max_cu": 8}"#)
            let resized = try #require(await driver.spec(id: uid))
            #expect(resized.settings["max_connections"] == ComputeSize(minCU: 2, maxCU: 8).settings["max_connections"])
            #expect(resized.settings["work_mem"] == "128MB")
            #expect(resized.port == spec.port && resized.dataDirectory == spec.dataDirectory)
        }
    }

    @Test func aReadOnlyEndpointIsAHotStandbyWithDataOfItsOwn() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let operation = try await lake.create(.endpoint, in: Self.production, id: "reader", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            #expect(operation["error"] == nil)
            #expect(operation.value(at: ["response", "status", "hosts", "read_only_host"]) == .string("127.0.0.1"))
            #expect(driver.directories.count == 2)

            let replica = try await lake.uid(Self.production + "/endpoints/reader")
            let primary = try #require(await driver.spec(id: try await lake.uid(Self.primary)))
            let spec = try #require(await driver.spec(id: replica))
            #expect(spec.dataDirectory != primary.dataDirectory)
            #expect(spec.settings["hot_standby"] == "on")
            #expect(spec.settings["primary_slot_name"] == "kiln_" + replica.replacingOccurrences(of: "-", with: "_"))
            #expect(spec.settings["primary_conninfo"]?.contains("port=\(primary.port)") == true)
            #expect(spec.settings["restore_command"]?.contains(primary.dataDirectory + "/pg_wal") == true)
            #expect(try await lake.connectable(replica)?.replicaOf == LakebaseHarness.name(Self.production))

            // Deleting it stops it, removes its data and drops its slot on the primary.
            let deletion = try await lake.delete(Self.production + "/endpoints/reader")
            #expect(deletion["error"] == nil)
            #expect(await !driver.isRunning(id: replica))
            #expect(driver.directories.count == 1)
            #expect(driver.statements.last == "-- drop replication slot kiln_" + replica.replacingOccurrences(of: "-", with: "_"))
        }
    }

    @Test func aBranchHasOneReadWriteEndpointThatStaysAndSixReplicasAtMost() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            let second = await lake.failure {
                try await lake.create(.endpoint, in: Self.production, id: "other", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_WRITE"}"#)
            }
            #expect(second?.code == .alreadyExists)
            let deletion = await lake.failure { try await lake.delete(Self.primary) }
            #expect(deletion?.details.first?.value(at: ["metadata", "declarative_context"]) == .string("MANAGED_BY_PARENT"))
            for index in 1...Limits.readReplicasPerBranch {
                try await lake.create(.endpoint, in: Self.production, id: "r\(index)", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            }
            let seventh = await lake.failure {
                try await lake.create(.endpoint, in: Self.production, id: "r7", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            }
            #expect(seventh?.code == .resourceLimitExceeded)
        }
    }

    @Test func aDisabledEndpointStopsRefusesToWakeAndRunsAgainWhenEnabled() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let uid = try await lake.uid(Self.primary)
            let disabling = try await lake.update(Self.primary, mask: "spec.disabled", spec: #"{"disabled": true}"#)
            #expect(disabling.value(at: ["response", "status", "disabled"]) == .bool(true))
            #expect(await !driver.isRunning(id: uid))
            #expect(try await lake.state(Self.primary) == "IDLE")

            let endpoint = try #require(try await lake.connectable(uid)) // still there: the proxy tells clients why
            #expect(endpoint.disabled)
            await lake.expectError(.invalidState) { try await lake.service.wake(endpoint) }
            #expect(await !driver.isRunning(id: uid))

            try await lake.update(Self.primary, mask: "spec.disabled", spec: #"{"disabled": false}"#)
            #expect(await driver.isRunning(id: uid))
            #expect(try await lake.connectable(uid)?.disabled == false)
            #expect(try await lake.state(Self.primary) == "ACTIVE")
        }
    }

    @Test func anIdleEndpointIsSuspendedAndWakesOnce() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let uid = try await lake.uid(Self.primary)
            let endpoint = try #require(try await lake.connectable(uid))
            #expect(endpoint.suspendTimeout == .seconds(86_400))

            await lake.service.suspend(uid: uid, stillIdle: { false }) // a client came meanwhile
            #expect(await driver.isRunning(id: uid))
            await lake.service.suspend(uid: uid)
            #expect(await !driver.isRunning(id: uid))
            #expect(try await lake.state(Self.primary) == "IDLE")
            let starts = driver.starts
            #expect(try await lake.service.wake(endpoint))
            #expect(try await !lake.service.wake(endpoint)) // already awake
            #expect(driver.starts == starts + 1)
            #expect(try await lake.state(Self.primary) == "ACTIVE")
        }
    }

    @Test func anEndpointWithoutSuspensionIsNeverSuspended() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject(body: #"{"initial_endpoint_spec": {"no_suspension": true}}"#)
            let uid = try await lake.uid(Self.primary)
            #expect(try await lake.status(Self.primary, "suspend_timeout_duration") == .string("0s"))
            #expect(try await lake.connectable(uid)?.suspendTimeout == nil)
            await lake.service.suspend(uid: uid)
            #expect(await driver.isRunning(id: uid))

            try await lake.update(Self.primary, mask: "spec.suspension", spec: #"{"suspend_timeout_duration": "300s"}"#)
            #expect(try await lake.connectable(uid)?.suspendTimeout == .seconds(300))
        }
    }

    @Test func onlyReadyEndpointsOfLiveBranchesAreConnectable() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let production = try await lake.uid(Self.primary)
            let dev = try await lake.uid("projects/p/branches/dev/endpoints/primary")
            #expect(Set(try await lake.service.connectableEndpoints().map(\.uid)) == [production, dev])

            // An endpoint whose creating operation has not run yet.
            let pending = StoredResource(
                workspaceID: 1, name: try LakebaseHarness.name(Self.production + "/endpoints/pending"), uid: "ep-pending",
                spec: .object([.init("endpoint_type", .string("ENDPOINT_TYPE_READ_ONLY"))]), port: 55099, now: 0)
            try await lake.service.database.write { db in try await ResourceTable.insert(db, pending) }
            #expect(try await lake.connectable("ep-pending") == nil)
            #expect(try await lake.service.connectableEndpoint(uid: "ep-pending") == nil)
            #expect(try await lake.service.connectableEndpoint(uid: dev)?.port != nil)

            try await lake.delete("projects/p/branches/dev")
            #expect(try await lake.service.connectableEndpoints().map(\.uid) == [production])
            #expect(try await lake.service.connectableEndpoint(uid: dev) == nil)
            let gone = ConnectableEndpoint(
                uid: "ep-gone", workspaceID: 1, port: 55098, disabled: false, suspendTimeout: nil, branch: try LakebaseHarness.name(Self.production))
            await lake.expectError(.notFound) { try await lake.service.wake(gone) }
        }
    }
}
