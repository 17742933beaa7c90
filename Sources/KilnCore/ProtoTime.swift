import Foundation

/// The protobuf JSON encodings of timestamps (RFC 3339, `Z`) and durations (`"300s"`), as Databricks' APIs
/// write them (Lakebase's times and TTLs, OAuth secrets' lifetimes and expiries).
public enum ProtoTime {
    /// `2026-01-15T10:30:00.123Z` from Unix milliseconds.
    public static func timestamp(millis: Int64) -> String { timestamp(micros: millis * 1000) }

    /// `2026-01-15T10:30:00.123456Z` from Unix microseconds, with 0, 3 or 6 fraction digits as protobuf's
    /// `Timestamp.ToJsonString()` writes them.
    public static func timestamp(micros: Int64) -> String {
        let (seconds, fraction) = divided(micros, by: 1_000_000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let base = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        if fraction == 0 { return base + "Z" }
        if fraction % 1000 == 0 { return base + String(format: ".%03dZ", fraction / 1000) }
        return base + String(format: ".%06dZ", fraction)
    }

    /// Unix milliseconds from an RFC 3339 timestamp with a zone (`Z` or `±hh:mm`), up to 9 fraction digits;
    /// a fraction of a millisecond is dropped (rounded towards the past).
    public static func millis(timestamp text: String) -> Int64? {
        micros(timestamp: text).map(millis(micros:))
    }

    /// Unix milliseconds from Unix microseconds, rounded towards the past.
    public static func millis(micros: Int64) -> Int64 { divided(micros, by: 1000).quotient }

    /// Unix microseconds from an RFC 3339 timestamp with a zone (`Z` or `±hh:mm`), up to 9 fraction digits;
    /// a fraction of a microsecond is dropped (rounded towards the past). Microseconds are PostgreSQL's
    /// resolution (`timestamptz`, a commit's time), which a point in time of a branch's past is compared with.
    public static func micros(timestamp text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fractionMicros: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            let digits = String(decoding: bytes[start..<index], as: UTF8.self)
            guard (1...9).contains(digits.count) else { return nil }
            fractionMicros = Int64((digits + "00000").prefix(6)) ?? 0
        }
        var offsetSeconds = 0
        let zone = String(decoding: bytes[index...], as: UTF8.self)
        if zone == "Z" {
            offsetSeconds = 0
        } else if zone.count == 6, let sign = zone.first, sign == "+" || sign == "-",
            let h = Int(zone.dropFirst().prefix(2)), let m = Int(zone.suffix(2)), zone.dropFirst(3).first == ":"
        {
            offsetSeconds = (sign == "+" ? 1 : -1) * (h * 3600 + m * 60)
        } else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = Int64(timegm(&parts)) - Int64(offsetSeconds)
        return epoch * 1_000_000 + fractionMicros
    }

    /// `value / divisor` rounded towards minus infinity, and the remainder that leaves (0 ..< divisor): a
    /// moment before 1970 keeps its fraction positive, as `gmtime` and protobuf count it.
    private static func divided(_ value: Int64, by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// `"300s"`, `"1.500s"` from seconds.
    public static func duration(seconds: Double) -> String {
        if seconds == seconds.rounded() { return "\(Int64(seconds))s" }
        return String(format: "%.3fs", seconds)
    }

    /// Seconds from `"300s"` / `"1.5s"`; nil for anything else, and for more than a protobuf `Duration`
    /// holds (±315,576,000,000 s, about 10,000 years).
    public static func seconds(duration text: String) -> Double? {
        guard text.hasSuffix("s"), let value = Double(text.dropLast()), value.isFinite, abs(value) <= maxDurationSeconds,
            !text.dropLast().contains(where: { !"0123456789.-".contains($0) })
        else { return nil }
        return value
    }

    /// The largest `google.protobuf.Duration`, in seconds.
    public static let maxDurationSeconds = 315_576_000_000.0
}
