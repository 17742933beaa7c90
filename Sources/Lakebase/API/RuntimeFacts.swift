import KilnCore

/// What reads show beyond the stored spec: the live state of computes and the size of branches.
struct RuntimeFacts: Sendable {
    /// The endpoint's `current_state`: INIT, ACTIVE, IDLE or DEGRADED.
    var endpointState: @Sendable (StoredResource) async -> String
    /// How many read replicas (read-only endpoints, not deleted) the endpoint's branch has.
    var readReplicas: @Sendable (StoredResource) async -> Int
    /// The branch's logical size in bytes.
    var branchSize: @Sendable (StoredResource) -> Int64
    /// The address the endpoints' own ports listen on.
    var host: String
    /// How else the proxy reaches endpoints.
    var access: PostgresAccess
}
