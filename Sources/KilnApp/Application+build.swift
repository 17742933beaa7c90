#if canImport(Glibc)
    import Glibc
#endif
import Foundation
public import Hummingbird
import Accounts
import KilnHTTP
import Logging
public import Persistence
import ServiceLifecycle
import Compute
import Lakebase
import PGProxy
import Prometheus
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// The composition root: opens the database, and returns the application with its services and
/// start-up steps (migrations, first-start bootstrap) plus the database to close after it stops.
public func buildApplication(
    configuration: KilnConfiguration,
    announce: @escaping @Sendable (String) -> Void = { print($0) }
) async throws -> (application: some ApplicationProtocol, database: any Database) {
    MemoryReturnService.configureAllocator()
    let logger = {
        var logger = Logger(label: "kiln")
        logger.logLevel = configuration.logLevel
        return logger
    }()
    try FileManager.default.createDirectory(
        atPath: configuration.dataDirectory, withIntermediateDirectories: true)

    let database: any Database
    var services: [any Service] = [MemoryReturnService()]
    if let url = configuration.databaseURL {
        let store = try PostgresStore(url: url, logger: logger)
        services.append(store.client)
        database = store
    } else {
        database = try await SQLiteStore.open(path: configuration.sqlitePath, logger: logger)
    }
    // A failure from here on closes the database first (SQLite must be closed before it is released), and
    // unmounts the copy-on-write volume if this start mounted it.
    var mounted: StorageVolume?
    do {
        if let volume = configuration.storageVolume {
            let wasMounted = volume.isMounted
            let done = try await volume.mount()
            logger.notice("\(done)")
            if !wasMounted { mounted = volume }
            services.append(StorageVolumeService(volume: volume, logger: logger))
        }
        let application = try await assemble(configuration: configuration, database: database, services: services, logger: logger, announce: announce)
        return (application, database)
    } catch {
        try? await mounted?.unmount()
        await database.shutdown()
        throw error
    }
}

/// Whether branches will be clones: the storage root's filesystem has reflinks. Says so once in the log,
/// and when it has none, how to get them.
private func branchesAreClones(_ storageRoot: String, logger: Logger) -> Bool {
    try? FileManager.default.createDirectory(atPath: storageRoot, withIntermediateDirectories: true)
    if StorageVolume.hasReflinks(storageRoot) {
        logger.info("Lakebase branches are copy-on-write clones: \(storageRoot) is on a filesystem with reflinks.")
        return true
    }
    logger.notice(
        "Lakebase branches are full copies (about 1.8 s per GB): \(storageRoot) is on a filesystem without reflinks. For copy-on-write branches, run Kiln as root with KILN_STORAGE_VOLUME=xfs (README, Branches)."
    )
    return false
}

/// Kiln's parts on an open database: the compute layer, the domain services, the Postgres proxy and the
/// HTTP application that runs them all.
private func assemble(
    configuration: KilnConfiguration, database: any Database, services: [any Service], logger: Logger,
    announce: @escaping @Sendable (String) -> Void
) async throws -> some ApplicationProtocol {
    var compute = try ComputeConfiguration(
        extensionFiles: DatabricksAuthExtension.files,
        workDirectory: URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("compute").path,
        listenHost: configuration.postgresHost, ports: configuration.postgresPorts)
    compute.copyOnWrite = branchesAreClones(configuration.storageRoot, logger: logger)
    // Branch data lives under the storage root, which may lie outside the data directory (inside it, Kiln
    // makes every folder open to postgres).
    var opened = try await compute.user.ensureCanReach(configuration.dataDirectory)
    let dataDirectory = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
    if !URL(fileURLWithPath: configuration.storageRoot).standardizedFileURL.path.hasPrefix(dataDirectory + "/") {
        opened += try await compute.user.ensureCanReach(configuration.storageRoot)
    }
    for folder in opened {
        logger.notice(
            "Gave the \(compute.user.name) account search permission on \(folder) (ACL u:\(compute.user.name):x), so PostgreSQL can reach the data directory."
        )
    }
    let endpointAddresses = endpointAddressesAvailable(configuration, logger: logger)
    if endpointAddresses && !compute.hasPooler {
        logger.notice("PgBouncer is not installed (Debian's pgbouncer): endpoints have no pooled hosts.")
    }
    let domain = KilnDomain(
        database: database, storageRoot: configuration.storageRoot, compute: compute,
        suspendTimeoutOverride: configuration.postgresSuspendTimeout,
        access: PostgresAccess(
            domain: configuration.postgresDomain, sharedPort: configuration.postgresProxyPort, endpointAddresses: endpointAddresses,
            pooler: compute.hasPooler),
        logger: logger,
        afterStart: {
            let released = ExecutablePages.release()
            logger.debug("Released the start's pages of the executable", metadata: ["segments": "\(released.segments)", "bytes": "\(released.bytes)"])
        })
    let certificates = ProxyCertificates(directory: configuration.postgresTLSDirectory)
    let proxy = try ProxyServer(
        configuration: ProxyConfiguration(
            host: configuration.postgresHost, sharedPort: configuration.postgresProxyPort,
            tls: try certificates.serverConfiguration(domain: configuration.postgresDomain, host: configuration.postgresHost),
            addressTLS: { address in try certificates.addressConfiguration(address) },
            requireTLS: configuration.postgresRequireTLS),
        directory: LakebaseProxyDirectory(
            lakebase: domain.lakebase, logger: logger, certificates: certificates, requireTLS: configuration.postgresRequireTLS),
        metrics: PrometheusMetricsFactory(registry: domain.metrics), logger: logger)
    proxy.follow(domain.lakebase, logger: logger)
    var http = domain.http
    http.scheme = configuration.scheme
    let responder = buildResponder(services: http)
    let publicURL = configuration.publicURL
    let serverName = "kiln"

    var application = Application(
        responder: responder,
        server: try httpServer(configuration, http1: .kilnHTTP1(responder, serverName: serverName, metrics: domain.metrics, logger: logger)),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: serverName),
        services: services,
        onServerRunning: { _ in announce("Kiln is ready on \(publicURL)") },
        logger: logger
    )
    application.beforeServerStarts {
        try await Migrator(database: database, logger: logger).migrate()
        announce(try await Bootstrap(configuration: configuration, services: domain).run())
        // Finish whatever a previous run left PROVISIONING, now that the schema is in place.
        domain.provisioner.wake()
        domain.lakebase.activate()
    }
    // Services stop in the reverse order of this list, each after the one before has finished: the proxy
    // first (no more wakes), then the operations, and the supervisor last, which stops every postgres.
    application.addServices(domain.supervisor, domain.provisioner, domain.lakebase, proxy)
    return application
}

