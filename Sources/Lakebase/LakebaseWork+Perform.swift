import Compute
import KilnCore
import SQLKit
import Persistence

extension LakebaseWork {
    /// Does an operation's work; returns the resource for its response (`nil` for deletes).
    func perform(_ operation: OperationRecord) async throws -> JSONTree? {
        let ws = operation.workspaceID
        let name = operation.resource
        switch operation.kind {
        case .createProject:
            try await createProject(name, ws: ws)
        case .createBranch:
            try await createBranch(name, ws: ws)
        case .createEndpoint, .updateEndpoint:
            try await applyEndpoint(name, ws: ws, previous: operation.payload["previous"])
        case .updateProject, .updateBranch:
            break
        case .deleteProject, .deleteBranch:
            try await deleteTree(name, ws: ws, purge: operation.payload["purge"]?.boolValue == true)
            return nil
        case .undeleteProject, .undeleteBranch:
            try await undeleteTree(name, ws: ws)
            return nil
        case .deleteEndpoint:
            if let endpoint = try await row(name, ws: ws) {
                await owner.stop(id: endpoint.uid)
                if endpoint.isReadOnly { await removeReplica(endpoint) }
            }
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            return nil
        case .createRole, .updateRole, .deleteRole:
            try await applyRole(operation)
            if operation.kind == .deleteRole { return nil }
        case .createDatabase, .updateDatabase, .deleteDatabase:
            try await applyDatabase(operation)
            if operation.kind == .deleteDatabase { return nil }
        }
        guard let resource = try await row(name, ws: ws) else { throw LakebaseService.notFound(name.kind) }
        let project = try await row(name.project, ws: ws)
        return await Rendering.render(resource, project: project, facts: facts)
    }

    func row(_ name: ResourceName, ws: Int64) async throws -> StoredResource? {
        try await database.read { db in try await ResourceTable.get(db, workspaceID: ws, name: name) }
    }

    func children(_ parent: ResourceName, _ kind: ResourceKind, ws: Int64) async throws -> [StoredResource] {
        try await database.read { db in try await ResourceTable.children(db, workspaceID: ws, parent: parent.description, kind: kind) }
    }

    /// Marks resources READY (and records a branch's data directory).
    func markReady(_ resources: [StoredResource], dataDirectory: String? = nil) async throws {
        let now = clock.nowMillis()
        try await database.write { db in
            for var resource in resources {
                guard let current = try await ResourceTable.get(db, workspaceID: resource.workspaceID, name: resource.name) else { continue }
                resource.spec = current.spec
                resource.state = "READY"
                resource.stateChangedAt = now
                if let dataDirectory, resource.kind == .branch { resource.privateState.set("data_directory", .string(dataDirectory)) }
                try await ResourceTable.update(db, resource)
            }
        }
    }

    // MARK: - Projects and branches

    private func createProject(_ name: ResourceName, ws: Int64) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        guard let project = rows.first(where: { $0.kind == .project }),
              let branch = rows.first(where: { $0.kind == .branch }),
              let endpoint = rows.first(where: { $0.kind == .endpoint }) else { throw LakebaseService.notFound(.project) }
        let directory = try await dataDirectory(project: project, owner: branch)
        do {
            try await owner.createEmpty(at: directory)
            try await owner.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
            var statements: [String] = []
            for role in rows where role.kind == .role { statements += try await createRoleSQL(role, port: endpoint.port!) }
            statements += rows.filter { $0.kind == .database }.compactMap { database in
                rows.first { $0.name.description == database.spec["role"]?.stringValue }.map {
                    "ALTER DATABASE databricks_postgres OWNER TO \(SQLText.identifier($0.spec["postgres_role"]?.stringValue ?? ""))"
                }
            }
            try await driver.run(port: endpoint.port!, database: "postgres", statements)
            try await markReady(rows, dataDirectory: directory)
        } catch {
            await owner.stop(id: endpoint.uid)
            await owner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }

