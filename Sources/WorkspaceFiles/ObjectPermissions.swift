import Foundation
import KilnCore
import Persistence
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
        var ids = principalIDs // inserted into, not joined with sets of one (each a set made, every request)
        ids.reserveCapacity(principalIDs.count + 2) // copied once, at the size it ends at
        ids.insert(Self.allUsers)
        if let id { ids.insert(id) }
        self.principalIDs = ids
        self.isAdmin = isAdmin
    }

    /// Kiln itself (bootstrap, provisioning) and the workspace's admins.
    public static let admin = WorkspaceCaller(id: nil, principalIDs: [], isAdmin: true)

    /// The workspace's built-in `users` group, which every principal of the workspace is in; `/Shared` grants
    /// it CAN_MANAGE.
    public static let allUsers: Int64 = -1
}

/// The SQL of `workspace_object_acls`: explicit grants of a level on an object to a principal. A grant on
/// a folder reaches everything below it. Rows go with their object (`ON DELETE CASCADE`). Triggers count
/// every change to them (`ChangeTopic.objectGrants`).
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

    /// Every grant in a workspace, or on the objects at `paths`: (path of the object, principal, level).
    static func all(
        _ db: any SQLDatabase, workspaceID: Int64, paths: [String]? = nil
    ) async throws -> [(path: String, principalID: Int64, level: PermissionLevel)] {
        if paths?.isEmpty == true { return [] }
        var query = db.select()
            .column(SQLColumn("path", table: ObjectTable.name))
            .column(SQLColumn("principal_id", table: name))
            .column(SQLColumn("level", table: name))
            .from(name)
            .join(ObjectTable.name, on: SQLColumn("object_id", table: ObjectTable.name), .equal, SQLColumn("object_id", table: name))
            .where(SQLColumn("workspace_id", table: name), .equal, SQLBind(workspaceID))
        if let paths { query = query.where(SQLColumn("path", table: ObjectTable.name), .in, SQLBind.group(paths)) }
        return try await query.all()
            .compactMap { row in
                guard let level = PermissionLevel(rawValue: try row.decode(column: "level", as: String.self)) else { return nil }
                return (try row.decode(column: "path", as: String.self), try row.decode(column: "principal_id", as: Int64.self), level)
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
    /// The workspace's grants, for a read: most often from memory (`grantCache`). Call it outside
    /// `database.read`, since on a miss it reads on a connection of its own.
    func grants(workspaceID: Int64) async throws -> ObjectGrants {
        try await grantCache.value(workspaceID) {
            try await database.read { db in try await ObjectGrants.read(db, workspaceID: workspaceID) }
        } ?? ObjectGrants(byPath: [:])
    }

    /// What `caller` may do with the object at `path` (which may not exist yet: its ancestors decide): the
    /// highest level `grants` give it on the object or any folder above it; everything for an admin. The
    /// root and `/Users` may be read by everyone, to find one's way, without that reaching what is inside
    /// them.
    static func level(_ grants: ObjectGrants, caller: WorkspaceCaller, path: WorkspacePath) -> PermissionLevel? {
        if caller.isAdmin { return .canManage }
        let inherited = grants.inherited(by: caller, on: path)
        return isSignpost(path) ? max(inherited ?? .canRead, .canRead) : inherited
    }

    /// Folders everyone may list: the root and `/Users`.
    static func isSignpost(_ path: WorkspacePath) -> Bool { path.isRoot || path.value == "/Users" }

    /// Throws Databricks' `PERMISSION_DENIED` unless `caller` holds at least `needed` on `path`, by the
    /// grants on `path` and the folders above it as `db` (a write's transaction) sees them.
    static func require(
        _ needed: PermissionLevel, _ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath
    ) async throws {
        if caller.isAdmin { return }
        let grants = try await ObjectGrants.read(db, workspaceID: workspaceID, lineageOf: path)
        guard let held = level(grants, caller: caller, path: path), held >= needed else {
            throw KilnError(.permissionDenied, "You do not have \(needed.rawValue) permission on \(path).")
        }
    }
}
