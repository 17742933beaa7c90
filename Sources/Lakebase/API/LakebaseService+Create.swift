import Compute
import Foundation
public import KilnCore
import SQLKit
import Persistence

extension LakebaseService {
    /// `POST …/{parent}/{collection}?{kind}_id=…`: creates a resource (or, with `replace_existing`,
    /// updates the one that exists).
    public func create(
        _ kind: ResourceKind, parent: ResourceName?, id: String?, replaceExisting: Bool, body: JSONTree, caller: LakebaseCaller
    ) async throws -> JSONTree {
        guard case .object = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        let spec = body["spec"] ?? .object([])
        guard case .object = spec else { throw KilnError.invalidParameter("Field 'spec' must be an object.") }
        switch kind {
        case .project:
            return try await createProject(id: id, body: body, caller: caller)
        case .branch, .endpoint, .role, .database, .snapshot:
            guard let parent else { throw Self.notFound(kind) }
            let resourceID: String
            if let id, !id.isEmpty {
                resourceID = id
            } else if kind == .role || kind == .database {
                resourceID = kind == .role ? UIDs.shortID("role") : Self.databaseID(from: spec)
            } else {
                throw ResourceID.required(kind.idField)
            }
            try ResourceID.validate(resourceID, kind: kind)
            let name = parent.child(kind, resourceID)
            _ = try await visible(parent, caller: caller, includeDeleted: false)
            try await authorize(parent, Self.levelToChange(kind), caller: caller)
            if replaceExisting, (try? await visible(name, caller: caller, includeDeleted: false)) != nil {
                return try await update(name, body: body, mask: nil, caller: caller)
            }
            switch kind {
            case .branch: return try await createBranch(name, spec: spec, caller: caller)
            case .endpoint: return try await createEndpoint(name, spec: spec, caller: caller)
            case .role: return try await createRole(name, spec: spec, caller: caller)
            case .snapshot: return try await createSnapshot(name, spec: spec, caller: caller)
            default: return try await createDatabase(name, spec: spec, caller: caller)
            }
        }
    }

    static func databaseID(from spec: JSONTree) -> String {
        let wanted = (spec["postgres_database"]?.stringValue ?? "").lowercased().replacingOccurrences(of: "_", with: "-")
        return (try? ResourceID.validate(wanted, kind: .database)) != nil ? wanted : UIDs.shortID("db")
    }

