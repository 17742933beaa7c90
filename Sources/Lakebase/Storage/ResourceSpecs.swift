import KilnCore

// The stored spec of each kind of resource, read into typed values in one place. The stored JSON keeps the
// wire's field names (it is what `Specs` validated and `UpdateMask` edits, path by path); everything that
// acts on a spec reads it through these.

/// A project's spec.
struct ProjectSpec: Sendable {
    /// The branch new branches come from by default, and that cannot be deleted.
    var defaultBranch: ResourceName?
    /// Settings every new endpoint of the project starts from (`Specs.endpoint`'s `projectDefaults`).
    var defaultEndpointSettings: JSONTree
    /// The major PostgreSQL version its branches run.
    var pgVersion: Int
    /// How far back its branches can be branched from (`history_retention_duration`), in milliseconds.
    var historyRetentionMillis: Int64

    init(_ spec: JSONTree) {
        defaultBranch = spec["default_branch"]?.stringValue.flatMap(ResourceName.init)
        defaultEndpointSettings = spec["default_endpoint_settings"] ?? .object([])
        pgVersion = spec["pg_version"]?.doubleValue.map(Int.init) ?? Specs.defaultPGVersion
        let seconds = spec["history_retention_duration"]?.stringValue.flatMap(ProtoTime.seconds(duration:)) ?? Specs.defaultHistoryRetention
        historyRetentionMillis = Int64(seconds * 1000)
    }
}

/// A branch's spec.
struct BranchSpec: Sendable {
    /// The branch it was made from; nil for a project's root branch.
    var sourceBranch: ResourceName?
    var isProtected: Bool
    /// When it is deleted by itself (`expire_time`), in epoch milliseconds; nil: never.
    var expiresAt: Int64?

    init(_ spec: JSONTree) {
        sourceBranch = spec["source_branch"]?.stringValue.flatMap(ResourceName.init)
        isProtected = spec["is_protected"]?.boolValue == true
        expiresAt = spec["expire_time"]?.stringValue.flatMap(ProtoTime.millis(timestamp:))
    }
}

/// Whether an endpoint serves reads and writes (the branch's primary) or reads only (a replica).
enum EndpointType: String, Sendable {
    case readWrite = "ENDPOINT_TYPE_READ_WRITE"
    case readOnly = "ENDPOINT_TYPE_READ_ONLY"
}

/// An endpoint's spec.
struct EndpointSpec: Sendable {
    var type: EndpointType
    /// A disabled endpoint's compute does not run, and the proxy refuses its clients.
    var disabled: Bool
    /// Never suspended for being idle.
    var noSuspension: Bool
    /// How long it may go without clients before it is suspended, in seconds; nil: Lakebase's default.
    var suspendTimeoutSeconds: Double?
    /// The compute's size in Lakebase compute units.
    var minCU: Double
    var maxCU: Double
    /// `settings.pg_settings`: postgres settings the user chose, applied over the size's.
    var pgSettings: [String: String]

    init(_ spec: JSONTree) {
        type = spec["endpoint_type"]?.stringValue.flatMap(EndpointType.init(rawValue:)) ?? .readWrite
        disabled = spec["disabled"]?.boolValue == true
        noSuspension = spec["no_suspension"]?.boolValue == true
        suspendTimeoutSeconds = spec["suspend_timeout_duration"]?.stringValue.flatMap(ProtoTime.seconds(duration:))
        minCU = spec["autoscaling_limit_min_cu"]?.doubleValue ?? 1
        maxCU = spec["autoscaling_limit_max_cu"]?.doubleValue ?? 1
        pgSettings = spec.value(at: ["settings", "pg_settings"])?.stringMap ?? [:]
    }
}

/// How a role logs in (`Specs.authMethods`).
enum RoleAuthMethod: String, Sendable {
    case oauth = "LAKEBASE_OAUTH_V1"
    case password = "PG_PASSWORD_SCRAM_SHA_256"
    case noLogin = "NO_LOGIN"
}

/// A role's spec.
struct RoleSpec: Sendable {
    /// The role's name in postgres.
    var postgresRole: String
    var authMethod: RoleAuthMethod
    var createsDatabases: Bool
    var createsRoles: Bool
    var bypassesRowSecurity: Bool
    /// A member of `databricks_superuser` (`membership_roles` holds `DATABRICKS_SUPERUSER`).
    var isSuperuserMember: Bool

    init(_ spec: JSONTree) {
        postgresRole = spec["postgres_role"]?.stringValue ?? ""
        authMethod = spec["auth_method"]?.stringValue.flatMap(RoleAuthMethod.init(rawValue:)) ?? .password
        let attributes = spec["attributes"]
        createsDatabases = attributes?["createdb"]?.boolValue == true
        createsRoles = attributes?["createrole"]?.boolValue == true
        bypassesRowSecurity = attributes?["bypassrls"]?.boolValue == true
        isSuperuserMember = spec["membership_roles"]?.arrayValue?.contains(.string("DATABRICKS_SUPERUSER")) == true
    }
}

/// A database's spec.
struct DatabaseSpec: Sendable {
    /// The database's name in postgres.
    var postgresDatabase: String
    /// The role that owns it; nil: Kiln's own.
    var owner: ResourceName?