/// `http1` (HTTP/1.1), over TLS when `configuration.https` says so: with the given PEM files, or with a
/// certificate of Kiln's own CA for `localhost` and the address clients use (the listen address; 127.0.0.1
/// for a wildcard one). TLS clients refuse a `*.localhost` wildcard (one label after the star), so
/// workspaces are reached over HTTPS by their `/w/<name>` prefix.
func httpServer(_ configuration: KilnConfiguration, http1: HTTPServerBuilder) throws -> HTTPServerBuilder {
    switch configuration.https {
    case nil:
        return http1
    case .ownAuthority:
        let tls = try ProxyCertificates(directory: configuration.postgresTLSDirectory)
            .serverConfiguration(dnsNames: ["localhost"], address: configuration.visibleHost, file: "http")
        return try .tls(http1, tlsConfiguration: tls)
    case .files(let certificate, let key):
        do {
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            return try .tls(http1, tlsConfiguration: tls)
        } catch {
            throw ConfigurationError("Cannot use the TLS certificate \(certificate) with the key \(key): \(error)")
        }
    }
}

/// Builds Kiln and serves until SIGINT or SIGTERM, then closes the database.
public func runKiln(configuration: KilnConfiguration, announce: @escaping @Sendable (String) -> Void) async throws {
    raiseOpenFileLimit()
    let (application, database) = try await buildApplication(configuration: configuration, announce: announce)
    do {
        try await application.runService()
    } catch {
        await database.shutdown()
        throw error
    }
    await database.shutdown()
}

/// Whether endpoints can have addresses of their own (`PostgresAccess.endpointAddresses`): the proxy has a
/// shared port on a loopback address (clients elsewhere could not reach 127.x addresses; they use the
/// proxy's address and the endpoints' own ports, or TLS names), and can bind that port on another loopback
/// address. A PostgreSQL listening on all addresses at that port prevents it; Kiln then says so once, and
/// endpoints report the proxy's address with their own port (README, "Connecting to Lakebase endpoints").
func endpointAddressesAvailable(_ configuration: KilnConfiguration, logger: Logger) -> Bool {
    guard let sharedPort = configuration.postgresProxyPort, configuration.postgresHost.hasPrefix("127.") else { return false }
    let probe = PostgresAccess.address(forPort: configuration.postgresPorts.lowerBound)
    guard PortProbe.canBind(port: sharedPort, host: probe) else {
        logger.warning(
            "Endpoints get no address of their own: \(probe):\(sharedPort) cannot be bound (is a PostgreSQL listening on all addresses at port \(sharedPort)?). Each endpoint reports host \(configuration.postgresHost) with its own port instead."
        )
        return false
    }
    return true
}

/// Each client of the Postgres proxy holds two descriptors (its socket, and the one to postgres or to the
/// pooler), so 10,000 clients of a pooled host need more than 20,000: raises the soft limit on open files
/// to the hard one, and as root both to at least 65,536. Children (postgres, PgBouncer) inherit it.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted: rlim_t = 65_536
    if getuid() == 0 && limit.rlim_max < wanted {
        var raised = rlimit(rlim_cur: wanted, rlim_max: wanted)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
    }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