    private func createProject(id: String?, body: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        guard let id, !id.isEmpty else { throw ResourceID.required("project_id") }
        try ResourceID.validate(id, kind: .project)
        let name = ResourceName(kind: .project, ids: [id])
        let branchName = name.child(.branch, "production")
        // Lakebase's default version where it is installed, else the newest that is; one asked for must be
        // installed (never a different version silently).
        let installed = reconciler.driver.postgresMajors
        let defaultVersion = installed.contains(Specs.defaultPGVersion) ? Specs.defaultPGVersion : installed.last ?? Specs.defaultPGVersion
        var spec = try Specs.project(body["spec"] ?? .object([]), projectID: id, defaultVersion: defaultVersion)
        let version = ProjectSpec(spec).pgVersion
        guard installed.contains(version) else {
            throw KilnError.invalidParameter(
                "pg_version \(version) is not installed on this Kiln (installed: \(installed.map(String.init).joined(separator: ", "))); scripts/install-postgres installs 16 and 17."
            )
        }
        spec.set("default_branch", .string(branchName.description))
        let endpointDefaults = spec["default_endpoint_settings"] ?? .object([])
        var initialEndpoint = body["initial_endpoint_spec"] ?? .object([])
        initialEndpoint.set("endpoint_type", .string("ENDPOINT_TYPE_READ_WRITE"))
        let endpointSpec = try Specs.endpoint(initialEndpoint, projectDefaults: endpointDefaults)
        let isProtected = try SpecReader(body["initial_branch_spec"], prefix: "initial_branch_spec").bool("is_protected") ?? false
        let now = clock.nowMillis()
        let ws = caller.workspaceID
        let project = StoredResource(
            workspaceID: ws, name: name, uid: UIDs.make(.project), spec: spec,
            privateState: .object([.init("owner", .string(caller.identity))]), now: now)
        let branch = StoredResource(
            workspaceID: ws, name: branchName, uid: UIDs.make(.branch),
            spec: .object([.init("is_protected", .bool(isProtected))]), now: now)
        let ownerRole = name.child(.branch, "production").child(.role, UIDs.shortID("role"))
        let role = StoredResource(
            workspaceID: ws, name: ownerRole, uid: UIDs.make(.role),
            spec: .compact([
                ("postgres_role", .string(caller.identity)), ("identity_type", .string(caller.identityType)),
                ("auth_method", .string("LAKEBASE_OAUTH_V1")),
                ("attributes", .object([.init("createdb", .bool(false)), .init("createrole", .bool(false)), .init("bypassrls", .bool(false))])),
                ("membership_roles", .array([.string("DATABRICKS_SUPERUSER")])),
            ]), now: now)
        let defaultDatabase = StoredResource(
            workspaceID: ws, name: branchName.child(.database, "databricks-postgres"), uid: UIDs.make(.database),
            spec: .object([.init("postgres_database", .string("databricks_postgres")), .init("role", .string(ownerRole.description))]), now: now)
        return try await start(.createProject, name, caller: caller) { db in
            if try await ResourceTable.get(db, workspaceID: ws, name: name) != nil {
                throw KilnError(.alreadyExists, "project with such id already exists in the workspace")
            }
            guard try await ResourceTable.count(db, workspaceID: ws, parent: "", kind: .project) < Limits.projectsPerWorkspace else {
                throw Limits.exceeded("projects per workspace", Limits.projectsPerWorkspace)
            }
            try await ResourceTable.insert(db, project)
            try await ResourceTable.insert(db, branch)
            try await ResourceTable.insert(
                db, try await self.newEndpoint(db, name: branchName.child(.endpoint, "primary"), spec: endpointSpec, ws: ws, now: now))
            try await ResourceTable.insert(db, role)
            try await ResourceTable.insert(db, defaultDatabase)
            // Its creator manages it (Lakebase: "the project creator has CAN_MANAGE").
            if let creator = caller.principalID {
                try await ProjectACL.grant(db, workspaceID: ws, project: name.description, principalID: creator, level: .canManage)
            }
        }
    }

    func newEndpoint(_ db: any SQLDatabase, name: ResourceName, spec: JSONTree, ws: Int64, now: Int64) async throws -> StoredResource {
        let port = try await reconciler.freePort(db)
        return StoredResource(workspaceID: ws, name: name, uid: UIDs.make(.endpoint), spec: spec, port: port, now: now)
    }

    private func createBranch(_ name: ResourceName, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        if let snapshotText = try reader.string("source_snapshot") {
            return try await createBranch(name, fromSnapshot: snapshotText, spec: spec, caller: caller)
        }
        let now = clock.nowMillis()
        let pointInTime = try Self.pointInTime(reader, now: now)
        var settings = try Specs.branchSettings(spec, now: now)
        let ws = caller.workspaceID
        let (_, project) = try await visible(name.project, caller: caller, includeDeleted: false)
        let sourceText = try reader.string("source_branch") ?? project.projectSpec.defaultBranch?.description ?? ""
        let source = try Self.sourceName(sourceText, .branch, field: "source_branch", projectID: name.projectID)
        let isProtected = settings["is_protected"]?.boolValue == true
        if isProtected, settings["expire_time"] != nil {
            throw KilnError.invalidParameter("A protected branch cannot expire.")
        }
        settings.set("source_branch", .string(source.description))
        if case .lsn(let lsn) = pointInTime {
            settings.set("source_branch_lsn", .string(lsn.description))
        } else {
            settings.set("source_branch_time", .string(ProtoTime.timestamp(micros: pointInTime?.micros ?? now * 1000)))
        }
        let branchSettings = settings
        let payload = JSONTree.object(pointInTime.map { [.init("recovery_target", $0.json)] } ?? [])
        let retention = project.projectSpec.historyRetentionMillis
        let endpointSpec = try Specs.endpoint(
            .object([.init("endpoint_type", .string("ENDPOINT_TYPE_READ_WRITE"))]),
            projectDefaults: project.projectSpec.defaultEndpointSettings)
        return try await start(.createBranch, name, payload: payload, caller: caller) { db in
            guard let sourceRow = try await ResourceTable.get(db, workspaceID: ws, name: source), sourceRow.deletedAt == nil else {
                throw KilnError(.notFound, "source branch \(source) not found")
            }
            guard sourceRow.isReady else { throw KilnError(.aborted, "The source branch \(source) is still being created; try again when it is READY.") }
            if case .time(let micros) = pointInTime {
                try Self.checkRestoreWindow(micros, source: sourceRow, retention: retention, now: now)
            }
            try await self.insertBranch(db, name, settings: branchSettings, endpointSpec: endpointSpec, ws: ws, now: now)
            // The child has the parent's roles and databases: they are in the copied data.
            for kind in [ResourceKind.role, .database] {
                for row in try await ResourceTable.children(db, workspaceID: ws, parent: source.description, kind: kind) where row.isReady {
                    var copy = row
                    copy.name = name.child(kind, row.name.id)
                    copy.uid = UIDs.make(kind)
                    if kind == .database, let owner = row.databaseSpec.owner {
                        copy.spec.set("role", .string(name.child(.role, owner.id).description))
                    }
                    (copy.createdAt, copy.updatedAt, copy.stateChangedAt) = (now, now, now)
                    try await ResourceTable.insert(db, copy)
                }
            }
        }
    }

