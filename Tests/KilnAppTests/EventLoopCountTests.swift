import Testing

@testable import KilnApp

@Suite struct EventLoopCountTests {
    /// One core is left to what runs beside Kiln, and a machine of one core still gets its loop.
    @Test func oneLoopFewerThanTheCoresAndAtLeastOne() {
        #expect([1, 2, 4, 16].map { EventLoopCount.loops(cores: $0) } == [1, 1, 3, 15])
    }
}
