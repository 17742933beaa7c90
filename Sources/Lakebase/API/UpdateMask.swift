import Foundation
import KilnCore

/// The updatable fields of one resource kind, as `update_mask` names them (lakebase-contract.md §6).
///
/// Every path is relative to the resource (`spec.display_name`). A oneof is named by its group
/// (`spec.suspension`), never by a member (`spec.suspend_timeout_duration`); immutable and create-only
/// fields (`spec.pg_version`, `initial_endpoint_spec`) are not updatable paths at all.
struct MaskRules: Sendable {
    /// Scalar fields.
    var scalars: Set<String>
    /// Message fields below `spec`: naming one replaces it whole.
    var messages: Set<String>
    /// List and map fields: absent from the body means "make it empty".
    var repeated: Set<String>
    /// Oneof groups, by path, with their members' names.
    var oneofs: [String: [String]]
    /// What `*` (or `spec` named with other paths) replaces: every updatable field.
    var star: [String]
    /// Repeated fields that `*` leaves alone when the body has them absent or empty, rather than clearing
    /// (`custom_tags`: "use wildcard "*" which auto-excludes empty tags", `postgres.py:ProjectSpec`).
    var keptEmptyUnderStar: Set<String> = []
    /// Body fields under `spec` that an update never applies (immutable, or always sent by the SDK).
    var neverApplied: Set<String>

    /// Whether `path` may stand in a mask.
    func isUpdatable(_ path: String) -> Bool {
        path == "*" || path == "spec" || scalars.contains(path) || messages.contains(path) || repeated.contains(path)
            || oneofs[path] != nil
    }

    /// The fields a named message stands for: every scalar, list, map and oneof group below it.
    func fields(under message: String) -> [String] {
        (scalars.union(repeated).union(oneofs.keys)).filter { $0.hasPrefix(message + ".") }.sorted()
    }

    static let project = MaskRules(
        scalars: [
            "spec.budget_policy_id", "spec.default_branch", "spec.display_name", "spec.enable_pg_native_login",
            "spec.history_retention_duration", "spec.default_endpoint_settings.autoscaling_limit_max_cu",
            "spec.default_endpoint_settings.autoscaling_limit_min_cu",
        ],
        messages: ["spec.default_endpoint_settings"],
        repeated: ["spec.custom_tags", "spec.default_endpoint_settings.pg_settings"],
        oneofs: ["spec.default_endpoint_settings.suspension": ["suspend_timeout_duration", "no_suspension"]],
        star: [
            "spec.display_name", "spec.history_retention_duration", "spec.enable_pg_native_login",
            "spec.default_endpoint_settings.autoscaling_limit_min_cu", "spec.default_endpoint_settings.autoscaling_limit_max_cu",
            "spec.default_endpoint_settings.pg_settings", "spec.default_endpoint_settings.suspension", "spec.custom_tags",
        ],
        keptEmptyUnderStar: ["spec.custom_tags"],
        neverApplied: ["pg_version"])

    static let branch = MaskRules(
        scalars: ["spec.is_protected"],
        messages: [],
        repeated: [],
        oneofs: ["spec.expiration": ["ttl", "expire_time", "no_expiry"]],
        star: ["spec.is_protected", "spec.expiration"],
        neverApplied: ["source_branch", "source_branch_lsn", "source_branch_time", "source_snapshot"])

    static let endpoint = MaskRules(
        scalars: [
            "spec.autoscaling_limit_max_cu", "spec.autoscaling_limit_min_cu", "spec.disabled",
            "spec.group.enable_readable_secondaries", "spec.group.max", "spec.group.min",
        ],
        messages: ["spec.group", "spec.settings"],
        repeated: ["spec.settings.pg_settings"],
        oneofs: ["spec.suspension": ["suspend_timeout_duration", "no_suspension"]],
        star: [
            "spec.autoscaling_limit_min_cu", "spec.autoscaling_limit_max_cu", "spec.disabled", "spec.suspension",
            "spec.settings.pg_settings",
        ],
        neverApplied: ["endpoint_type"])

    static let role = MaskRules(
        scalars: ["spec.attributes.createdb", "spec.attributes.createrole", "spec.attributes.bypassrls"],
        messages: ["spec.attributes"],
        repeated: ["spec.membership_roles"],
        oneofs: [:],
        star: ["spec.membership_roles", "spec.attributes.createdb", "spec.attributes.createrole", "spec.attributes.bypassrls"],
        neverApplied: ["identity_type", "auth_method", "postgres_role"])

    static let database = MaskRules(
        scalars: ["spec.postgres_database", "spec.role"],
        messages: [],
        repeated: [],
        oneofs: [:],
        star: ["spec.postgres_database", "spec.role"],
        neverApplied: [])

    /// Snapshots are immutable (SDK 0.162.0 has no `update_snapshot`).
    static let snapshot = MaskRules(scalars: [], messages: [], repeated: [], oneofs: [:], star: [], neverApplied: [])

