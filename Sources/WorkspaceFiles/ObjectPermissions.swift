import Foundation
public import KilnCore
import SQLKit

/// A permission on a workspace object (Databricks' workspace object ACLs): each level includes the ones
/// below it. Folders, notebooks and files all take these four.
public enum PermissionLevel: String, Sendable, CaseIterable, Comparable {
    case canRead = "CAN_READ"
    case canRun = "CAN_RUN"
    case canEdit = "CAN_EDIT"
    case canManage = "CAN_MANAGE"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// How Databricks describes the level (`permissionLevels`).
    public var summary: String {
        switch self {
        case .canRead: "Can view"
        case .canRun: "Can view and run"
        case .canEdit: "Can view, run and edit"
        case .canManage: "Can view, run, edit and change permissions"
        }
    }
}

/// Who calls the Workspace API, as object permissions see them: the ids of the caller and of every group
/// it is in (however nested), and whether it administers the workspace (its admins may do everything).
public struct WorkspaceCaller: Sendable, Equatable {
    /// The caller's own id, its groups' ids and `allUsers`.
    public var principalIDs: Set<Int64>
    public var isAdmin: Bool

    /// The caller's own id: what it creates is granted to it.
    public var ownID: Int64?

    public init(id: Int64?, principalIDs: Set<Int64>, isAdmin: Bool) {
        self.ownID = id
        self.principalIDs = principalIDs.union([Self.allUsers]).union(id.map { [$0] } ?? [])
        self.isAdmin = isAdmin
    }

    /// Kiln itself (bootstrap, provisioning) and the workspace's admins.
    public static let admin = WorkspaceCaller(id: nil, principalIDs: [], isAdmin: true)

    /// The workspace's built-in `users` group, which every principal of the workspace is in; `/Shared` grants
    /// it CAN_MANAGE.
    public static let allUsers: Int64 = -1
}

/// The SQL of `workspace_object_acls`: explicit grants of a level on an object to a principal. A grant on
/// a folder reaches everything below it. Rows go with their object (`ON DELETE CASCADE`).
enum ObjectACL {
    static let name = "workspace_object_acls"

    /// For each of `objectIDs` that grants anything to one of `principals`, the highest level granted.
    static func levels(_ db: any SQLDatabase, objectIDs: [Int64], principals: Set<Int64>) async throws -> [Int64: PermissionLevel] {
        guard !objectIDs.isEmpty else { return [:] }
        let rows = try await db.select().columns("object_id", "level").from(name)
            .where("object_id", .in, objectIDs).where("principal_id", .in, Array(principals)).all()
        var levels: [Int64: PermissionLevel] = [:]
        for row in rows {
            guard let level = PermissionLevel(rawValue: try row.decode(column: "level", as: String.self)) else { continue }
            let object = try row.decode(column: "object_id", as: Int64.self)
            levels[object] = max(levels[object] ?? level, level)
        }
        return levels
    }

    /// Every grant on `objectIDs`: (object, principal, level).
    static func grants(_ db: any SQLDatabase, objectIDs: [Int64]) async throws -> [(objectID: Int64, principalID: Int64, level: PermissionLevel)] {
        guard !objectIDs.isEmpty else { return [] }
        return try await db.select().columns("object_id", "principal_id", "level").from(name).where("object_id", .in, objectIDs)
            .orderBy("principal_id").all()
            .compactMap { row in
                guard let level = PermissionLevel(rawValue: try row.decode(column: "level", as: String.self)) else { return nil }
                return (try row.decode(column: "object_id", as: Int64.self), try row.decode(column: "principal_id", as: Int64.self), level)
            }
    }

    /// Grants `level` on an object to a principal, replacing what it had there.
    static func grant(_ db: any SQLDatabase, workspaceID: Int64, objectID: Int64, principalID: Int64, level: PermissionLevel) async throws {
        try await db.delete(from: name).where("object_id", .equal, objectID).where("principal_id", .equal, principalID).run()
        try await db.insert(into: name).columns("workspace_id", "object_id", "principal_id", "level")
            .values(SQLBind(workspaceID), SQLBind(objectID), SQLBind(principalID), SQLBind(level.rawValue)).run()
    }

    /// Removes every grant on an object.
    static func revokeAll(_ db: any SQLDatabase, objectID: Int64) async throws {
        try await db.delete(from: name).where("object_id", .equal, objectID).run()
    }
}

