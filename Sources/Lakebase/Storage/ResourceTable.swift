import Foundation
import KilnCore
import Persistence
import SQLKit

/// The `lakebase_resources` table.
enum ResourceTable {
    static let table = "lakebase_resources"

    static func get(_ db: any SQLDatabase, workspaceID: Int64, name: ResourceName) async throws -> StoredResource? {
        try await db.select().column("*").from(table)
            .where("workspace_id", .equal, workspaceID).where("name", .equal, name.description)
            .first().map(StoredResource.init(row:))
    }

    /// The children of `parent` of one kind, oldest first.
    static func children(_ db: any SQLDatabase, workspaceID: Int64, parent: String, kind: ResourceKind) async throws -> [StoredResource] {
        try await db.select().column("*").from(table)
            .where("workspace_id", .equal, workspaceID).where("parent", .equal, parent).where("kind", .equal, kind.rawValue)
            .orderBy("seq").orderBy("name").all().map(StoredResource.init(row:))
    }

    /// Every resource of a project (the project itself included).
    static func project(_ db: any SQLDatabase, workspaceID: Int64, projectID: String) async throws -> [StoredResource] {
        try await db.select().column("*").from(table)
            .where("workspace_id", .equal, workspaceID).where("project", .equal, projectID)
            .orderBy("seq").orderBy("name").all().map(StoredResource.init(row:))
    }

    static func count(_ db: any SQLDatabase, workspaceID: Int64, parent: String, kind: ResourceKind) async throws -> Int {
        try await db.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(table)
            .where("workspace_id", .equal, workspaceID).where("parent", .equal, parent).where("kind", .equal, kind.rawValue)
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    static func insert(_ db: any SQLDatabase, _ resource: StoredResource) async throws {
        try await db.insert(into: table)
            .columns(
                "workspace_id", "name", "kind", "parent", "project", "uid", "spec", "internal", "state", "port",
                "created_at", "updated_at", "state_changed_at", "deleted_at", "purge_at", "seq"
            )
            .values(
                SQLBind(resource.workspaceID), SQLBind(resource.name.description), SQLBind(resource.kind.rawValue),
                SQLBind(resource.name.parent?.description ?? ""), SQLBind(resource.name.projectID), SQLBind(resource.uid),
                SQLBind(text(resource.spec)), SQLBind(text(resource.privateState)), SQLBind(resource.state.rawValue), SQLBind(resource.port),
                SQLBind(resource.createdAt), SQLBind(resource.updatedAt), SQLBind(resource.stateChangedAt),
                SQLBind(resource.deletedAt), SQLBind(resource.purgeAt), SQLBind(resource.createdAt * 1000 + Int64.random(in: 0..<1000))
            )
            .run()
    }

    static func update(_ db: any SQLDatabase, _ resource: StoredResource) async throws {
        try await db.update(table)
            .set("spec", to: text(resource.spec)).set("internal", to: text(resource.privateState))
            .set("state", to: resource.state.rawValue).set("port", to: resource.port)
            .set("updated_at", to: resource.updatedAt).set("state_changed_at", to: resource.stateChangedAt)
            .set("deleted_at", to: resource.deletedAt).set("purge_at", to: resource.purgeAt)
            .where("workspace_id", .equal, resource.workspaceID).where("name", .equal, resource.name.description)
            .run()
    }

    /// Deletes a resource and everything below it.
    static func deleteTree(_ db: any SQLDatabase, workspaceID: Int64, name: ResourceName) async throws {
        let prefix = name.description + "/"
        try await db.delete(from: table).where("workspace_id", .equal, workspaceID)
            .where(SQLBinaryExpression(SQLColumn("name"), .equal, SQLBind(name.description)))
            .run()
        try await db.delete(from: table).where("workspace_id", .equal, workspaceID)
            .where("project", .equal, name.projectID)
            .where(SQLFunction("substr", args: SQLColumn("name"), SQLLiteral.numeric("1"), SQLLiteral.numeric(String(prefix.count))), .equal, SQLBind(prefix))
            .run()
    }

    /// Every endpoint port in use, across workspaces.
    static func usedPorts(_ db: any SQLDatabase) async throws -> Set<Int> {
        Set(
            try await db.select().column("port").from(table).where("port", .isNot, SQLLiteral.null).all()
                .map { try $0.decode(column: "port", as: Int.self) })
    }

    /// Every resource of a kind in every workspace (for start-up).
    static func all(_ db: any SQLDatabase, kind: ResourceKind) async throws -> [StoredResource] {
        try await db.select().column("*").from(table).where("kind", .equal, kind.rawValue)
            .orderBy("seq").all().map(StoredResource.init(row:))
    }

    static func text(_ tree: JSONTree) -> String { String(decoding: tree.compactJSON(), as: UTF8.self) }
}
