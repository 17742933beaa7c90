import KilnCore

/// Validation and defaults of each kind's spec. A spec is stored as the effective desired state (the
/// spec's own field names, defaults filled in); reads render it as `status`.
enum Specs {
    static let pgVersions = [15, 16, 17]
    static let defaultPGVersion = 17
    static let defaultHistoryRetention = 604_800.0
    static let defaultSuspendTimeout = 86_400.0
    static let suspendRange = 60.0...604_800.0
    static let cuRange = 0.5...64.0
    static let maxCUSpread = 16.0
    static let maxBranchLifetime = 30.0 * 86_400
    /// Settings Kiln sets itself; a `pg_settings` entry may not change them.
    static let reservedSettings: Set<String> = [
        "port", "listen_addresses", "unix_socket_directories", "data_directory", "hba_file", "ident_file",
        "config_file", "external_pid_file", "unix_socket_permissions", "unix_socket_group", "ssl",
        "archive_command", "restore_command", "shared_preload_libraries", "logging_collector", "log_directory",
    ]

    // MARK: - Compute settings (project defaults, initial endpoint, endpoints)

    /// Checks CU limits, suspension and pg_settings of a compute-settings object and returns it
    /// normalised: both CU limits, exactly one of `suspend_timeout_duration` / `no_suspension`.
    static func computeSettings(_ reader: SpecReader, defaults: JSONTree) throws -> JSONTree {
        let defaultsReader = SpecReader(defaults, prefix: reader.prefix)
        let minCU = try reader.number("autoscaling_limit_min_cu") ?? defaultsReader.number("autoscaling_limit_min_cu") ?? 1
        let maxCU = try reader.number("autoscaling_limit_max_cu") ?? defaultsReader.number("autoscaling_limit_max_cu") ?? max(1, minCU)
        for (key, value) in [("autoscaling_limit_min_cu", minCU), ("autoscaling_limit_max_cu", maxCU)] {
            guard cuRange.contains(value), (value * 2).rounded() == value * 2 else {
                throw KilnError.invalidParameter("\(reader.field(key)) must be a multiple of 0.5 between 0.5 and 64, not \(format(value)).")
            }
        }
        guard minCU <= maxCU else {
            throw KilnError.invalidParameter("autoscaling_limit_min_cu (\(format(minCU))) must not exceed autoscaling_limit_max_cu (\(format(maxCU))).")
        }
        guard maxCU - minCU <= maxCUSpread else {
            throw KilnError.invalidParameter("autoscaling_limit_max_cu - autoscaling_limit_min_cu must not exceed 16")
        }
        var result = JSONTree.object([
            .init("autoscaling_limit_min_cu", .number(format(minCU))),
            .init("autoscaling_limit_max_cu", .number(format(maxCU))),
        ])
        let suspend = try reader.duration("suspend_timeout_duration")
        let noSuspension = try reader.bool("no_suspension")
        if suspend != nil, noSuspension == true {
            throw KilnError.invalidParameter("suspend_timeout_duration and no_suspension are mutually exclusive.")
        }
        if noSuspension == false {
            throw KilnError.invalidParameter("no_suspension must be true when provided; set suspend_timeout_duration instead.")
        }
        if let suspend {
            guard suspendRange.contains(suspend) else {
                throw KilnError.invalidParameter(
                    "\(reader.field("suspend_timeout_duration")) must be between 60s and 604800s, not \(ProtoTime.duration(seconds: suspend)).")
            }
            result.set("suspend_timeout_duration", .string(ProtoTime.duration(seconds: suspend)))
        } else if noSuspension == true {
            result.set("no_suspension", .bool(true))
        } else if defaults["no_suspension"]?.boolValue == true {
            result.set("no_suspension", .bool(true))
        } else {
            result.set("suspend_timeout_duration", defaults["suspend_timeout_duration"] ?? .string(ProtoTime.duration(seconds: defaultSuspendTimeout)))
        }
        return result
    }

    static func pgSettings(_ reader: SpecReader, key: String = "pg_settings") throws -> JSONTree? {
        guard let settings = try reader.stringMap(key) else { return nil }
        for name in settings.keys {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw KilnError.invalidParameter("Invalid Postgres setting name '\(name)'.")
            }
            if reservedSettings.contains(name.lowercased()) {
                throw KilnError.invalidParameter("The Postgres setting '\(name)' is managed by Kiln and cannot be changed.")
            }
        }
        return settings.isEmpty ? nil : reader.tree[key]
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    // MARK: - Project