    init(_ spec: JSONTree) {
        postgresDatabase = spec["postgres_database"]?.stringValue ?? ""
        owner = spec["role"]?.stringValue.flatMap(ResourceName.init)
    }
}

/// A snapshot's spec (`Specs.snapshot`).
struct SnapshotSpec: Sendable {
    /// The branch it was taken of (which may since have been deleted: the snapshot stays).
    var sourceBranch: ResourceName?
    /// When it is deleted by itself, in Unix ms; nil: kept until deleted.
    var expiresAt: Int64?

    init(_ spec: JSONTree) {
        sourceBranch = spec["source_branch"]?.stringValue.flatMap(ResourceName.init)
        expiresAt = spec["expire_time"]?.stringValue.flatMap(ProtoTime.millis(timestamp:))
    }
}

extension StoredResource {
    var projectSpec: ProjectSpec { ProjectSpec(spec) }
    var snapshotSpec: SnapshotSpec { SnapshotSpec(spec) }
    var branchSpec: BranchSpec { BranchSpec(spec) }
    var endpointSpec: EndpointSpec { EndpointSpec(spec) }
    var roleSpec: RoleSpec { RoleSpec(spec) }
    var databaseSpec: DatabaseSpec { DatabaseSpec(spec) }

    /// A read-only endpoint (a read replica).
    var isReadOnly: Bool { kind == .endpoint && endpointSpec.type == .readOnly }

    /// The data directory of a branch (or of a read replica, which has its own), once it has data.
    var dataDirectory: String? { privateState["data_directory"]?.stringValue }

    mutating func setDataDirectory(_ path: String) { privateState.set("data_directory", .string(path)) }

    /// A role's password, sealed with Kiln's key (`LakebaseSecrets.seal`); nil for roles without one.
    var sealedPassword: String? { privateState["password"]?.stringValue }

    mutating func setSealedPassword(_ sealed: String) { privateState.set("password", .string(sealed)) }

    // MARK: Snapshots

    /// The moment a snapshot holds its branch's data as of (Unix µs): its `source_branch_time`, else when
    /// it was taken.
    var snapshotMoment: Int64 {
        spec["source_branch_time"]?.stringValue.flatMap(ProtoTime.micros(timestamp:)) ?? createdAt * 1000
    }

    /// A role or database as a snapshot keeps it (`{"kind", "id", "spec", "internal"}`), for the branches
    /// restored from it.
    var snapshotChild: JSONTree {
        .object([
            .init("kind", .string(kind.rawValue)), .init("id", .string(name.id)), .init("spec", spec), .init("internal", privateState),
        ])
    }

    /// A role or database of a branch restored from a snapshot, from what the snapshot kept (`snapshotChild`).
    init(snapshotChild item: JSONTree, branch: ResourceName, ws: Int64, now: Int64) throws {
        guard let kind = item["kind"]?.stringValue.flatMap(ResourceKind.init(rawValue:)), kind == .role || kind == .database,
            let id = item["id"]?.stringValue, let spec = item["spec"]
        else { throw KilnError(.internalError, "A snapshot's kept role or database is invalid.") }
        self.init(
            workspaceID: ws, name: branch.child(kind, id), uid: UIDs.make(kind), spec: spec,
            privateState: item["internal"] ?? .object([]), state: .ready, now: now)
    }

    /// The roles and databases a snapshot's branch had when it was taken (`snapshotChild` each), and whether
    /// that branch was protected (a branch restored from it then gets new passwords, as a branch of a
    /// protected branch does).
    var snapshotContents: (children: [JSONTree], fromProtectedBranch: Bool) {
        (privateState["children"]?.arrayValue ?? [], privateState["from_protected_branch"]?.boolValue == true)
    }

    mutating func setSnapshotContents(children: [JSONTree], fromProtectedBranch: Bool, sizeBytes: Int64) {
        privateState.set("children", .array(children))
        privateState.set("from_protected_branch", .bool(fromProtectedBranch))
        privateState.set("full_size_bytes", .integer(sizeBytes))
    }

    /// Whether a snapshot was taken by its branch's schedule (those do not count toward the manual limit).
    var isScheduledSnapshot: Bool { privateState["scheduled"]?.boolValue == true }

    /// A branch's snapshot schedule; empty when never set.
    var snapshotSchedule: SnapshotSchedule {
        let entries = privateState["snapshot_schedule"]?.arrayValue ?? []
        return (try? SnapshotSchedule(json: entries)) ?? SnapshotSchedule(entries: [])
    }

    /// The moment (Unix ms) after which the branch's schedule next fires: when it was set, or the moment of
    /// the last snapshot it took, whichever is later.
    var snapshotScheduleMark: Int64 {
        Int64(privateState["snapshot_schedule_mark"]?.doubleValue ?? Double(createdAt))
    }

    mutating func setSnapshotSchedule(_ schedule: SnapshotSchedule, mark: Int64) {
        privateState.set("snapshot_schedule", schedule.json)
        privateState.set("snapshot_schedule_mark", .integer(mark))
    }
}
