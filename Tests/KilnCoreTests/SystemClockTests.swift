import Foundation
import KilnCore
import Testing

@Suite struct SystemClockTests {
    @Test func readsEpochMillisecondsFromTheWallClock() {
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let now = SystemClock().nowMillis()
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(before - 1 <= now && now <= after + 1)
        #expect(now > 1_700_000_000_000, "milliseconds, not seconds")
    }

    @Test func advancesWithRealTime() async throws {
        let clock: any WallClock = SystemClock()
        let first = clock.nowMillis()
        try await Task.sleep(for: .milliseconds(15))
        let second = clock.nowMillis()
        #expect(second - first >= 10 && second - first < 60_000)
    }
}
