import Foundation
import KilnCore
import Logging
import Persistence

extension LakebaseService {
    /// The sweep's part of snapshot schedules: for each live root branch whose schedule has a snapshot due
    /// (`SnapshotSchedule.due`, after the branch's mark), records one snapshot operation, named
    /// `scheduled-<yyyymmdd>-<hhmm>` after the moment due (with a suffix if a user took that id), kept for
    /// its cadence's retention from when it is recorded, and moves the mark to that moment in the same
    /// transaction, reading the branch afresh there (a schedule cleared meanwhile takes nothing). The
    /// operations run as any other, without the sweep waiting for them; one that fails is logged and not
    /// tried again (its moment is past), as a missed moment is not made up.
    func takeScheduledSnapshots(branches: [StoredResource], projects: [String: StoredResource]) async {
        let now = clock.nowMillis()
        for branch in branches where branch.isReady && branch.deletedAt == nil && branch.branchSpec.sourceBranch == nil {
            guard let project = projects["\(branch.workspaceID)/\(branch.name.project)"], project.deletedAt == nil,
                let due = branch.snapshotSchedule.due(after: branch.snapshotScheduleMark, now: now)
            else { continue }
            let ws = branch.workspaceID
            do {
                let taken = try await database.read { db in
                    try await ResourceTable.children(db, workspaceID: ws, parent: branch.name.project.description, kind: .snapshot)
                }.map(\.name.id)
                let name = branch.name.project.child(.snapshot, Self.scheduledSnapshotID(due.moment, avoiding: Set(taken)))
                let spec = JSONTree.object([
                    .init("source_branch", .string(branch.name.description)),
                    .init("expire_time", .string(ProtoTime.timestamp(millis: now + Int64(due.retentionSeconds * 1000)))),
                ])
                let snapshot = StoredResource(
                    workspaceID: ws, name: name, uid: UIDs.make(.snapshot), spec: spec,
                    privateState: .object([.init("scheduled", .bool(true))]), now: now)
                _ = try await record(.createSnapshot, name, workspaceID: ws) { db in
                    guard var current = try await ResourceTable.get(db, workspaceID: ws, name: branch.name), current.deletedAt == nil,
                        let stillDue = current.snapshotSchedule.due(after: current.snapshotScheduleMark, now: now)
                    else { throw KilnError(.aborted, "The schedule changed; nothing is due.") }
                    current.setSnapshotSchedule(current.snapshotSchedule, mark: stillDue.moment)
                    try await ResourceTable.update(db, current)
                    try await ResourceTable.insert(db, snapshot)
                }
                logger.info("Taking a scheduled snapshot", metadata: ["snapshot": "\(name)", "workspace": "\(ws)"])
            } catch let error as KilnError where error.code == .aborted {
                continue
            } catch {
                logger.warning("Cannot take a scheduled snapshot", metadata: ["branch": "\(branch.name)", "error": "\(error)"])
            }
        }
    }

    /// `scheduled-20261201-1700` for a snapshot due at 17:00 UTC on 1 December 2026; with `-2`, `-3`, … when
    /// an id in `taken` has that name.
    static func scheduledSnapshotID(_ moment: Int64, avoiding taken: Set<String> = []) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmm"
        let base = "scheduled-" + formatter.string(from: Date(timeIntervalSince1970: Double(moment) / 1000))
        var id = base
        var suffix = 1
        while taken.contains(id) {
            suffix += 1
            id = "\(base)-\(suffix)"
        }
        return id
    }
}
