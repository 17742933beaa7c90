import Compute
import KilnCore
import Lakebase
import Logging
import PGProxy

/// The proxy's view of Lakebase: which endpoint a login is for, whether its password is a valid
/// database credential or the role's native password, and waking and suspending its compute.
struct LakebaseProxyDirectory: ProxyDirectory {
    let lakebase: LakebaseService
    let logger: Logger
    /// Where the pooled hosts' certificates are, for PgBouncer to serve TLS with; nil: no TLS.
    var certificates: ProxyCertificates? = nil
    /// Whether Postgres clients must use TLS (`KILN_POSTGRES_REQUIRE_TLS`).
    var requireTLS = false

    func open(_ login: ProxyLogin) async throws -> ProxyTarget {
        guard let named = try await lakebase.connectableEndpoint(uid: login.endpoint) else {
            throw ProxyRefusal("08001", "endpoint \(login.endpoint) not found")
        }
        // A read-only host leads to one of the branch's read replicas; a credential is checked against the
        // endpoint whose host it is.
        var endpoint = named
        if login.readOnly {
            guard let replica = try await lakebase.readReplica(for: named) else {
                throw ProxyRefusal("08001", "endpoint \(login.endpoint) has no enabled read replica for its read-only host")
            }
            endpoint = replica
        }
        if endpoint.disabled {
            throw ProxyRefusal("08004", "endpoint \(login.endpoint) is disabled; enable it to connect")
        }
        let isCredential = login.password.hasPrefix("kiln_pg.")
        if login.pooled {
            // Lakebase's pooler serves Postgres password roles only; its admin console is not for clients.
            if isCredential {
                throw ProxyRefusal(
                    "28000",
                    "the connection pooler does not accept OAuth database credentials; log in with a Postgres role's password, "
                        + "or connect to the endpoint's host (status.hosts.host) with the credential")
            }
            // No database in the startup means the user's name (PgBouncer's rule too).
            if (login.database.isEmpty ? login.user : login.database) == "pgbouncer" || login.user == "pgbouncer" {
                throw ProxyRefusal("3D000", "database \"pgbouncer\" does not exist")
            }
            guard lakebase.hasPooler else {
                throw ProxyRefusal("08001", "endpoint \(login.endpoint) has no connection pooler here (PgBouncer is not installed)")
            }
        }
        if isCredential { try await checkCredential(login, endpoint: named) }
        // A wrong native password wakes nothing when the verifiers kept at the suspend can tell.
        if !isCredential, try await lakebase.checkKeptPassword(endpoint, role: login.user, password: login.password) == false {
            throw ProxyRefusal.badPassword(login.user)
        }
        let woke: Bool
        do {
            woke = try await lakebase.wake(endpoint)
        } catch {
            logger.error("An endpoint could not start for a connection", metadata: ["endpoint": "\(endpoint.uid)", "error": "\(error)"])
            throw ProxyRefusal("08006", "endpoint \(login.endpoint) could not start; see the Kiln log")
        }
        if !isCredential, try await !lakebase.checkNativePassword(endpoint, role: login.user, password: login.password) {
            throw ProxyRefusal.badPassword(login.user)
        }
        if isCredential { await lakebase.publishIdentities(for: endpoint) }
        guard login.pooled else {
            return ProxyTarget(
                socketPath: lakebase.socketPath(endpoint), idleTimeout: endpoint.suspendTimeout, woke: woke,
                servedBy: endpoint.uid == named.uid ? nil : endpoint.uid)
        }
        // A client of the pooled host brings its listening socket: the pooler accepts there itself from now on.
        let listener = login.listeningSocket.map { socket in
            let files = endpoint.pooledAddress.flatMap { certificates?.addressFiles($0) }
            return PoolerListener(descriptor: socket, certificateFile: files?.certificate, keyFile: files?.key, requireTLS: requireTLS)
        }
        do {
            let pooler = try await lakebase.pooler(endpoint, listener: listener)
            let onListener = pooler.listenerReleased.map { released in
                PoolerOnListener(released: released, recentlyActive: { [lakebase, endpoint] in await lakebase.hasRecentClientActivity(endpoint) })
            }
            return ProxyTarget(socketPath: pooler.socketPath, idleTimeout: endpoint.suspendTimeout, woke: woke, pooler: onListener)
        } catch {
            logger.error("An endpoint's connection pooler could not start", metadata: ["endpoint": "\(endpoint.uid)", "error": "\(error)"])
            throw ProxyRefusal("08006", "the connection pooler of endpoint \(login.endpoint) could not start; see the Kiln log")
        }
    }

    /// A database credential logs in the identity it was issued to, on its endpoint, until it expires.
    private func checkCredential(_ login: ProxyLogin, endpoint: ConnectableEndpoint) async throws {
        switch try await lakebase.checkCredential(login.password, endpoint: endpoint, user: login.user) {
        case .valid:
            return
        case .invalid:
            throw ProxyRefusal.badPassword(login.user)
        case .expired:
            throw ProxyRefusal("28P01", "the database credential for user \"\(login.user)\" has expired; generate a new one")
        case .issuedTo(let subject):
            throw ProxyRefusal("28P01", "the database credential was issued to \(subject), not \"\(login.user)\"")
        }
    }

    func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async {
        await lakebase.suspend(uid: endpoint, stillIdle: stillIdle)
    }
}

extension ProxyServer {
    /// Keeps the per-endpoint listeners in step with Lakebase's endpoints.
    func follow(_ lakebase: LakebaseService, logger: Logger) {
        lakebase.onEndpointsChanged { [weak self] in
            guard let self else { return }
            do {
                let listeners = try await lakebase.connectableEndpoints().map {
                    EndpointListener(
                        endpoint: $0.uid, port: $0.port, idleTimeout: $0.suspendTimeout, address: $0.address, pooledAddress: $0.pooledAddress,
                        readOnlyAddress: $0.readOnlyAddress)
                }
                try await self.setEndpointListeners(listeners)
            } catch {
                logger.error("Cannot update the endpoints' listeners", metadata: ["error": "\(error)"])
            }
        }
    }
}
