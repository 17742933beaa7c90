import Foundation
import KilnCore
@testable import Lakebase
import Testing

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
        #"[{"daily_schedule": {}, "retention": "100000000000000000000s"}]"#,
        #"[{"daily_schedule": {}, "retention": "-100000000000000000000s"}]"#,
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
