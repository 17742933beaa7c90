import Foundation
import KilnCore

/// Which `update_mask` paths a kind accepts and what they mean (lakebase-contract.md §6).
struct MaskRules: Sendable {
    /// Leaf and message paths that may be named, besides the oneof groups and their members.
    var paths: Set<String>
    /// Message paths: the body's fields under them are merged in; a missing message is an error.
    var messages: Set<String>
    /// Repeated and map fields: absent from the body means "make it empty".
    var repeated: Set<String>
    /// Oneof groups, by path: naming the group (or one member) replaces all members.
    var oneofs: [String: [String]]
    /// Paths that may not be named (immutable fields): 400.
    var immutable: Set<String>
    /// Paths accepted and ignored (create-time only).
    var ignored: Set<String> = []
    /// What `*` stands for.
    var star: [String]
    /// Body fields that are never applied by an update (always-sent or immutable), under `spec`.
    var neverApplied: Set<String>

    static let project = MaskRules(
        paths: ["spec", "spec.budget_policy_id", "spec.custom_tags", "spec.default_branch", "spec.default_endpoint_settings",
                "spec.default_endpoint_settings.autoscaling_limit_max_cu", "spec.default_endpoint_settings.autoscaling_limit_min_cu",
                "spec.default_endpoint_settings.pg_settings", "spec.display_name", "spec.enable_pg_native_login",
                "spec.history_retention_duration"],
        messages: ["spec", "spec.default_endpoint_settings"],
        repeated: ["spec.custom_tags", "spec.default_endpoint_settings.pg_settings"],
        oneofs: ["spec.default_endpoint_settings.suspension": ["suspend_timeout_duration", "no_suspension"]],
        immutable: ["spec.pg_version"],
        ignored: ["initial_branch_spec", "initial_endpoint_spec"],
        star: ["spec.display_name", "spec.history_retention_duration", "spec.enable_pg_native_login",
               "spec.default_endpoint_settings", "spec.custom_tags"],
        neverApplied: ["pg_version"])

    static let branch = MaskRules(
        paths: ["spec", "spec.is_protected"],
        messages: ["spec"],
        repeated: [],
        oneofs: ["spec.expiration": ["ttl", "expire_time", "no_expiry"]],
        immutable: ["spec.source_branch", "spec.source_branch_lsn", "spec.source_branch_time", "spec.source_snapshot"],
        star: ["spec.is_protected"],
        neverApplied: ["source_branch", "source_branch_lsn", "source_branch_time", "source_snapshot"])

    static let endpoint = MaskRules(
        paths: ["spec", "spec.autoscaling_limit_max_cu", "spec.autoscaling_limit_min_cu", "spec.disabled", "spec.group",
                "spec.group.enable_readable_secondaries", "spec.group.max", "spec.group.min", "spec.settings",
                "spec.settings.pg_settings"],
        messages: ["spec", "spec.group", "spec.settings"],
        repeated: ["spec.settings.pg_settings"],
        oneofs: ["spec.suspension": ["suspend_timeout_duration", "no_suspension"]],
        immutable: ["spec.endpoint_type"],
        star: ["spec"],
        neverApplied: ["endpoint_type"])

    static let role = MaskRules(
        paths: ["spec", "spec.membership_roles", "spec.attributes", "spec.attributes.createdb", "spec.attributes.createrole",
                "spec.attributes.bypassrls"],
        messages: ["spec", "spec.attributes"],
        repeated: ["spec.membership_roles"],
        oneofs: [:],
        immutable: ["spec.identity_type", "spec.auth_method", "spec.postgres_role"],
        star: ["spec.membership_roles", "spec.attributes.createdb", "spec.attributes.createrole", "spec.attributes.bypassrls"],
        neverApplied: ["identity_type", "auth_method", "postgres_role"])

    static let database = MaskRules(
        paths: ["spec", "spec.postgres_database", "spec.role"],
        messages: ["spec"],
        repeated: [],
        oneofs: [:],
        immutable: [],
        star: ["spec.postgres_database", "spec.role"],
        neverApplied: [])

