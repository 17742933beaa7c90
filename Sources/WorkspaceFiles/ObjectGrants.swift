import Synchronization
import SQLKit

/// Every grant in one workspace, by the path of the object it is on: what the permission checks read, so
/// that a get-status or a list as a user reads no grant rows. `version` is the workspace's
/// `workspace_acl_versions` count when the grants were read (see `ObjectACL.changed`).
struct ObjectGrants: Sendable {
    struct Grant: Sendable {
        var principalID: Int64
        var level: PermissionLevel
    }

    let version: Int64
    let byPath: [String: [Grant]]

    /// The highest level granted to `caller` on `path` itself.
    func granted(to caller: WorkspaceCaller, on path: WorkspacePath) -> PermissionLevel? {
        byPath[path.value]?.lazy.filter { caller.principalIDs.contains($0.principalID) }.map(\.level).max()
    }

    /// The highest level granted to `caller` on `path` or a folder above it (a grant on a folder reaches
    /// everything below it). `path` need not exist.
    func inherited(by caller: WorkspaceCaller, on path: WorkspacePath) -> PermissionLevel? {
        path.lineage.compactMap { granted(to: caller, on: $0) }.max()
    }

    /// Reads a workspace's grants: its version first, then the rows, so a change committed in between
    /// leaves grants newer than their version, which the next read of the version replaces; never older.
    static func read(_ db: any SQLDatabase, workspaceID: Int64) async throws -> ObjectGrants {
        let version = try await ObjectACL.version(db, workspaceID: workspaceID)
        var byPath: [String: [Grant]] = [:]
        for (path, principalID, level) in try await ObjectACL.all(db, workspaceID: workspaceID) {
            byPath[path, default: []].append(Grant(principalID: principalID, level: level))
        }
        return ObjectGrants(version: version, byPath: byPath)
    }
}

/// The grants of each workspace this process has read (`ObjectGrants`), replaced when a request reads a
/// different version with its object. The version is counted in the database in the transaction that
/// changes the grants, so a change made by this process, by another Kiln on the same PostgreSQL, or by
/// `kiln admin` on the same SQLite file is seen by the next request that reads it; nothing needs telling.
final class ObjectGrantCache: Sendable {
    private let byWorkspace = Mutex<[Int64: ObjectGrants]>([:])

    /// `workspaceID`'s grants as of `version` (nil: read it now), from memory when the copy there is of
    /// that version, else read again and, when `keep` is true, kept. Grants read inside a write
    /// transaction must not be kept: it may roll back, and a later change would count the same version.
    func grants(_ db: any SQLDatabase, workspaceID: Int64, version: Int64?, keep: Bool) async throws -> ObjectGrants {
        let current: Int64
        if let version { current = version } else { current = try await ObjectACL.version(db, workspaceID: workspaceID) }
        if let cached = byWorkspace.withLock({ $0[workspaceID] }), cached.version == current { return cached }
        let read = try await ObjectGrants.read(db, workspaceID: workspaceID)
        if keep { byWorkspace.withLock { $0[workspaceID] = read } }
        return read
    }
}
