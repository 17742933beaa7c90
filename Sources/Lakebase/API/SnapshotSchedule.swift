import Foundation
import KilnCore

/// A branch's snapshot schedule (`…/branches/{b}/snapshot-schedule`): the cadences at which Kiln takes a
/// snapshot of it by itself, each with how long its snapshots are kept (lakebase-contract.md §8.7, SDK
/// 0.162.0 `ScheduleCadence`). Times are UTC; a cadence fires at the top of its hour.
struct SnapshotSchedule: Sendable, Equatable {
    /// When a cadence fires: every day, one day a week, or one day a month.
    enum Cadence: Sendable, Equatable {
        case daily(hour: Int)
        /// `weekday`: 1 for Sunday … 7 for Saturday (`Calendar`'s numbering).
        case weekly(weekday: Int, hour: Int)
        /// `day`: 1–31; in a shorter month it fires on the month's last day instead.
        case monthly(day: Int, hour: Int)
    }

    struct Entry: Sendable, Equatable {
        var cadence: Cadence
        /// How long a snapshot it takes is kept, in seconds (at least an hour).
        var retentionSeconds: Double
    }

    var entries: [Entry]

    /// Lakebase's `DayOfWeek` values, Sunday first (index + 1 is `Calendar`'s weekday).
    static let daysOfWeek = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]
    static let minimumRetention = 3600.0

    /// Reads the `schedule` list of a request body. Throws Databricks' 400 for a cadence with none or
    /// several of `daily_schedule` / `weekly_schedule` / `monthly_schedule`, an hour outside 0–23, a day
    /// outside 1–31, an unknown `day_of_week`, or a `retention` missing or under an hour.
    init(json: [JSONTree]) throws(KilnError) {
        var entries: [Entry] = []
        for (index, item) in json.enumerated() {
            guard case .object = item else { throw KilnError.invalidParameter("schedule[\(index)] must be an object.") }
            let reader = SpecReader(item, prefix: "schedule[\(index)]")
            guard let retention = try reader.duration("retention") else { throw ResourceID.required("schedule[\(index)].retention") }
            guard retention >= Self.minimumRetention else {
                throw KilnError.invalidParameter(
                    "schedule[\(index)].retention must be at least 1 hour (3600s), not \(ProtoTime.duration(seconds: retention)).")
            }
            let daily = try reader.object("daily_schedule")
            let weekly = try reader.object("weekly_schedule")
            let monthly = try reader.object("monthly_schedule")
            guard [daily, weekly, monthly].compactMap({ $0 }).count == 1 else {
                throw KilnError.invalidParameter(
                    "schedule[\(index)] must set exactly one of daily_schedule, weekly_schedule and monthly_schedule.")
            }
            let cadence: Cadence
            if let daily {
                cadence = .daily(hour: try Self.hour(daily))
            } else if let weekly {
                guard let day = try weekly.enumValue("day_of_week", Self.daysOfWeek) else {
                    throw ResourceID.required(weekly.field("day_of_week"))
                }
                cadence = .weekly(weekday: Self.daysOfWeek.firstIndex(of: day)! + 1, hour: try Self.hour(weekly))
            } else {
                let reader = monthly!
                guard let day = try reader.number("day") else { throw ResourceID.required(reader.field("day")) }
                guard (1...31).contains(day), day.rounded() == day else {
                    throw KilnError.invalidParameter("\(reader.field("day")) must be a day of the month from 1 to 31, not \(day).")
                }
                cadence = .monthly(day: Int(day), hour: try Self.hour(reader))
            }
            entries.append(Entry(cadence: cadence, retentionSeconds: retention))
        }
        self.entries = entries
    }

    init(entries: [Entry]) { self.entries = entries }

    private static func hour(_ reader: SpecReader) throws(KilnError) -> Int {
        let hour = try reader.number("hour") ?? 0
        guard (0...23).contains(hour), hour.rounded() == hour else {
            throw KilnError.invalidParameter("\(reader.field("hour")) must be an hour of the day from 0 to 23, not \(hour).")
        }
        return Int(hour)
    }

    /// The schedule as the API shows it (and Kiln stores it): a list of `ScheduleCadence` objects.
    var json: JSONTree {
        .array(
            entries.map { entry in
                let cadence: (String, JSONTree) =
                    switch entry.cadence {
                    case .daily(let hour): ("daily_schedule", .object([.init("hour", .integer(Int64(hour)))]))
                    case .weekly(let weekday, let hour):
                        (
                            "weekly_schedule",
                            .object([.init("day_of_week", .string(Self.daysOfWeek[weekday - 1])), .init("hour", .integer(Int64(hour)))])
                        )
                    case .monthly(let day, let hour):
                        ("monthly_schedule", .object([.init("day", .integer(Int64(day))), .init("hour", .integer(Int64(hour)))]))
                    }
                return .object([.init(cadence.0, cadence.1), .init("retention", .string(ProtoTime.duration(seconds: entry.retentionSeconds)))])
            })
    }

    /// The snapshot due now, if any: the newest moment at which a cadence fired after `after` and no later
    /// than `now` (Unix ms), kept for the longest retention of the cadences that fired then (several firing
    /// together take one snapshot, as Lakebase does). A moment missed while Kiln was down is taken late,
    /// once; older missed moments are not made up.
    func due(after: Int64, now: Int64) -> (moment: Int64, retentionSeconds: Double)? {
        let fired = entries.compactMap { entry in
            Self.lastFiring(of: entry.cadence, atOrBefore: now).map { (retention: entry.retentionSeconds, moment: $0) }
        }.filter { $0.moment > after }
        guard let moment = fired.map({ $0.moment }).max() else { return nil }
        let retention = fired.filter { $0.moment == moment }.map { $0.retention }.max() ?? Self.minimumRetention
        return (moment, retention)
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The last moment (Unix ms) at or before `now` at which `cadence` fired.
    static func lastFiring(of cadence: Cadence, atOrBefore now: Int64) -> Int64? {
        let date = Date(timeIntervalSince1970: Double(now) / 1000)
        let calendar = utc
        // Walk back day by day (at most a little over a month) to the newest day the cadence fires on.
        for back in 0...62 {
            guard let day = calendar.date(byAdding: .day, value: -back, to: date) else { return nil }
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            let hour: Int
            switch cadence {
            case .daily(let h):
                hour = h
            case .weekly(let weekday, let h):
                guard parts.weekday == weekday else { continue }
                hour = h
            case .monthly(let wanted, let h):
                let length = calendar.range(of: .day, in: .month, for: day)?.count ?? 31
                guard parts.day == min(wanted, length) else { continue }
                hour = h
            }
            var moment = DateComponents()
            moment.year = parts.year
            moment.month = parts.month
            moment.day = parts.day
            moment.hour = hour
            guard let firing = calendar.date(from: moment) else { continue }
            let millis = Int64((firing.timeIntervalSince1970 * 1000).rounded())
            if millis <= now { return millis }
        }
        return nil
    }
}
