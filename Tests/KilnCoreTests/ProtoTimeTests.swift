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

    @Test func durations() {
        #expect(ProtoTime.seconds(duration: "300s") == 300)
        #expect(ProtoTime.seconds(duration: "1.5s") == 1.5)
        #expect(ProtoTime.seconds(duration: "300") == nil)
        #expect(ProtoTime.seconds(duration: "PT5M") == nil)
        #expect(ProtoTime.duration(seconds: 604_800) == "604800s")
    }
}
