import Foundation
import NIOCore
import NotebookFormats
import Persistence
import SQLKit

/// The SQL of the `workspace_objects` table. Every function runs on the connection it is given, so a
/// caller composes them inside one transaction.
enum ObjectTable {
    static let name = "workspace_objects"
    static let metadataColumns = [
        "object_id", "path", "object_type", "language", "size", "created_at", "modified_at",
    ]

    /// `metadataColumns` as a select list, for the literal statements below.
    static let metadataSelection = metadataColumns.joined(separator: ", ")

    // The reads every get-status, list and export makes are literal statements with binds: SQLKit's
    // builders cost more to serialise (quoting each identifier) than SQLite takes to run them.

    static func find(_ db: any SQLDatabase, workspaceID: Int64, path: WorkspacePath) async throws -> ObjectInfo? {
        if path.isRoot { return .root }
        return try await db.raw(
            "SELECT \(unsafeRaw: metadataSelection) FROM workspace_objects WHERE workspace_id = \(bind: workspaceID) AND path = \(bind: path.value)"
        ).first().map(ObjectInfo.init(row:))
    }

    /// The object at `path` and its content's version (`content_version`, migration 8), which moves with
    /// every change of its content; 0 for the root.
    static func findVersioned(
        _ db: any SQLDatabase, workspaceID: Int64, path: WorkspacePath
    ) async throws -> (object: ObjectInfo, contentVersion: Int64)? {
        if path.isRoot { return (.root, 0) }
        guard
            let row = try await db.raw(
                """
                SELECT \(unsafeRaw: metadataSelection), content_version FROM workspace_objects \
                WHERE workspace_id = \(bind: workspaceID) AND path = \(bind: path.value)
                """
            ).first()
        else { return nil }
        return (try ObjectInfo(row: row), try row.int64("content_version"))
    }

    /// The object with this id (0: the root).
    static func find(_ db: any SQLDatabase, workspaceID: Int64, objectID: Int64) async throws -> ObjectInfo? {
        if objectID == 0 { return .root }
        return try await db.select().columns(metadataColumns).from(name)
            .where("workspace_id", .equal, workspaceID).where("object_id", .equal, objectID)
            .first().map(ObjectInfo.init(row:))
    }

    static func find(_ db: any SQLDatabase, workspaceID: Int64, paths: [WorkspacePath]) async throws -> [ObjectInfo] {
        guard !paths.isEmpty else { return [] }
        return try await db.select().columns(metadataColumns).from(name)
            .where("workspace_id", .equal, workspaceID).where("path", .in, paths.map(\.value))
            .all().map(ObjectInfo.init(row:))
    }

    static func children(_ db: any SQLDatabase, workspaceID: Int64, of path: WorkspacePath) async throws -> [ObjectInfo] {
        try await db.raw(
            """
            SELECT \(unsafeRaw: metadataSelection) FROM workspace_objects
            WHERE workspace_id = \(bind: workspaceID) AND parent_path = \(bind: path.value) ORDER BY path
            """
        ).all().map(ObjectInfo.init(row:))
    }

    static func hasChildren(_ db: any SQLDatabase, workspaceID: Int64, of path: WorkspacePath) async throws -> Bool {
        try await db.select().column("object_id").from(name)
            .where("workspace_id", .equal, workspaceID).where("parent_path", .equal, path.value)
            .limit(1).first() != nil
    }

    /// The content of an object (empty when it has none).
    static func content(_ db: any SQLDatabase, objectID: Int64) async throws -> Data {
        try await versionedContent(db, objectID: objectID)?.content ?? Data()
    }

    /// The content of an object and its version, read in one statement.
    static func versionedContent(_ db: any SQLDatabase, objectID: Int64) async throws -> (content: Data, version: Int64)? {
        guard let row = try await db.raw("SELECT content, content_version FROM workspace_objects WHERE object_id = \(bind: objectID)").first()
        else { return nil }
        return (try row.decode(column: "content", as: Data?.self) ?? Data(), try row.int64("content_version"))
    }

    // The writes every import makes are literal statements too (the builders' UPDATE was 5 % of an import).
    // A change of content raises its version (a trigger would for a writer that did not: migration 8).

    static func insert(_ db: any SQLDatabase, workspaceID: Int64, object: ObjectInfo, content: ByteBuffer?) async throws {
        try await db.raw(
            """
            INSERT INTO workspace_objects (object_id, workspace_id, path, parent_path, object_type, language, size, \
            created_at, modified_at, content) VALUES (\(bind: object.objectID), \(bind: workspaceID), \
            \(bind: object.path.value), \(bind: object.path.parent.value), \(bind: object.objectType.rawValue), \
            \(bind: object.language?.rawValue), \(bind: object.size), \(bind: object.createdAt), \
            \(bind: object.modifiedAt), \(bind: content))
            """
        ).run()
    }

    static func replace(_ db: any SQLDatabase, object: ObjectInfo, content: ByteBuffer) async throws {
        try await db.raw(
            """
            UPDATE workspace_objects SET object_type = \(bind: object.objectType.rawValue), \
            language = \(bind: object.language?.rawValue), size = \(bind: object.size), \
            modified_at = \(bind: object.modifiedAt), content = \(bind: content), content_version = content_version + 1 \
            WHERE object_id = \(bind: object.objectID)
            """
        ).run()
    }

    /// Everything below `path` (not `path` itself), in path order, with content when asked.
    static func descendants(
        _ db: any SQLDatabase, workspaceID: Int64, of path: WorkspacePath, withContent: Bool
    ) async throws -> [(ObjectInfo, Data?)] {
        let prefix = path.isRoot ? "/" : path.value + "/"
        let upper = path.isRoot ? "0" : path.value + "0"
        return try await db.select().columns(metadataColumns + (withContent ? ["content"] : [])).from(name)
            .where("workspace_id", .equal, workspaceID)
            .where("path", .greaterThanOrEqual, prefix).where("path", .lessThan, upper)
            .orderBy("path").all()
            .map { row in
                (try ObjectInfo(row: row), withContent ? try row.decode(column: "content", as: Data?.self) : nil)
            }
    }

    /// Deletes `path` and everything below it, and their grants. Paths compare byte-wise on both engines,
    /// so the descendants of `/a` are exactly the range [`/a/`, `/a0`): `0` is the byte after `/`.
    static func deleteSubtree(_ db: any SQLDatabase, workspaceID: Int64, path: WorkspacePath) async throws {
        try await db.delete(from: name)
            .where("workspace_id", .equal, workspaceID)
            .where { group in
                group.where("path", .equal, path.value)
                    .orWhere { range in
                        range.where("path", .greaterThanOrEqual, path.value + "/")
                            .where("path", .lessThan, path.value + "0")
                    }
            }
            .run()
    }
}

extension ObjectInfo {
    init(row: any SQLRow) throws {
        self.init(
            objectID: try row.int64("object_id"),
            path: WorkspacePath(canonical: try row.string("path")),
            objectType: ObjectType(rawValue: try row.string("object_type")) ?? .file,
            language: try row.optionalString("language").flatMap(NotebookLanguage.init(rawValue:)),
            size: try row.int64("size"),
            createdAt: try row.int64("created_at"),
            modifiedAt: try row.int64("modified_at")
        )
    }
}
