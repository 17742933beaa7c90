import Foundation
import KilnCore

/// A branch's history, for branches from a point in its past: the WAL archive its read-write compute fills
/// and the base images Kiln keeps, in `<data directory>.history/` beside its data (`wal/` and `bases/`).
///
/// A point in time is reached by recovering a copy of the newest base image older than it, replaying the
/// archive and then the branch's current WAL up to it (PostgreSQL's point-in-time recovery, "Continuous
/// Archiving and Point-in-Time Recovery"). A base image is made like a branch (`DataDirectories`), so it is
/// a clone where the filesystem has reflinks, and it holds the WAL that makes it consistent.
public struct BranchHistory: Sendable, Equatable {
    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    var root: String { dataDirectory + ".history" }
    /// The WAL archive: each finished segment of the branch's read-write compute.
    var archive: String { root + "/wal" }
    var basesDirectory: String { root + "/bases" }

    /// Whether the branch keeps a history: its computes archive their WAL.
    public var isKept: Bool { FileManager.default.fileExists(atPath: archive) }

    /// The `postgres -c` settings that archive each finished WAL segment: copied under a temporary name,
    /// synced to disk and renamed, so a segment is in the archive whole or not at all; one already there is
    /// accepted only if it is the same (a retry after a crash), as PostgreSQL's documentation asks of an
    /// archive command.
    var archiveSettings: [String: String] {
        let target = "'\(archive)/%f'"
        return [
            "archive_mode": "on",
            "archive_command":
                "if [ -f \(target) ]; then cmp -s %p \(target); else cp --reflink=auto %p '\(archive)/%f.partial' "
                + "&& sync '\(archive)/%f.partial' && mv '\(archive)/%f.partial' \(target) && sync '\(archive)'; fi",
        ]
    }

    /// A base image: a copy of the branch's data that is consistent at `lsn` and holds no commit later than
    /// `time` (Unix milliseconds: the end of its backup, or when its stopped branch stopped; see
    /// `DataDirectories.takeBase`); named `<time>-<lsn as 16 hex digits>`.
    public struct Base: Sendable, Equatable {
        public var path: String
        public var time: Int64
        public var lsn: LSN

        var name: String { Self.name(time: time, lsn: lsn) }

        static func name(time: Int64, lsn: LSN) -> String {
            let hex = String(lsn.value, radix: 16, uppercase: true)
            return "\(time)-" + String(repeating: "0", count: 16 - hex.count) + hex
        }

        init(path: String, time: Int64, lsn: LSN) {
            self.path = path
            self.time = time
            self.lsn = lsn
        }

        /// Reads a base's directory name; nil for anything else (a `.partial` one, say).
        init?(directory: String, name: String) {
            let parts = name.split(separator: "-")
            guard parts.count == 2, parts[1].count == 16, let time = Int64(parts[0]), let lsn = UInt64(parts[1], radix: 16) else { return nil }
            self.init(path: directory + "/" + name, time: time, lsn: LSN(lsn))
        }
    }

    /// The complete base images, oldest first.
    public func bases() -> [Base] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: basesDirectory)) ?? []
        return names.compactMap { Base(directory: basesDirectory, name: $0) }.sorted { $0.lsn < $1.lsn }
    }

    /// The base to recover a point from: the newest one consistent before it (by LSN, or by time in Unix
    /// microseconds when no LSN is given); nil when the point is older than every base.
    public func base(before lsn: LSN?, micros: Int64?) -> Base? {
        bases().last { base in
            if let lsn { return base.lsn <= lsn }
            if let micros { return base.time <= ProtoTime.millis(micros: micros) }
            return true
        }
    }

    /// How many segments the archive holds past the one holding `lsn`.
    public func segmentsArchived(after lsn: LSN) -> Int {
        let from = Self.segmentNumber(of: lsn)
        return ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).count { name in
            name.count == 24 && name.allSatisfy(\.isHexDigit) && String(name.suffix(16)) > from
        }
    }

    /// What to delete to keep the history inside its window: every base older than `start` (Unix ms) but the
    /// newest of those, which the window's first moments are recovered from, and the archived segments
    /// older than the oldest base kept; and whatever a prune that was cut short (Kiln killed) left half
    /// deleted. Returns the paths.
    public func expired(before start: Int64) -> [String] {
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: basesDirectory)) ?? [])
            .filter { $0.hasSuffix(Self.deletingSuffix) }.map { basesDirectory + "/" + $0 }
        let all = bases()
        guard let keepFrom = all.lastIndex(where: { $0.time <= start }) else { return leftovers }
        let dropped = leftovers + all[..<keepFrom].map(\.path)
        let firstKept = all[keepFrom]
        let firstSegment = Self.segmentNumber(of: firstKept.lsn)
        let segments = ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { name in
            name.count == 24 && name.allSatisfy(\.isHexDigit) && String(name.suffix(16)) < firstSegment
        }
        return dropped + segments.map { archive + "/" + $0 }
    }

    /// Deletes what `expired(before:)` lists; returns how many paths that was. A base first goes out of
    /// sight, renamed (which is atomic) to `<name>.deleting`, then is deleted: a Kiln killed meanwhile leaves
    /// no half-deleted base that `bases()` lists, and the next prune finishes the deletion.
    public func prune(before start: Int64) -> Int {
        let expired = expired(before: start)
        for path in expired {
            var doomed = path
            if path.hasPrefix(basesDirectory + "/"), !path.hasSuffix(Self.deletingSuffix) {
                doomed = path + Self.deletingSuffix
                guard (try? FileManager.default.moveItem(atPath: path, toPath: doomed)) != nil else { continue }
            }
            try? FileManager.default.removeItem(atPath: doomed)
        }
        return expired.count
    }

    /// The suffix of a base being deleted.
    static let deletingSuffix = ".deleting"

    /// The size of a WAL segment: 16 MB (Kiln's computes never change `wal_segment_size`).
    public static let segmentBytes: Int64 = 16 << 20

    /// The name of the WAL segment file holding `lsn`, on a timeline that does not matter to the caller
    /// (`DirectoryClone.copyFiles` compares the log and segment parts only).
    static func segmentName(of lsn: LSN) -> String { "00000000" + segmentNumber(of: lsn) }

    /// The log and segment part (16 hex digits) of the name of the WAL segment holding `lsn`, for 16 MB
    /// segments (Kiln's computes never change `wal_segment_size`).
    static func segmentNumber(of lsn: LSN) -> String {
        let segment = lsn.value >> 24
        let log = String(segment >> 8, radix: 16, uppercase: true)
        let number = String(segment & 0xFF, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - log.count) + log + String(repeating: "0", count: 8 - number.count) + number
    }
}
