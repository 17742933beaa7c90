import Compute
import KilnCore
import Persistence
import SQLKit

/// Deleting and undeleting a project or branch with everything below it: soft deletion stops the computes,
/// a purge also removes the data.
extension Reconciler {
    func deleteTree(_ name: ResourceName, ws: Int64, purge: Bool) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        let prefix = name.description + "/"
        let inside = rows.filter { $0.name == name || $0.name.description.hasPrefix(prefix) }
        for endpoint in inside where endpoint.kind == .endpoint { await dataOwner.stop(id: endpoint.uid) }
        guard purge else { return }
        for resource in inside where resource.kind == .branch || resource.kind == .snapshot || resource.isReadOnly {
            if let directory = resource.dataDirectory { await dataOwner.remove(directory) }
        }
        try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
    }

    func undeleteTree(_ name: ResourceName, ws: Int64) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        let prefix = name.description + "/"
        for endpoint in rows
        where endpoint.kind == .endpoint && endpoint.isReady
            && (endpoint.name.description.hasPrefix(prefix) || name.kind == .project)
        {
            try await startIfWanted(endpoint)
        }
    }
}
