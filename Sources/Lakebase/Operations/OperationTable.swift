import KilnCore
import Persistence
import SQLKit

/// The `lakebase_operations` table.
enum OperationTable {
    static let table = "lakebase_operations"

    static func insert(_ db: any SQLDatabase, _ operation: OperationRecord) async throws {
        try await db.insert(into: table)
            .columns("workspace_id", "name", "project", "kind", "resource", "payload", "done", "result", "created_at")
            .values(
                SQLBind(operation.workspaceID), SQLBind(operation.name), SQLBind(operation.resource.projectID),
                SQLBind(operation.kind.rawValue), SQLBind(operation.resource.description),
                SQLBind(ResourceTable.text(operation.payload)), SQLBind(false), SQLBind(String?.none), SQLBind(operation.createdAt)
            )
            .run()
    }

    static func get(_ db: any SQLDatabase, workspaceID: Int64, name: String) async throws -> OperationRecord? {
        try await db.select().column("*").from(table)
            .where("workspace_id", .equal, workspaceID).where("name", .equal, name)
            .first().map(OperationRecord.init(row:))
    }

    static func pending(_ db: any SQLDatabase) async throws -> [OperationRecord] {
        try await db.select().column("*").from(table).where("done", .equal, false)
            .orderBy("created_at").all().map(OperationRecord.init(row:))
    }

    /// The unfinished operations of one project, oldest first.
    static func pending(_ db: any SQLDatabase, workspaceID: Int64, projectID: String) async throws -> [OperationRecord] {
        try await db.select().column("*").from(table).where("done", .equal, false)
            .where("workspace_id", .equal, workspaceID).where("project", .equal, projectID)
            .orderBy("created_at").all().map(OperationRecord.init(row:))
    }

    static func finish(_ db: any SQLDatabase, _ operation: OperationRecord, result: JSONTree) async throws {
        try await db.update(table).set("done", to: true).set("result", to: ResourceTable.text(result))
            .where("workspace_id", .equal, operation.workspaceID).where("name", .equal, operation.name)
            .run()
    }
}
