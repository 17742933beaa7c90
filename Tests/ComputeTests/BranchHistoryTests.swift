import Foundation
import Testing

@testable import Compute

/// `BranchHistory` on a made-up history: which base a point recovers from, and what pruning to a window
/// deletes (every moment inside the window stays reachable).
@Suite struct BranchHistoryTests {
    @Test func lsnsParseAndPrintAsPostgresDoes() {
        #expect(LSN("16/B374D848")?.value == 0x16_B374_D848)
        #expect(LSN("0/1A2B3C4D")?.description == "0/1A2B3C4D")
        for bad in ["", "16", "16/", "/1", "x/1", "1/2/3", "123456789/0", "16-B374D848"] {
            #expect(LSN(bad) == nil, "\(bad) parses")
        }
        #expect(LSN("0/FFFFFFFF")! < LSN("1/0")!)
    }

    @Test func segmentNamesFollowTheLSN() {
        #expect(BranchHistory.segmentNumber(of: LSN("0/1000028")!) == "0000000000000001")
        #expect(BranchHistory.segmentNumber(of: LSN("16/B374D848")!) == "00000016000000B3")
    }

    /// PostgreSQL stamps commits to the microsecond, and `recovery_target_time` is compared with those
    /// stamps: a target cut to the millisecond would leave out a commit made earlier in that millisecond.
    @Test func aRecoveryTargetTimeKeepsTheMicrosecond() {
        #expect(DataDirectories.timestamp(micros: 1_893_456_000_123_456) == "2030-01-01 00:00:00.123456+00")
        #expect(DataDirectories.timestamp(micros: 1_893_456_000_000_000) == "2030-01-01 00:00:00+00")
    }

    @Test func pointsRecoverFromTheNewestBaseBeforeThemAndPruningKeepsTheWindowReachable() throws {
        let root = NSTemporaryDirectory() + "kiln-history-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let history = BranchHistory(dataDirectory: root + "/branch")
        let bases = [(1_000, "0/2000028"), (2_000, "0/5000028"), (3_000, "0/9000028")]
        for (time, lsn) in bases {
            try FileManager.default.createDirectory(
                atPath: history.basesDirectory + "/" + BranchHistory.Base.name(time: Int64(time), lsn: LSN(lsn)!), withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: history.basesDirectory + "/new.partial", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: history.archive, withIntermediateDirectories: true)
        for segment in 2...10 {
            FileManager.default.createFile(atPath: history.archive + "/00000001" + String(format: "%016X", segment), contents: nil)
        }
        #expect(history.bases().map(\.time) == [1_000, 2_000, 3_000])
        #expect(history.base(before: nil, micros: 2_500_000)?.time == 2_000)
        #expect(history.base(before: LSN("0/9000028"), micros: nil)?.time == 3_000)
        #expect(history.base(before: nil, micros: 1_999_999)?.time == 1_000)
        #expect(history.base(before: nil, micros: 999_999) == nil)
        #expect(history.segmentsArchived(after: LSN("0/5000028")!) == 5)

        // A window that starts at 2,500 needs the base of 2,000 and the WAL from its segment on.
        let expired = history.expired(before: 2_500)
        #expect(expired.contains(history.bases()[0].path))
        #expect(!expired.contains(history.bases()[1].path))
        #expect(expired.filter { $0.hasPrefix(history.archive) }.map { String($0.suffix(2)) }.sorted() == ["02", "03", "04"])
        #expect(history.expired(before: 500).isEmpty)
    }

    /// A prune deletes a base by renaming it out of sight first: one that a killed Kiln left half deleted is
    /// never listed as a base, and the next prune finishes it, whatever the window.
    @Test func aPruneCutShortLeavesNoBaseHalfDeletedAndTheNextOneFinishesIt() throws {
        let root = NSTemporaryDirectory() + "kiln-history-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let history = BranchHistory(dataDirectory: root + "/branch")
        for (time, lsn) in [(1_000, "0/2000028"), (2_000, "0/5000028"), (3_000, "0/9000028")] {
            let base = history.basesDirectory + "/" + BranchHistory.Base.name(time: Int64(time), lsn: LSN(lsn)!)
            try FileManager.default.createDirectory(atPath: base + "/base/1", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: base + "/base/1/1259", contents: Data(count: 8192))
        }
        // What a kill -9 halfway through deleting a base of 500 leaves.
        let halfDeleted = history.basesDirectory + "/" + BranchHistory.Base.name(time: 500, lsn: LSN("0/1000028")!) + ".deleting"
        try FileManager.default.createDirectory(atPath: halfDeleted + "/base", withIntermediateDirectories: true)
        #expect(history.bases().map(\.time) == [1_000, 2_000, 3_000])
        #expect(history.expired(before: 500) == [halfDeleted])

        #expect(history.prune(before: 2_500) == 2)
        let left = try FileManager.default.contentsOfDirectory(atPath: history.basesDirectory)
        #expect(left.sorted() == history.bases().map { URL(fileURLWithPath: $0.path).lastPathComponent }.sorted())
        #expect(history.bases().map(\.time) == [2_000, 3_000])
        #expect(history.prune(before: 2_500) == 0)
    }
}
