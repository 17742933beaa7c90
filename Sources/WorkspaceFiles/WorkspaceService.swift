import Foundation
public import KilnCore
public import NotebookFormats
public import Persistence
import SQLKit

/// The Workspace API's operations on one workspace's tree of notebooks, files and folders.
///
/// Every mutation is one transaction, serialised per workspace, so concurrent writers to one path get
/// one winner and a clear error for the others, and a recursive delete is all or nothing.
public struct WorkspaceService: Sendable {
    /// The largest notebook or file that can be imported: 10 MB.
    public static let maximumContentSize = 10 * 1024 * 1024

    let database: any Database
    let clock: any WallClock
    /// The grants of each workspace, in memory while nothing changes them.
    let grantCache: RowCache<Int64, ObjectGrants>
    /// Notebook exports, kept while their notebooks are unchanged.
    let exportCache = ExportCache()
    /// Objects and their content's version (what a get-status answers, and what an export checks its kept
    /// answer by), by workspace and path, in memory while no object changes: on SQLite only, where Kiln is the
    /// one server on the file (`ChangeTopic.objects`); nil on PostgreSQL, where each reads its row.
    let objectCache: RowCache<ObjectKey, VersionedObject>?

    /// An object, and its content's version (`content_version`, migration 8; 0 for the root).
    struct VersionedObject: Sendable {
        var object: ObjectInfo
        var contentVersion: Int64
    }

    /// An object's key in `objectCache`.
    struct ObjectKey: Hashable, Sendable {
        var workspaceID: Int64
        var path: String
    }

