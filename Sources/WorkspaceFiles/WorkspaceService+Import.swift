import Foundation
import KilnCore
import Persistence
import SQLKit

extension WorkspaceService {
    /// Imports a notebook, a file, or a folder archive (DBC, zip). Returns the object created at the
    /// request's path (for an archive, its root folder). An archive is imported all at once or not at all.
    @discardableResult
    /// `caller` needs CAN_EDIT on the folder it imports into, and on what it overwrites; it manages what it
    /// creates.
    public func importObject(workspaceID: Int64, _ request: ImportRequest, caller: WorkspaceCaller = .admin) async throws -> ObjectInfo {
        let plan = try ImportPlan.make(for: request)
        let now = clock.nowMillis()
        return try await database.write(lockKey: workspaceID) { db in
            switch plan {
            case .object(let object):
                try await Self.requireFolder(db, workspaceID: workspaceID, path: object.path.parent)
                try await Self.requireEdit(db, workspaceID: workspaceID, caller: caller, path: object.path)
                return try await Self.store(object, overwrite: request.overwrite, db: db, workspaceID: workspaceID, now: now, caller: caller)
            case .tree(let tree):
                try await Self.require(.canEdit, db, workspaceID: workspaceID, caller: caller, path: tree.root.parent)
                let root = try await Self.store(tree, db: db, workspaceID: workspaceID, now: now)
                try await Self.grantCreator(db, workspaceID: workspaceID, caller: caller, objectID: root.objectID)
                return root
            }
        }
    }

    /// CAN_EDIT on `path` when it exists (an overwrite), else on its folder (a new object).
    static func requireEdit(_ db: any SQLDatabase, workspaceID: Int64, caller: WorkspaceCaller, path: WorkspacePath) async throws {
        guard !caller.isAdmin else { return }
        let exists = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) != nil
        try await require(.canEdit, db, workspaceID: workspaceID, caller: caller, path: exists ? path : path.parent)
    }

    /// The workspace-files API's `import-file`: `content` becomes a notebook (extension stripped) when it
    /// is one by its extension and header, else a file. The parent folder must exist
    /// (`RESOURCE_DOES_NOT_EXIST`, 404). Without `overwrite`, an existing file is `ALREADY_EXISTS` (409)
    /// and an existing notebook or folder `RESOURCE_ALREADY_EXISTS` "Path (…) already exists." (400), the
    /// answers the Databricks CLI tells apart (databricks/cli `libs/filer/workspace_files_client.go`).
    @discardableResult
    public func importFile(
        workspaceID: Int64, path: WorkspacePath, content: some Collection<UInt8> & Sendable, overwrite: Bool,
        caller: WorkspaceCaller = .admin
    ) async throws -> ObjectInfo {
        let plan = try ImportPlan.workspaceFile(at: path, content: content)
        let now = clock.nowMillis()
        return try await database.write(lockKey: workspaceID) { db in
            try await Self.requireFolder(db, workspaceID: workspaceID, path: plan.path.parent)
            try await Self.requireEdit(db, workspaceID: workspaceID, caller: caller, path: plan.path)
            if !overwrite, let existing = try await ObjectTable.find(db, workspaceID: workspaceID, path: plan.path) {
                if existing.objectType == .file {
                    throw KilnError(.alreadyExists, "Path (\(plan.path)) already exists.")
                }
                throw KilnError(.resourceAlreadyExists, "Path (\(plan.path)) already exists.")
            }
            return try await Self.store(plan, overwrite: overwrite, db: db, workspaceID: workspaceID, now: now, caller: caller)
        }
    }

    static func requireFolder(_ db: any SQLDatabase, workspaceID: Int64, path: WorkspacePath) async throws {
        guard let folder = try await ObjectTable.find(db, workspaceID: workspaceID, path: path) else {
            throw KilnError(.resourceDoesNotExist, "The parent folder (\(path)) does not exist.")
        }
        guard folder.objectType == .directory else {
            throw KilnError.invalidParameter("The parent (\(path)) is a \(folder.objectType.rawValue), not a folder.")
        }
    }

    private static func store(
        _ plan: ObjectPlan, overwrite: Bool, db: any SQLDatabase, workspaceID: Int64, now: Int64, caller: WorkspaceCaller = .admin
    ) async throws -> ObjectInfo {
        func info(id: Int64, createdAt: Int64) -> ObjectInfo {
            ObjectInfo(
                objectID: id, path: plan.path, objectType: plan.objectType, language: plan.language, size: plan.size,
                createdAt: createdAt, modifiedAt: now)
        }
        if let existing = try await ObjectTable.find(db, workspaceID: workspaceID, path: plan.path) {
            guard overwrite else {
                throw KilnError(.resourceAlreadyExists, "Path (\(plan.path)) already exists.")
            }
            guard existing.objectType != .directory else {
                throw KilnError(.resourceAlreadyExists, "Path (\(plan.path)) already exists and is a folder, which an import cannot overwrite.")
            }
            // An overwrite keeps the object's id: no new one is drawn (a system call for random bytes).
            let object = info(id: existing.objectID, createdAt: existing.createdAt)
            try await ObjectTable.replace(db, object: object, content: plan.storedContent)
            return object
        } else {
            let object = info(id: IdentifierGenerator.next(), createdAt: now)
            try await ObjectTable.insert(db, workspaceID: workspaceID, object: object, content: plan.storedContent)
            try await grantCreator(db, workspaceID: workspaceID, caller: caller, objectID: object.objectID)
            return object
        }
    }

    private static func store(_ tree: TreePlan, db: any SQLDatabase, workspaceID: Int64, now: Int64) async throws -> ObjectInfo {
        try await requireFolder(db, workspaceID: workspaceID, path: tree.root.parent)
        if try await ObjectTable.find(db, workspaceID: workspaceID, path: tree.root) != nil {
            throw KilnError(.resourceAlreadyExists, "Path (\(tree.root)) already exists.")
        }
        let paths = tree.objects.map(\.path) + tree.folders
        if let duplicate = Dictionary(grouping: paths, by: { $0 }).first(where: { $0.value.count > 1 && !tree.folders.contains($0.key) }) {
            throw KilnError.invalidParameter("The archive holds \(duplicate.key) more than once.")
        }
        let root = ObjectInfo(
            objectID: IdentifierGenerator.next(), path: tree.root, objectType: .directory, language: nil,
            size: 0, createdAt: now, modifiedAt: now)
        try await ObjectTable.insert(db, workspaceID: workspaceID, object: root, content: nil)
        var created: Set<WorkspacePath> = [tree.root]
        for folder in tree.folders where !created.contains(folder) {
            let info = ObjectInfo(
                objectID: IdentifierGenerator.next(), path: folder, objectType: .directory, language: nil,
                size: 0, createdAt: now, modifiedAt: now)
            try await ObjectTable.insert(db, workspaceID: workspaceID, object: info, content: nil)
            created.insert(folder)
        }
        for object in tree.objects {
            guard created.contains(object.path.parent) else {
                throw KilnError.invalidParameter("The archive puts \(object.path) in a folder it does not contain.")
            }
            guard !created.contains(object.path) else {
                throw KilnError.invalidParameter("The archive holds \(object.path) as both a folder and a notebook or file.")
            }
            _ = try await store(object, overwrite: false, db: db, workspaceID: workspaceID, now: now)
        }
        return root
    }
}
