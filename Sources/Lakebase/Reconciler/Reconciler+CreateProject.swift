import Compute
import KilnCore
import Persistence
import SQLKit

/// A new project: its root branch's data (an empty cluster), its read-write compute, its owner role and
/// default database. A failure removes all of it.
extension Reconciler {
    func createProject(_ name: ResourceName, ws: Int64) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        guard let project = rows.first(where: { $0.kind == .project }),
            let branch = rows.first(where: { $0.kind == .branch }),
            let endpoint = rows.first(where: { $0.kind == .endpoint })
        else { throw LakebaseService.notFound(.project) }
        let directory = try await dataDirectory(project: project, for: branch)
        do {
            try await dataOwner.createEmpty(at: directory, major: project.projectSpec.pgVersion)
            try driver.keepHistory(BranchHistory(dataDirectory: directory))
            try await dataOwner.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
            var statements: [String] = []
            for role in rows where role.kind == .role { statements += try await createRoleSQL(role, port: endpoint.port!) }
            statements += rows.filter { $0.kind == .database }.compactMap { database in
                rows.first { $0.name == database.databaseSpec.owner }.map {
                    "ALTER DATABASE databricks_postgres OWNER TO \(SQLText.identifier($0.roleSpec.postgresRole))"
                }
            }
            try await driver.run(port: endpoint.port!, database: "postgres", statements)
            try await markReady(rows, dataDirectory: directory)
        } catch {
            await dataOwner.stop(id: endpoint.uid)
            await dataOwner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }
}
