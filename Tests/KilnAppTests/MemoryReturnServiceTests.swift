import Testing

@testable import KilnApp

/// `MemoryReturnService` decides by the resident set it reads from `/proc/self/statm`.
@Suite struct MemoryReturnServiceTests {
    @Test func theResidentSetIsReadFromProc() throws {
        let before = try #require(MemoryReturnService.residentBytes())
        // A test process holds at least its own code; 64 MiB more, touched, shows in the next reading.
        var block = [UInt8](repeating: 1, count: 64 << 20)
        block[block.count - 1] = 2
        let after = try #require(MemoryReturnService.residentBytes())
        #expect(before > 1 << 20)
        #expect(after >= before + (60 << 20))
        #expect(block.last == 2)
    }
}
