import Foundation
public import KilnCore
public import Persistence
import SQLKit

/// The Account API's workspaces: create (PROVISIONING, then a background step provisions), get, list,
/// update (repair a FAILED one; only credentials and network on a RUNNING one), delete.
public struct AccountWorkspaces: Sendable {
    let database: any Database
    let clock: any WallClock
    let resources: AccountResourceStore
    let storage: WorkspaceStorage
    /// Called after a workspace needs provisioning, so the provisioner starts at once.
    let onProvisioningNeeded: @Sendable () -> Void
    /// Called with a deleted workspace's id once its rows are gone and before its storage area is removed:
    /// what other domains run there (Lakebase's computes) stops.
    let onDeleted: @Sendable (Int64) async -> Void

    public init(
        database: any Database, storage: WorkspaceStorage, clock: any WallClock = SystemClock(),
        onProvisioningNeeded: @escaping @Sendable () -> Void = {}, onDeleted: @escaping @Sendable (Int64) async -> Void = { _ in }
    ) {
        self.onDeleted = onDeleted
        self.database = database
        self.storage = storage
        self.clock = clock
        self.resources = AccountResourceStore(database: database, clock: clock)
        self.onProvisioningNeeded = onProvisioningNeeded
    }

    /// Fields a client sets on a workspace, with the resource kind each refers to.
    static let references: [(String, AccountResourceKind)] = [
        ("credentials_id", .credentials), ("storage_configuration_id", .storageConfigurations),
        ("network_id", .networks), ("private_access_settings_id", .privateAccessSettings),
        ("managed_services_customer_managed_key_id", .customerManagedKeys),
        ("storage_customer_managed_key_id", .customerManagedKeys),
    ]
    static let settableFields =
        references.map(\.0) + [
            "workspace_name", "deployment_name", "aws_region", "cloud", "location", "pricing_tier", "compute_mode",
            "storage_mode", "custom_tags", "network_connectivity_config_id", "cloud_resource_container",
            "gcp_managed_network_config", "gke_config",
        ]
    static let pricingTiers: Set<String> = ["COMMUNITY_EDITION", "DEDICATED", "ENTERPRISE", "PREMIUM", "STANDARD", "UNKNOWN"]

    struct Row {
        var workspace: Workspace
        var config: JSONTree
    }

    static func rows(_ db: any SQLDatabase, accountID: String) async throws -> [Row] {
        try await db.select().column("*").from("workspaces").where("account_id", .equal, accountID)
            .orderBy("created_at").all().map(Row.init(row:))
    }

    /// Validates and records a workspace as PROVISIONING, then wakes the provisioner. Returns the Workspace
    /// object, `workspace_id` included (the SDK's waiter needs it). Its creator (`creatorID`, when given) and
    /// the account's first admin (who bootstrapped it) are assigned to it as its admins.
    public func create(accountID: String, body: JSONTree, creatorID: Int64? = nil) async throws -> JSONTree {
        guard case .object = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        let config = try await validatedConfig(accountID: accountID, body: body)
        let name = config["workspace_name"]?.stringValue ?? ""
        let now = clock.nowMillis()
        let row = try await database.write(lockKey: AccountResourceStore.lockKey(accountID)) { db -> Row in
            let deployment = try await Self.deploymentName(db, accountID: accountID, requested: body["deployment_name"]?.stringValue)
            let workspace = Workspace(
                workspaceID: IdentifierGenerator.next(), accountID: accountID, name: name, deploymentName: deployment,
                isDefault: false, status: "PROVISIONING", createdAt: now, statusMessage: "Workspace is being provisioned.")
            var stored = config
            stored.set("deployment_name", .string(deployment))
            try await db.insert(into: "workspaces")
                .columns(
                    "workspace_id", "account_id", "workspace_name", "deployment_name", "is_default", "workspace_status",
                    "created_at", "workspace_status_message", "config"
                )
                .values(
                    SQLBind(workspace.workspaceID), SQLBind(accountID), SQLBind(name), SQLBind(deployment), SQLBind(false),
                    SQLBind(workspace.status), SQLBind(now), SQLBind(workspace.statusMessage),
                    SQLBind(String(decoding: stored.compactJSON(), as: UTF8.self))
                )
                .run()
            let firstAdmin = try await db.select().column("user_id").from("users").where("account_id", .equal, accountID)
                .where("is_admin", .equal, true).orderBy("created_at").limit(1).first()
                .map { try $0.decode(column: "user_id", as: Int64.self) }
            for admin in Set([creatorID, firstAdmin].compactMap { $0 }) {
                try await db.insert(into: "workspace_assignments").columns("workspace_id", "principal_id", "permission")
                    .values(SQLBind(workspace.workspaceID), SQLBind(admin), SQLBind(WorkspacePermission.admin.rawValue)).run()
            }
            return Row(workspace: workspace, config: stored)
        }
        onProvisioningNeeded()
        return row.json
    }

