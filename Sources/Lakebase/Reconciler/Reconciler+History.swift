import Compute
import KilnCore
import Logging
import Persistence

/// Each branch's history (`BranchHistory`): its read-write compute archives its WAL, and Kiln keeps base
/// images often enough that reaching any moment replays at most `segmentsBetweenBases` of WAL, and prunes
/// what its project's restore window (`history_retention_duration`) no longer reaches.
extension Reconciler {
    /// A new base image once this many WAL segments (16 MB each: 1 GB) were archived since the last one:
    /// replay runs at about 6 s per GB here (`pg-limits.md` §5), so a point-in-time branch waits for at most
    /// that, plus the copy.
    static let baseEverySegments = 64

    /// How much WAL (in segments) may be archived after a branch's newest base image before the next:
    /// `baseEverySegments` where base images are clones, and at least that base's own size in segments
    /// where each is a full copy, so that a branch's bases take about as much disk as its WAL does, not its
    /// size once per gigabyte written (a 10 GB bulk load would otherwise leave bases of 1, 2, … 9 GB).
    /// There, reaching a moment replays up to the newest base's size of WAL: about 4–9 s per GB against the
    /// copy's 1–1.8 s. The base's size, not the branch's: a branch that grows as it writes would otherwise
    /// never be due a new base.
    func segmentsBetweenBases(newest base: BranchHistory.Base) -> Int {
        if driver.copiesOnWrite { return Self.baseEverySegments }
        // Its relations (`base/`), not its `pg_wal`, which holds the WAL that made it consistent.
        return max(Self.baseEverySegments, Int(driver.size(of: base.path + "/base") / BranchHistory.segmentBytes))
    }

    /// At start-up, before the computes start: every branch keeps a history, so its computes archive from
    /// this start on (branches made before Kiln kept histories begin theirs now).
    func keepHistories() async {
        do {
            let branches = try await database.read { db in try await ResourceTable.all(db, kind: .branch) }
            for branch in branches where branch.deletedAt == nil {
                guard let directory = branch.dataDirectory, driver.exists(directory) else { continue }
                try driver.keepHistory(BranchHistory(dataDirectory: directory))
            }
        } catch {
            logger.error("Cannot keep the branches' histories", metadata: ["error": "\(error)"])
        }
    }

    /// One round of upkeep, from the sweep: a first base image for each branch that has none, a new one
    /// where enough WAL was archived since the last, and pruning to each project's window.
    func tendHistories() async {
        let rows: [StoredResource]
        do {
            rows = try await database.read { db in
                try await ResourceTable.all(db, kind: .project) + ResourceTable.all(db, kind: .branch)
            }
        } catch {
            logger.error("Cannot read the branches to tend their histories", metadata: ["error": "\(error)"])
            return
        }
        let projects = Dictionary(rows.filter { $0.kind == .project }.map { ("\($0.workspaceID)/\($0.name)", $0) }) { first, _ in first }
        for branch in rows where branch.kind == .branch && branch.isReady && branch.deletedAt == nil {
            guard let directory = branch.dataDirectory, let project = projects["\(branch.workspaceID)/\(branch.name.project)"] else { continue }
            let history = BranchHistory(dataDirectory: directory)
            guard history.isKept else { continue }
            let now = clock.nowMillis()
            do {
                let due = history.bases().last.map { history.segmentsArchived(after: $0.lsn) >= segmentsBetweenBases(newest: $0) } ?? true
                if due {
                    try await dataOwner.takeBase(history, now: now)
                }
                let pruned = await dataOwner.prune(history, before: now - project.projectSpec.historyRetentionMillis)
                if pruned > 0 {
                    logger.debug("Pruned a branch's history to its restore window", metadata: ["branch": "\(branch.name)", "files": "\(pruned)"])
                }
            } catch {
                logger.warning("Cannot tend a branch's history", metadata: ["branch": "\(branch.name)", "error": "\(error)"])
            }
        }
    }
}