    static func of(_ kind: ResourceKind) -> MaskRules {
        switch kind {
        case .project: .project
        case .branch: .branch
        case .endpoint: .endpoint
        case .role: .role
        case .database: .database
        case .snapshot: .snapshot
        }
    }
}

/// Applies an update: the masked fields of `body` onto the stored spec `current`, as the Lakebase API
/// does (observed on the real service; databricks/cli PRs 6440, 6443, 6767 and the SDK's
/// `update_role` docstring):
///
/// - `spec` alone (and no mask at all) merges what the body's spec supplies and keeps the rest; a
///   oneof member displaces its siblings; JSON `null` counts as absent.
/// - `*`, or `spec` together with other paths, replaces every updatable field (`MaskRules.star`).
/// - A message below `spec` (`spec.default_endpoint_settings`) replaces that message whole: every field
///   below it is required, its oneof groups included.
/// - A scalar or a oneof group must be supplied and not `null`; a oneof group takes exactly one member.
///   A list or map that is absent or empty is cleared.
/// - A path that is not an updatable field → 400 "Unknown field path in update_mask: '<path>'" (checked
///   for every path first); a required field that is missing → 400 "Field '<path>' is in update_mask
///   but not provided in request".
struct UpdateMask {
    let rules: MaskRules

    /// The paths of an `update_mask` query value; no mask means `spec` (merge what the body has).
    static func paths(_ mask: String?) -> [String] {
        guard let mask else { return ["spec"] }
        return mask.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func apply(paths: [String], body: JSONTree, to current: JSONTree) throws(KilnError) -> JSONTree {
        if let unknown = paths.first(where: { !rules.isUpdatable($0) }) {
            throw KilnError.invalidParameter("Unknown field path in update_mask: '\(unknown)'")
        }
        var bodySpec = body["spec"] ?? .object([])
        for field in rules.neverApplied { bodySpec.setValue(nil, at: [field]) }
        var spec = current
        if paths == ["spec"] {
            merge(bodySpec, into: &spec, at: [], path: "spec")
            return spec
        }
        let replacesAll = paths.contains("*") || paths.contains("spec")
        var fields: [String] = replacesAll ? rules.star : []
        for path in paths where path != "*" && path != "spec" {
            fields += rules.messages.contains(path) ? rules.fields(under: path) : [path]
        }
        var seen: Set<String> = []
        for field in fields where seen.insert(field).inserted {
            try replace(field, from: bodySpec, in: &spec, underStar: replacesAll && rules.star.contains(field))
        }
        return spec
    }

    /// Replaces one field of `spec` with the body's.
    private func replace(_ field: String, from bodySpec: JSONTree, in spec: inout JSONTree, underStar: Bool) throws(KilnError) {
        let relative = Self.relative(field)
        let missing = KilnError.invalidParameter("Field '\(field)' is in update_mask but not provided in request")
        if let members = rules.oneofs[field] {
            let parent = Array(relative.dropLast())
            let supplied = members.filter { bodySpec.value(at: parent + [$0]).map { !$0.isNull } ?? false }
            guard let member = supplied.first else { throw missing }
            guard supplied.count == 1 else {
                throw KilnError.invalidParameter("Only one of \(supplied.joined(separator: ", ")) may be set in '\(field)'.")
            }
            for name in members { spec.setValue(nil, at: parent + [name]) }
            spec.setValue(bodySpec.value(at: parent + [member]), at: parent + [member])
            return
        }
        let value = bodySpec.value(at: relative).flatMap { $0.isNull ? nil : $0 }
        if rules.repeated.contains(field) {
            if underStar, rules.keptEmptyUnderStar.contains(field), value.map(Self.isEmpty) ?? true { return }
            spec.setValue(value, at: relative)
            return
        }
        guard let value else { throw missing }
        spec.setValue(value, at: relative)
    }

    /// `["default_endpoint_settings", "suspension"]` of `spec.default_endpoint_settings.suspension`.
    private static func relative(_ path: String) -> [String] {
        Array(path.split(separator: ".").dropFirst().map(String.init))
    }

    private static func isEmpty(_ value: JSONTree) -> Bool {
        switch value {
        case .array(let items): items.isEmpty
        case .object(let members): members.isEmpty
        default: false
        }
    }

    /// Copies the fields of `value` into `spec` at `relative`: messages recursively, everything else
    /// (scalars, lists, maps) whole; a oneof member replaces its siblings; `null` is left out.
    private func merge(_ value: JSONTree, into spec: inout JSONTree, at relative: [String], path: String) {
        guard case .object(let members) = value else {
            spec.setValue(value, at: relative)
            return
        }
        for member in members where !member.value.isNull {
            let childPath = "\(path).\(member.key)"
            let childRelative = relative + [member.key]
            if rules.messages.contains(childPath), case .object = member.value {
                merge(member.value, into: &spec, at: childRelative, path: childPath)
                continue
            }
            for (group, names) in rules.oneofs
            where names.contains(member.key)
                && group.split(separator: ".").dropLast().joined(separator: ".") == path
            {
                for name in names { spec.setValue(nil, at: relative + [name]) }
            }
            spec.setValue(member.value, at: childRelative)
        }
    }
}
