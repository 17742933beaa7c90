import Foundation
import Testing

@testable import KilnApp

/// `ExecutablePages` releases only the executable's pages that hold the file's own bytes.
extension ProcessMemoryTests {
    @Suite struct ExecutablePagesTests {
        /// Four mappings as Linux writes them: code, relocated data made read-only (RELRO: its pages were
        /// written), data, and an anonymous mapping.
        static let smaps = """
            5581c3a00000-5581c3c00000 r-xp 00200000 fd:01 1234567                    /usr/local/bin/kiln
            Size:               2048 kB
            Rss:                 812 kB
            Anonymous:             0 kB
            VmFlags: rd ex mr mw me
            5581c3c00000-5581c3c10000 r--p 00400000 fd:01 1234567                    /usr/local/bin/kiln
            Rss:                  64 kB
            Anonymous:            64 kB
            5581c3c10000-5581c3c11000 rw-p 00410000 fd:01 1234567                    /usr/local/bin/kiln
            Rss:                   4 kB
            Anonymous:             0 kB
            7f0000000000-7f0000021000 rw-p 00000000 00:00 0
            Rss:                 132 kB
            Anonymous:           132 kB
            """

        @Test func onlyUnwrittenReadOnlyFileMappingsAreReleased() {
            let mappings = ExecutablePages.mappings(Self.smaps)
            #expect(mappings.count == 4)
            #expect(
                mappings.first
                    == .init(
                        start: 0x5581_c3a0_0000, end: 0x5581_c3c0_0000, permissions: "r-xp", inode: 1_234_567, path: "/usr/local/bin/kiln", residentKiB: 812))
            #expect(mappings.last?.path == "")
            #expect(mappings.map(\.isFileContentOnly) == [true, false, false, false])
        }

        #if os(Linux)
            /// This test process's code is resident, is released, and runs on.
            @Test func theExecutablesCodeLeavesTheResidentSet() throws {
                let before = try #require(Self.residentCodeKiB())
                let released = ExecutablePages.release()
                let after = try #require(Self.residentCodeKiB())
                #expect(before > 256)
                #expect(released.mappings >= 1)
                #expect(released.residentBytes >= before * 1024 / 2)
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
}
