/// How Kiln's Postgres proxy is reached, beyond each endpoint's own port: reported in `status.hosts`.
public struct PostgresAccess: Sendable {
    /// Endpoint host names are `<uid>.<domain>` (TLS server names, routed at the shared port).
    public var domain: String
    /// The proxy's shared port; nil when it has none.
    public var sharedPort: Int?

    public init(domain: String = "kiln.localhost", sharedPort: Int? = nil) {
        self.domain = domain
        self.sharedPort = sharedPort
    }
}
