import KilnCore
import Logging
import Persistence

extension LakebaseService {
    /// Deletes what is due: branches and snapshots past their `expire_time` (branches with their computes,
    /// for good, as Lakebase does) and soft-deleted projects and branches past their `purge_time`; then
    /// takes the snapshots branches' schedules have due. Each is an ordinary operation, run in turn; a
    /// failure is logged and tried again at the next sweep.
    func sweep() async {
        let now = clock.nowMillis()
        let projects: [StoredResource]
        let branches: [StoredResource]
        let snapshots: [StoredResource]
        do {
            (projects, branches, snapshots) = try await database.read { db in
                (
                    try await ResourceTable.all(db, kind: .project), try await ResourceTable.all(db, kind: .branch),
                    try await ResourceTable.all(db, kind: .snapshot)
                )
            }
        } catch {
            logger.error("Cannot read what is due for deletion", metadata: ["error": "\(error)"])
            return
        }
        let due = Self.dueForDeletion(projects: projects, branches: branches, now: now) + Self.expiredSnapshots(snapshots, projects: projects, now: now)
        for (workspaceID, name) in due {
            let purge = JSONTree.object([.init("purge", .bool(true))])
            let kind: OperationKind =
                switch name.kind {
                case .project: .deleteProject
                case .snapshot: .deleteSnapshot
                default: .deleteBranch
                }
            do {
                let operation = try await record(kind, name, workspaceID: workspaceID, payload: purge) { _ in }
                _ = try await runner.wait(workspaceID: workspaceID, name: operation.name, timeout: .seconds(600))
                logger.info("Deleted a resource that was due", metadata: ["resource": "\(name)", "workspace": "\(workspaceID)"])
            } catch {
                logger.warning("Cannot delete a resource that is due", metadata: ["resource": "\(name)", "error": "\(error)"])
            }
        }
        let projectsByName = Dictionary(projects.map { ("\($0.workspaceID)/\($0.name)", $0) }) { first, _ in first }
        await takeScheduledSnapshots(branches: branches, projects: projectsByName)
    }

    /// The snapshots past their `expire_time`, of projects that are not deleted (a deleted project's go
    /// with it).
    static func expiredSnapshots(_ snapshots: [StoredResource], projects: [StoredResource], now: Int64) -> [(workspaceID: Int64, name: ResourceName)] {
        let live = Set(projects.filter { $0.deletedAt == nil }.map { "\($0.workspaceID)/\($0.name)" })
        return snapshots.filter { snapshot in
            snapshot.isReady && live.contains("\(snapshot.workspaceID)/\(snapshot.name.project)")
                && snapshot.snapshotSpec.expiresAt.map { $0 <= now } == true
        }.map { ($0.workspaceID, $0.name) }
    }

    /// The projects and branches to delete now, with their workspaces: soft-deleted ones whose purge time
    /// passed, and live branches whose expiry passed — unless the rules of deletion keep them
    /// (`StoredResource.deletionRefusal`). A branch of a project that goes too is left to the project.
    static func dueForDeletion(projects: [StoredResource], branches: [StoredResource], now: Int64) -> [(workspaceID: Int64, name: ResourceName)] {
        var due: [(workspaceID: Int64, name: ResourceName)] = []
        var goingProjects: Set<String> = []
        for project in projects {
            if let purgeAt = project.purgeAt, project.deletedAt != nil, purgeAt <= now {
                due.append((project.workspaceID, project.name))
                goingProjects.insert("\(project.workspaceID)/\(project.name)")
            }
        }
        let projectsByName = Dictionary(projects.map { ("\($0.workspaceID)/\($0.name)", $0) }) { first, _ in first }
        var liveChildren: [String: ResourceName] = [:]
        for branch in branches where branch.deletedAt == nil {
            if let source = branch.branchSpec.sourceBranch { liveChildren["\(branch.workspaceID)/\(source)"] = branch.name }
        }
        for branch in branches {
            let projectKey = "\(branch.workspaceID)/\(branch.name.project)"
            if goingProjects.contains(projectKey) { continue }
            if let purgeAt = branch.purgeAt, branch.deletedAt != nil {
                if purgeAt <= now { due.append((branch.workspaceID, branch.name)) }
                continue
            }
            guard branch.deletedAt == nil, let project = projectsByName[projectKey], project.deletedAt == nil,
                let expiry = branch.branchSpec.expiresAt, expiry <= now,
                branch.deletionRefusal(project: project, liveChild: liveChildren["\(branch.workspaceID)/\(branch.name)"]) == nil
            else { continue }
            due.append((branch.workspaceID, branch.name))
        }
        return due
    }
}
