import Foundation
public import KilnCore
import SQLKit
import Persistence

extension LakebaseService {
    /// `PATCH …/{name}?update_mask=…`.
    public func update(_ name: ResourceName, body: JSONTree, mask: String?, caller: LakebaseCaller) async throws -> JSONTree {
        guard case .object = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        let (resource, project) = try await visible(name, caller: caller, includeDeleted: false)
        try await authorize(name, Self.levelToChange(name.kind), caller: caller)
        let merged = try UpdateMask(rules: .of(name.kind)).apply(paths: UpdateMask.paths(mask), body: body, to: resource.spec)
        let now = clock.nowMillis()
        let ws = caller.workspaceID
        var spec: JSONTree
        switch name.kind {
        case .project:
            spec = try Specs.project(merged, projectID: name.id)
            if let defaultBranch = spec["default_branch"]?.stringValue, defaultBranch != resource.projectSpec.defaultBranch?.description {
                guard let branch = ResourceName(defaultBranch), branch.kind == .branch, branch.projectID == name.projectID,
                    (try? await visible(branch, caller: caller, includeDeleted: false)) != nil
                else {
                    throw KilnError.invalidParameter("spec.default_branch must be a branch of \(name), not '\(defaultBranch)'.")
                }
            }
        case .branch:
            var settings = try Specs.branchSettings(merged, now: now)
            // Where it came from stays as it was made (the update names none of it).
            for key in ["source_branch", "source_branch_time", "source_branch_lsn", "source_snapshot"] {
                if let value = resource.spec[key] { settings.set(key, value) }
            }
            let isDefault = project.projectSpec.defaultBranch == name
            if settings["expire_time"] != nil, settings["is_protected"]?.boolValue == true || isDefault {
                throw KilnError.invalidParameter("A protected or default branch cannot expire.")
            }
            spec = settings
        case .endpoint:
            var input = merged
            input.set("endpoint_type", resource.spec["endpoint_type"] ?? .null)
            spec = try Specs.endpoint(input, projectDefaults: merged)
        case .role:
            spec = try Specs.role(merged)
        case .database:
            spec = try Specs.database(merged)
        case .snapshot:
            throw KilnError.invalidParameter("A snapshot cannot be changed; create another one instead.")
        }
        let newSpec = spec
        let kind: OperationKind =
            switch name.kind {
            case .project: .updateProject
            case .branch: .updateBranch
            case .endpoint: .updateEndpoint
            case .role: .updateRole
            case .database: .updateDatabase
            case .snapshot: throw KilnError.invalidParameter("A snapshot cannot be changed.")
            }
        return try await start(kind, name, payload: .object([.init("previous", resource.spec)]), caller: caller) { db in
            guard var current = try await ResourceTable.get(db, workspaceID: ws, name: name), current.deletedAt == nil else {
                throw Self.notFound(name.kind)
            }
            switch name.kind {
            case .branch where newSpec["is_protected"]?.boolValue == true && !current.branchSpec.isProtected:
                let protected = try await ResourceTable.children(db, workspaceID: ws, parent: name.project.description, kind: .branch)
                    .filter { $0.branchSpec.isProtected }.count
                guard protected < Limits.protectedBranchesPerProject else {
                    throw Limits.exceeded("protected branches per project", Limits.protectedBranchesPerProject)
                }
            case .endpoint where !EndpointSpec(newSpec).disabled && current.endpointSpec.disabled:
                try await self.checkActiveComputes(db, project: name.project, ws: ws, adding: 1)
            case .database:
                try await Self.checkOwner(db, newSpec, branch: name.branch, ws: ws)
                let others = try await ResourceTable.children(db, workspaceID: ws, parent: name.branch.description, kind: .database)
                if others.contains(where: { $0.name != name && $0.spec["postgres_database"] == newSpec["postgres_database"] }) {
                    throw KilnError(.badRequest, "database with that name already exists")
                }
            default:
                break
            }
            current.spec = newSpec
            current.updatedAt = now
            try await ResourceTable.update(db, current)
        }
    }

