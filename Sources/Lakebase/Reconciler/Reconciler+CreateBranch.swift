import Compute
import KilnCore
import Logging
import Persistence
import SQLKit

/// A new branch: a copy of its source's data (`DataDirectoryOwner.copy`, which holds the source while it copies),
/// then its computes. A failure removes all of it.
extension Reconciler {
    func createBranch(_ name: ResourceName, ws: Int64) async throws {
        guard let branch = try await row(name, ws: ws), let project = try await row(name.project, ws: ws),
            let sourceName = branch.branchSpec.sourceBranch,
            let source = try await row(sourceName, ws: ws), let sourceDirectory = source.dataDirectory
        else { throw LakebaseService.notFound(.branch) }
        let directory = try await dataDirectory(project: project, for: branch)
        let endpoints = try await children(name, .endpoint, ws: ws)
        let others = try await children(name, .role, ws: ws) + children(name, .database, ws: ws)
        do {
            let started = ContinuousClock.now
            if !driver.exists(directory) { try await dataOwner.copy(sourceDirectory, to: directory) }
            let copied = ContinuousClock.now
            var ready = branch
            ready.setDataDirectory(directory)
            for endpoint in endpoints where !endpoint.endpointSpec.disabled {
                try await dataOwner.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
            }
            logger.debug(
                "Branch data copied and its computes started",
                metadata: ["branch": "\(name)", "copy": "\(copied - started)", "start": "\(ContinuousClock.now - copied)"])
            if source.branchSpec.isProtected {
                try await renewPasswords(of: others.filter { $0.kind == .role }, branch: ready)
            }
            try await markReady([branch] + endpoints, dataDirectory: directory)
        } catch {
            for endpoint in endpoints { await dataOwner.stop(id: endpoint.uid) }
            await dataOwner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }

    /// A branch made from a protected branch gets new passwords for the roles it copied.
    func renewPasswords(of roles: [StoredResource], branch: StoredResource) async throws {
        var statements: [String] = []
        var updated: [StoredResource] = []
        for var role in roles where role.sealedPassword != nil {
            let password = LakebaseSecrets.newPassword()
            role.setSealedPassword(try await secrets().seal(password))
            statements.append("ALTER ROLE \(SQLText.identifier(role.roleSpec.postgresRole)) PASSWORD \(SQLText.literal(password))")
            updated.append(role)
        }
        guard !statements.isEmpty else { return }
        try await sql(branch, statements)
        let renewed = updated
        try await database.write { db in for role in renewed { try await ResourceTable.update(db, role) } }
    }
}
