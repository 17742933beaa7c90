import KilnCore
import SQLKit

/// The work behind a long-running operation.
enum OperationKind: String, Sendable {
    case createProject, updateProject, deleteProject, undeleteProject
    case createBranch, updateBranch, deleteBranch, undeleteBranch
    case createEndpoint, updateEndpoint, deleteEndpoint
    case createRole, updateRole, deleteRole
    case createDatabase, updateDatabase, deleteDatabase

    /// Deletes answer `google.protobuf.Empty`; the rest answer the resource.
    var answersEmpty: Bool { rawValue.hasPrefix("delete") || rawValue.hasPrefix("undelete") }
}

/// A long-running operation as stored: readable the moment the mutation returns, `done` with a
/// `response` or an `error` when its work ends, and still there after a restart.
struct OperationRecord: Sendable {
    var workspaceID: Int64
    /// `<resource name>/operations/<uuid>`.
    var name: String
    var kind: OperationKind
    var resource: ResourceName
    /// What the work needs beyond the stored resources (`purge`, the previous name of a database, …).
    var payload: JSONTree
    var done: Bool
    /// `{"response": …}` or `{"error": …}` once done.
    var result: JSONTree?
    var createdAt: Int64

    init(workspaceID: Int64, kind: OperationKind, resource: ResourceName, payload: JSONTree = .object([]), now: Int64) {
        self.workspaceID = workspaceID
        self.name = "\(resource)/operations/\(IdentifierGenerator.uuid())"
        self.kind = kind
        self.resource = resource
        self.payload = payload
        self.done = false
        self.createdAt = now
    }

    init(row: any SQLRow) throws {
        workspaceID = try row.decode(column: "workspace_id", as: Int64.self)
        name = try row.decode(column: "name", as: String.self)
        let kindText = try row.decode(column: "kind", as: String.self)
        let resourceText = try row.decode(column: "resource", as: String.self)
        guard let kind = OperationKind(rawValue: kindText), let resource = ResourceName(resourceText) else {
            throw KilnError(.internalError, "A stored operation is invalid: \(kindText) \(resourceText)")
        }
        self.kind = kind
        self.resource = resource
        payload = try JSONTree.parse(Array(try row.decode(column: "payload", as: String.self).utf8))
        done = try row.decode(column: "done", as: Bool.self)
        result = try row.decode(column: "result", as: String?.self).map { try JSONTree.parse(Array($0.utf8)) }
        createdAt = try row.decode(column: "created_at", as: Int64.self)
    }

    /// The operation as the API shows it.
    var json: JSONTree {
        var members: [JSONTree.Member] = [
            .init("name", .string(name)),
            .init("metadata", .object([.init("@type", .string("type.googleapis.com/databricks.postgres.v1.\(resource.kind.typeName)OperationMetadata"))])),
            .init("done", .bool(done)),
        ]
        if let result, case .object(let parts) = result { members += parts }
        return .object(members)
    }
}

/// The `lakebase_operations` table.
enum OperationTable {
    static let table = "lakebase_operations"

    static func insert(_ db: any SQLDatabase, _ operation: OperationRecord) async throws {
        try await db.insert(into: table)
            .columns("workspace_id", "name", "project", "kind", "resource", "payload", "done", "result", "created_at")
            .values(SQLBind(operation.workspaceID), SQLBind(operation.name), SQLBind(operation.resource.projectID),
                    SQLBind(operation.kind.rawValue), SQLBind(operation.resource.description),
                    SQLBind(ResourceTable.text(operation.payload)), SQLBind(false), SQLBind(String?.none), SQLBind(operation.createdAt))
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

    static func finish(_ db: any SQLDatabase, _ operation: OperationRecord, result: JSONTree) async throws {
        try await db.update(table).set("done", to: true).set("result", to: ResourceTable.text(result))
            .where("workspace_id", .equal, operation.workspaceID).where("name", .equal, operation.name)
            .run()
    }
}
