import Foundation
import Testing

@testable import KilnApp

/// `ExecutablePages` releases only the pages of the executable's never-writable segments.
@Suite struct ExecutablePagesTests {
    typealias Segment = ExecutablePages.Segment

    /// The program headers lld writes for kiln (`readelf -l`): read-only data, code, then RELRO and data in
    /// writable segments. Loaded at 0x5555_0000_0000.
    static let segments = [
        Segment(type: Segment.programHeaders, flags: 4, virtualAddress: 0x40, memorySize: 0x2d8),
        Segment(type: Segment.load, flags: 4, virtualAddress: 0, memorySize: 0x88_ad88),
        Segment(type: Segment.load, flags: 5, virtualAddress: 0x88_bdc0, memorySize: 0x20d_bfa0),
        Segment(type: Segment.load, flags: 6, virtualAddress: 0x296_8d60, memorySize: 0x14_72a0),
        Segment(type: Segment.load, flags: 6, virtualAddress: 0x2ab_0e08, memorySize: 0x26e_86c8),
        Segment(type: Segment.relocatedReadOnly, flags: 4, virtualAddress: 0x296_8d60, memorySize: 0x14_72a0),
        Segment(type: 0x6474_e551, flags: 6, virtualAddress: 0, memorySize: 0), // PT_GNU_STACK
    ]

    @Test func theWholePagesOfTheNeverWritableSegmentsAreReleased() {
        let base: UInt = 0x5555_0000_0000
        let ranges = ExecutablePages.releasableRanges(Self.segments, headersAddress: base + 0x40, pageSize: 4096)
        #expect(ranges == [base..<base + 0x88_a000, base + 0x88_c000..<base + 0x296_7000])
    }

    @Test func aSegmentThatHoldsRelocatedDataIsNot() {
        var segments = Self.segments
        segments[5].virtualAddress = 0x296_0000 // RELRO reaching into the code's segment
        let ranges = ExecutablePages.releasableRanges(segments, headersAddress: 0x40, pageSize: 4096)
        #expect(ranges == [0..<0x88_a000])
    }

    @Test func withoutItsOwnHeaderTheLoadAddressIsUnknown() {
        #expect(ExecutablePages.releasableRanges(Array(Self.segments.dropFirst()), headersAddress: 0x40, pageSize: 4096).isEmpty)
    }

    #if os(Linux)
        /// This test process's code is resident, is released, and runs on.
        @Test func theExecutablesCodeLeavesTheResidentSet() throws {
            let before = try #require(Self.residentCodeKiB())
            let released = ExecutablePages.release()
            let after = try #require(Self.residentCodeKiB())
            #expect(before > 256)
            #expect(released.segments >= 1)
            // What runs between the release and the reading comes back; far less than all of it.
            #expect(after < before / 2)
        }

        /// The resident KiB of the executable's code mappings (`r-xp`), from `/proc/self/smaps`.
        private static func residentCodeKiB() -> Int? {
            guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
                let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)
            else { return nil }
            var total = 0
            var inCode = false
            for line in smaps.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if let first = fields.first, first.contains("-"), !first.hasSuffix(":") {
                    inCode = fields.count >= 6 && fields[1] == "r-xp" && fields[5...].joined(separator: " ") == exe
                } else if inCode, fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                    total += kib
                }
            }
            return total
        }
    #endif
}
