import ComputeTestSupport
import Foundation
import KilnCore
@testable import Lakebase
import Testing

/// Snapshots and snapshot schedules (SDK 0.162.0; Lakebase docs, "Snapshots"): immutable copies of a root
/// branch, at most ten manual ones per project, restored into new branches, deleted when they expire, and
/// taken by a branch's schedule.
@Suite struct SnapshotTests {
    @Test func aSnapshotIsACopyOfARootBranchThatABranchIsRestoredFrom() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let operation = try await lake.create(
                .snapshot, in: "projects/p", id: "before-migration", spec: #"{"source_branch": "projects/p/branches/production", "ttl": "3600s"}"#)
            #expect(operation["error"] == nil)
            #expect(operation.value(at: ["metadata", "@type"]) == .string("type.googleapis.com/databricks.postgres.v1.SnapshotOperationMetadata"))
            let snapshot = try await lake.get("projects/p/snapshots/before-migration")
            #expect(snapshot["snapshot_id"] == .string("before-migration"))
            #expect(snapshot["uid"]?.stringValue?.hasPrefix("snap-") == true)
            #expect(snapshot.value(at: ["status", "source_branch"]) == .string("projects/p/branches/production"))
            #expect(snapshot.value(at: ["status", "expire_time"]) != nil)
            #expect(snapshot.value(at: ["spec", "ttl"]) == nil)
            #expect(snapshot.value(at: ["status", "full_size_bytes"]) == .integer(8 << 20))
            #expect(driver.directories.count == 2)

            let restored = try await lake.create(
                .branch, in: "projects/p", id: "restored", spec: #"{"source_snapshot": "projects/p/snapshots/before-migration"}"#)
            #expect(restored["error"] == nil)
            #expect(restored.value(at: ["response", "status", "source_snapshot"]) == .string("projects/p/snapshots/before-migration"))
            #expect(restored.value(at: ["response", "status", "source_branch"]) == .string("projects/p/branches/production"))
            #expect(try await lake.state("projects/p/branches/restored/endpoints/primary", becoming: "ACTIVE") == "ACTIVE")
            try await lake.update("projects/p/branches/restored", mask: "spec.is_protected", spec: #"{"is_protected": false}"#)
            #expect(try await lake.status("projects/p/branches/restored", "source_snapshot") == .string("projects/p/snapshots/before-migration"))
            // The restored branch has the roles and databases the snapshot held, its database owned by its own role.
            let roles = try await lake.service.list(
                .role, parent: LakebaseHarness.name("projects/p/branches/restored"), pageSize: nil, pageToken: nil, showDeleted: false,
                caller: lake.caller)
            let roleID = try #require(roles["roles"]?.arrayValue?.first?["role_id"]?.stringValue)
            #expect(
                try await lake.status("projects/p/branches/restored/databases/databricks-postgres", "role")
                    == .string("projects/p/branches/restored/roles/\(roleID)"))
            #expect(driver.directories.count == 3)

            // Deleting the snapshot removes its data; the branch restored from it keeps its own.
            let deleted = try await lake.delete("projects/p/snapshots/before-migration")
            #expect(deleted["error"] == nil)
            #expect(driver.directories.count == 2)
            await lake.expectError(.notFound) { try await lake.get("projects/p/snapshots/before-migration") }
            #expect(try await lake.state("projects/p/branches/restored") == "READY")
            #expect(driver.violations == [])
        }
    }

