import KilnCore
import Testing

@Suite struct ProtoTimeTests {
    @Test(arguments: [
        ("2030-01-01T00:00:00Z", Int64(1_893_456_000_000)),
        ("2030-01-01T00:00:00.5Z", 1_893_456_000_500),
        ("2030-01-01T02:00:00+02:00", 1_893_456_000_000),
        ("2030-01-01T00:00:00.123456789Z", 1_893_456_000_123),
    ])
    func parsesTimestamps(text: String, millis: Int64) {
        #expect(ProtoTime.millis(timestamp: text) == millis)
    }

    @Test(arguments: ["2030-01-01 00:00:00Z", "2030-01-01T00:00:00", "2030-01-01T00:00:00z", "1893456000", "2030-13-01T00:00:00Z"])
    func rejectsTimestamps(text: String) {
        #expect(ProtoTime.millis(timestamp: text) == nil)
    }

    @Test func writesTimestampsThatParseBack() {
        for millis: Int64 in [0, 1_893_456_000_000, 1_795_332_165_978] {
            #expect(ProtoTime.millis(timestamp: ProtoTime.timestamp(millis: millis)) == millis)
        }
    }

    @Test(arguments: [
        ("2030-01-01T00:00:00.123456789Z", Int64(1_893_456_000_123_456)),
        ("2030-01-01T00:00:00.000001Z", 1_893_456_000_000_001),
        ("2030-01-01T02:00:00.5+02:00", 1_893_456_000_500_000),
        ("1969-12-31T23:59:59.999999Z", -1),
    ])
    func parsesTimestampsToTheMicrosecond(text: String, micros: Int64) {
        #expect(ProtoTime.micros(timestamp: text) == micros)
    }

    @Test func dropsAFractionOfAMillisecondTowardsThePast() {
        #expect(ProtoTime.millis(timestamp: "2030-01-01T00:00:00.123999Z") == 1_893_456_000_123)
        #expect(ProtoTime.millis(timestamp: "1969-12-31T23:59:59.9995Z") == -1)
    }

    @Test(arguments: [
        (Int64(1_893_456_000_000_000), "2030-01-01T00:00:00Z"),
        (1_893_456_000_123_000, "2030-01-01T00:00:00.123Z"),
        (1_893_456_000_123_456, "2030-01-01T00:00:00.123456Z"),
        (1_893_456_000_000_001, "2030-01-01T00:00:00.000001Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
    ])
    func writesMicrosecondsAsProtobufDoes(micros: Int64, text: String) {
        #expect(ProtoTime.timestamp(micros: micros) == text)
        #expect(ProtoTime.micros(timestamp: text) == micros)
    }

    @Test func durations() {
        #expect(ProtoTime.seconds(duration: "300s") == 300)
        #expect(ProtoTime.seconds(duration: "1.5s") == 1.5)
        #expect(ProtoTime.seconds(duration: "300") == nil)
        #expect(ProtoTime.seconds(duration: "PT5M") == nil)
        #expect(ProtoTime.duration(seconds: 604_800) == "604800s")
    }
}