    /// The branch or snapshot `text` names as the source of a new resource of project `projectID`. Throws
    /// Databricks' 400 naming `spec.<field>` for a name of another kind or of another project.
    static func sourceName(_ text: String, _ kind: ResourceKind, field: String, projectID: String) throws(KilnError) -> ResourceName {
        guard let name = ResourceName(text), name.kind == kind else {
            throw KilnError.invalidParameter(
                "spec.\(field) must be a \(kind.noun) name such as projects/\(projectID)/\(kind.collection)/<\(kind.idField)>, not '\(text)'.")
        }
        guard name.projectID == projectID else {
            throw KilnError.invalidParameter(
                "The \(kind.noun) \(name) belongs to another project; spec.\(field) must be one of projects/\(projectID).")
        }
        return name
    }

    /// Stores a new branch and its read-write endpoint, within Lakebase's limits (branches, protected
    /// branches and active computes per project); 409 when the id is taken.
    private func insertBranch(
        _ db: any SQLDatabase, _ name: ResourceName, settings: JSONTree, endpointSpec: JSONTree, ws: Int64, now: Int64
    ) async throws {
        if try await ResourceTable.get(db, workspaceID: ws, name: name) != nil {
            throw KilnError(.alreadyExists, "branch with such id already exists in the project")
        }
        let siblings = try await ResourceTable.children(db, workspaceID: ws, parent: name.project.description, kind: .branch)
        guard siblings.count < Limits.branchesPerProject else { throw Limits.exceeded("branches per project", Limits.branchesPerProject) }
        if BranchSpec(settings).isProtected, siblings.filter({ $0.branchSpec.isProtected }).count >= Limits.protectedBranchesPerProject {
            throw Limits.exceeded("protected branches per project", Limits.protectedBranchesPerProject)
        }
        try await checkActiveComputes(db, project: name.project, ws: ws, adding: 1)
        try await ResourceTable.insert(db, StoredResource(workspaceID: ws, name: name, uid: UIDs.make(.branch), spec: settings, now: now))
        try await ResourceTable.insert(db, try await newEndpoint(db, name: name.child(.endpoint, "primary"), spec: endpointSpec, ws: ws, now: now))
    }