    @Test func snapshotsAreOfRootBranchesOfTheProjectTenAtMost() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createProject("other")
            try await lake.createBranch("dev")
            let child = await lake.failure {
                try await lake.create(.snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/dev"}"#)
            }
            #expect(child?.code == .invalidParameterValue)
            #expect(child?.message.contains("root branches") == true)
            let elsewhere = await lake.failure {
                try await lake.create(.snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/other/branches/production"}"#)
            }
            #expect(elsewhere?.code == .invalidParameterValue)
            await lake.expectError(.notFound) {
                try await lake.create(.snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/missing"}"#)
            }
            await lake.expectError(.invalidParameterValue) { try await lake.create(.snapshot, in: "projects/p", id: "s", spec: "{}") }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(
                    .snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/production", "ttl": "60s", "no_expiry": true}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(
                    .snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/production", "source_branch_lsn": "nope"}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(
                    .snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/production", "ttl": "99999999999999999999s"}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(.snapshot, in: "projects/p", id: "Bad_ID", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            }
            for index in 0..<Limits.manualSnapshotsPerProject {
                let operation = try await lake.create(
                    .snapshot, in: "projects/p", id: "s\(index)", spec: #"{"source_branch": "projects/p/branches/production"}"#)
                #expect(operation["error"] == nil)
            }
            await lake.expectError(.alreadyExists) {
                try await lake.create(.snapshot, in: "projects/p", id: "s0", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            }
            await lake.expectError(.resourceLimitExceeded) {
                try await lake.create(.snapshot, in: "projects/p", id: "s10", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            }
            let list = try await lake.service.list(
                .snapshot, parent: LakebaseHarness.name("projects/p"), pageSize: 4, pageToken: nil, showDeleted: false, caller: lake.caller)
            #expect(list["snapshots"]?.arrayValue?.count == 4)
            #expect(list["next_page_token"] != nil)
            #expect(try await lake.status("projects/p/snapshots/s0", "no_expiry") == .bool(true))
            await lake.expectError(.invalidParameterValue) { try await lake.update("projects/p/snapshots/s0", mask: nil, spec: "{}") }
        }
    }

    @Test func aSnapshotBeingRestoredCannotBeDeleted() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.create(.snapshot, in: "projects/p", id: "s", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            driver.holdCopies()
            async let restored = lake.create(.branch, in: "projects/p", id: "restored", spec: #"{"source_snapshot": "projects/p/snapshots/s"}"#)
            await driver.waitForCopies(2) // the snapshot's, then the restore's
            let refused = await lake.failure { try await lake.delete("projects/p/snapshots/s") }
            #expect(refused?.code == .badRequest)
            #expect(refused?.message.contains("projects/p/branches/restored") == true)
            driver.releaseCopies()
            #expect(try await restored["error"] == nil)
            #expect(try await lake.delete("projects/p/snapshots/s")["error"] == nil)
        }
    }

    @Test func restoringNeedsAnAvailableSnapshotOfTheProjectAndNoOtherSource() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createProject("other")
            try await lake.create(.snapshot, in: "projects/other", id: "s", spec: #"{"source_branch": "projects/other/branches/production"}"#)
            await lake.expectError(.notFound) {
                try await lake.create(.branch, in: "projects/p", id: "x", spec: #"{"source_snapshot": "projects/p/snapshots/missing"}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(.branch, in: "projects/p", id: "x", spec: #"{"source_snapshot": "projects/other/snapshots/s"}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(
                    .branch, in: "projects/p", id: "x",
                    spec: #"{"source_snapshot": "projects/p/snapshots/s", "source_branch": "projects/p/branches/production"}"#)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.create(.branch, in: "projects/p", id: "x", spec: #"{"source_snapshot": "projects/p/branches/production"}"#)
            }
        }
    }

    @Test func expiredSnapshotsGoAtTheSweepAndADeletedProjectTakesItsSnapshotsData() async throws {
        let driver = FakeComputeDriver()
        let clock = TestClock()
        try await LakebaseHarness.run(driver: driver, clock: clock) { lake in
            try await lake.createProject()
            try await lake.create(.snapshot, in: "projects/p", id: "short", spec: #"{"source_branch": "projects/p/branches/production", "ttl": "3600s"}"#)
            try await lake.create(.snapshot, in: "projects/p", id: "kept", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            #expect(driver.directories.count == 3)
            clock.advance(by: .seconds(3601))
            await lake.service.sweep()
            await lake.expectError(.notFound) { try await lake.get("projects/p/snapshots/short") }
            #expect(try await lake.get("projects/p/snapshots/kept")["snapshot_id"] == .string("kept"))
            #expect(driver.directories.count == 2)
            try await lake.delete("projects/p", purge: true)
            #expect(driver.directories.isEmpty)
        }
    }

    @Test func aScheduleIsEmptyUntilSetAndTakesSnapshotsWhenItsCadenceFires() async throws {
        let driver = FakeComputeDriver()
        let clock = TestClock()
        try await LakebaseHarness.run(driver: driver, clock: clock) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let branch = try LakebaseHarness.name("projects/p/branches/production")
            let empty = try await lake.service.snapshotSchedule(of: branch, caller: lake.caller)
            #expect(empty == .object([.init("name", .string("projects/p/branches/production/snapshot-schedule"))]))

            let body = try LakebaseHarness.json(
                #"{"schedule": [{"daily_schedule": {"hour": 3}, "retention": "86400s"}, {"weekly_schedule": {"day_of_week": "MONDAY"}, "retention": "604800s"}]}"#
            )
            let updated = try await lake.finished(lake.service.updateSnapshotSchedule(of: branch, body: body, mask: "schedule", caller: lake.caller))
            #expect(updated.value(at: ["metadata", "@type"]) == .string("type.googleapis.com/databricks.postgres.v1.SnapshotScheduleOperationMetadata"))
            #expect(updated.value(at: ["response", "schedule"])?.arrayValue?.count == 2)
            #expect(updated.value(at: ["response", "@type"]) == .string("type.googleapis.com/databricks.postgres.v1.SnapshotSchedule"))
            let stored = try await lake.service.snapshotSchedule(of: branch, caller: lake.caller)
            let expected = SnapshotSchedule(entries: [
                .init(cadence: .daily(hour: 3), retentionSeconds: 86400), .init(cadence: .weekly(weekday: 2, hour: 0), retentionSeconds: 604_800),
            ])
            #expect(stored["schedule"] == expected.json)

            // Nothing is due when it is set; a day later the daily cadence has fired once.
            await lake.service.sweep()
            #expect(try await snapshots(lake).isEmpty)
            clock.advance(by: .seconds(86_400))
            await lake.service.sweep()
            await lake.service.sweep()
            let taken = try await snapshots(lake)
            #expect(taken.count == 1)
            let id = try #require(taken.first?["snapshot_id"]?.stringValue)
            #expect(id.hasPrefix("scheduled-"))
            #expect(id.hasSuffix("-0300") || id.hasSuffix("-0000"))

            // Scheduled snapshots do not count toward the manual limit.
            for index in 0..<Limits.manualSnapshotsPerProject {
                try await lake.create(.snapshot, in: "projects/p", id: "m\(index)", spec: #"{"source_branch": "projects/p/branches/production"}"#)
            }
            #expect(try await snapshots(lake).count == Limits.manualSnapshotsPerProject + 1)

            // Only root branches take a schedule; an empty one turns it off anywhere.
            let dev = try LakebaseHarness.name("projects/p/branches/dev")
            await lake.expectError(.invalidParameterValue) {
                try await lake.service.updateSnapshotSchedule(of: dev, body: body, mask: "schedule", caller: lake.caller)
            }
            await lake.expectError(.invalidParameterValue) {
                try await lake.service.updateSnapshotSchedule(of: branch, body: body, mask: "schedule,name", caller: lake.caller)
            }
            // A user's snapshot with the id a scheduled one would take leaves the scheduled one another.
            #expect(LakebaseService.scheduledSnapshotID(SnapshotScheduleTests.now) == "scheduled-20261201-1730")
            #expect(LakebaseService.scheduledSnapshotID(SnapshotScheduleTests.now, avoiding: ["scheduled-20261201-1730"]) == "scheduled-20261201-1730-2")

            let off = try await lake.finished(
                lake.service.updateSnapshotSchedule(of: branch, body: .object([]), mask: "schedule", caller: lake.caller))
            #expect(off.value(at: ["response", "schedule"]) == nil)
            #expect(off.value(at: ["response", "name"]) == .string("projects/p/branches/production/snapshot-schedule"))
            let before = Set(try await snapshots(lake).compactMap { $0["snapshot_id"]?.stringValue })
            clock.advance(by: .seconds(86_400))
            await lake.service.sweep()
            let after = Set(try await snapshots(lake).compactMap { $0["snapshot_id"]?.stringValue })
            #expect(after.isSubset(of: before), "a cleared schedule took \(after.subtracting(before))")
        }
    }

    private func snapshots(_ lake: LakebaseHarness) async throws -> [JSONTree] {
        try await lake.service.list(
            .snapshot, parent: LakebaseHarness.name("projects/p"), pageSize: nil, pageToken: nil, showDeleted: false, caller: lake.caller
        )["snapshots"]?.arrayValue ?? []
    }
}
