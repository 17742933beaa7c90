import Foundation

/// What Kiln's Postgres proxy needs to know of an endpoint.
public struct ConnectableEndpoint: Sendable {
    public var uid: String
    public var workspaceID: Int64
    /// The endpoint's port: its own listener, and the name of its postgres's Unix socket.
    public var port: Int
    /// The endpoint's own loopback address, on which the proxy listens at its shared port (see
    /// `PostgresAccess.endpointAddresses`); nil when endpoints have none.
    public var address: String? = nil
    /// The address of its connection pooler, likewise; nil when endpoints have no pooled hosts.
    public var pooledAddress: String? = nil
    /// The address of its read-only host, likewise: a read-write endpoint whose branch has read replicas.
    public var readOnlyAddress: String? = nil
    public var disabled: Bool
    /// How long it may go without clients before it is suspended; nil: never.
    public var suspendTimeout: Duration?
    /// For a read replica, its branch (whose read-write endpoint holds the roles it replays); nil otherwise.
    var replicaOf: ResourceName?
    /// The endpoint's branch.
    var branch: ResourceName
}