    /// `DELETE …/{name}`: soft by default for projects and branches, `purge` removes them for good.
    public func delete(_ name: ResourceName, purge: Bool, reassignOwnedTo: String?, caller: LakebaseCaller) async throws -> JSONTree {
        let (resource, project) = try await visible(name, caller: caller)
        try await authorize(name, Self.levelToChange(name.kind), caller: caller)
        let ws = caller.workspaceID
        let now = clock.nowMillis()
        if resource.deletedAt != nil, !purge { throw Self.notFound(name.kind) }
        switch name.kind {
        case .project:
            let branches = try await database.read { db in
                try await ResourceTable.children(db, workspaceID: ws, parent: name.description, kind: .branch)
            }
            if branches.contains(where: { $0.branchSpec.isProtected && $0.deletedAt == nil }) {
                throw KilnError(.badRequest, "cannot delete a project with a protected branch")
            }
            return try await start(.deleteProject, name, payload: .object([.init("purge", .bool(purge))]), caller: caller) { db in
                try await Self.markDeleted(db, name: name, ws: ws, now: now)
            }
        case .branch:
            let liveChild = try await database.read { db in
                try await ResourceTable.children(db, workspaceID: ws, parent: name.project.description, kind: .branch)
            }.first { $0.branchSpec.sourceBranch == name && $0.deletedAt == nil }
            if let refusal = resource.deletionRefusal(project: project, liveChild: liveChild?.name) { throw refusal }
            return try await start(.deleteBranch, name, payload: .object([.init("purge", .bool(purge))]), caller: caller) { db in
                try await Self.markDeleted(db, name: name, ws: ws, now: now)
            }
        case .endpoint:
            if resource.endpointSpec.type == .readWrite {
                throw Self.managedByParent("Cannot delete read-write endpoint '\(name)'. Read-write endpoints cannot be deleted.")
            }
            return try await start(.deleteEndpoint, name, caller: caller) { _ in }
        case .role:
            var payload = JSONTree.object([])
            if let reassignOwnedTo, !reassignOwnedTo.isEmpty {
                guard let target = ResourceName(reassignOwnedTo), target.kind == .role, target.parent == name.parent, target != name else {
                    throw KilnError.invalidParameter("reassign_owned_to must name another role of \(name.branch), not '\(reassignOwnedTo)'.")
                }
                let (targetRole, _) = try await visible(target, caller: caller, includeDeleted: false)
                payload.set("reassign_owned_to", .string(targetRole.roleSpec.postgresRole))
                payload.set("heir", .string(target.description))
            }
            let owned = try await database.read { db in
                try await ResourceTable.children(db, workspaceID: ws, parent: name.branch.description, kind: .database)
            }.filter { $0.databaseSpec.owner == name }
            if let database = owned.first, payload["reassign_owned_to"] == nil {
                throw KilnError(.badRequest, "role \(name) owns database \(database.name); change its owner or pass reassign_owned_to.")
            }
            return try await start(.deleteRole, name, payload: payload, caller: caller) { _ in }
        case .database:
            return try await start(.deleteDatabase, name, caller: caller) { _ in }
        case .snapshot:
            return try await deleteSnapshot(name, caller: caller)
        }
    }

    /// Marks a project or branch (and what is under it) deleted, restorable until its purge time.
    static func markDeleted(_ db: any SQLDatabase, name: ResourceName, ws: Int64, now: Int64) async throws {
        guard var row = try await ResourceTable.get(db, workspaceID: ws, name: name) else { throw notFound(name.kind) }
        if row.deletedAt == nil {
            row.deletedAt = now
            row.purgeAt = now + softDeleteRetention
            row.stateChangedAt = now
            row.updatedAt = now
            try await ResourceTable.update(db, row)
        }
    }

