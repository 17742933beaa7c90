/// What the proxy asks of the system behind it (Kiln's Lakebase): whether a login may connect, and
/// where its endpoint's postgres listens (started first if it was suspended). The proxy itself knows
/// nothing of projects, tokens or roles.
public protocol ProxyDirectory: Sendable {
    /// Checks `login` and returns where its endpoint serves, waking it if need be. Throws a
    /// `ProxyRefusal` (shown to the client) or any other error (logged, not shown).
    func open(_ login: ProxyLogin) async throws -> ProxyTarget

    /// No client has been connected to `endpoint` for its idle timeout: suspend it, unless `stillIdle()`
    /// says otherwise once the suspend may go ahead (a client logged in while it waited for other work
    /// on the endpoint's data).
    func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async
}

/// A client's login, once the proxy knows its endpoint and password.
public struct ProxyLogin: Sendable, Equatable {
    /// The endpoint id: from the listener's port, the TLS server name's first label, or `options=endpoint=…`.
    public var endpoint: String
    public var user: String
    public var database: String
    public var password: String
    /// Whether the client connected with TLS.
    public var tls: Bool
    /// Whether the client asked for the endpoint's connection pooler (its pooled host, or a TLS server
    /// name `<endpoint id>-pooler.…`).
    public var pooled: Bool
    /// Whether the client asked for the endpoint's read-only host: one of its branch's read replicas.
    public var readOnly: Bool
    /// The listening socket of the pooled host the client came by, which the endpoint's pooler may accept
    /// on itself (`ProxyTarget.pooler`). Borrowed: valid while `open` runs.
    public var listeningSocket: Int32?

    public init(
        endpoint: String, user: String, database: String, password: String, tls: Bool, pooled: Bool = false, readOnly: Bool = false
    ) {
        self.endpoint = endpoint
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
        self.pooled = pooled
        self.readOnly = readOnly
    }
}

/// Where a connection goes: an endpoint, directly or through its connection pooler, or one of the read
/// replicas of its branch (its read-only host).
public struct ProxyRoute: Sendable, Hashable {
    public var endpoint: String
    public var pooled: Bool
    public var readOnly: Bool

    public init(endpoint: String, pooled: Bool = false, readOnly: Bool = false) {
        self.endpoint = endpoint
        self.pooled = pooled
        self.readOnly = readOnly
    }

    /// The suffix of the first label of a TLS server name that asks for the pooler (as Neon's
    /// `ep-…-pooler` host names do).
    public static let poolerSuffix = "-pooler"
}

/// Where an endpoint's postgres accepts the proxy's connections.
public struct ProxyTarget: Sendable {
    /// The path of the server's Unix socket (`…/.s.PGSQL.<port>`).
    public var socketPath: String
    /// How long the endpoint may go without clients before `idle(endpoint:)`; nil: never.
    public var idleTimeout: Duration?
    /// Whether the endpoint had to be started for this login (a wake from zero).
    public var woke: Bool
    /// The endpoint that serves the connection when it is not the one the login named (a read replica
    /// behind a read-only host): its clients keep it awake, not the named one.
    public var servedBy: String?
    /// Set when the endpoint's pooler took the login's `listeningSocket`: until it exits, the pooler
    /// accepts the pooled host's clients and the proxy does not.
    public var pooler: PoolerOnListener?

    public init(socketPath: String, idleTimeout: Duration?, woke: Bool, servedBy: String? = nil, pooler: PoolerOnListener? = nil) {
        self.socketPath = socketPath
        self.idleTimeout = idleTimeout
        self.woke = woke
        self.servedBy = servedBy
        self.pooler = pooler
    }
}

/// A connection pooler that accepts on a pooled host's listening socket itself.
public struct PoolerOnListener: Sendable {
    /// Returns once the pooler has exited (or the caller is cancelled).
    public var released: @Sendable () async -> Void
    /// Whether the compute's clients ran anything lately (a query, a login): with the host's open
    /// connections, what keeps the compute awake while the proxy sees none of its clients.
    public var recentlyActive: @Sendable () async -> Bool

    public init(released: @escaping @Sendable () async -> Void, recentlyActive: @escaping @Sendable () async -> Bool) {
        self.released = released
        self.recentlyActive = recentlyActive
    }
}

/// A refusal the client sees as an `ErrorResponse` with this SQLSTATE and message.
public struct ProxyRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static func badPassword(_ user: String) -> ProxyRefusal {
        ProxyRefusal("28P01", "password authentication failed for user \"\(user)\"")
    }
}

/// One endpoint's own listener: a stable port that needs neither TLS server names nor options.
public struct EndpointListener: Sendable, Hashable {
    public var endpoint: String
    public var port: Int
    /// The idle timeout to apply from the moment the listener opens (a compute started without clients
    /// still suspends); nil: never.
    public var idleTimeout: Duration?
    /// The endpoint's own address, on which the proxy also listens at its shared port, with a server
    /// certificate for that address (`ProxyConfiguration.addressTLS`); nil: none.
    public var address: String?
    /// The address of the endpoint's connection pooler, likewise at the shared port; nil: none.
    public var pooledAddress: String?
    /// The address of the endpoint's read-only host (its branch's read replicas), likewise; nil: none.
    public var readOnlyAddress: String?

    public init(
        endpoint: String, port: Int, idleTimeout: Duration?, address: String? = nil, pooledAddress: String? = nil,
        readOnlyAddress: String? = nil
    ) {
        self.endpoint = endpoint
        self.port = port
        self.idleTimeout = idleTimeout
        self.address = address
        self.pooledAddress = pooledAddress
        self.readOnlyAddress = readOnlyAddress
    }
}
