/// How Kiln's Postgres proxy is reached, beyond each endpoint's own port: reported in `status.hosts`.
public struct PostgresAccess: Sendable {
    /// Endpoint host names are `<uid>.<domain>` (TLS server names, routed at the shared port).
    public var domain: String
    /// The proxy's shared port; nil when it has none.
    public var sharedPort: Int?
    /// Whether each endpoint has a loopback address of its own on which the proxy listens at the shared
    /// port (`address(forPort:)`), reported as `status.hosts.host`: what a client reaches with libpq's
    /// defaults and no DNS set-up. Off when the shared port is not 5432-like bindable per address (a
    /// PostgreSQL listening on all addresses holds it); endpoints then report the proxy's address.
    public var endpointAddresses: Bool
    /// Whether each endpoint also has a pooled host (`pooledAddress(forPort:)`) served by its connection
    /// pooler: when endpoints have addresses and PgBouncer is installed.
    public var pooledHosts: Bool

    public init(domain: String = "kiln.localhost", sharedPort: Int? = nil, endpointAddresses: Bool = false, pooler: Bool = false) {
        self.domain = domain
        self.sharedPort = sharedPort
        self.endpointAddresses = endpointAddresses && sharedPort != nil
        self.pooledHosts = self.endpointAddresses && pooler
    }

    /// The loopback address of the endpoint whose own port is `port`: `127.<port / 256>.<port % 256>.1`.
    /// All of 127.0.0.0/8 is loopback on Linux; the address is a function of the port Kiln stores for the
    /// endpoint, so it stays the same across suspends and restarts, and two endpoints never share one.
    public static func address(forPort port: Int) -> String { loopback(port: port, last: 1) }

    /// The loopback address of the connection pooler of the endpoint whose own port is `port`:
    /// `127.<port / 256>.<port % 256>.2`, beside its direct address.
    public static func pooledAddress(forPort port: Int) -> String { loopback(port: port, last: 2) }

    /// The loopback address of the read-only host of the read-write endpoint whose own port is `port`
    /// (its branch's read replicas, taken in turn): `127.<port / 256>.<port % 256>.3`.
    public static func readOnlyAddress(forPort port: Int) -> String { loopback(port: port, last: 3) }

    /// `127.<port / 256>.<port % 256>.<last>`: one of the loopback addresses of the endpoint on `port`.
    private static func loopback(port: Int, last: Int) -> String { "127.\((port >> 8) & 255).\(port & 255).\(last)" }

    /// The read-only host a read-write endpoint with read replicas on its branch reports, if any.
    func readOnlyHost(port: Int?) -> String? {
        guard endpointAddresses, let port else { return nil }
        return Self.readOnlyAddress(forPort: port)
    }

    /// The pooled host an endpoint reports (`read_write_pooled_host` or `read_only_pooled_host`), if any.
    func pooledHost(port: Int?) -> String? {
        guard pooledHosts, let port else { return nil }
        return Self.pooledAddress(forPort: port)
    }

    /// The host an endpoint reports: its own address, or the proxy's when there are none.
    func host(port: Int?, proxyHost: String) -> String {
        guard endpointAddresses, let port else { return proxyHost }
        return Self.address(forPort: port)
    }
}
