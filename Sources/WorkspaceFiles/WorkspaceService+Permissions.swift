import Foundation
import KilnCore
import Persistence
import SQLKit

/// A grant as the Permissions API shows it: to whom, which level, and the folder it comes from when it is
/// inherited (nil: granted on the object itself).
public struct ObjectGrant: Sendable, Equatable {
    public var principalID: Int64
    public var level: PermissionLevel
    public var inheritedFrom: ObjectInfo?
}

/// Workspace object permissions (`/api/2.0/permissions/{directories|notebooks|files}/{id}`) and the folders
/// whose permissions Kiln sets itself: `/Shared` (open to all users) and each user's `/Users/<name>`.
extension WorkspaceService {
    /// The object with this id and its grants: its own, then those it inherits from the folders above it,
    /// nearest first. `RESOURCE_DOES_NOT_EXIST` for an id the workspace lacks; `PERMISSION_DENIED` unless
    /// `caller` may read it.
    public func permissions(workspaceID: Int64, objectID: Int64, caller: WorkspaceCaller = .admin) async throws -> (ObjectInfo, [ObjectGrant]) {
        try await database.read { db in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, objectID: objectID) else {
                throw KilnError(.resourceDoesNotExist, "Object \(objectID) does not exist.")
            }
            try await Self.require(.canRead, db, workspaceID: workspaceID, caller: caller, path: object.path)
            return (object, try await Self.grants(db, workspaceID: workspaceID, on: object))
        }
    }

    /// Sets the grants made on an object itself: all of them (`replacing`, a PUT) or the ones named (a
    /// PATCH). `caller` needs CAN_MANAGE on it; the root's are fixed and `/Shared`'s are the admins' to
    /// change. Answers as `permissions` does.
    public func setPermissions(
        workspaceID: Int64, objectID: Int64, grants: [(principalID: Int64, level: PermissionLevel)], replacing: Bool,
        caller: WorkspaceCaller = .admin
    ) async throws -> (ObjectInfo, [ObjectGrant]) {
        try await database.write(lockKey: workspaceID) { db in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, objectID: objectID) else {
                throw KilnError(.resourceDoesNotExist, "Object \(objectID) does not exist.")
            }
            guard !object.path.isRoot else { throw KilnError.invalidParameter("The root folder's permissions cannot be changed.") }
            try await Self.require(.canManage, db, workspaceID: workspaceID, caller: caller, path: object.path)
            // Every user manages /Shared; only admins decide who does.
            guard caller.isAdmin || object.path.value != "/Shared" else {
                throw KilnError(.permissionDenied, "Only workspace admins can change the permissions of /Shared.")
            }
            if replacing { try await ObjectACL.revokeAll(db, objectID: objectID) }
            for grant in grants {
                try await ObjectACL.grant(db, workspaceID: workspaceID, objectID: objectID, principalID: grant.principalID, level: grant.level)
            }
            return (object, try await Self.grants(db, workspaceID: workspaceID, on: object))
        }
    }

    /// Makes `/Users/<userName>` if it is missing and grants its user CAN_MANAGE on it, as Databricks does
    /// for each user of a workspace. Idempotent.
    public func ensureHome(workspaceID: Int64, userName: String, userID: Int64) async throws {
        let home = try WorkspacePath("/Users/\(userName)")
        try await mkdirs(workspaceID: workspaceID, path: home)
        try await database.write(lockKey: workspaceID) { db in
            guard let folder = try await ObjectTable.find(db, workspaceID: workspaceID, path: home) else { return }
            let held = try await ObjectACL.levels(db, objectIDs: [folder.objectID], principals: [userID])
            if held[folder.objectID] != .canManage {
                try await ObjectACL.grant(db, workspaceID: workspaceID, objectID: folder.objectID, principalID: userID, level: .canManage)
            }
        }
    }

    /// Makes `/Shared` if it is missing and opens it to all users (CAN_MANAGE for `users`).
    public func ensureShared(workspaceID: Int64) async throws {
        let shared = try WorkspacePath("/Shared")
        try await mkdirs(workspaceID: workspaceID, path: shared)
        try await database.write(lockKey: workspaceID) { db in
            guard let folder = try await ObjectTable.find(db, workspaceID: workspaceID, path: shared) else { return }
            try await ObjectACL.grant(
                db, workspaceID: workspaceID, objectID: folder.objectID, principalID: WorkspaceCaller.allUsers, level: .canManage)
        }
    }

    private static func grants(_ db: any SQLDatabase, workspaceID: Int64, on object: ObjectInfo) async throws -> [ObjectGrant] {
        let above = try await ObjectTable.find(db, workspaceID: workspaceID, paths: object.path.parent.lineage)
        let byID = Dictionary((above + [object]).map { ($0.objectID, $0) }) { first, _ in first }
        let rows = try await ObjectACL.grants(db, objectIDs: [object.objectID] + above.map(\.objectID))
        let depth = { (id: Int64) in byID[id]?.path.lineage.count ?? 0 }
        return rows.sorted { depth($0.objectID) > depth($1.objectID) }.map { row in
            ObjectGrant(principalID: row.principalID, level: row.level, inheritedFrom: row.objectID == object.objectID ? nil : byID[row.objectID])
        }
    }
}
