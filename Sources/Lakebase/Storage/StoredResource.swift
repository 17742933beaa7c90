import KilnCore
import SQLKit

/// Where a resource is in its life: made by its creating operation, then ready (soft deletion is `deletedAt`).
enum ResourceState: String, Sendable {
    case initializing = "INIT"
    case ready = "READY"
}

/// One Lakebase resource as stored: its effective spec, Kiln's private details (data directory,
/// password), and its lifecycle.
struct StoredResource: Sendable {
    var workspaceID: Int64
    var name: ResourceName
    var uid: String
    /// The effective desired state, in the spec's field names with defaults filled in.
    var spec: JSONTree
    /// What only Kiln sees: `data_directory`, the sealed `password`, ….
    var privateState: JSONTree
    /// `INIT` while its creation runs, then `READY`.
    var state: ResourceState
    /// The endpoint's TCP port.
    var port: Int?
    var createdAt: Int64
    var updatedAt: Int64
    var stateChangedAt: Int64
    var deletedAt: Int64?
    var purgeAt: Int64?

    var kind: ResourceKind { name.kind }
    var isReady: Bool { state == .ready }

    init(
        workspaceID: Int64, name: ResourceName, uid: String, spec: JSONTree, privateState: JSONTree = .object([]),
        state: ResourceState = .initializing, port: Int? = nil, now: Int64
    ) {
        self.workspaceID = workspaceID
        self.name = name
        self.uid = uid
        self.spec = spec
        self.privateState = privateState
        self.state = state
        self.port = port
        self.createdAt = now
        self.updatedAt = now
        self.stateChangedAt = now
    }

    init(row: any SQLRow) throws {
        workspaceID = try row.decode(column: "workspace_id", as: Int64.self)
        let text = try row.decode(column: "name", as: String.self)
        guard let name = ResourceName(text) else { throw KilnError(.internalError, "A stored Lakebase name is invalid: \(text)") }
        self.name = name
        uid = try row.decode(column: "uid", as: String.self)
        spec = try JSONTree.parse(Array(try row.decode(column: "spec", as: String.self).utf8))
        privateState = try JSONTree.parse(Array(try row.decode(column: "internal", as: String.self).utf8))
        let stateText = try row.decode(column: "state", as: String.self)
        guard let state = ResourceState(rawValue: stateText) else { throw KilnError(.internalError, "A stored Lakebase state is invalid: \(stateText)") }
        self.state = state
        port = try row.decode(column: "port", as: Int?.self)
        createdAt = try row.decode(column: "created_at", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: Int64.self)
        stateChangedAt = try row.decode(column: "state_changed_at", as: Int64.self)
        deletedAt = try row.decode(column: "deleted_at", as: Int64?.self)
        purgeAt = try row.decode(column: "purge_at", as: Int64?.self)
    }
}
