import KilnCore
import SQLKit

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
    var state: String
    /// The endpoint's TCP port.
    var port: Int?
    var createdAt: Int64
    var updatedAt: Int64
    var stateChangedAt: Int64
    var deletedAt: Int64?
    var purgeAt: Int64?

    var kind: ResourceKind { name.kind }
    var isReady: Bool { state == "READY" }

    init(workspaceID: Int64, name: ResourceName, uid: String, spec: JSONTree, privateState: JSONTree = .object([]),
         state: String = "INIT", port: Int? = nil, now: Int64) {
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
        state = try row.decode(column: "state", as: String.self)
        port = try row.decode(column: "port", as: Int?.self)
        createdAt = try row.decode(column: "created_at", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: Int64.self)
        stateChangedAt = try row.decode(column: "state_changed_at", as: Int64.self)
        deletedAt = try row.decode(column: "deleted_at", as: Int64?.self)
        purgeAt = try row.decode(column: "purge_at", as: Int64?.self)
    }
}

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
            .columns("workspace_id", "name", "kind", "parent", "project", "uid", "spec", "internal", "state", "port",
                     "created_at", "updated_at", "state_changed_at", "deleted_at", "purge_at", "seq")
            .values(SQLBind(resource.workspaceID), SQLBind(resource.name.description), SQLBind(resource.kind.rawValue),
                    SQLBind(resource.name.parent?.description ?? ""), SQLBind(resource.name.projectID), SQLBind(resource.uid),
                    SQLBind(text(resource.spec)), SQLBind(text(resource.privateState)), SQLBind(resource.state), SQLBind(resource.port),
                    SQLBind(resource.createdAt), SQLBind(resource.updatedAt), SQLBind(resource.stateChangedAt),
                    SQLBind(resource.deletedAt), SQLBind(resource.purgeAt), SQLBind(resource.createdAt * 1000 + Int64.random(in: 0..<1000)))
            .run()
    }

    static func update(_ db: any SQLDatabase, _ resource: StoredResource) async throws {
        try await db.update(table)
            .set("spec", to: text(resource.spec)).set("internal", to: text(resource.privateState))
            .set("state", to: resource.state).set("port", to: resource.port)
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
        Set(try await db.select().column("port").from(table).where("port", .isNot, SQLLiteral.null).all()
            .map { try $0.decode(column: "port", as: Int.self) })
    }

    /// Every resource of a kind in every workspace (for start-up).
    static func all(_ db: any SQLDatabase, kind: ResourceKind) async throws -> [StoredResource] {
        try await db.select().column("*").from(table).where("kind", .equal, kind.rawValue)
            .orderBy("seq").all().map(StoredResource.init(row:))
    }

    static func text(_ tree: JSONTree) -> String { String(decoding: tree.compactJSON(), as: UTF8.self) }
}