    /// A branch restored from a snapshot (`spec.source_snapshot`, with no other source field): a copy of the
    /// snapshot's data with the roles and databases it held. Its `source_branch` is the snapshot's. Throws
    /// Databricks' 400 for another source field beside it or a snapshot of another project, 404 for a
    /// snapshot that does not exist, and 409 (`ABORTED`) for one still being taken.
    private func createBranch(_ name: ResourceName, fromSnapshot snapshotText: String, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        for field in ["source_branch", "source_branch_lsn", "source_branch_time"] where reader.has(field) {
            throw KilnError.invalidParameter(
                "spec.source_snapshot and spec.\(field) are mutually exclusive: a branch restored from a snapshot has no other source.")
        }
        let snapshot = try Self.sourceName(snapshotText, .snapshot, field: "source_snapshot", projectID: name.projectID)
        let now = clock.nowMillis()
        let settings = try Specs.branchSettings(spec, now: now)
        let ws = caller.workspaceID
        let (_, project) = try await visible(name.project, caller: caller, includeDeleted: false)
        if settings["is_protected"]?.boolValue == true, settings["expire_time"] != nil {
            throw KilnError.invalidParameter("A protected branch cannot expire.")
        }
        let endpointSpec = try Specs.endpoint(
            .object([.init("endpoint_type", .string("ENDPOINT_TYPE_READ_WRITE"))]),
            projectDefaults: project.projectSpec.defaultEndpointSettings)
        let payload = JSONTree.object([.init("source_snapshot", .string(snapshot.description))])
        return try await start(.createBranch, name, payload: payload, caller: caller) { db in
            guard let snapshotRow = try await ResourceTable.get(db, workspaceID: ws, name: snapshot),
                try await !Self.isBeingDeleted(db, snapshot, ws: ws)
            else { throw Self.notFound(.snapshot) }
            guard snapshotRow.isReady else {
                throw KilnError(.aborted, "The snapshot \(snapshot) is still being taken; try again when it is available.")
            }
            var restored = settings
            restored.set("source_branch", snapshotRow.spec["source_branch"] ?? .null)
            restored.set("source_branch_time", .string(ProtoTime.timestamp(micros: snapshotRow.snapshotMoment)))
            restored.set("source_snapshot", .string(snapshot.description))
            try await self.insertBranch(db, name, settings: restored, endpointSpec: endpointSpec, ws: ws, now: now)
            for item in snapshotRow.snapshotContents.children {
                guard var copy = try? StoredResource(snapshotChild: item, branch: name, ws: ws, now: now) else { continue }
                if copy.kind == .database, let owner = copy.databaseSpec.owner {
                    copy.spec.set("role", .string(name.child(.role, owner.id).description))
                }
                try await ResourceTable.insert(db, copy)
            }
        }
    }

    /// The point in the source's past a new branch starts from: `spec.source_branch_time` or
    /// `spec.source_branch_lsn` (one of them), or nil for the source's present. A time is kept to the
    /// microsecond, as PostgreSQL stamps commits: one cut to the millisecond would leave out a commit made
    /// earlier in that millisecond. Throws Databricks' 400 for both, a time that is not RFC 3339 or lies in
    /// the future (`now`, Unix ms), and an LSN that is not `X/Y` in hex.
    static func pointInTime(_ reader: SpecReader, now: Int64) throws(KilnError) -> RecoveryTarget? {
        let time = try reader.timestampMicros("source_branch_time")
        let lsnText = try reader.string("source_branch_lsn")
        switch (time, lsnText) {
        case (nil, nil):
            return nil
        case (.some, .some):
            throw KilnError.invalidParameter("spec.source_branch_time and spec.source_branch_lsn are mutually exclusive; give one of them.")
        case (let time?, nil):
            guard ProtoTime.millis(micros: time) <= now else {
                throw KilnError.invalidParameter(
                    "spec.source_branch_time \(ProtoTime.timestamp(micros: time)) is in the future; a branch can start from a moment up to now.")
            }
            return .time(micros: time)
        case (nil, let text?):
            guard let lsn = LSN(text) else {
                throw KilnError.invalidParameter("spec.source_branch_lsn must be a log sequence number such as \"0/1A2B3C4D\", not '\(text)'.")
            }
            return .lsn(lsn)
        }
    }

    /// A moment a branch can start from (Unix µs) lies in its project's restore window
    /// (`history_retention_duration`, ms, before `now`, Unix ms) and after its source was made.
    static func checkRestoreWindow(_ micros: Int64, source: StoredResource, retention: Int64, now: Int64) throws(KilnError) {
        let millis = ProtoTime.millis(micros: micros)
        guard millis >= now - retention else {
            throw KilnError.invalidParameter(
                "spec.source_branch_time \(ProtoTime.timestamp(micros: micros)) is outside the project's restore window of \(ProtoTime.duration(seconds: Double(retention) / 1000)) (history_retention_duration)."
            )
        }
        guard millis >= source.createdAt else {
            throw KilnError.invalidParameter(
                "spec.source_branch_time \(ProtoTime.timestamp(micros: micros)) is before the source branch \(source.name) was created (\(ProtoTime.timestamp(millis: source.createdAt)))."
            )
        }
    }

    func checkActiveComputes(_ db: any SQLDatabase, project: ResourceName, ws: Int64, adding: Int) async throws {
        let active = try await ResourceTable.project(db, workspaceID: ws, projectID: project.projectID)
            .filter { $0.kind == .endpoint && !$0.endpointSpec.disabled }.count
        guard active + adding <= Limits.activeComputesPerProject else {
            throw Limits.exceeded("active computes per project", Limits.activeComputesPerProject)
        }
    }

