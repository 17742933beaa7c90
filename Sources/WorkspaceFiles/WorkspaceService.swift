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

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    /// The object at `path` (the root is a folder with id 0), or `RESOURCE_DOES_NOT_EXIST`.
    public func getStatus(workspaceID: Int64, path: WorkspacePath) async throws -> ObjectInfo {
        let found = try await database.read { db in
            try await ObjectTable.find(db, workspaceID: workspaceID, path: path)
        }
        guard let found else { throw Self.doesNotExist(path) }
        return found
    }

    /// The format a notebook is natively kept in (`repos_export_format` of get-status with
    /// `return_export_info=true`): JUPYTER for one imported from `.ipynb`, SOURCE otherwise; nil for
    /// folders and files.
    public func nativeFormat(workspaceID: Int64, of object: ObjectInfo) async throws -> NativeFormat? {
        guard object.objectType == .notebook else { return nil }
        let content = try await database.read { db in try await ObjectTable.content(db, objectID: object.objectID) }
        return try NotebookCoding.decode(content).nativeFormat
    }

    /// The children of a folder, or the object itself when `path` is not a folder.
    public func list(workspaceID: Int64, path: WorkspacePath, notebooksModifiedAfter: Int64? = nil) async throws -> [ObjectInfo] {
        let objects = try await database.read { db -> [ObjectInfo]? in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) else { return nil }
            guard object.objectType == .directory else { return [object] }
            return try await ObjectTable.children(db, workspaceID: workspaceID, of: path)
        }
        guard let objects else { throw Self.doesNotExist(path) }
        guard let after = notebooksModifiedAfter else { return objects }
        return objects.filter { $0.objectType != .notebook || $0.modifiedAt > after }
    }

    /// Creates the folder and any missing parents; succeeds if it already exists.
    public func mkdirs(workspaceID: Int64, path: WorkspacePath) async throws {
        let now = clock.nowMillis()
        try await database.write(lockKey: workspaceID) { db in
            let lineage = path.lineage
            let existing = try await ObjectTable.find(db, workspaceID: workspaceID, paths: lineage)
            let byPath = Dictionary(existing.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
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
            }
        }
    }

    /// Deletes an object; a non-empty folder only with `recursive`, and then all of it at once.
    public func delete(workspaceID: Int64, path: WorkspacePath, recursive: Bool) async throws {
        guard !path.isRoot else { throw KilnError.invalidParameter("The root folder (/) cannot be deleted.") }
        try await database.write(lockKey: workspaceID) { db in
            guard let object = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) else {
                throw Self.doesNotExist(path)
            }
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
