import Foundation
import KilnCore
import Persistence
import SQLKit

/// A principal's permission on a workspace (`a.workspace_assignment`): `USER` may use it, `ADMIN` also
/// administers it. ADMIN takes precedence when a principal holds both, directly or through groups.
public enum WorkspacePermission: String, Sendable, CaseIterable, Comparable {
    case user = "USER"
    case admin = "ADMIN"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .user && rhs == .admin }
}

/// Which principals (users, service principals, groups) are assigned to each workspace, as Databricks'
/// workspace permission assignments (`/api/2.0/accounts/{id}/workspaces/{id}/permissionassignments`). Only
/// a principal assigned directly or through a group, however deeply nested, can authenticate to a workspace.
public struct WorkspaceAssignments: Sendable {
    let database: any Database
    /// `access(of:in:)`'s answers, in memory (`RowCache`).
    private let accessCache: RowCache<AccessKey, Access>

    /// Assignments whose `access(of:in:)` is kept in `accessCache`, which `AccountStore.assignments` shares
    /// among its copies.
    init(database: any Database, accessCache: RowCache<AccessKey, Access>) {
        self.database = database
        self.accessCache = accessCache
    }

    struct AccessKey: Hashable, Sendable {
        var principalID: Int64
        var workspaceID: Int64
    }

    /// What a principal may do in a workspace (nil: not assigned) and the groups it is in.
    struct Access: Sendable {
        var permission: WorkspacePermission?
        var groups: Set<Int64>
    }

    /// The workspace's direct assignments, by principal id.
    public func list(workspaceID: Int64) async throws -> [Int64: WorkspacePermission] {
        try await database.read { db in
            var assignments: [Int64: WorkspacePermission] = [:]
            for row in try await db.select().columns("principal_id", "permission").from("workspace_assignments")
                .where("workspace_id", .equal, workspaceID).all()
            {
                assignments[try row.decode(column: "principal_id", as: Int64.self)] =
                    WorkspacePermission(rawValue: try row.decode(column: "permission", as: String.self)) ?? .user
            }
            return assignments
        }
    }

    /// Assigns a principal to a workspace with `permission`, or removes its assignment when nil. Throws
    /// `KilnError(.invalidParameterValue)` when that would leave the workspace with no admin assigned directly.
    public func set(workspaceID: Int64, principalID: Int64, permission: WorkspacePermission?) async throws {
        try await database.write(lockKey: Self.lockKey(workspaceID)) { db in
            let current = try await db.select().column("principal_id").from("workspace_assignments")
                .where("workspace_id", .equal, workspaceID).where("permission", .equal, WorkspacePermission.admin.rawValue).all()
                .map { try $0.decode(column: "principal_id", as: Int64.self) }
            if permission != .admin, current == [principalID] {
                throw KilnError.invalidParameter("Principal \(principalID) is the workspace's last admin; assign another admin first.")
            }
            try await db.delete(from: "workspace_assignments").where("workspace_id", .equal, workspaceID)
                .where("principal_id", .equal, principalID).run()
            if let permission {
                try await db.insert(into: "workspace_assignments").columns("workspace_id", "principal_id", "permission")
                    .values(SQLBind(workspaceID), SQLBind(principalID), SQLBind(permission.rawValue)).run()
            }
        }
    }

    /// What `principalID` may do in the workspace through its own assignment and those of every group it is
    /// in, however nested (nil when it is not assigned), and those groups' ids. One query (a recursive CTE
    /// over `group_members`).
    public func access(of principalID: Int64, in workspaceID: Int64) async throws -> (permission: WorkspacePermission?, groups: Set<Int64>) {
        let access = try await accessCache.value(AccessKey(principalID: principalID, workspaceID: workspaceID)) {
            try await readAccess(of: principalID, in: workspaceID)
        }
        return (access?.permission, access?.groups ?? [])
    }

    private func readAccess(of principalID: Int64, in workspaceID: Int64) async throws -> Access {
        try await database.read { db in
            let rows = try await db.raw(
                """
                WITH RECURSIVE principals(id) AS (
                    SELECT \(bind: principalID)
                    UNION SELECT group_members.group_id FROM group_members JOIN principals ON group_members.member_id = principals.id)
                SELECT principals.id AS id, workspace_assignments.permission AS permission FROM principals
                LEFT JOIN workspace_assignments
                    ON workspace_assignments.principal_id = principals.id AND workspace_assignments.workspace_id = \(bind: workspaceID)
                """
            ).all()
            var permission: WorkspacePermission?
            var groups = Set<Int64>()
            for row in rows {
                let id = try row.decode(column: "id", as: Int64.self)
                if id != principalID { groups.insert(id) }
                if let level = try row.decode(column: "permission", as: String?.self).flatMap(WorkspacePermission.init(rawValue:)) {
                    permission = max(permission ?? level, level)
                }
            }
            return Access(permission: permission, groups: groups)
        }
    }

    /// What `principalID` may do in the workspace (`access(of:in:)`'s permission).
    public func permission(of principalID: Int64, in workspaceID: Int64) async throws -> WorkspacePermission? {
        try await access(of: principalID, in: workspaceID).permission
    }

    /// Every principal that may use the workspace and what it may do there, from its direct assignments
    /// and the groups among them: a group's permission reaches its members, however deeply nested.
    public static func effective(direct: [Int64: WorkspacePermission], groups: [Group]) -> [Int64: WorkspacePermission] {
        let members = Dictionary(groups.map { ($0.groupID, $0.members) }) { first, _ in first }
        var access: [Int64: WorkspacePermission] = [:]
        var pending = Array(direct)
        while let (principal, permission) = pending.popLast() {
            if let held = access[principal], held >= permission { continue }
            access[principal] = permission
            pending += (members[principal] ?? []).map { ($0, permission) }
        }
        return access
    }

    /// The workspaces where any of `principalIDs` is assigned directly.
    public func workspaces(assigning principalIDs: Set<Int64>) async throws -> Set<Int64> {
        guard !principalIDs.isEmpty else { return [] }
        return try await database.read { db in
            Set(
                try await db.select().column("workspace_id").from("workspace_assignments")
                    .where("principal_id", .in, Array(principalIDs)).all()
                    .map { try $0.decode(column: "workspace_id", as: Int64.self) })
        }
    }

    /// Refuses to remove or deactivate `principalID` (named `name`) while it is the only principal assigned
    /// to some workspace as its admin: `KilnError(.invalidParameterValue)`.
    static func requireNotSoleAdmin(_ db: any SQLDatabase, principalID: Int64, name: String) async throws {
        let rows = try await db.raw(
            """
            SELECT workspace_id FROM workspace_assignments
            WHERE principal_id = \(bind: principalID) AND permission = 'ADMIN' AND workspace_id NOT IN (
                SELECT workspace_id FROM workspace_assignments WHERE permission = 'ADMIN' AND principal_id <> \(bind: principalID))
            """
        ).all()
        if let workspace = try rows.first?.decode(column: "workspace_id", as: Int64.self) {
            throw KilnError.invalidParameter("\(name) is the last admin of workspace \(workspace); assign another admin first.")
        }
    }

    /// Serialises the changes to one workspace's assignments, so the last-admin check sees the others'.
    static func lockKey(_ workspaceID: Int64) -> Int64 { workspaceID ^ 0x6173_7369_676E }
}
