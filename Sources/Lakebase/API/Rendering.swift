import KilnCore

/// Resources as the API shows them: `status` with defaults materialised, never `spec`.
enum Rendering {
    static let branchSizeLimit: Int64 = 8_796_093_022_208

    static func render(_ resource: StoredResource, project: StoredResource?, facts: RuntimeFacts) async -> JSONTree {
        if resource.kind == .snapshot { return snapshot(resource) }
        let name = resource.name
        var members: [(String, JSONTree?)] = [("name", .string(name.description)), (resource.kind.idField, .string(name.id))]
        if let parent = name.parent { members.append(("parent", .string(parent.description))) }
        if resource.kind == .project || resource.kind == .branch || resource.kind == .endpoint {
            members.append(("uid", .string(resource.uid)))
        }
        members.append(("create_time", .string(ProtoTime.timestamp(millis: resource.createdAt))))
        members.append(("update_time", .string(ProtoTime.timestamp(millis: resource.updatedAt))))
        if let deleted = resource.deletedAt, resource.kind == .project {
            members.append(("delete_time", .string(ProtoTime.timestamp(millis: deleted))))
            members.append(("purge_time", resource.purgeAt.map { .string(ProtoTime.timestamp(millis: $0)) }))
        }
        var status = JSONTree.object([.init(resource.kind.idField, .string(name.id))])
        if case .object(let fields) = resource.spec {
            for field in fields where !hiddenSpecFields.contains(field.key) { status.set(field.key, field.value) }
        }
        switch resource.kind {
        case .project:
            status.set("owner", resource.privateState["owner"] ?? .string(""))
            status.set("branch_logical_size_limit_bytes", .integer(branchSizeLimit))
            status.set("synthetic_storage_size_bytes", resource.privateState["storage_bytes"] ?? .integer(0))
        case .branch:
            let isDefault = project?.projectSpec.defaultBranch == name
            status.set("current_state", .string(resource.deletedAt != nil ? "DELETED" : resource.state.rawValue))
            status.set("state_change_time", .string(ProtoTime.timestamp(millis: resource.stateChangedAt)))
            status.set("default", .bool(isDefault))
            status.set("logical_size_bytes", .integer(resource.isReady ? facts.branchSize(resource) : 0))
            if let deleted = resource.deletedAt {
                status.set("delete_time", .string(ProtoTime.timestamp(millis: deleted)))
                if let purge = resource.purgeAt { status.set("purge_time", .string(ProtoTime.timestamp(millis: purge))) }
            }
        case .endpoint:
            status.set("current_state", .string(await facts.endpointState(resource)))
            if resource.endpointSpec.noSuspension {
                status.set("suspend_timeout_duration", .string("0s"))
            }
            // `host` is the endpoint's own address, reached at the proxy's shared port (5432 by default) as
            // Lakebase's is, when endpoints have addresses (`PostgresAccess.endpointAddresses`); `host` with
            // `port` reaches it too; `server_name` is its TLS name at `shared_port` (for real DNS names).
            let host = facts.access.host(port: resource.port, proxyHost: facts.host)
            var hosts = JSONTree.object([.init("host", .string(host))])
            if let port = resource.port { hosts.set("port", .integer(Int64(port))) }
            hosts.set("server_name", .string("\(resource.uid).\(facts.access.domain)"))
            if let shared = facts.access.sharedPort { hosts.set("shared_port", .integer(Int64(shared))) }
            if resource.isReadOnly {
                hosts.set("read_only_host", .string(host))
            } else if let readOnly = facts.access.readOnlyHost(port: resource.port), await facts.readReplicas(resource) > 0 {
                hosts.set("read_only_host", .string(readOnly))
            }
            if let pooled = facts.access.pooledHost(port: resource.port) {
                hosts.set(resource.isReadOnly ? "read_only_pooled_host" : "read_write_pooled_host", .string(pooled))
            }
            status.set("hosts", hosts)
            status.set("last_active_time", .string(ProtoTime.timestamp(millis: resource.stateChangedAt)))
        case .role, .database, .snapshot:
            break
        }
        members.append(("status", status))
        return .compact(members)
    }

    /// A snapshot as SDK 0.162.0's `Snapshot` has it: no `parent` or `update_time`, and its `spec` echoed
    /// (with `ttl` resolved to `expire_time`, as "reads report" it) beside its `status`. Its size is known
    /// once it is taken.
    static func snapshot(_ resource: StoredResource) -> JSONTree {
        let spec = resource.spec
        let status = JSONTree.compact([
            ("source_branch", spec["source_branch"]),
            ("expire_time", spec["expire_time"]),
            ("no_expiry", spec["no_expiry"]),
            ("full_size_bytes", resource.privateState["full_size_bytes"]),
        ])
        return .compact([
            ("name", .string(resource.name.description)), ("snapshot_id", .string(resource.name.id)), ("uid", .string(resource.uid)),
            ("create_time", .string(ProtoTime.timestamp(millis: resource.createdAt))), ("spec", spec), ("status", status),
        ])
    }

    /// Spec fields that are inputs only.
    static let hiddenSpecFields: Set<String> = ["no_suspension"]
}
