import Compute
import Foundation
public import KilnCore
import SQLKit
import Persistence

/// Snapshots (`projects/{p}/snapshots/{s}`) and each branch's snapshot schedule
/// (`…/branches/{b}/snapshot-schedule`), as SDK 0.162.0 and Lakebase's "Snapshots" docs have them: a
/// snapshot is an immutable copy of a root branch's data, now or at a point of its restore window; it
/// outlives its branch, expires when its spec says, and becomes a new branch with `spec.source_snapshot`.
extension LakebaseService {
    /// `POST projects/{p}/snapshots?snapshot_id=…`. Throws Databricks' 400 for a spec that is not valid
    /// (`Specs.snapshot`, `pointInTime`), a source that is not a root branch of the project or is outside
    /// its restore window; 404 for a source branch that does not exist; 409 for a taken id; and
    /// `RESOURCE_LIMIT_EXCEEDED` past 10 manual snapshots in the project.
    func createSnapshot(_ name: ResourceName, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let now = clock.nowMillis()
        let reader = SpecReader(spec, prefix: "spec")
        let stored = try Specs.snapshot(spec, now: now)
        let pointInTime = try Self.pointInTime(reader, now: now)
        let source = try Self.sourceName(stored["source_branch"]?.stringValue ?? "", .branch, field: "source_branch", projectID: name.projectID)
        let (_, project) = try await visible(name.project, caller: caller, includeDeleted: false)
        let retention = project.projectSpec.historyRetentionMillis
        let ws = caller.workspaceID
        let payload = JSONTree.object(pointInTime.map { [.init("recovery_target", $0.json)] } ?? [])
        return try await start(.createSnapshot, name, payload: payload, caller: caller) { db in
            let sourceRow = try await Self.snapshotSource(db, source, ws: ws)
            if case .time(let micros) = pointInTime {
                try Self.checkRestoreWindow(micros, source: sourceRow, retention: retention, now: now)
            }
            guard sourceRow.branchSpec.sourceBranch == nil else {
                throw KilnError.invalidParameter(
                    "Snapshots can be created on root branches only; \(source) was branched from \(sourceRow.branchSpec.sourceBranch!). Branch from a point in time instead."
                )
            }
            let snapshots = try await ResourceTable.children(db, workspaceID: ws, parent: name.project.description, kind: .snapshot)
            if snapshots.contains(where: { $0.name == name }) {
                throw KilnError(.alreadyExists, "snapshot with such id already exists in the project")
            }
            guard snapshots.filter({ !$0.isScheduledSnapshot }).count < Limits.manualSnapshotsPerProject else {
                throw Limits.exceeded("manual snapshots per project", Limits.manualSnapshotsPerProject)
            }
            try await ResourceTable.insert(db, StoredResource(workspaceID: ws, name: name, uid: UIDs.make(.snapshot), spec: stored, now: now))
        }
    }

    /// The live, ready branch a snapshot is taken of.
    static func snapshotSource(_ db: any SQLDatabase, _ source: ResourceName, ws: Int64) async throws -> StoredResource {
        guard let row = try await ResourceTable.get(db, workspaceID: ws, name: source), row.deletedAt == nil else {
            throw KilnError(.notFound, "source branch \(source) not found")
        }
        guard row.isReady else { throw KilnError(.aborted, "The source branch \(source) is still being created; try again when it is READY.") }
        return row
    }

    /// `DELETE projects/{p}/snapshots/{s}`: the snapshot and its data go at once (branches made from it
    /// have their own copies). Throws Databricks' 400 while a branch is still being restored from it.
    func deleteSnapshot(_ name: ResourceName, caller: LakebaseCaller) async throws -> JSONTree {
        let ws = caller.workspaceID
        return try await start(.deleteSnapshot, name, caller: caller) { db in
            let restores = try await OperationTable.pending(db, workspaceID: ws, projectID: name.projectID)
                .filter { $0.kind == .createBranch && $0.payload["source_snapshot"]?.stringValue == name.description }
            if let restore = restores.first {
                throw KilnError(.badRequest, "The snapshot \(name) is being restored into \(restore.resource); delete it once that branch is made.")
            }
        }
    }

    /// Whether the snapshot is being deleted (its deletion is accepted and not done yet): it can no longer
    /// be restored.
    static func isBeingDeleted(_ db: any SQLDatabase, _ snapshot: ResourceName, ws: Int64) async throws -> Bool {
        try await OperationTable.pending(db, workspaceID: ws, projectID: snapshot.projectID)
            .contains { $0.kind == .deleteSnapshot && $0.resource == snapshot }
    }

    /// `GET …/branches/{b}/snapshot-schedule`: `{"name"}` alone when the branch has none (Lakebase answers
    /// so, not 404), else with its `schedule`.
    public func snapshotSchedule(of branch: ResourceName, caller: LakebaseCaller) async throws -> JSONTree {
        let (row, _) = try await visible(branch, caller: caller, includeDeleted: false)
        return Self.renderSchedule(row.snapshotSchedule, branch: branch)
    }

    /// A branch's `SnapshotSchedule` as the API shows it.
    static func renderSchedule(_ schedule: SnapshotSchedule, branch: ResourceName) -> JSONTree {
        .compact([
            ("name", .string(branch.description + "/snapshot-schedule")),
            ("schedule", schedule.entries.isEmpty ? nil : schedule.json),
        ])
    }

    /// `PATCH …/branches/{b}/snapshot-schedule?update_mask=schedule`: replaces the branch's cadences (none
    /// given, or an empty list, turns automatic snapshots off: the SDK leaves an empty list out of the
    /// body). Throws Databricks' 400 for a mask other than `schedule`, a cadence that is not valid
    /// (`SnapshotSchedule.init(json:)`), or cadences for a branch that is not a root branch (schedules
    /// "only apply to root branches").
    public func updateSnapshotSchedule(of branch: ResourceName, body: JSONTree, mask: String?, caller: LakebaseCaller) async throws -> JSONTree {
        guard case .object = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        try await authorize(branch, .canManage, caller: caller)
        let paths = UpdateMask.paths(mask)
        guard paths == ["schedule"] || paths == ["*"] else {
            throw KilnError.invalidParameter(
                "update_mask must be 'schedule', the only updatable path of a snapshot schedule, not '\(mask ?? "")'.")
        }
        let list: [JSONTree]
        switch body["schedule"] {
        case nil, .null: list = []
        case .array(let items): list = items
        default: throw KilnError.invalidParameter("Field 'schedule' must be a list.")
        }
        let schedule = try SnapshotSchedule(json: list)
        let (row, _) = try await visible(branch, caller: caller, includeDeleted: false)
        if !schedule.entries.isEmpty, let parent = row.branchSpec.sourceBranch {
            throw KilnError.invalidParameter(
                "Snapshot schedules apply to root branches only; \(branch) was branched from \(parent).")
        }
        let ws = caller.workspaceID
        let now = clock.nowMillis()
        return try await start(.updateSnapshotSchedule, branch, caller: caller) { db in
            guard var current = try await ResourceTable.get(db, workspaceID: ws, name: branch), current.deletedAt == nil else {
                throw Self.notFound(.branch)
            }
            current.setSnapshotSchedule(schedule, mark: now)
            try await ResourceTable.update(db, current)
        }
    }
}
