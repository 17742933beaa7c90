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
            #expect(try await lake.state("projects/p/branches/restored/endpoints/primary") == "ACTIVE")
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
            let off = try await lake.finished(
                lake.service.updateSnapshotSchedule(of: branch, body: .object([]), mask: "schedule", caller: lake.caller))
            #expect(off.value(at: ["response", "schedule"]) == nil)
            #expect(off.value(at: ["response", "name"]) == .string("projects/p/branches/production/snapshot-schedule"))
        }
    }

    private func snapshots(_ lake: LakebaseHarness) async throws -> [JSONTree] {
        try await lake.service.list(
            .snapshot, parent: LakebaseHarness.name("projects/p"), pageSize: nil, pageToken: nil, showDeleted: false, caller: lake.caller
        )["snapshots"]?.arrayValue ?? []
    }
}

/// When a schedule's cadences fire (UTC), and what it refuses.
@Suite struct SnapshotScheduleTests {
    /// 2026-12-01 17:30 UTC, a Tuesday.
    static let now: Int64 = 1_796_146_200_000

    static func millis(_ text: String) -> Int64 { ProtoTime.millis(timestamp: text)! }

    @Test func cadencesFireAtTheirHourOnTheirDay() {
        #expect(SnapshotSchedule.lastFiring(of: .daily(hour: 3), atOrBefore: Self.now) == Self.millis("2026-12-01T03:00:00Z"))
        #expect(SnapshotSchedule.lastFiring(of: .daily(hour: 18), atOrBefore: Self.now) == Self.millis("2026-11-30T18:00:00Z"))
        // Monday (2) 00:00 and Tuesday (3) 17:00 before the Tuesday 17:30.
        #expect(SnapshotSchedule.lastFiring(of: .weekly(weekday: 2, hour: 0), atOrBefore: Self.now) == Self.millis("2026-11-30T00:00:00Z"))
        #expect(SnapshotSchedule.lastFiring(of: .weekly(weekday: 3, hour: 17), atOrBefore: Self.now) == Self.millis("2026-12-01T17:00:00Z"))
        #expect(SnapshotSchedule.lastFiring(of: .weekly(weekday: 3, hour: 18), atOrBefore: Self.now) == Self.millis("2026-11-24T18:00:00Z"))
        // Day 31 runs on the 30th in November; day 1 at 18:00 was a month ago.
        #expect(SnapshotSchedule.lastFiring(of: .monthly(day: 31, hour: 0), atOrBefore: Self.now) == Self.millis("2026-11-30T00:00:00Z"))
        #expect(SnapshotSchedule.lastFiring(of: .monthly(day: 1, hour: 18), atOrBefore: Self.now) == Self.millis("2026-11-01T18:00:00Z"))
        let february = Self.millis("2027-03-01T12:00:00Z")
        #expect(SnapshotSchedule.lastFiring(of: .monthly(day: 30, hour: 0), atOrBefore: february) == Self.millis("2027-02-28T00:00:00Z"))
    }

    @Test func cadencesFiringTogetherTakeOneSnapshotKeptTheLongest() {
        let schedule = SnapshotSchedule(entries: [
            .init(cadence: .daily(hour: 0), retentionSeconds: 86_400),
            .init(cadence: .weekly(weekday: 2, hour: 0), retentionSeconds: 604_800),
            .init(cadence: .daily(hour: 12), retentionSeconds: 7200),
        ])
        let monday = Self.millis("2026-11-30T00:00:00Z")
        #expect(schedule.due(after: monday - 1, now: monday + 60_000)?.moment == monday)
        #expect(schedule.due(after: monday - 1, now: monday + 60_000)?.retentionSeconds == 604_800)
        #expect(schedule.due(after: monday, now: monday + 60_000) == nil)
        #expect(schedule.due(after: monday, now: Self.now)?.moment == Self.millis("2026-12-01T12:00:00Z"))
        #expect(schedule.due(after: monday, now: Self.now)?.retentionSeconds == 7200)
    }

    @Test(arguments: [
        #"[{"daily_schedule": {}}]"#,
        #"[{"daily_schedule": {}, "retention": "60s"}]"#,
        #"[{"retention": "3600s"}]"#,
        #"[{"daily_schedule": {}, "weekly_schedule": {"day_of_week": "MONDAY"}, "retention": "3600s"}]"#,
        #"[{"daily_schedule": {"hour": 24}, "retention": "3600s"}]"#,
        #"[{"weekly_schedule": {"day_of_week": "FUNDAY"}, "retention": "3600s"}]"#,
        #"[{"weekly_schedule": {}, "retention": "3600s"}]"#,
        #"[{"monthly_schedule": {"day": 0}, "retention": "3600s"}]"#,
        #"[{"monthly_schedule": {"hour": 1}, "retention": "3600s"}]"#,
        #"["daily"]"#,
    ])
    func badCadencesAreRefused(_ text: String) throws {
        let list = try LakebaseHarness.json(text).arrayValue ?? []
        #expect(throws: KilnError.self) { try SnapshotSchedule(json: list) }
    }

    @Test func aScheduleReadsBackAsItWasWritten() throws {
        let text =
            #"[{"monthly_schedule": {"day": 31, "hour": 2}, "retention": "2592000s"}, {"weekly_schedule": {"day_of_week": "SUNDAY", "hour": 0}, "retention": "3600s"}]"#
        let schedule = try SnapshotSchedule(json: LakebaseHarness.json(text).arrayValue ?? [])
        #expect(
            schedule.entries == [
                .init(cadence: .monthly(day: 31, hour: 2), retentionSeconds: 2_592_000), .init(cadence: .weekly(weekday: 1, hour: 0), retentionSeconds: 3600),
            ])
        #expect(try SnapshotSchedule(json: schedule.json.arrayValue ?? []) == schedule)
    }
}
