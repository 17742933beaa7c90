public import KilnCore
public import Persistence
import SQLKit

/// Credentials, storage configurations, networks, keys, private access settings and VPC endpoints: kept as
/// the JSON Databricks returns, one row each, names unique per account.
public struct AccountResourceStore: Sendable {
    let database: any Database
    let clock: any WallClock

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    /// Validates and stores a new resource; returns it as the API shows it.
    public func create(_ kind: AccountResourceKind, accountID: String, body: JSONTree) async throws -> JSONTree {
        let validated = try AccountValidation.validate(kind, body: body, accountID: accountID)
        let id = IdentifierGenerator.uuid()
        let now = clock.nowMillis()
        let resource = Self.resource(kind, id: id, accountID: accountID, createdAt: now, validated: validated)
        let name = kind.nameField.flatMap { validated[$0]?.stringValue }
        try await database.write(lockKey: Self.lockKey(accountID)) { db in
            if let name, try await Self.row(db, kind: kind, accountID: accountID, name: name) != nil {
                throw KilnError(.resourceAlreadyExists, "\(kind.noun) with name \(name) already exists.")
            }
            try await db.insert(into: "account_resources")
                .columns("resource_id", "account_id", "kind", "resource_name", "body", "created_at")
                .values(
                    SQLBind(id), SQLBind(accountID), SQLBind(kind.rawValue), SQLBind(name),
                    SQLBind(String(decoding: resource.compactJSON(), as: UTF8.self)), SQLBind(now)
                )
                .run()
        }
        return resource
    }

    /// The account's resources of `kind`, oldest first.
    public func list(_ kind: AccountResourceKind, accountID: String) async throws -> [JSONTree] {
        try await database.read { db in
            try await db.select().column("body").from("account_resources")
                .where("account_id", .equal, accountID).where("kind", .equal, kind.rawValue)
                .orderBy("created_at").all()
                .map { try JSONTree.parse(Array(try $0.decode(column: "body", as: String.self).utf8)) }
        }
    }

    /// One resource, or `RESOURCE_DOES_NOT_EXIST`.
    public func get(_ kind: AccountResourceKind, accountID: String, id: String) async throws -> JSONTree {
        let body = try await database.read { db in
            try await db.select().column("body").from("account_resources")
                .where("resource_id", .equal, id).where("account_id", .equal, accountID)
                .where("kind", .equal, kind.rawValue).first()?.decode(column: "body", as: String.self)
        }
        guard let body else { throw Self.notFound(kind, id) }
        return try JSONTree.parse(Array(body.utf8))
    }

    /// Deletes a resource no workspace uses; returns it.
    public func delete(_ kind: AccountResourceKind, accountID: String, id: String) async throws -> JSONTree {
        let resource = try await get(kind, accountID: accountID, id: id)
        try await database.write(lockKey: Self.lockKey(accountID)) { db in
            for workspace in try await AccountWorkspaces.rows(db, accountID: accountID) {
                for field in kind.workspaceFields where workspace.config[field]?.stringValue == id {
                    throw KilnError(
                        .invalidState,
                        "\(kind.noun) \(id) is used by workspace \(workspace.workspace.workspaceID); delete or update the workspace first.")
                }
            }
            try await db.delete(from: "account_resources").where("resource_id", .equal, id).run()
        }
        return resource
    }

    /// Replaces a resource's fields (PUT), keeping its id and creation time.
    public func replace(_ kind: AccountResourceKind, accountID: String, id: String, body: JSONTree) async throws -> JSONTree {
        let existing = try await get(kind, accountID: accountID, id: id)
        let validated = try AccountValidation.validate(kind, body: body, accountID: accountID)
        let createdAt = existing["creation_time"].flatMap(Self.integer) ?? clock.nowMillis()
        let resource = Self.resource(kind, id: id, accountID: accountID, createdAt: createdAt, validated: validated)
        let name = kind.nameField.flatMap { resource[$0]?.stringValue }
        let body = String(decoding: resource.compactJSON(), as: UTF8.self)
        try await database.write(lockKey: Self.lockKey(accountID)) { db in
            if let name, let other = try await Self.row(db, kind: kind, accountID: accountID, name: name), other != id {
                throw KilnError(.resourceAlreadyExists, "\(kind.noun) with name \(name) already exists.")
            }
            try await db.update("account_resources")
                .set("body", to: body)
                .set("resource_name", to: name)
                .where("resource_id", .equal, id).run()
        }
        return resource
    }

    /// A resource as stored and shown: its id, name, account and creation time first, then the validated
    /// body's fields. A PUT builds it afresh from the new body, as Databricks' "completely overwrites".
    static func resource(_ kind: AccountResourceKind, id: String, accountID: String, createdAt: Int64, validated: JSONTree) -> JSONTree {
        var members: [JSONTree.Member] = [.init(kind.idField, .string(id))]
        if let nameField = kind.nameField, let name = validated[nameField] { members.append(.init(nameField, name)) }
        members.append(.init("account_id", .string(accountID)))
        members.append(.init("creation_time", .integer(createdAt)))
        if case .object(let fields) = validated {
            members += fields.filter { field in !members.contains { $0.key == field.key } && field.key != "creation_time" }
        }
        return .object(members)
    }

    private static func integer(_ value: JSONTree) -> Int64? {
        if case .number(let text) = value { return Int64(text) }
        return nil
    }

    /// The bucket a storage configuration names.
    func bucket(ofStorageConfiguration id: String, accountID: String) async throws -> String {
        let configuration = try await get(.storageConfigurations, accountID: accountID, id: id)
        guard let bucket = configuration["root_bucket_info"]?["bucket_name"]?.stringValue else {
            throw KilnError(.invalidState, "Storage configuration \(id) has no bucket.")
        }
        return bucket
    }

    static func row(_ db: any SQLDatabase, kind: AccountResourceKind, accountID: String, name: String) async throws -> String? {
        try await db.select().column("resource_id").from("account_resources")
            .where("account_id", .equal, accountID).where("kind", .equal, kind.rawValue)
            .where("resource_name", .equal, name).first()?.decode(column: "resource_id", as: String.self)
    }

    static func notFound(_ kind: AccountResourceKind, _ id: String) -> KilnError {
        KilnError(.resourceDoesNotExist, "\(kind.noun) \(id) does not exist.")
    }

    /// Serialises the configuration writes of one account.
    static func lockKey(_ accountID: String) -> Int64 {
        accountID.utf8.reduce(Int64(0x4B41)) { ($0 &* 31) &+ Int64($1) }
    }
}