    /// A project's spec; `pg_version` defaults to `defaultVersion`.
    static func project(_ spec: JSONTree, projectID: String, defaultVersion: Int = defaultPGVersion) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        let displayName = try reader.string("display_name") ?? projectID
        guard (1...256).contains(displayName.count) else {
            throw KilnError.invalidParameter("display_name must be between 1 and 256 characters.")
        }
        let version = try reader.number("pg_version").map(Int.init) ?? defaultVersion
        guard pgVersions.contains(version) else {
            throw KilnError.invalidParameter("pg_version \(version) is not supported; use one of \(pgVersions.map(String.init).joined(separator: ", ")).")
        }
        let retention = try reader.duration("history_retention_duration") ?? defaultHistoryRetention
        guard (172_800...3_024_000).contains(retention) else {
            throw KilnError.invalidParameter("history_retention_duration must be between 172800s (2 days) and 3024000s (35 days).")
        }
        let endpointReader = try reader.object("default_endpoint_settings") ?? SpecReader(nil, prefix: "spec.default_endpoint_settings")
        var endpointDefaults = try computeSettings(endpointReader, defaults: .object([]))
        if let settings = try pgSettings(endpointReader) { endpointDefaults.set("pg_settings", settings) }
        let tags = try reader.array("custom_tags") ?? []
        for tag in tags {
            let tagReader = SpecReader(tag, prefix: "spec.custom_tags")
            guard case .object = tag, let key = try tagReader.string("key"), !key.isEmpty else {
                throw KilnError.invalidParameter("Every custom tag needs a non-empty 'key'.")
            }
            _ = try tagReader.string("value")
        }
        return .compact([
            ("display_name", .string(displayName)),
            ("pg_version", .integer(Int64(version))),
            ("history_retention_duration", .string(ProtoTime.duration(seconds: retention))),
            ("default_endpoint_settings", endpointDefaults),
            ("enable_pg_native_login", .bool(try reader.bool("enable_pg_native_login") ?? false)),
            ("custom_tags", tags.isEmpty ? nil : .array(tags)),
            ("budget_policy_id", try reader.string("budget_policy_id").map(JSONTree.string)),
            ("default_branch", try reader.string("default_branch").map(JSONTree.string)),
        ])
    }

    // MARK: - Branch

    /// `is_protected` and the expiration of a branch; `ttl` becomes an absolute `expire_time`.
    static func branchSettings(_ spec: JSONTree, now: Int64) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        var result = JSONTree.object([.init("is_protected", .bool(try reader.bool("is_protected") ?? false))])
        if let expiry = try expiry(reader, now: now, what: "branch") {
            guard Double(expiry - now) <= maxBranchLifetime * 1000 else {
                throw KilnError.invalidParameter("A branch can expire at most 30 days from now.")
            }
            result.set("expire_time", .string(ProtoTime.timestamp(millis: expiry)))
        }
        return result
    }

    /// When a branch or snapshot (`what`) is to be deleted by itself, in Unix ms: `ttl` from `now`, or
    /// `expire_time`; nil for neither (or `no_expiry`). Throws Databricks' 400 for more than one of the
    /// three, a `no_expiry` of false, and a moment not in the future.
    static func expiry(_ reader: SpecReader, now: Int64, what: String) throws(KilnError) -> Int64? {
        let ttl = try reader.duration("ttl")
        let expireTime = try reader.timestamp("expire_time")
        let noExpiry = try reader.bool("no_expiry")
        guard [ttl != nil, expireTime != nil, noExpiry != nil].filter({ $0 }).count <= 1 else {
            throw KilnError.invalidParameter("Only one of ttl, expire_time and no_expiry may be set.")
        }
        if noExpiry == false {
            throw KilnError.invalidParameter("no_expiry must be true when provided; set ttl or expire_time instead.")
        }
        if let ttl {
            guard ttl > 0 else { throw KilnError.invalidParameter("ttl must be positive.") }
            return now + Int64(ttl * 1000)
        }
        if let expireTime {
            guard expireTime > now else { throw KilnError.invalidParameter("The \(what) expiration time must be in the future.") }
            return expireTime
        }
        return nil
    }

    // MARK: - Snapshot

    /// A snapshot's stored spec: `source_branch` as given (the caller checks it names a branch of the
    /// project), `source_branch_lsn` or `source_branch_time` as given, and either the resolved `expire_time`
    /// (`ttl` becomes one) or `no_expiry: true` (a snapshot with neither is kept until deleted: SDK
    /// 0.162.0 `SnapshotSpec`).
    static func snapshot(_ spec: JSONTree, now: Int64) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        guard let source = try reader.string("source_branch"), !source.isEmpty else {
            throw ResourceID.required("snapshot.spec.source_branch")
        }
        let expiry = try expiry(reader, now: now, what: "snapshot")
        return .compact([
            ("source_branch", .string(source)),
            ("source_branch_lsn", try reader.string("source_branch_lsn").map(JSONTree.string)),
            ("source_branch_time", try reader.timestampMicros("source_branch_time").map { .string(ProtoTime.timestamp(micros: $0)) }),
            ("expire_time", expiry.map { .string(ProtoTime.timestamp(millis: $0)) }),
            ("no_expiry", expiry == nil ? .bool(true) : nil),
        ])
    }

    // MARK: - Endpoint

    static let endpointTypes = ["ENDPOINT_TYPE_READ_WRITE", "ENDPOINT_TYPE_READ_ONLY"]

    static func endpoint(_ spec: JSONTree, projectDefaults: JSONTree) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        guard let type = try reader.enumValue("endpoint_type", endpointTypes) else {
            throw ResourceID.required("endpoint.spec.endpoint_type")
        }
        var result = JSONTree.object([.init("endpoint_type", .string(type))])
        let compute = try computeSettings(reader, defaults: projectDefaults)
        if case .object(let members) = compute { for member in members { result.set(member.key, member.value) } }
        result.set("disabled", .bool(try reader.bool("disabled") ?? false))
        let group = try reader.object("group")
        let groupMin = try group?.number("min") ?? 1
        let groupMax = try group?.number("max") ?? groupMin
        guard groupMin == groupMax, groupMin >= 1, groupMin == groupMin.rounded() else {
            throw KilnError.invalidParameter("spec.group.min must equal spec.group.max and be at least 1.")
        }
        guard groupMin == 1 else {
            throw KilnError(.notImplemented, "High-availability endpoint groups (spec.group.max > 1) are not supported by Kiln yet.")
        }
        result.set(
            "group",
            .object([
                .init("min", .integer(1)), .init("max", .integer(1)),
                .init("enable_readable_secondaries", .bool(try group?.bool("enable_readable_secondaries") ?? false)),
            ]))
        let settingsReader = try reader.object("settings") ?? SpecReader(nil, prefix: "spec.settings")
        if let settings = try pgSettings(settingsReader) {
            result.set("settings", .object([.init("pg_settings", settings)]))
        } else if let inherited = projectDefaults["pg_settings"], spec.value(at: ["settings"]) == nil {
            result.set("settings", .object([.init("pg_settings", inherited)]))
        }
        return result
    }

    // MARK: - Role

    static let identityTypes = ["USER", "SERVICE_PRINCIPAL", "GROUP"]
    static let authMethods = ["LAKEBASE_OAUTH_V1", "NO_LOGIN", "PG_PASSWORD_SCRAM_SHA_256"]
    static let membershipRoles = ["DATABRICKS_SUPERUSER"]
    static let reservedRoles: Set<String> = ["kiln_system", "databricks_superuser", "public", "none", "current_user", "session_user", "current_role"]

    static func role(_ spec: JSONTree) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        guard let postgresRole = try reader.string("postgres_role"), !postgresRole.isEmpty else {
            throw ResourceID.required("role.spec.postgres_role")
        }
        try postgresIdentifier(postgresRole, field: "spec.postgres_role")
        guard !reservedRoles.contains(postgresRole.lowercased()), !postgresRole.lowercased().hasPrefix("pg_") else {
            throw KilnError.invalidParameter("The Postgres role name '\(postgresRole)' is reserved.")
        }
        let identity = try reader.enumValue("identity_type", identityTypes)
        let auth =
            try reader.enumValue("auth_method", authMethods)
            ?? (identity == nil ? "PG_PASSWORD_SCRAM_SHA_256" : "LAKEBASE_OAUTH_V1")
        let attributes = try reader.object("attributes")
        var memberships: [JSONTree] = []
        for value in try reader.array("membership_roles") ?? [] {
            guard let text = value.stringValue, membershipRoles.contains(text) else {
                throw KilnError.invalidParameter("Invalid membership role \(value.stringValue.map { "'\($0)'" } ?? "value"); expected DATABRICKS_SUPERUSER.")
            }
            if !memberships.contains(value) { memberships.append(value) }
        }
        return .compact([
            ("postgres_role", .string(postgresRole)),
            ("identity_type", identity.map(JSONTree.string)),
            ("auth_method", .string(auth)),
            (
                "attributes",
                .object([
                    .init("createdb", .bool(try attributes?.bool("createdb") ?? false)),
                    .init("createrole", .bool(try attributes?.bool("createrole") ?? false)),
                    .init("bypassrls", .bool(try attributes?.bool("bypassrls") ?? false)),
                ])
            ),
            ("membership_roles", memberships.isEmpty ? nil : .array(memberships)),
        ])
    }

    // MARK: - Database

    static func database(_ spec: JSONTree) throws -> JSONTree {
        let reader = SpecReader(spec, prefix: "spec")
        guard let name = try reader.string("postgres_database"), !name.isEmpty else {
            throw ResourceID.required("database.spec.postgres_database")
        }
        try postgresIdentifier(name, field: "spec.postgres_database")
        guard !["postgres", "template0", "template1"].contains(name) else {
            throw KilnError.invalidParameter("The database name '\(name)' is reserved.")
        }
        guard let role = try reader.string("role"), !role.isEmpty else {
            throw ResourceID.required("database.spec.role")
        }
        return .object([.init("postgres_database", .string(name)), .init("role", .string(role))])
    }

    /// A Postgres identifier: 1–63 bytes, no NUL.
    static func postgresIdentifier(_ name: String, field: String) throws {
        guard (1...63).contains(name.utf8.count), !name.utf8.contains(0) else {
            throw KilnError.invalidParameter("\(field) must be a Postgres identifier of 1 to 63 bytes.")
        }
    }
}