    static func of(_ kind: ResourceKind) -> MaskRules {
        switch kind {
        case .project: .project
        case .branch: .branch
        case .endpoint: .endpoint
        case .role: .role
        case .database: .database
        }
    }
}

/// Applies an update: the masked paths of `body` onto the stored spec `current`.
struct UpdateMask {
    let rules: MaskRules

    /// The paths of an `update_mask` query value; no mask means "everything the body's spec has".
    static func paths(_ mask: String?) -> [String] {
        guard let mask else { return ["spec"] }
        return mask.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func apply(paths: [String], body: JSONTree, to current: JSONTree) throws(KilnError) -> JSONTree {
        var spec = current
        var bodySpec = body["spec"] ?? .object([])
        for field in rules.neverApplied { bodySpec.setValue(nil, at: [field]) }
        let expanded = paths.flatMap { $0 == "*" ? rules.star : [$0] }
        for path in expanded {
            if rules.ignored.contains(path) { continue }
            if rules.immutable.contains(path) {
                throw KilnError.invalidParameter("Field '\(path)' cannot be updated.")
            }
            let (group, member) = oneof(of: path)
            guard rules.paths.contains(path) || group != nil else {
                throw KilnError.invalidParameter("Unknown field path in update_mask: '\(path)'")
            }
            let relative = Array(path.split(separator: ".").dropFirst().map(String.init))
            if let group, let members = rules.oneofs[group] {
                let parent = Array(group.split(separator: ".").dropFirst().dropLast().map(String.init))
                let wanted = member.map { [$0] } ?? members
                let present = wanted.filter { bodySpec.value(at: parent + [$0]) != nil }
                guard !present.isEmpty else {
                    throw KilnError.invalidParameter("Field '\(path)' is in update_mask but not provided in request")
                }
                for name in members { spec.setValue(nil, at: parent + [name]) }
                for name in present { spec.setValue(bodySpec.value(at: parent + [name]), at: parent + [name]) }
            } else if rules.messages.contains(path) {
                guard let value = bodySpec.value(at: relative) else {
                    throw KilnError.invalidParameter("Field '\(path)' is in update_mask but not provided in request")
                }
                merge(value, into: &spec, at: relative, path: path)
            } else if let value = bodySpec.value(at: relative), !value.isNull {
                spec.setValue(value, at: relative)
            } else if rules.repeated.contains(path) {
                spec.setValue(nil, at: relative)
            } else {
                throw KilnError.invalidParameter("Field '\(path)' is in update_mask but not provided in request")
            }
        }
        return spec
    }

    /// The oneof group a path names, and the member if it names one member.
    private func oneof(of path: String) -> (group: String?, member: String?) {
        if rules.oneofs[path] != nil { return (path, nil) }
        for (group, members) in rules.oneofs {
            let parent = group.split(separator: ".").dropLast().joined(separator: ".")
            for member in members where path == "\(parent).\(member)" { return (group, member) }
        }
        return (nil, nil)
    }

    /// Copies the fields of `value` into `spec` at `relative`: messages recursively, everything else
    /// (scalars, lists, maps) whole; a oneof member replaces its siblings.
    private func merge(_ value: JSONTree, into spec: inout JSONTree, at relative: [String], path: String) {
        guard case .object(let members) = value else {
            spec.setValue(value, at: relative)
            return
        }
        for member in members {
            let childPath = "\(path).\(member.key)"
            let childRelative = relative + [member.key]
            if rules.messages.contains(childPath), case .object = member.value {
                merge(member.value, into: &spec, at: childRelative, path: childPath)
                continue
            }
            for (group, names) in rules.oneofs where names.contains(member.key)
                && group.split(separator: ".").dropLast().joined(separator: ".") == path {
                for name in names { spec.setValue(nil, at: relative + [name]) }
            }
            spec.setValue(member.value.isNull ? nil : member.value, at: childRelative)
        }
    }
}