    /// `POST …/{name}/undelete`.
    public func undelete(_ name: ResourceName, caller: LakebaseCaller) async throws -> JSONTree {
        let (resource, _) = try await visible(name, caller: caller)
        try await authorize(name, .canManage, caller: caller)
        guard resource.deletedAt != nil else { throw KilnError(.badRequest, "\(name.kind.noun) \(name) is not deleted") }
        let ws = caller.workspaceID
        let now = clock.nowMillis()
        return try await start(name.kind == .project ? .undeleteProject : .undeleteBranch, name, caller: caller) { db in
            guard var row = try await ResourceTable.get(db, workspaceID: ws, name: name), row.deletedAt != nil else {
                throw KilnError(.badRequest, "\(name.kind.noun) \(name) is not deleted")
            }
            row.deletedAt = nil
            row.purgeAt = nil
            row.stateChangedAt = now
            row.updatedAt = now
            try await ResourceTable.update(db, row)
        }
    }

    /// `POST …/roles/{r}/password`: the role's current password.
    public func revealPassword(_ name: ResourceName, caller: LakebaseCaller) async throws -> JSONTree {
        let (role, _) = try await visible(name, caller: caller, includeDeleted: false)
        guard let sealed = role.sealedPassword else {
            throw KilnError(.badRequest, "role \(name) does not log in with a password (auth_method \(role.roleSpec.authMethod.rawValue))")
        }
        return .object([.init("password", .string(try await reconciler.secrets().open(sealed)))])
    }

    /// `POST …/credentials`: a signed token that logs in to the endpoint as the caller.
    public func generateCredential(body: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let reader = SpecReader(body, prefix: "request")
        guard let endpointText = try reader.string("endpoint"), !endpointText.isEmpty else {
            throw ResourceID.required("endpoint")
        }
        guard let endpointName = ResourceName(endpointText), endpointName.kind == .endpoint else {
            throw KilnError.invalidParameter("endpoint must be an endpoint name such as projects/<p>/branches/<b>/endpoints/<e>, not '\(endpointText)'.")
        }
        let (endpoint, _) = try await visible(endpointName, caller: caller, includeDeleted: false)
        let now = clock.nowMillis()
        var seconds = 3600.0
        if let ttl = try reader.duration("ttl") {
            guard DatabaseCredentials.ttlRange.contains(ttl) else {
                throw KilnError.invalidParameter("ttl must be between 300s and 3600s, not \(ProtoTime.duration(seconds: ttl)).")
            }
            seconds = ttl
        }
        if let expire = try reader.timestamp("expire_time") {
            guard reader.has("ttl") == false else { throw KilnError.invalidParameter("Only one of ttl and expire_time may be set.") }
            let ttl = Double(expire - now) / 1000
            guard DatabaseCredentials.ttlRange.contains(ttl.rounded()) else {
                throw KilnError.invalidParameter("expire_time must be between 5 minutes and 1 hour from now.")
            }
            seconds = ttl
        }
        _ = try reader.array("claims")
        let expires = (now + Int64(seconds * 1000)) / 1000
        let claims = DatabaseCredentialClaims(workspaceID: caller.workspaceID, endpoint: endpoint.uid, subject: caller.identity, expires: expires)
        let token = try await reconciler.credentials().issue(claims)
        return .object([.init("token", .string(token)), .init("expire_time", .string(ProtoTime.timestamp(millis: expires * 1000)))])
    }

    /// The verifier of database credentials (the proxy's, later).
    public func credentialVerifier() async throws -> DatabaseCredentials { try await reconciler.credentials() }

    static func managedByParent(_ message: String) -> KilnError {
        KilnError(
            .badRequest, message,
            details: [
                .object([
                    .init("@type", .string("type.googleapis.com/google.rpc.ErrorInfo")),
                    .init("domain", .string("databricks.com")),
                    .init("reason", .string("RESOURCE_CONFLICT")),
                    .init("metadata", .object([.init("declarative_context", .string("MANAGED_BY_PARENT"))])),
                ])
            ])
    }
}
