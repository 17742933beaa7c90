import SQLKit

/// Every grant in one workspace, by the path of the object it is on: what the permission checks read,
/// kept in memory for reads (`WorkspaceService.grantCache`), so that a get-status or a list as a user
/// reads what an admin's reads; a write reads those of the path it checks in its transaction.
struct ObjectGrants: Sendable {
    struct Grant: Sendable {
        var principalID: Int64
        var level: PermissionLevel
    }

    let byPath: [String: [Grant]]

    /// The highest level granted to `caller` on `path` itself.
    func granted(to caller: WorkspaceCaller, on path: WorkspacePath) -> PermissionLevel? {
        byPath[path.value]?.lazy.filter { caller.principalIDs.contains($0.principalID) }.map(\.level).max()
    }

    /// The highest level granted to `caller` on `path` or a folder above it (a grant on a folder reaches
    /// everything below it). `path` need not exist.
    func inherited(by caller: WorkspaceCaller, on path: WorkspacePath) -> PermissionLevel? {
        path.lineage.lazy.compactMap { granted(to: caller, on: $0) }.max()
    }

    /// Reads a workspace's grants: all of them, or those on `path` and the folders above it.
    static func read(_ db: any SQLDatabase, workspaceID: Int64, lineageOf path: WorkspacePath? = nil) async throws -> ObjectGrants {
        var byPath: [String: [Grant]] = [:]
        for (objectPath, principalID, level) in try await ObjectACL.all(db, workspaceID: workspaceID, paths: path?.lineage.map(\.value)) {
            byPath[objectPath, default: []].append(Grant(principalID: principalID, level: level))
        }
        return ObjectGrants(byPath: byPath)
    }
}