    /// At most this many objects are kept in `objectCache` (about 200 bytes each); at the limit it starts again.
    static let objectCacheLimit = 20_000

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
        self.grantCache = RowCache(database: database, topic: .objectGrants)
        self.objectCache =
            database.engine == .sqlite ? RowCache(database: database, topic: .objects, limit: Self.objectCacheLimit) : nil
    }

    /// The object at `path` (the root is a folder with id 0), or `RESOURCE_DOES_NOT_EXIST`;
    /// `PERMISSION_DENIED` unless `caller` may read it.
    public func getStatus(workspaceID: Int64, path: WorkspacePath, caller: WorkspaceCaller = .admin) async throws -> ObjectInfo {
        let grants = caller.isAdmin ? nil : try await grants(workspaceID: workspaceID)
        guard let found = try await versionedObject(workspaceID: workspaceID, path: path)?.object else {
            throw Self.doesNotExist(path)
        }
        if let grants, Self.level(grants, caller: caller, path: path) == nil {
            throw KilnError(.permissionDenied, "You do not have CAN_READ permission on \(path).")
        }
        return found
    }

    /// The object at `path` and its content's version, from `objectCache` where there is one; nil when no
    /// object is there. Call it outside `Database.read` and `write`.
    func versionedObject(workspaceID: Int64, path: WorkspacePath) async throws -> VersionedObject? {
        let read = {
            try await database.read { db in
                try await ObjectTable.findVersioned(db, workspaceID: workspaceID, path: path).map(VersionedObject.init)
            }
        }
        guard let objectCache else { return try await read() }
        return try await objectCache.value(ObjectKey(workspaceID: workspaceID, path: path.value), load: read)
    }

    /// The format a notebook is natively kept in (`repos_export_format` of get-status with
    /// `return_export_info=true`): JUPYTER for one imported from `.ipynb`, SOURCE otherwise; nil for
    /// folders and files.
    public func nativeFormat(workspaceID: Int64, of object: ObjectInfo) async throws -> NativeFormat? {
        guard object.objectType == .notebook else { return nil }
        // Reading and decoding up to 10 MB: on Swift's global executor, as an export made anew.
        return try await withTaskExecutorPreference(globalConcurrentExecutor) {
            let content = try await database.read { db in try await ObjectTable.content(db, objectID: object.objectID) }
            return try NotebookCoding.decode(content).nativeFormat
        }
    }

    /// The children of a folder, or the object itself when `path` is not a folder. `caller` must be able
    /// to read `path`, and sees only the children it may read.
    public func list(
        workspaceID: Int64, path: WorkspacePath, notebooksModifiedAfter: Int64? = nil, caller: WorkspaceCaller = .admin
    ) async throws -> [ObjectInfo] {
        let grants = caller.isAdmin ? nil : try await grants(workspaceID: workspaceID)
        let objects = try await database.read { db -> [ObjectInfo]? in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) else { return nil }
            let inherited = grants?.inherited(by: caller, on: path)
            guard grants == nil || inherited != nil || Self.isSignpost(path) else {
                throw KilnError(.permissionDenied, "You do not have CAN_READ permission on \(path).")
            }
            guard object.objectType == .directory else { return [object] }
            let children = try await ObjectTable.children(db, workspaceID: workspaceID, of: path)
            // Every level includes reading, and it reaches everything below.
            guard let grants, inherited == nil else { return children }
            // Read only as a signpost: the children granted to the caller.
            return children.filter { grants.granted(to: caller, on: $0.path) != nil || Self.isSignpost($0.path) }
        }
        guard let objects else { throw Self.doesNotExist(path) }
        guard let after = notebooksModifiedAfter else { return objects }
        return objects.filter { $0.objectType != .notebook || $0.modifiedAt > after }
    }

    /// Creates the folder and any missing parents; succeeds if it already exists. `caller` needs CAN_EDIT
    /// on the deepest folder that exists (CAN_READ when all exist), and manages what it creates.
    public func mkdirs(workspaceID: Int64, path: WorkspacePath, caller: WorkspaceCaller = .admin) async throws {
        let now = clock.nowMillis()
        try await database.write(lockKey: workspaceID) { db in
            let lineage = path.lineage
            let existing = try await ObjectTable.find(db, workspaceID: workspaceID, paths: lineage)
            let byPath = Dictionary(existing.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
            let deepest = lineage.last { byPath[$0] != nil } ?? .root
            try await Self.require(deepest == path ? .canRead : .canEdit, db, workspaceID: workspaceID, caller: caller, path: deepest)
            var granted = caller.isAdmin
            for ancestor in lineage {
                if let object = byPath[ancestor] {
                    guard object.objectType == .directory else {
                        throw KilnError(.resourceAlreadyExists, "Path (\(ancestor)) already exists and it is not a folder.")
                    }
                    continue
                }
                let folder = ObjectInfo(
                    objectID: IdentifierGenerator.next(), path: ancestor, objectType: .directory, language: nil,
                    size: 0, createdAt: now, modifiedAt: now
                )
                try await ObjectTable.insert(db, workspaceID: workspaceID, object: folder, content: nil)
                if !granted {
                    try await Self.grantCreator(db, workspaceID: workspaceID, caller: caller, objectID: folder.objectID)
                    granted = true
                }
            }
        }
    }

    /// Gives a caller who is not an admin CAN_MANAGE on what it created, as Databricks gives its creator.
    static func grantCreator(_ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, objectID: Int64) async throws {
        guard !caller.isAdmin, let own = caller.ownID else { return }
        try await ObjectACL.grant(db, workspaceID: workspaceID, objectID: objectID, principalID: own, level: .canManage)
    }

    /// Deletes an object; a non-empty folder only with `recursive`, and then all of it at once. `caller`
    /// needs CAN_EDIT on the object and on its folder.
    public func delete(workspaceID: Int64, path: WorkspacePath, recursive: Bool, caller: WorkspaceCaller = .admin) async throws {
        guard !path.isRoot else { throw KilnError.invalidParameter("The root folder (/) cannot be deleted.") }
        try await database.write(lockKey: workspaceID) { db in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) else {
                throw Self.doesNotExist(path)
            }
            try await Self.require(.canEdit, db, workspaceID: workspaceID, caller: caller, path: path)
            try await Self.require(.canEdit, db, workspaceID: workspaceID, caller: caller, path: path.parent)
            if object.objectType == .directory, !recursive,
                try await ObjectTable.hasChildren(db, workspaceID: workspaceID, of: path)
            {
                throw KilnError(.directoryNotEmpty, "Folder (\(path)) is not empty")
            }
            try await ObjectTable.deleteSubtree(db, workspaceID: workspaceID, path: path)
        }
    }

    static func doesNotExist(_ path: WorkspacePath) -> KilnError {
        KilnError(.resourceDoesNotExist, "Path (\(path)) doesn't exist.")
    }
}
