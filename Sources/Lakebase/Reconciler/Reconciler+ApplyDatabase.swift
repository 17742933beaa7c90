import Compute
import KilnCore
import Persistence
import SQLKit

/// Databases on a branch's postgres: `CREATE`, `ALTER` (rename, owner) and `DROP DATABASE`.
extension Reconciler {
    func applyDatabase(_ operation: OperationRecord) async throws {
        let ws = operation.workspaceID
        guard let resource = try await row(operation.resource, ws: ws), let branch = try await row(operation.resource.branch, ws: ws) else {
            throw LakebaseService.notFound(.database)
        }
        let pgName = resource.databaseSpec.postgresDatabase
        var owner: StoredResource?
        if let ownerName = resource.databaseSpec.owner { owner = try await row(ownerName, ws: ws) }
        let ownerIdentifier = SQLText.identifier(owner?.roleSpec.postgresRole ?? "kiln_system")
        var statements: [String]
        var renamedFrom: String?
        switch operation.kind {
        case .deleteDatabase:
            statements = ["DROP DATABASE IF EXISTS \(SQLText.identifier(pgName)) WITH (FORCE)"]
        case .updateDatabase:
            let previousName = operation.payload.value(at: ["previous", "postgres_database"])?.stringValue ?? pgName
            statements = []
            if previousName != pgName {
                renamedFrom = previousName
                statements.append("ALTER DATABASE \(SQLText.identifier(previousName)) RENAME TO \(SQLText.identifier(pgName))")
            }
            statements.append("ALTER DATABASE \(SQLText.identifier(pgName)) OWNER TO \(ownerIdentifier)")
        default:
            statements = ["CREATE DATABASE \(SQLText.identifier(pgName)) OWNER \(ownerIdentifier)"]
        }
        do {
            try await onBranch(branch) { [driver, statements, renamedFrom] port in
                if let renamedFrom { try await driver.terminateSessions(port: port, database: renamedFrom) }
                try await driver.run(port: port, database: "postgres", statements)
            }
        } catch {
            try await undo(operation, resource: resource)
            throw error
        }
        if operation.kind == .deleteDatabase {
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: operation.resource) }
        } else {
            try await markReady([resource])
        }
    }
}
