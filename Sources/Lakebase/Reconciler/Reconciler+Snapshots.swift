import Compute
import KilnCore
import Logging
import Persistence

/// Taking and deleting snapshots. A snapshot's data is a data directory beside its project's branches,
/// made as a branch's is (`DataDirectoryOwner.copy`: a clone with its `backup_label`, or, for a point in
/// the past, `restore`), that no compute ever serves: a branch restored from it copies it, and its first
/// start recovers as a branch's does.
extension Reconciler {
    /// Takes the snapshot `name`: copies its source branch's data (now, or at `recoveryTarget`) into a
    /// directory of its own and marks it ready, keeping what a restore needs (`setSnapshotContents`). A
    /// failure removes the directory and the snapshot; a snapshot already taken (an operation run again
    /// after a restart) is left as it is.
    func createSnapshot(_ name: ResourceName, ws: Int64, recoveryTarget: RecoveryTarget?) async throws {
        guard let snapshot = try await row(name, ws: ws), let project = try await row(name.project, ws: ws) else {
            throw LakebaseService.notFound(.snapshot)
        }
        if snapshot.isReady { return }
        let directory = try await dataDirectory(project: project, for: snapshot)
        do {
            guard let sourceName = snapshot.snapshotSpec.sourceBranch, let source = try await row(sourceName, ws: ws),
                source.deletedAt == nil, let sourceDirectory = source.dataDirectory
            else { throw KilnError(.notFound, "source branch \(snapshot.spec["source_branch"]?.stringValue ?? "") not found") }
            let started = ContinuousClock.now
            if !driver.exists(directory) {
                if let recoveryTarget {
                    _ = try await dataOwner.restore(
                        BranchHistory(dataDirectory: sourceDirectory), to: recoveryTarget, into: directory,
                        maintenancePort: { [database] in try await database.read { db in try await self.freePort(db) } })
                } else {
                    try await dataOwner.copy(sourceDirectory, to: directory)
                }
            }
            logger.debug("Snapshot taken", metadata: ["snapshot": "\(name)", "copy": "\(ContinuousClock.now - started)"])
            let kept = try await children(sourceName, .role, ws: ws) + children(sourceName, .database, ws: ws)
            var ready = snapshot
            ready.setDataDirectory(directory)
            ready.setSnapshotContents(
                children: kept.filter(\.isReady).map(\.snapshotChild), fromProtectedBranch: source.branchSpec.isProtected,
                sizeBytes: driver.size(of: directory))
            try await markReady([ready])
        } catch {
            // Kiln is shutting down: the next start runs the operation again, on what is left.
            if Task.isCancelled { throw error }
            await dataOwner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }

    /// Removes a snapshot's data, then the snapshot.
    func deleteSnapshot(_ name: ResourceName, ws: Int64) async throws {
        if let directory = try await row(name, ws: ws)?.dataDirectory { await dataOwner.remove(directory) }
        try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
    }
}