    private func createEndpoint(_ name: ResourceName, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let ws = caller.workspaceID
        let (_, project) = try await visible(name.project, caller: caller, includeDeleted: false)
        let endpointSpec = try Specs.endpoint(spec, projectDefaults: project.projectSpec.defaultEndpointSettings)
        let readOnly = endpointSpec["endpoint_type"]?.stringValue == "ENDPOINT_TYPE_READ_ONLY"
        let now = clock.nowMillis()
        return try await start(.createEndpoint, name, caller: caller) { db in
            if try await ResourceTable.get(db, workspaceID: ws, name: name) != nil {
                throw KilnError(.alreadyExists, "endpoint with such id already exists in the branch")
            }
            let existing = try await ResourceTable.children(db, workspaceID: ws, parent: name.branch.description, kind: .endpoint)
            if readOnly {
                guard existing.filter(\.isReadOnly).count < Limits.readReplicasPerBranch else {
                    throw Limits.exceeded("read-only endpoints per branch", Limits.readReplicasPerBranch)
                }
            } else if existing.contains(where: { !$0.isReadOnly }) {
                throw KilnError(.alreadyExists, "A branch can only have one READ_WRITE endpoint; \(name.branch) already has one.")
            }
            if endpointSpec["disabled"]?.boolValue != true {
                try await self.checkActiveComputes(db, project: name.project, ws: ws, adding: 1)
            }
            try await ResourceTable.insert(db, try await self.newEndpoint(db, name: name, spec: endpointSpec, ws: ws, now: now))
        }
    }

    private func createRole(_ name: ResourceName, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let ws = caller.workspaceID
        let roleSpec = try Specs.role(spec)
        var privateState = JSONTree.object([])
        if RoleSpec(roleSpec).authMethod == .password {
            privateState.set("password", .string(try await reconciler.secrets().seal(LakebaseSecrets.newPassword())))
        }
        let now = clock.nowMillis()
        let sealed = privateState
        return try await start(.createRole, name, caller: caller) { db in
            let roles = try await ResourceTable.children(db, workspaceID: ws, parent: name.branch.description, kind: .role)
            if roles.contains(where: { $0.name == name || $0.spec["postgres_role"] == roleSpec["postgres_role"] }) {
                throw KilnError(.badRequest, "role with that name already exists")
            }
            guard roles.count < Limits.rolesPerBranch else { throw Limits.exceeded("roles per branch", Limits.rolesPerBranch) }
            try await ResourceTable.insert(
                db, StoredResource(workspaceID: ws, name: name, uid: UIDs.make(.role), spec: roleSpec, privateState: sealed, now: now))
        }
    }

    private func createDatabase(_ name: ResourceName, spec: JSONTree, caller: LakebaseCaller) async throws -> JSONTree {
        let ws = caller.workspaceID
        let databaseSpec = try Specs.database(spec)
        let now = clock.nowMillis()
        return try await start(.createDatabase, name, caller: caller) { db in
            try await Self.checkOwner(db, databaseSpec, branch: name.branch, ws: ws)
            let databases = try await ResourceTable.children(db, workspaceID: ws, parent: name.branch.description, kind: .database)
            if databases.contains(where: { $0.name == name || $0.spec["postgres_database"] == databaseSpec["postgres_database"] }) {
                throw KilnError(.badRequest, "database with that name already exists")
            }
            guard databases.count < Limits.databasesPerBranch else { throw Limits.exceeded("databases per branch", Limits.databasesPerBranch) }
            try await ResourceTable.insert(db, StoredResource(workspaceID: ws, name: name, uid: UIDs.make(.database), spec: databaseSpec, now: now))
        }
    }

    /// The owner of a database must be a role of the same branch.
    static func checkOwner(_ db: any SQLDatabase, _ spec: JSONTree, branch: ResourceName, ws: Int64) async throws {
        let text = spec["role"]?.stringValue ?? ""
        guard let role = ResourceName(text), role.kind == .role, role.parent == branch else {
            throw KilnError.invalidParameter("spec.role must name a role of \(branch), such as \(branch)/roles/<role_id>, not '\(text)'.")
        }
        guard let row = try await ResourceTable.get(db, workspaceID: ws, name: role), row.isReady else {
            throw KilnError(.notFound, "role id not found")
        }
    }
}
