import Compute
import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Branches: copies of their source with its roles and databases, the limits on them, the rules of
/// deletion (lakebase-contract.md §B.2), soft deletion and undeletion, and expiry by the sweep.
@Suite struct BranchTests {
    @Test func aBranchWithoutASourceComesFromTheDefaultBranchWithItsRolesAndDatabases() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let operation = try await lake.create(.branch, in: "projects/p", id: "dev", spec: #"{"no_expiry": true}"#)
            #expect(operation.value(at: ["response", "status", "source_branch"]) == .string("projects/p/branches/production"))
            #expect(operation.value(at: ["response", "status", "default"]) == .bool(false))
            // Where it starts in its source's WAL: the end of the copy (the fake's is 0/1000000).
            #expect(operation.value(at: ["response", "status", "source_branch_lsn"]) == .string("0/1000000"))
            #expect(try await lake.state("projects/p/branches/dev") == "READY")
            #expect(try await lake.state("projects/p/branches/dev/endpoints/primary", becoming: "ACTIVE") == "ACTIVE")
            #expect(driver.directories.count == 2)

            let parent = try await lake.service.list(
                .role, parent: LakebaseHarness.name("projects/p/branches/production"), pageSize: nil,
                pageToken: nil, showDeleted: false, caller: lake.caller)
            let child = try await lake.service.list(
                .role, parent: LakebaseHarness.name("projects/p/branches/dev"), pageSize: nil,
                pageToken: nil, showDeleted: false, caller: lake.caller)
            let parentRole = try #require(parent["roles"]?.arrayValue?.first)
            let childRole = try #require(child["roles"]?.arrayValue?.first)
            #expect(childRole.value(at: ["status", "postgres_role"]) == .string("ada@example.com"))
            #expect(childRole["role_id"] == parentRole["role_id"])
            let roleID = try #require(childRole["role_id"]?.stringValue)
            // The copied database is owned by the child's copy of the role, not the parent's.
            #expect(
                try await lake.status("projects/p/branches/dev/databases/databricks-postgres", "role")
                    == .string("projects/p/branches/dev/roles/\(roleID)"))
        }
    }

    @Test func anUpdateWhileTheBranchIsCopiedIsKeptAndKeepsWhereItCameFrom() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            driver.holdCopies()
            async let created = lake.createBranch("dev")
            await driver.waitForCopies(1)
            async let updated = lake.update("projects/p/branches/dev", mask: "spec.expiration", spec: #"{"ttl": "3600s"}"#)
            try await Task.sleep(for: .milliseconds(200)) // the update is recorded before the copy ends
            driver.releaseCopies()
            #expect(try await created["error"] == nil)
            #expect(try await updated["error"] == nil)
            #expect(try await lake.status("projects/p/branches/dev", "expire_time") != nil)
            #expect(try await lake.status("projects/p/branches/dev", "source_branch_lsn") == .string("0/1000000"))
            try await lake.update("projects/p/branches/dev", mask: "spec.expiration", spec: #"{"no_expiry": true}"#)
            #expect(try await lake.status("projects/p/branches/dev", "source_branch_lsn") == .string("0/1000000"))
            #expect(try await lake.status("projects/p/branches/dev", "source_branch") == .string("projects/p/branches/production"))
        }
    }

    @Test func aBranchOfABranchCopiesThatBranch() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let operation = try await lake.createBranch("feature", from: "dev")
            #expect(operation["error"] == nil)
            #expect(try await lake.status("projects/p/branches/feature", "source_branch") == .string("projects/p/branches/dev"))
            #expect(driver.directories.count == 3)
            #expect(driver.violations == [])
        }
    }

    @Test func sourcesMustBeLiveBranchesOfTheSameProjectAtAPointOfTheirPast() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createProject("other")
            let elsewhere = await lake.failure {
                try await lake.create(.branch, in: "projects/p", id: "x", spec: #"{"source_branch": "projects/other/branches/production"}"#)
            }
            #expect(elsewhere?.code == .invalidParameterValue)
            await lake.expectError(.notFound) { try await lake.createBranch("x", from: "missing") }
            let past = await lake.failure {
                try await lake.create(
                    .branch, in: "projects/p", id: "x",
                    spec: #"{"source_branch": "projects/p/branches/production", "source_branch_time": "2030-01-01T00:00:00Z"}"#)
            }
            #expect(past?.code == .invalidParameterValue)
            #expect(past?.message.contains("in the future") == true)
            let snapshot = await lake.failure {
                try await lake.create(.branch, in: "projects/p", id: "x", spec: #"{"source_snapshot": "projects/p/snapshots/nightly"}"#)
            }
            #expect(snapshot?.code == .notFound)
            try await lake.createBranch("x")
            await lake.expectError(.alreadyExists) { try await lake.createBranch("x") }
        }
    }

    /// PostgreSQL stamps commits to the microsecond: a point in time cut to the millisecond would leave out
    /// a commit made earlier in that millisecond. The point keeps its microsecond through the operation's
    /// payload, and a payload an older Kiln wrote (`{"time": <ms>}`) still reads.
    @Test func aPointInTimeKeepsItsMicrosecond() throws {
        let text = "2026-12-01T10:00:00.123456Z"
        let reader = SpecReader(try LakebaseHarness.json(#"{"source_branch_time": "\#(text)"}"#), prefix: "spec")
        let target = try LakebaseService.pointInTime(reader, now: ProtoTime.millis(timestamp: "2026-12-01T10:00:01Z")!)
        #expect(target == .time(micros: 1_796_119_200_123_456))
        #expect(target.flatMap { RecoveryTarget(json: $0.json) } == target)
        #expect(target?.json["time"]?.doubleValue == 1_796_119_200_123) // what an older Kiln reads
        #expect(RecoveryTarget(json: try LakebaseHarness.json(#"{"time": 1796119200123}"#)) == .time(micros: 1_796_119_200_123_000))
        let sameMillisecond = try LakebaseService.pointInTime(reader, now: ProtoTime.millis(timestamp: "2026-12-01T10:00:00.123Z")!)
        #expect(sameMillisecond == target) // not "in the future"
    }

    @Test func aProjectHasOneProtectedBranchAndItNeverExpires() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject(body: #"{"initial_branch_spec": {"is_protected": true}}"#)
            #expect(try await lake.status("projects/p/branches/production", "is_protected") == .bool(true))
            let second = await lake.failure {
                try await lake.create(.branch, in: "projects/p", id: "guarded", spec: #"{"is_protected": true}"#)
            }
            #expect(second?.code == .resourceLimitExceeded)
            try await lake.createBranch("dev")
            await lake.expectError(.resourceLimitExceeded) {
                try await lake.update("projects/p/branches/dev", mask: "spec.is_protected", spec: #"{"is_protected": true}"#)
            }
            await lake.expectError(.badRequest) { try await lake.delete("projects/p") }
        }
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            let expiring = await lake.failure {
                try await lake.create(.branch, in: "projects/p", id: "guarded", spec: #"{"is_protected": true, "ttl": "3600s"}"#)
            }
            #expect(expiring?.code == .invalidParameterValue)
            let defaultExpiring = await lake.failure {
                try await lake.update("projects/p/branches/production", mask: "spec.expiration", spec: #"{"ttl": "3600s"}"#)
            }
            #expect(defaultExpiring?.code == .invalidParameterValue)
        }
    }

    @Test func rootProtectedAndParentBranchesAreNotDeleted() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            let root = await lake.failure { try await lake.delete("projects/p/branches/production", purge: true) }
            #expect(root?.code == .badRequest)
            #expect(root?.details.first?.value(at: ["metadata", "declarative_context"]) == .string("MANAGED_BY_PARENT"))

            try await lake.create(.branch, in: "projects/p", id: "guarded", spec: #"{"is_protected": true}"#)
            let guarded = await lake.failure { try await lake.delete("projects/p/branches/guarded") }
            #expect(guarded?.message == "cannot delete protected branch")

            try await lake.createBranch("parent")
            try await lake.createBranch("child", from: "parent")
            let parent = await lake.failure { try await lake.delete("projects/p/branches/parent") }
            #expect(parent?.message.contains("projects/p/branches/child") == true)
            try await lake.delete("projects/p/branches/child") // a soft-deleted child no longer holds its parent
            #expect(try await lake.delete("projects/p/branches/parent")["error"] == nil)
        }
    }

    @Test func aSoftDeletedBranchStopsItsComputeKeepsItsDataAndComesBack() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let endpoint = try await lake.uid("projects/p/branches/dev/endpoints/primary")
            let deletion = try await lake.delete("projects/p/branches/dev")
            #expect(deletion.value(at: ["response", "@type"]) == .string("type.googleapis.com/google.protobuf.Empty"))
            #expect(await !driver.isRunning(id: endpoint))
            #expect(driver.directories.count == 2)
            #expect(try await lake.state("projects/p/branches/dev") == "DELETED")
            #expect(try await lake.status("projects/p/branches/dev", "purge_time") != nil)
            #expect(try await lake.connectable(endpoint) == nil)
            let listed = try await lake.service.list(
                .branch, parent: LakebaseHarness.name("projects/p"), pageSize: nil, pageToken: nil,
                showDeleted: false, caller: lake.caller)
            #expect(listed["branches"]?.arrayValue?.count == 1)
            await lake.expectError(.notFound) { try await lake.delete("projects/p/branches/dev") }
            await lake.expectError(.notFound) { try await lake.get("projects/p/branches/dev/endpoints/primary") }

            let undeletion = try await lake.service.undelete(LakebaseHarness.name("projects/p/branches/dev"), caller: lake.caller)
            #expect(undeletion.value(at: ["response", "@type"]) == .string("type.googleapis.com/google.protobuf.Empty"))
            #expect(try await lake.state("projects/p/branches/dev") == "READY")
            #expect(await driver.isRunning(id: endpoint))
            #expect(try await lake.connectable(endpoint) != nil)
            let again = await lake.failure { try await lake.service.undelete(LakebaseHarness.name("projects/p/branches/dev"), caller: lake.caller) }
            #expect(again?.code == .badRequest)
        }
    }

    @Test func aSoftDeletedBranchCanStillBePurged() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            try await lake.delete("projects/p/branches/dev")
            #expect(driver.directories.count == 2)
            try await lake.delete("projects/p/branches/dev", purge: true)
            #expect(driver.directories.count == 1)
            await lake.expectError(.notFound) { try await lake.get("projects/p/branches/dev") }
        }
    }

    @Test func theSweepDeletesExpiredBranchesAndPurgesWhatWasDeletedLongAgo() async throws {
        let driver = FakeComputeDriver()
        let clock = TestClock()
        try await LakebaseHarness.run(driver: driver, clock: clock) { lake in
            try await lake.createProject()
            let expiring = try await lake.create(.branch, in: "projects/p", id: "preview", spec: #"{"ttl": "3600s"}"#)
            #expect(expiring.value(at: ["response", "status", "expire_time"]) != nil)
            try await lake.createBranch("old")
            try await lake.delete("projects/p/branches/old")
            let preview = try await lake.uid("projects/p/branches/preview/endpoints/primary")
            #expect(driver.directories.count == 3)

            clock.advance(by: .seconds(3000)) // the test clock also runs with real time: leave a margin for a loaded machine
            await lake.service.sweep()
            #expect(try await lake.state("projects/p/branches/preview") == "READY")

            clock.advance(by: .seconds(601))
            await lake.service.sweep()
            await lake.expectError(.notFound) { try await lake.get("projects/p/branches/preview") }
            #expect(await !driver.isRunning(id: preview))
            #expect(try await lake.state("projects/p/branches/old") == "DELETED") // not yet past its purge time
            #expect(driver.directories.count == 2)

            clock.advance(by: .seconds(7 * 86_400))
            await lake.service.sweep()
            await lake.expectError(.notFound) { try await lake.get("projects/p/branches/old") }
            #expect(driver.directories.count == 1)
            #expect(try await lake.state("projects/p/branches/production") == "READY")
        }
    }

    @Test func aProjectHasAtMostTwentyActiveComputes() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            for index in 1..<Limits.activeComputesPerProject { try await lake.createBranch("b\(index)") }
            await lake.expectError(.resourceLimitExceeded) { try await lake.createBranch("one-too-many") }

            // A disabled endpoint does not count, and enabling it again counts.
            try await lake.update("projects/p/branches/b1/endpoints/primary", mask: "spec.disabled", spec: #"{"disabled": true}"#)
            try await lake.createBranch("fits-now") // its endpoint is the twentieth active one
            let enabling = await lake.failure {
                try await lake.update("projects/p/branches/b1/endpoints/primary", mask: "spec.disabled", spec: #"{"disabled": false}"#)
            }
            #expect(enabling?.code == .resourceLimitExceeded)
        }
    }
}
