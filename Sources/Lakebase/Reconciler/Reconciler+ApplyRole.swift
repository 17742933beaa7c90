import Compute
import KilnCore
import Persistence
import SQLKit

/// Roles on a branch's postgres: `CREATE`/`ALTER ROLE` from the spec, `DROP ROLE` (after reassigning what it owns).
extension Reconciler {
    func applyRole(_ operation: OperationRecord) async throws {
        let ws = operation.workspaceID
        guard let role = try await row(operation.resource, ws: ws), let branch = try await row(operation.resource.branch, ws: ws) else {
            throw LakebaseService.notFound(.role)
        }
        let driver = driver
        do {
            try await onBranch(branch) { port in
                if operation.kind == .deleteRole {
                    let identifier = SQLText.identifier(role.roleSpec.postgresRole)
                    if let target = operation.payload["reassign_owned_to"]?.stringValue {
                        for database in try await driver.databases(port: port) {
                            try await driver.run(
                                port: port, database: database,
                                [
                                    "REASSIGN OWNED BY \(identifier) TO \(SQLText.identifier(target))", "DROP OWNED BY \(identifier)",
                                ])
                        }
                    }
                    try await driver.run(port: port, database: "postgres", ["DROP ROLE IF EXISTS \(identifier)"])
                } else {
                    try await driver.run(port: port, database: "postgres", try await self.createRoleSQL(role, port: port))
                }
            }
        } catch {
            try await undo(operation, resource: role)
            throw error
        }
        if operation.kind == .deleteRole {
            // The databases it owned now belong to its heir (`reassign_owned_to`), in the API as in postgres.
            let heir = operation.payload["heir"]?.stringValue
            let role = operation.resource
            try await database.write { db in
                if let heir {
                    let databases = try await ResourceTable.children(db, workspaceID: ws, parent: role.branch.description, kind: .database)
                    for var owned in databases where owned.databaseSpec.owner == role {
                        owned.spec.set("role", .string(heir))
                        try await ResourceTable.update(db, owned)
                    }
                }
                try await ResourceTable.deleteTree(db, workspaceID: ws, name: role)
            }
        } else {
            try await markReady([role])
        }
    }

    /// `CREATE ROLE` (or `ALTER ROLE` when it exists) with the spec's attributes, password and membership.
    func createRoleSQL(_ role: StoredResource, port: Int) async throws -> [String] {
        let pgName = role.roleSpec.postgresRole
        let exists = try await driver.roleExists(port: port, role: pgName)
        let spec = role.roleSpec
        func flag(_ on: Bool, _ word: String) -> String { on ? word : "NO" + word }
        var options = [
            spec.authMethod == .noLogin ? "NOLOGIN" : "LOGIN", flag(spec.createsDatabases, "CREATEDB"),
            flag(spec.createsRoles, "CREATEROLE"), flag(spec.bypassesRowSecurity, "BYPASSRLS"),
        ]
        if let sealed = role.sealedPassword {
            options.append("PASSWORD \(SQLText.literal(try await secrets().open(sealed)))")
        } else {
            options.append("PASSWORD NULL")
        }
        let identifier = SQLText.identifier(pgName)
        return [
            "\(exists ? "ALTER" : "CREATE") ROLE \(identifier) \(options.joined(separator: " "))",
            spec.isSuperuserMember ? "GRANT databricks_superuser TO \(identifier)" : "REVOKE databricks_superuser FROM \(identifier)",
        ]
    }

    /// After failed SQL: a create is removed, an update goes back to the previous spec, a delete stays.
    func undo(_ operation: OperationRecord, resource: StoredResource) async throws {
        let ws = operation.workspaceID
        switch operation.kind {
        case .createRole, .createDatabase:
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: operation.resource) }
        case .updateRole, .updateDatabase:
            guard let previous = operation.payload["previous"] else { return }
            var reverted = resource
            reverted.spec = previous
            let restored = reverted
            try await database.write { db in try await ResourceTable.update(db, restored) }
        default:
            break
        }
    }
}