    private func createBranch(_ name: ResourceName, ws: Int64) async throws {
        guard let branch = try await row(name, ws: ws), let project = try await row(name.project, ws: ws),
              let sourceName = ResourceName(branch.spec["source_branch"]?.stringValue ?? ""),
              let source = try await row(sourceName, ws: ws), let sourceDirectory = source.privateState["data_directory"]?.stringValue
        else { throw LakebaseService.notFound(.branch) }
        let directory = try await dataDirectory(project: project, owner: branch)
        let endpoints = try await children(name, .endpoint, ws: ws)
        let others = try await children(name, .role, ws: ws) + children(name, .database, ws: ws)
        do {
            if !driver.exists(directory) { try await owner.copy(sourceDirectory, to: directory) }
            var ready = branch
            ready.privateState.set("data_directory", .string(directory))
            for endpoint in endpoints where endpoint.spec["disabled"]?.boolValue != true {
                try await owner.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
            }
            if source.spec["is_protected"]?.boolValue == true {
                try await renewPasswords(of: others.filter { $0.kind == .role }, branch: ready)
            }
            try await markReady([branch] + endpoints, dataDirectory: directory)
        } catch {
            for endpoint in endpoints { await owner.stop(id: endpoint.uid) }
            await owner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }

    /// A branch made from a protected branch gets new passwords for the roles it copied.
    private func renewPasswords(of roles: [StoredResource], branch: StoredResource) async throws {
        var statements: [String] = []
        var updated: [StoredResource] = []
        for var role in roles where role.privateState["password"] != nil {
            let password = LakebaseSecrets.newPassword()
            role.privateState.set("password", .string(try await secrets().seal(password)))
            statements.append("ALTER ROLE \(SQLText.identifier(role.spec["postgres_role"]?.stringValue ?? "")) PASSWORD \(SQLText.literal(password))")
            updated.append(role)
        }
        guard !statements.isEmpty else { return }
        try await sql(branch, statements)
        let renewed = updated
        try await database.write { db in for role in renewed { try await ResourceTable.update(db, role) } }
    }

    private func deleteTree(_ name: ResourceName, ws: Int64, purge: Bool) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        let prefix = name.description + "/"
        let inside = rows.filter { $0.name == name || $0.name.description.hasPrefix(prefix) }
        for endpoint in inside where endpoint.kind == .endpoint { await owner.stop(id: endpoint.uid) }
        guard purge else { return }
        for resource in inside where resource.kind == .branch || resource.isReadOnly {
            if let directory = resource.privateState["data_directory"]?.stringValue { await owner.remove(directory) }
        }
        try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
    }

    private func undeleteTree(_ name: ResourceName, ws: Int64) async throws {
        let rows = try await database.read { db in try await ResourceTable.project(db, workspaceID: ws, projectID: name.projectID) }
        let prefix = name.description + "/"
        for endpoint in rows where endpoint.kind == .endpoint && endpoint.isReady
            && (endpoint.name.description.hasPrefix(prefix) || name.kind == .project) {
            try await startIfWanted(endpoint)
        }
    }

    // MARK: - Endpoints

    /// Makes the endpoint's compute match its spec; on failure an update goes back to the previous
    /// spec, a create is removed.
    private func applyEndpoint(_ name: ResourceName, ws: Int64, previous: JSONTree?) async throws {
        guard var endpoint = try await row(name, ws: ws) else { throw LakebaseService.notFound(.endpoint) }
        do {
            if endpoint.isReadOnly && endpoint.privateState["data_directory"] == nil {
                endpoint = try await makeReplica(endpoint)
            }
            try await startIfWanted(endpoint)
            try await markReady([endpoint])
            if !endpoint.isReadOnly && previous != nil { await followPrimary(of: name.parent!, ws: ws) }
        } catch {
            if let previous {
                var reverted = endpoint
                reverted.spec = previous
                let restored = reverted
                try await database.write { db in try await ResourceTable.update(db, restored) }
                try? await startIfWanted(restored)
            } else {
                await owner.stop(id: endpoint.uid)
                if endpoint.isReadOnly { await removeReplica(endpoint) }
                try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            }
            throw KilnError(.invalidParameterValue, "The compute could not start with these settings: \(error)")
        }
    }
}