    /// The account's workspaces, oldest first (the default workspace included).
    public func list(accountID: String) async throws -> [JSONTree] {
        try await database.read { db in try await Self.rows(db, accountID: accountID).map(\.json) }
    }

    /// One workspace of the account, or `RESOURCE_DOES_NOT_EXIST`.
    public func get(accountID: String, workspaceID: Int64) async throws -> JSONTree {
        try await row(accountID: accountID, workspaceID: workspaceID).json
    }

    /// The directory of a workspace's storage area; nil for a workspace without a storage
    /// configuration (the default workspace).
    public func storageArea(workspaceID: Int64) async throws -> String? {
        try await Self.storageArea(workspaceID: workspaceID, database: database, resources: resources, storage: storage)
    }

    /// The same, for a domain built before the workspaces (Lakebase, whose computes the workspaces stop).
    public static func storageArea(
        workspaceID: Int64, database: any Database, resources: AccountResourceStore, storage: WorkspaceStorage
    ) async throws -> String? {
        let row = try await database.read { db in
            try await db.select().column("*").from("workspaces").where("workspace_id", .equal, workspaceID).first().map(Row.init(row:))
        }
        guard let row, let storageID = row.config["storage_configuration_id"]?.stringValue else { return nil }
        let bucket = try await resources.bucket(ofStorageConfiguration: storageID, accountID: row.workspace.accountID)
        return storage.area(bucket: bucket, workspaceID: workspaceID).path
    }

    func row(accountID: String, workspaceID: Int64) async throws -> Row {
        let row = try await database.read { db in
            try await db.select().column("*").from("workspaces").where("workspace_id", .equal, workspaceID)
                .where("account_id", .equal, accountID).first().map(Row.init(row:))
        }
        guard let row else { throw KilnError(.resourceDoesNotExist, "Workspace \(workspaceID) does not exist.") }
        return row
    }

    /// PATCH: fields named in `mask` (or, without a mask, every field in the body) change. A FAILED
    /// workspace is redeployed with them; a RUNNING one takes what `runningChanges` allows and provisions
    /// the update (PROVISIONING, serving meanwhile, then RUNNING, or FAILED if a reference broke).
    public func update(accountID: String, workspaceID: Int64, body: JSONTree, mask: [String]?) async throws -> JSONTree {
        let current = try await row(accountID: accountID, workspaceID: workspaceID)
        guard !current.workspace.isDefault else {
            throw KilnError(.invalidState, "The default workspace is managed by Kiln and cannot be updated.")
        }
        guard case .object(let fields) = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        var changed = mask ?? fields.map(\.key).filter { Self.settableFields.contains($0) }
        for field in changed where !Self.settableFields.contains(field) {
            throw KilnError.invalidParameter("Field \(field) cannot be updated.")
        }
        switch current.workspace.status {
        case "RUNNING":
            changed = try Self.runningChanges(changed, body: body, current: current.config, workspaceID: workspaceID)
            if changed.isEmpty { return current.json }
        case "FAILED":
            break
        default:
            throw KilnError(.invalidState, "Workspace \(workspaceID) is \(current.workspace.status); wait until it is RUNNING or FAILED.")
        }
        var merged = current.config
        for field in changed { merged.set(field, body[field] ?? .null) }
        if changed.contains("deployment_name"), body["deployment_name"]?.stringValue != current.workspace.deploymentName {
            throw KilnError(.invalidState, "The deployment name of a workspace cannot be changed.")
        }
        merged.set("deployment_name", .string(current.workspace.deploymentName))
        let config = try await validatedConfig(accountID: accountID, body: merged)
        let redeploy = current.workspace.status == "FAILED"
        let row = try await database.write(lockKey: AccountResourceStore.lockKey(accountID)) { db -> Row in
            var updated = current
            updated.config = config
            updated.workspace.name = config["workspace_name"]?.stringValue ?? current.workspace.name
            updated.workspace.status = "PROVISIONING"
            updated.workspace.statusMessage = redeploy ? "Workspace is being redeployed." : Workspace.updatingMessage
            try await db.update("workspaces")
                .set("workspace_name", to: updated.workspace.name)
                .set("workspace_status", to: updated.workspace.status)
                .set("workspace_status_message", to: updated.workspace.statusMessage)
                .set("config", to: String(decoding: config.compactJSON(), as: UTF8.self))
                .where("workspace_id", .equal, workspaceID).run()
            return updated
        }
        onProvisioningNeeded()
        return try await settled(row, accountID: accountID).json
    }

