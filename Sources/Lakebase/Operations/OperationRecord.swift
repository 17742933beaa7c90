import KilnCore
import SQLKit

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
            .init(
                "metadata",
                .object([.init("@type", .string("type.googleapis.com/databricks.postgres.v1.\(kind.metadataType ?? resource.kind.typeName)OperationMetadata"))])
            ),
            .init("done", .bool(done)),
        ]
        if let result, case .object(let parts) = result { members += parts }
        return .object(members)
    }
}