extension WorkspaceService {
    /// What `caller` may do with the object at `path` (which may not exist yet: its ancestors decide): the
    /// highest level granted to it on the object or any folder above it; everything for an admin. The root
    /// and `/Users` may be read by everyone, to find one's way, without that reaching what is inside them.
    static func level(
        _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) async throws -> PermissionLevel? {
        if caller.isAdmin { return .canManage }
        let inherited = try await inheritedLevel(db, workspaceID: workspaceID, caller: caller, path: path)
        return isSignpost(path) ? max(inherited ?? .canRead, .canRead) : inherited
    }

    /// The level granted on `path` or above it, without the signposts' read. `path` need not exist: the
    /// folders above it decide.
    static func inheritedLevel(
        _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) async throws -> PermissionLevel? {
        if caller.isAdmin { return .canManage }
        guard !path.isRoot else { return nil }
        let row = try await grantedRank(db, workspaceID: workspaceID, caller: caller, path: path).first()
        return try level(rank: row?.decode(column: rankColumn, as: Int?.self))
    }

    /// The object at `path` (not the root) and the highest level granted to `caller` on it or a folder above
    /// it, in one query whose one row is the object's metadata and `grantedRank`: what an admin's get-status
    /// reads, plus one column.
    static func objectAndLevel(
        _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) async throws -> (ObjectInfo, PermissionLevel?)? {
        let granted = grantedRank(db, workspaceID: workspaceID, caller: caller, path: path)
        guard
            let row = try await db.select().columns(ObjectTable.metadataColumns)
                .column(SQLAlias(SQLGroupExpression(granted.select), as: SQLIdentifier(rankColumn)))
                .from(ObjectTable.name).where("workspace_id", .equal, workspaceID).where("path", .equal, path.value).first()
        else { return nil }
        return (try ObjectInfo(row: row), try level(rank: row.decode(column: rankColumn, as: Int?.self)))
    }

    /// A query of one row and one column, `level_rank`: the highest level granted to `caller` on `path` or a
    /// folder above it, as its place in `PermissionLevel.allCases` counted from 1 (NULL: none). SQL's MAX
    /// over the level names would order them alphabetically.
    private static func grantedRank(
        _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) -> SQLSelectBuilder {
        let ranks = PermissionLevel.allCases.enumerated().map { "WHEN '\($0.element.rawValue)' THEN \($0.offset + 1)" }
        return db.select()
            .column(SQLAlias(SQLRaw("MAX(CASE \(ObjectACL.name).level \(ranks.joined(separator: " ")) END)"), as: SQLIdentifier(rankColumn)))
            .from(ObjectACL.name)
            .join(
                SQLAlias(SQLIdentifier(ObjectTable.name), as: SQLIdentifier("above")), method: SQLJoinMethod.inner,
                on: SQLColumn("object_id", table: "above"), .equal, SQLColumn("object_id", table: ObjectACL.name)
            )
            .where(SQLColumn("workspace_id", table: "above"), .equal, SQLBind(workspaceID))
            .where(SQLColumn("path", table: "above"), .in, SQLBind.group(path.lineage.map(\.value)))
            .where(SQLColumn("principal_id", table: ObjectACL.name), .in, SQLBind.group(Array(caller.principalIDs)))
    }

    private static let rankColumn = "level_rank"

    /// The level a `grantedRank` names; nil for none.
    private static func level(rank: Int?) -> PermissionLevel? {
        guard let rank, PermissionLevel.allCases.indices.contains(rank - 1) else { return nil }
        return PermissionLevel.allCases[rank - 1]
    }

    /// Folders everyone may list: the root and `/Users`.
    static func isSignpost(_ path: WorkspacePath) -> Bool { path.isRoot || path.value == "/Users" }

    /// Throws Databricks' `PERMISSION_DENIED` unless `caller` holds at least `needed` on `path`.
    static func require(
        _ needed: PermissionLevel, _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) async throws {
        if caller.isAdmin { return }
        let held = try await level(db, workspaceID: workspaceID, caller: caller, path: path)
        guard let held, held >= needed else {
            throw KilnError(.permissionDenied, "You do not have \(needed.rawValue) permission on \(path).")
        }
    }
}