    /// The workspace once the provisioner has taken `row` out of PROVISIONING, or as it is after 2 s: the
    /// work takes milliseconds, so the SDK's first poll (`update(...).result()`) already finds it done.
    private func settled(_ row: Row, accountID: String) async throws -> Row {
        var current = row
        let deadline = ContinuousClock.now + .seconds(2)
        while current.workspace.status == "PROVISIONING", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            current = try await self.row(accountID: accountID, workspaceID: row.workspace.workspaceID)
        }
        return current
    }

    /// The fields a RUNNING workspace may change, each with its rule (Account API reference, Workspaces ›
    /// Update, AWS): `credentials_id`; `network_id` only when it already uses a customer-managed VPC;
    /// `managed_services_customer_managed_key_id` added or rotated; `storage_customer_managed_key_id` only
    /// when it has none yet; `private_access_settings_id` added or upgraded, never removed; `custom_tags`
    /// (empty tags change nothing); `network_connectivity_config_id` switched, never removed. Returns the
    /// fields that really change; a broken rule is `INVALID_PARAMETER_VALUE`, another field `INVALID_STATE`.
    static func runningChanges(_ fields: [String], body: JSONTree, current: JSONTree, workspaceID: Int64) throws -> [String] {
        var changes: [String] = []
        for field in fields {
            let new = body[field].flatMap { $0.isNull || $0.stringValue == "" ? nil : $0 }
            let old = current[field]
            if new == old { continue }
            func refuse(_ why: String) -> KilnError { KilnError.invalidParameter("\(field) of running workspace \(workspaceID) \(why).") }
            switch field {
            case "credentials_id", "managed_services_customer_managed_key_id", "private_access_settings_id",
                "network_connectivity_config_id":
                guard new != nil else { throw refuse("cannot be removed") }
            case "network_id":
                guard old != nil else {
                    throw refuse("can only be changed when the workspace already uses a customer-managed VPC; it uses the Databricks-managed one")
                }
                guard new != nil else { throw refuse("cannot be removed") }
            case "storage_customer_managed_key_id":
                guard old == nil else { throw refuse("cannot be changed once the workspace has a storage key") }
            case "custom_tags":
                guard let new, new != .object([]) else { continue }
            default:
                throw KilnError(
                    .invalidState,
                    "Field \(field) of a RUNNING workspace cannot be changed; a running workspace accepts "
                        + "credentials_id, network_id, managed_services_customer_managed_key_id, storage_customer_managed_key_id, "
                        + "private_access_settings_id, custom_tags and network_connectivity_config_id.")
            }
            changes.append(field)
        }
        return changes
    }

    /// Deletes the workspace, everything in it (its objects and tokens go with it: `ON DELETE CASCADE`) and
    /// its storage area; returns it as it was.
    public func delete(accountID: String, workspaceID: Int64) async throws -> JSONTree {
        let current = try await row(accountID: accountID, workspaceID: workspaceID)
        guard !current.workspace.isDefault else {
            throw KilnError(.invalidState, "The default workspace is served on the bare host and cannot be deleted.")
        }
        try await database.write(lockKey: workspaceID) { db in
            try await db.delete(from: "workspaces").where("workspace_id", .equal, workspaceID).run()
        }
        await onDeleted(workspaceID)
        if let storageID = current.config["storage_configuration_id"]?.stringValue,
            let bucket = try? await resources.bucket(ofStorageConfiguration: storageID, accountID: accountID)
        {
            storage.remove(bucket: bucket, workspaceID: workspaceID)
        }
        return current.json
    }

    /// The body's fields, checked: names, region, enums, tags and references to this account's resources.
    private func validatedConfig(accountID: String, body: JSONTree) async throws -> JSONTree {
        var config = JSONTree.object([])
        for field in Self.settableFields { if let value = body[field], !value.isNull { config.set(field, value) } }
        guard let name = config["workspace_name"]?.stringValue, !name.isEmpty else {
            throw AccountValidation.failed("workspace_name is required.")
        }
        let cloud = (config["cloud"]?.stringValue ?? "aws").lowercased()
        config.set("cloud", .string(cloud))
        if cloud == "aws" {
            guard let region = config["aws_region"]?.stringValue else { throw AccountValidation.failed("aws_region is required.") }
            try AccountValidation.region(region)
            for required in ["credentials_id", "storage_configuration_id"] where config[required] == nil {
                throw AccountValidation.failed("\(required) is required.")
            }
        }
        let tier = config["pricing_tier"]?.stringValue ?? "PREMIUM"
        guard Self.pricingTiers.contains(tier) else { throw AccountValidation.failed("pricing_tier \(tier) is not valid.") }
        config.set("pricing_tier", .string(tier))
        if let mode = config["compute_mode"]?.stringValue, !["HYBRID", "SERVERLESS"].contains(mode) {
            throw AccountValidation.failed("compute_mode \(mode) is not one of HYBRID, SERVERLESS.")
        }
        if let tags = config["custom_tags"] {
            guard case .object(let members) = tags else { throw AccountValidation.failed("custom_tags must be an object of strings.") }
            for tag in members {
                guard !tag.key.isEmpty, tag.key.count <= 127, let value = tag.value.stringValue, value.count <= 255 else {
                    throw AccountValidation.failed("custom tag \(tag.key) is invalid: keys are 1-127 characters, values up to 255.")
                }
            }
        }
        for (field, kind) in Self.references {
            guard let id = config[field]?.stringValue else { continue }
            let resource: JSONTree
            do {
                resource = try await resources.get(kind, accountID: accountID, id: id)
            } catch let error as KilnError where error.code == .resourceDoesNotExist {
                throw KilnError(.resourceDoesNotExist, "\(kind.noun) \(id) referenced by \(field) does not exist in account \(accountID).")
            }
            if kind == .customerManagedKeys {
                let useCase = field.hasPrefix("managed_services") ? "MANAGED_SERVICES" : "STORAGE"
                guard resource["use_cases"]?.arrayValue?.contains(.string(useCase)) == true else {
                    throw AccountValidation.failed("key \(id) in \(field) does not have the use case \(useCase).")
                }
            }
        }
        return config
    }

    /// A requested deployment name checked and prefixed, or a generated `dbc-xxxxxxxx-xxxx`.
    static func deploymentName(_ db: any SQLDatabase, accountID: String, requested: String?) async throws -> String {
        let prefix =
            try await db.select().column("deployment_name_prefix").from("accounts")
            .where("account_id", .equal, accountID).first()?.decode(column: "deployment_name_prefix", as: String?.self) ?? nil
        var name: String
        switch requested {
        case nil, "":
            name = "dbc-\(IdentifierGenerator.hex(8))-\(IdentifierGenerator.hex(4))"
        case "EMPTY":
            guard let prefix else { throw AccountValidation.failed("deployment_name EMPTY needs an account deployment name prefix.") }
            name = prefix
        case let requested?:
            guard requested.count <= 63, AccountValidation.matches(requested, #"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"#) else {
                throw AccountValidation.failed(
                    "deployment_name \(requested) must be 1-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen.")
            }
            name = prefix.map { "\($0)-\(requested)" } ?? requested
        }
        if name == "default" || name == "w" {
            throw AccountValidation.failed("deployment_name \(name) is reserved.")
        }
        let taken = try await db.select().column("workspace_id").from("workspaces").where("deployment_name", .equal, name).first()
        if taken != nil {
            throw KilnError(.resourceAlreadyExists, "Deployment name \(name) is already used by another workspace.")
        }
        return name
    }
}

extension AccountWorkspaces.Row {
    init(row: any SQLRow) throws {
        workspace = try Workspace(row: row)
        config = (try? JSONTree.parse(Array(try row.decode(column: "config", as: String.self).utf8))) ?? .object([])
    }

    /// The Workspace object of the API.
    var json: JSONTree {
        var members: [JSONTree.Member] = [
            .init("workspace_id", .integer(workspace.workspaceID)),
            .init("workspace_name", .string(workspace.name)),
            .init("deployment_name", .string(workspace.deploymentName)),
            .init("account_id", .string(workspace.accountID)),
            .init("creation_time", .integer(workspace.createdAt)),
            .init("workspace_status", .string(workspace.status)),
            .init("workspace_status_message", .string(workspace.statusMessage)),
        ]
        if case .object(let fields) = config {
            members += fields.filter { field in !members.contains { $0.key == field.key } }
        }
        return .object(members)
    }
}
