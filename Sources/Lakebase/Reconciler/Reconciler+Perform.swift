import Compute
import KilnCore
import SQLKit
import Persistence

extension Reconciler: OperationPerformer {
    /// Does an operation's work; returns the resource for its response (`nil` for deletes). The proxy
    /// hears that endpoints may have changed before the operation is reported done, even when it failed.
    func perform(_ operation: OperationRecord) async throws -> JSONTree? {
        do {
            let result = try await work(operation)
            await notifyEndpointsChanged()
            return result
        } catch {
            await notifyEndpointsChanged()
            throw error
        }
    }

    /// At start-up: what a killed Kiln left running is stopped first; then endpoints are reachable (and
    /// wake on connect) before their computes are back.
    func resume() async {
        await stopOrphans()
        await recordDataVersions()
        await keepHistories()
        await notifyEndpointsChanged()
        await restoreComputes()
        await notifyEndpointsChanged()
    }

    /// A new branch's computes start once the branch is reported READY (`startComputes(ofNewBranch:ws:)`).
    func followUp(_ operation: OperationRecord) async {
        if operation.kind == .createBranch { await startComputes(ofNewBranch: operation.resource, ws: operation.workspaceID) }
    }

    /// The work of each kind of operation, in the file named after it.
    private func work(_ operation: OperationRecord) async throws -> JSONTree? {
        let ws = operation.workspaceID
        let name = operation.resource
        switch operation.kind {
        case .createProject:
            try await createProject(name, ws: ws)
        case .createBranch:
            try await createBranch(
                name, ws: ws, recoveryTarget: operation.payload["recovery_target"].flatMap(RecoveryTarget.init(json:)),
                snapshot: operation.payload["source_snapshot"]?.stringValue.flatMap(ResourceName.init))
        case .createEndpoint, .updateEndpoint:
            try await applyEndpoint(name, ws: ws, previous: operation.payload["previous"])
        case .updateProject, .updateBranch:
            break
        case .deleteProject, .deleteBranch:
            try await deleteTree(name, ws: ws, purge: operation.payload["purge"]?.boolValue == true)
            return nil
        case .undeleteProject, .undeleteBranch:
            try await undeleteTree(name, ws: ws)
            return nil
        case .deleteEndpoint:
            if let endpoint = try await row(name, ws: ws) {
                await dataOwner.stop(id: endpoint.uid)
                if endpoint.isReadOnly { await removeReplica(endpoint) }
            }
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            return nil
        case .createRole, .updateRole, .deleteRole:
            try await applyRole(operation)
            if operation.kind == .deleteRole { return nil }
        case .createDatabase, .updateDatabase, .deleteDatabase:
            try await applyDatabase(operation)
            if operation.kind == .deleteDatabase { return nil }
        case .createSnapshot:
            try await createSnapshot(name, ws: ws, recoveryTarget: operation.payload["recovery_target"].flatMap(RecoveryTarget.init(json:)))
        case .deleteSnapshot:
            try await deleteSnapshot(name, ws: ws)
            return nil
        case .updateSnapshotSchedule:
            guard let branch = try await row(name, ws: ws) else { throw LakebaseService.notFound(.branch) }
            return LakebaseService.renderSchedule(branch.snapshotSchedule, branch: name)
        }
        guard let resource = try await row(name, ws: ws) else { throw LakebaseService.notFound(name.kind) }
        let project = try await row(name.project, ws: ws)
        return await Rendering.render(resource, project: project, facts: facts)
    }

    func row(_ name: ResourceName, ws: Int64) async throws -> StoredResource? {
        try await database.read { db in try await ResourceTable.get(db, workspaceID: ws, name: name) }
    }

    func children(_ parent: ResourceName, _ kind: ResourceKind, ws: Int64) async throws -> [StoredResource] {
        try await database.read { db in try await ResourceTable.children(db, workspaceID: ws, parent: parent.description, kind: kind) }
    }

    /// Marks resources READY (and records a branch's data directory).
    func markReady(_ resources: [StoredResource], dataDirectory: String? = nil) async throws {
        let now = clock.nowMillis()
        try await database.write { db in
            for var resource in resources {
                guard let current = try await ResourceTable.get(db, workspaceID: resource.workspaceID, name: resource.name) else { continue }
                resource.spec = current.spec
                resource.state = .ready
                resource.stateChangedAt = now
                if let dataDirectory, resource.kind == .branch { resource.setDataDirectory(dataDirectory) }
                try await ResourceTable.update(db, resource)
            }
        }
    }
}
