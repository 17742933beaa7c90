import Foundation
import KilnCore

/// Where a branch from the past recovers to: a moment (every transaction committed then or before) or a
/// WAL position (every record up to and including it).
public enum RecoveryTarget: Sendable, Equatable {
    /// A moment in Unix microseconds: PostgreSQL stamps a commit to the microsecond, and a commit stamped
    /// with the moment itself is part of it (`recovery_target_inclusive`'s default).
    case time(micros: Int64)
    case lsn(LSN)
}

/// A branch's history (`BranchHistory`): its base images, and branches recovered from them.
extension DataDirectories {
    /// Makes the branch whose data is at `history.dataDirectory` keep a history: its computes archive their
    /// WAL from their next start.
    public func keepHistory(_ history: BranchHistory) throws {
        for directory in [history.root, history.archive, history.basesDirectory] {
            try configuration.user.makeDirectory(directory, mode: 0o700)
        }
    }

    /// Takes a base image of the branch: a copy of its data as the compute running on `port` has it (a
    /// low-level backup, like a branch), or of its stopped data when `port` is nil. A running compute's is
    /// consistent from the end of the backup (the time is taken then, and is `now` at least); a stopped one's
    /// from when it stopped (its `pg_control`'s last change, which may be later than `now` when the compute
    /// stopped while the caller waited for the directory), and only a clean stop is taken. A base holds no
    /// commit later than its time, so a moment recovered from it is never past: the time is rounded up to the
    /// millisecond, and a stopped one's allows for the file clock's lag (`fileClockLag`). Throws
    /// `ComputeError` for data that was not stopped cleanly: the next try takes it from its running compute.
    @discardableResult
    public func takeBase(_ history: BranchHistory, runningServerPort port: Int?, now: Int64) async throws -> BranchHistory.Base {
        let staging = history.basesDirectory + "/new"
        try? FileManager.default.removeItem(atPath: staging)
        let lsn: LSN
        func millisRoundedUp(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.up)) }
        let time: Int64
        if let port {
            lsn = try await copy(runningServerPort: port, dataDirectory: history.dataDirectory, to: staging)
            time = max(now, millisRoundedUp(Date()))
        } else {
            guard await isCleanlyStopped(history.dataDirectory) else {
                throw ComputeError("\(history.dataDirectory) was not stopped cleanly; its base image waits for its compute to run.")
            }
            guard let text = await controlData(of: history.dataDirectory, "Latest checkpoint location:"), let checkpoint = LSN(text) else {
                throw ComputeError("Cannot read the last checkpoint of \(history.dataDirectory).")
            }
            lsn = checkpoint
            // The shutdown checkpoint wrote `pg_control` after the last commit, and the data is held, so the
            // clock now is past every commit too.
            let stopped = (try? FileManager.default.attributesOfItem(atPath: history.dataDirectory + "/global/pg_control"))?[.modificationDate]
            let held = Date()
            time = millisRoundedUp(min(held, (stopped as? Date)?.addingTimeInterval(Self.fileClockLag) ?? held))
            try await copy(stoppedDirectory: history.dataDirectory, to: staging)
        }
        let base = BranchHistory.Base(path: history.basesDirectory + "/" + BranchHistory.Base.name(time: time, lsn: lsn), time: time, lsn: lsn)
        try FileManager.default.moveItem(atPath: staging, toPath: base.path)
        return base
    }

    /// How far behind the clock PostgreSQL stamps commits with (`CLOCK_REALTIME`) a file's modification time
    /// may be, in seconds: Linux stamps files from its coarse clock, which moves once a tick
    /// (`CLOCK_REALTIME_COARSE`'s resolution, 1–10 ms), so a file written just after a commit can bear an
    /// earlier time than the commit's.
    static let fileClockLag: TimeInterval = {
        var resolution = timespec()
        guard clock_getres(CLOCK_REALTIME_COARSE, &resolution) == 0 else { return 0.01 }
        return Double(resolution.tv_sec) + Double(resolution.tv_nsec) / 1e9
    }()

    /// Makes at `path` the branch's data as it was at `target`: a copy of `base`, recovered through the
    /// archive and then the branch's current `pg_wal` (what is not archived yet, up to `walEnd`) up to the target, and
    /// promoted to a timeline of its own, by a postgres started on `port` for the purpose. Returns the LSN
    /// where the new timeline starts. The branch's compute must not write meanwhile past what the target
    /// needs (the caller holds its directory). Throws `ComputeError` with postgres's last words when the
    /// target cannot be reached; a failure removes the partial copy.
    public func restore(
        _ history: BranchHistory, from base: BranchHistory.Base, to target: RecoveryTarget, walEnd: LSN, port: Int, into path: String
    ) async throws -> LSN {
        let live = history.dataDirectory + "/pg_wal"
        let firstLive = BranchHistory.segmentName(of: base.lsn)
        let lastLive = BranchHistory.segmentName(of: walEnd)
        var start = LSN(0)
        try await cloneAtomically(to: path) { partial in
            var clone = DirectoryClone(keepsBackupLabel: true)
            try clone.copy(base.path, to: partial)
            // Recovery asks `restore_command` for each segment first and reads `pg_wal` only for what the
            // archive lacks: a live segment archived already (same name: same timeline) would be copied for
            // nothing, which on full copies is up to `max_wal_size` of bytes.
            let archived = Set((try? FileManager.default.contentsOfDirectory(atPath: history.archive)) ?? [])
            if FileManager.default.fileExists(atPath: live) {
                try clone.copyFiles(of: live, to: partial + "/pg_wal", from: firstLive, through: lastLive, except: archived)
            }
        } finish: { partial in
            try configuration.user.writeFile(partial + "/recovery.signal", contents: "")
            var settings = [
                // A hard link where it can: the archive's segments are never written again, and the replay
                // deletes rather than recycles what it read (`replaySettings`); `sharedSegments` unlinks the rest.
                "restore_command": "ln '\(history.archive)/%f' %p 2>/dev/null || cp '\(history.archive)/%f' %p",
                "recovery_target_action": "promote",
                "hot_standby": "off", // so that the server says "ready" only once promoted
            ].merging(Self.replaySettings) { _, replay in replay }
            switch target {
            case .time(let micros): settings["recovery_target_time"] = Self.timestamp(micros: micros)
            case .lsn(let lsn): settings["recovery_target_lsn"] = lsn.description
            }
            let spec = ServerSpec(id: "restore-" + URL(fileURLWithPath: path).lastPathComponent, dataDirectory: partial, port: port, settings: settings)
            defer { try? FileManager.default.removeItem(atPath: spec.logPath) }
            // With hot_standby off, the server says "ready" only once promoted: start waits for the whole replay.
            let server = try await PostgresServer.start(spec, configuration: configuration, timeout: .seconds(1800))
            do {
                try await server.waitUntilPromoted(timeout: .seconds(1800))
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
            try Self.unlinkSharedSegments(in: partial + "/pg_wal")
            start = try Self.timelineStart(in: partial + "/pg_wal")
        }
        return start
    }

    /// Removes from a recovered copy's `pg_wal` every file still linked to the archive (more than one link):
    /// segments of the old timeline that the new one does not need (its shutdown checkpoint is on the new
    /// timeline) and that its compute would otherwise recycle, writing new WAL into the archive's files.
    static func unlinkSharedSegments(in walDirectory: String) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: walDirectory)) ?? [] {
            var status = stat()
            let path = walDirectory + "/" + name
            guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_nlink > 1 else { continue }
            guard unlink(path) == 0 else { throw ComputeError("Cannot remove \(path): \(String(cString: strerror(errno))).") }
        }
    }

    /// Settings of the private postgres that replays a copy to a moment:
    /// - no restartpoint before the end (each flushes every dirty buffer and syncs the data files, every
    ///   `max_wal_size` of WAL otherwise);
    /// - `fsync=off`: PostgreSQL syncs each segment `restore_command` brings (`KeepFileRestoredFromArchive`'s
    ///   `durable_rename`), which at this disk's 340 MB/s was a third of a replay's time; the copy is synced
    ///   once, whole, before it is renamed into place (`cloneAtomically`), and a copy cut short is discarded;
    /// - `wal_recycle=off`: the replayed segments are deleted, not renamed to future segments and written
    ///   again, which for a segment hard-linked from the archive would write into the archive.
    static let replaySettings = ["max_wal_size": "100GB", "checkpoint_timeout": "1d", "fsync": "off", "wal_recycle": "off"]

    /// Where the newest timeline in `walDirectory` begins: the last line of its `.history` file.
    static func timelineStart(in walDirectory: String) throws -> LSN {
        let histories = ((try? FileManager.default.contentsOfDirectory(atPath: walDirectory)) ?? []).filter {
            $0.count == 16 && $0.hasSuffix(".history")
        }
        guard let newest = histories.max(), let text = try? String(contentsOfFile: walDirectory + "/" + newest, encoding: .utf8),
            let line = text.split(separator: "\n").last(where: { !$0.hasPrefix("#") && !$0.isEmpty }),
            let lsn = line.split(separator: "\t").dropFirst().first.flatMap({ LSN(String($0)) })
        else { throw ComputeError("The recovered copy has no new timeline in \(walDirectory).") }
        return lsn
    }

    /// `2026-12-01 14:38:00.123456+00`: Unix microseconds as `recovery_target_time` takes them (its check
    /// refuses ISO 8601's `T` and `Z`).
    static func timestamp(micros: Int64) -> String {
        var text = ProtoTime.timestamp(micros: micros)
        text.replace("T", with: " ")
        text.replace("Z", with: "+00")
        return text
    }
}
