import Foundation
import KilnCore
import Persistence
import SQLKit

/// A permission on a Lakebase project (`/api/2.0/permissions/database-projects/{id}`), as Lakebase documents
/// them: CAN_USE lists and reads the project and its branches and computes, and manages its roles and
/// databases and logs in to its endpoints; CAN_MANAGE also changes the project, its branches, computes
/// and snapshots, and its permissions. A project's creator manages it; workspace admins manage every project.
public enum ProjectPermissionLevel: String, Sendable, CaseIterable, Comparable {
    case canUse = "CAN_USE"
    case canManage = "CAN_MANAGE"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .canUse && rhs == .canManage }

    /// How the level is described (`permissionLevels`).
    public var summary: String {
        switch self {
        case .canUse: "Can use the project: read it, connect to its computes, manage its roles and databases"
        case .canManage: "Can manage the project, its branches, computes and permissions"
        }
    }
}

/// The SQL of `lakebase_project_acls`: a level granted on a project (`projects/<id>`) to a principal (-1:
/// the workspace's `users` group). Rows go with their project (`ON DELETE CASCADE`).
enum ProjectACL {
    static let name = "lakebase_project_acls"

    static func grants(_ db: any SQLDatabase, workspaceID: Int64, project: String) async throws -> [(principalID: Int64, level: ProjectPermissionLevel)] {
        try await db.select().columns("principal_id", "level").from(name).where("workspace_id", .equal, workspaceID)
            .where("project", .equal, project).orderBy("principal_id").all()
            .compactMap { row in
                guard let level = ProjectPermissionLevel(rawValue: try row.decode(column: "level", as: String.self)) else { return nil }
                return (try row.decode(column: "principal_id", as: Int64.self), level)
            }
    }

    /// For each project granting something to one of `principals`, the highest level granted.
    static func levels(_ db: any SQLDatabase, workspaceID: Int64, principals: Set<Int64>, project: String? = nil) async throws -> [String:
        ProjectPermissionLevel]
    {
        var query = db.select().columns("project", "level").from(name).where("workspace_id", .equal, workspaceID)
            .where("principal_id", .in, Array(principals))
        if let project { query = query.where("project", .equal, project) }
        var levels: [String: ProjectPermissionLevel] = [:]
        for row in try await query.all() {
            guard let level = ProjectPermissionLevel(rawValue: try row.decode(column: "level", as: String.self)) else { continue }
            let project = try row.decode(column: "project", as: String.self)
            levels[project] = max(levels[project] ?? level, level)
        }
        return levels
    }

    static func grant(_ db: any SQLDatabase, workspaceID: Int64, project: String, principalID: Int64, level: ProjectPermissionLevel) async throws {
        try await db.delete(from: name).where("workspace_id", .equal, workspaceID).where("project", .equal, project)
            .where("principal_id", .equal, principalID).run()
        try await db.insert(into: name).columns("workspace_id", "project", "principal_id", "level")
            .values(SQLBind(workspaceID), SQLBind(project), SQLBind(principalID), SQLBind(level.rawValue)).run()
    }

    static func revokeAll(_ db: any SQLDatabase, workspaceID: Int64, project: String) async throws {
        try await db.delete(from: name).where("workspace_id", .equal, workspaceID).where("project", .equal, project).run()
    }
}

extension LakebaseService {
    /// What `caller` may do with a project: CAN_MANAGE for an admin, else the highest level granted to one
    /// of its principals; nil for nothing.
    func projectLevel(_ project: ResourceName, caller: LakebaseCaller) async throws -> ProjectPermissionLevel? {
        if caller.isAdmin { return .canManage }
        return try await database.read { db in
            try await ProjectACL.levels(db, workspaceID: caller.workspaceID, principals: caller.principalIDs, project: project.description)
        }[project.description]
    }

    /// Throws Databricks' `PERMISSION_DENIED` unless `caller` holds `needed` on the project of `name`.
    func authorize(_ name: ResourceName, _ needed: ProjectPermissionLevel, caller: LakebaseCaller) async throws {
        guard !caller.isAdmin else { return }
        let project = name.project
        guard let held = try await projectLevel(project, caller: caller), held >= needed else {
            throw KilnError(.permissionDenied, "\(caller.identity) does not have \(needed.rawValue) permission on \(project).")
        }
    }

    /// The level a change of `kind` needs: roles and databases are for the project's users, the rest for
    /// its managers.
    static func levelToChange(_ kind: ResourceKind) -> ProjectPermissionLevel {
        kind == .role || kind == .database ? .canUse : .canManage
    }

    /// The names of the projects `caller` may use (all for an admin: nil).
    func usableProjects(caller: LakebaseCaller) async throws -> Set<String>? {
        guard !caller.isAdmin else { return nil }
        return Set(
            try await database.read { db in
                try await ProjectACL.levels(db, workspaceID: caller.workspaceID, principals: caller.principalIDs)
            }.keys)
    }

    /// `permissions/database-projects/{id}`: the project's grants, for a caller who may use it.
    public func projectPermissions(projectID: String, caller: LakebaseCaller) async throws -> [(principalID: Int64, level: ProjectPermissionLevel)] {
        let name = ResourceName(kind: .project, ids: [projectID])
        _ = try await visible(name, caller: caller, includeDeleted: false)
        return try await database.read { db in try await ProjectACL.grants(db, workspaceID: caller.workspaceID, project: name.description) }
    }

    /// Replaces (`replacing`, a PUT) or adds to (a PATCH) a project's grants; needs CAN_MANAGE.
    public func setProjectPermissions(
        projectID: String, grants: [(principalID: Int64, level: ProjectPermissionLevel)], replacing: Bool, caller: LakebaseCaller
    ) async throws -> [(principalID: Int64, level: ProjectPermissionLevel)] {
        let name = ResourceName(kind: .project, ids: [projectID])
        _ = try await visible(name, caller: caller, includeDeleted: false)
        try await authorize(name, .canManage, caller: caller)
        return try await database.write { db in
            if replacing { try await ProjectACL.revokeAll(db, workspaceID: caller.workspaceID, project: name.description) }
            for grant in grants {
                try await ProjectACL.grant(db, workspaceID: caller.workspaceID, project: name.description, principalID: grant.principalID, level: grant.level)
            }
            return try await ProjectACL.grants(db, workspaceID: caller.workspaceID, project: name.description)
        }
    }
}
