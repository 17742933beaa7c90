import Testing

@testable import KilnApp

/// `MemoryReturnService` decides by the resident set it reads from `/proc/self/statm`.
@Suite struct MemoryReturnServiceTests {
    /// Read as private memory, which pages of the binary leaving the resident set do not move (tests that
    /// start the application release them: `ExecutablePages`).
    @Test func theResidentSetIsReadFromProc() throws {
        let before = try #require(MemoryReturnService.privateBytes())
        // 64 MiB more, touched, shows in the next reading.
        var block = [UInt8](repeating: 1, count: 64 << 20)
        block[block.count - 1] = 2
        let after = try #require(MemoryReturnService.privateBytes())
        #expect(before > 1 << 20)
        #expect(after >= before + (60 << 20))
        #expect(block.last == 2)
    }

    @Test func privateMemoryLeavesOutTheSharedPages() throws {
        let resident = try #require(MemoryReturnService.residentBytes())
        let own = try #require(MemoryReturnService.privateBytes())
        #expect(own > 0 && own < resident)
    }
}

/// When the service trims: after growth, while trims return memory, and ever less often once they do not.
@Suite struct TrimScheduleTests {
    private let mib = 1 << 20

    private func due(_ schedule: inout TrimSchedule, _ privateBytes: Int) -> Bool {
        schedule.isDue(privateBytes: privateBytes)
    }

    @Test func nothingIsTrimmedBelowTheFloor() {
        var schedule = TrimSchedule()
        for _ in 0..<5 { #expect(!due(&schedule, 20 * mib)) }
    }

    @Test func aBurstIsTrimmedAtOnceAndAgainWhileTrimsReturnMemory() {
        var schedule = TrimSchedule()
        #expect(!due(&schedule, 5 * mib))
        // Large imports: the memory grew.
        #expect(due(&schedule, 400 * mib))
        schedule.trimmed(from: 400 * mib, to: 300 * mib) // still in use: some came back
        #expect(due(&schedule, 300 * mib))
        schedule.trimmed(from: 300 * mib, to: 40 * mib) // the burst ended
        #expect(due(&schedule, 40 * mib))
        schedule.trimmed(from: 40 * mib, to: 40 * mib) // nothing more to return
        #expect(schedule.wait == 2)
    }

    @Test func growthBringsABackedOffTrimBackAtOnce() {
        var schedule = TrimSchedule()
        for _ in 0..<8 where due(&schedule, 80 * mib) { schedule.trimmed(from: 80 * mib, to: 80 * mib) }
        #expect(schedule.wait == 8)
        #expect(!due(&schedule, 90 * mib)) // less than the growth that counts
        #expect(due(&schedule, 300 * mib))
    }

    @Test func aProcessThatStaysLargeIsTrimmedEverLessOften() {
        var schedule = TrimSchedule()
        var trims: [Int] = []
        for second in 1...200 where schedule.isDue(privateBytes: 80 * mib) {
            trims.append(second)
            schedule.trimmed(from: 80 * mib, to: 80 * mib)
        }
        // 1, then waits of 2, 4, 8, 16, 32 and 64 seconds.
        #expect(trims == [1, 3, 7, 15, 31, 63, 127, 191])
        // Growth brings the next trim back to now.
        #expect(due(&schedule, 120 * mib))
    }
}
