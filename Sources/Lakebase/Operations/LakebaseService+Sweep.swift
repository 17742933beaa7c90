import KilnCore
import Logging
import Persistence

extension LakebaseService {
    /// Deletes what is due: branches past their `expire_time` (with their computes, for good, as
    /// Lakebase does) and soft-deleted projects and branches past their `purge_time`. Each deletion is an
    /// ordinary operation, run in turn; a failure is logged and tried again at the next sweep.
    func sweep() async {
        let now = clock.nowMillis()
        let due: [(workspaceID: Int64, name: ResourceName)]
        do {
            due = try await database.read { db in
                Self.dueForDeletion(
                    projects: try await ResourceTable.all(db, kind: .project),
                    branches: try await ResourceTable.all(db, kind: .branch), now: now)
            }
        } catch {
            logger.error("Cannot read what is due for deletion", metadata: ["error": "\(error)"])
            return
        }
        for (workspaceID, name) in due {
            let purge = JSONTree.object([.init("purge", .bool(true))])
            do {
                let operation = try await record(
                    name.kind == .project ? .deleteProject : .deleteBranch, name,
                    workspaceID: workspaceID, payload: purge
                ) { _ in }
                _ = try await runner.wait(workspaceID: workspaceID, name: operation.name, timeout: .seconds(600))
                logger.info("Deleted a resource that was due", metadata: ["resource": "\(name)", "workspace": "\(workspaceID)"])
            } catch {
                logger.warning("Cannot delete a resource that is due", metadata: ["resource": "\(name)", "error": "\(error)"])
            }
        }
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
