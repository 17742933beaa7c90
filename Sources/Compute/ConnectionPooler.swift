#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// The pooled host's listening socket, handed to a compute's connection pooler so that PgBouncer accepts
/// that host's clients itself (TLS, SCRAM) instead of through Kiln's relay.
public struct PoolerListener: Sendable {
    /// A listening TCP socket. Borrowed: PgBouncer gets a copy, the caller keeps and closes its own.
    public var descriptor: Int32
    /// PEM files of the certificate (naming the host's address) and its key; nil: no TLS.
    public var certificateFile: String?
    public var keyFile: String?
    /// Refuse clients that do not use TLS (`KILN_POSTGRES_REQUIRE_TLS`).
    public var requireTLS: Bool

    public init(descriptor: Int32, certificateFile: String?, keyFile: String?, requireTLS: Bool) {
        self.descriptor = descriptor
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.requireTLS = requireTLS
    }
}

/// How clients reach a compute's running connection pooler.
public struct PoolerAccess: Sendable {
    /// The Unix socket Kiln's proxy relays to; PgBouncer trusts its logins, which the proxy checked.
    public var socketPath: String
    /// Set when PgBouncer accepts on the pooled host's listening socket itself: returns once it has
    /// exited (or the caller is cancelled), after which only the proxy accepts there again.
    public var listenerReleased: (@Sendable () async -> Void)?

    public init(socketPath: String, listenerReleased: (@Sendable () async -> Void)? = nil) {
        self.socketPath = socketPath
        self.listenerReleased = listenerReleased
    }
}

/// A PgBouncer in front of one compute: Lakebase's pooler (Databricks, "Connection pooling": transaction
/// mode, one pool per database and user sized about 90 % of `max_connections`, up to 10,000 client
/// connections). Kiln makes its sockets and passes them in as systemd's socket activation does
/// (`LISTEN_FDS`): a Unix socket (`<socket dir>/pooler-<port>/.s.PGSQL.<port>`) only Kiln's proxy reaches,
/// whose logins PgBouncer trusts; and, when the proxy hands it over, the pooled host's own TCP socket, whose
/// clients PgBouncer checks itself (TLS with the host's certificate, SCRAM against the role's secret read
/// with `auth_query` as `kiln_system`). It reaches postgres over the compute's Unix socket.
final class ConnectionPooler: Sendable {
    let process: ChildProcess
    /// The Unix socket of Kiln's relay.
    let socketPath: String
    /// Whether PgBouncer accepts on the pooled host's socket too.
    let hasListener: Bool

    private init(process: ChildProcess, socketPath: String, hasListener: Bool) {
        self.process = process
        self.socketPath = socketPath
        self.hasListener = hasListener
    }

    /// The client connections PgBouncer accepts (Lakebase's figure).
    static let maxClientConnections = 10_000

    /// The directory of the pooler of the compute on `port`: its socket, configuration and log.
    static func directory(port: Int, configuration: ComputeConfiguration) -> String {
        "\(configuration.socketDirectory)/pooler-\(port)"
    }

    /// `pgbouncer.ini` for the compute `spec` describes, taking clients of `listener` too when given.
    static func settings(for spec: ServerSpec, listener: PoolerListener?, configuration: ComputeConfiguration) -> String {
        let maxConnections = spec.settings["max_connections"].flatMap(Int.init) ?? 100
        let directory = directory(port: spec.port, configuration: configuration)
        var tls = "client_tls_sslmode = disable"
        if let listener, listener.certificateFile != nil {
            tls = """
                client_tls_sslmode = \(listener.requireTLS ? "require" : "prefer")
                client_tls_cert_file = \(directory)/server.crt
                client_tls_key_file = \(directory)/server.key
                """
        }
        return """
            ; Written by Kiln for compute \(spec.id); rewritten at every start. Kiln passes the sockets in.
            [databases]
            ; auth_user here, not in [pgbouncer]: PgBouncer 1.18 would run auth_query for its console database too,
            ; which has no server, and hang the client.
            * = host=\(configuration.socketDirectory) port=\(spec.port) auth_user=kiln_system

            [pgbouncer]
            listen_addr =
            unix_socket_dir =
            listen_port = \(spec.port)
            tcp_defer_accept = 0
            auth_type = hba
            auth_hba_file = \(directory)/pgbouncer_hba.conf
            \(authQuery)
            \(tls)
            pool_mode = transaction
            default_pool_size = \(max(1, maxConnections * 9 / 10))
            max_client_conn = \(maxClientConnections)
            ignore_startup_parameters = extra_float_digits
            server_login_retry = 1
            log_connections = 0
            log_disconnections = 0

            """
    }

    /// How PgBouncer looks a login's role up: its SCRAM secret while it may log in. It runs as the superuser
    /// `kiln_system` in the database the client names, whose owner may have set its `search_path`: every
    /// function and operator is named with its schema, so nobody's own `=` or `now()` runs instead.
    static let authQuery = """
        auth_query = SELECT rolname::text, CASE WHEN rolvaliduntil IS NULL OR rolvaliduntil OPERATOR(pg_catalog.>) pg_catalog.now() \
        THEN rolpassword END FROM pg_catalog.pg_authid WHERE rolname OPERATOR(pg_catalog.=) $1 AND rolcanlogin
        """

    /// PgBouncer's `auth_hba_file`: Kiln's relay is trusted; the pooled host's clients log in with the
    /// role's password (SCRAM), never to PgBouncer's console or as Kiln's own role, and with TLS if Kiln
    /// requires it.
    static func hba(requireTLS: Bool) -> String {
        """
        # Written by Kiln. Kiln's proxy, over the Unix socket: it checked each login already.
        local   all         all          trust
        # The pooled host's clients.
        host    pgbouncer   all          0.0.0.0/0   reject
        host    all         pgbouncer    0.0.0.0/0   reject
        host    all         kiln_system  0.0.0.0/0   reject
        \(requireTLS ? "hostssl" : "host   ") all         all          0.0.0.0/0   scram-sha-256

        """
    }

    /// Starts PgBouncer for the compute `spec` describes (accepting on `listener` too, when given) and
    /// returns once it runs. Throws `ComputeError` when PgBouncer is not installed or does not start within
    /// `timeout`.
    static func start(
        for spec: ServerSpec, listener: PoolerListener?, configuration: ComputeConfiguration, timeout: Duration = .seconds(10)
    ) async throws -> ConnectionPooler {
        guard configuration.hasPooler else {
            throw ComputeError("The connection pooler needs PgBouncer (\(configuration.pgbouncerProgram)): install Debian's pgbouncer package.")
        }
        let directory = directory(port: spec.port, configuration: configuration)
        try? FileManager.default.removeItem(atPath: directory)
        try configuration.user.makeDirectory(configuration.socketDirectory, mode: 0o700)
        try configuration.user.makeDirectory(directory, mode: 0o700)
        try configuration.user.writeFile(directory + "/pgbouncer.ini", contents: settings(for: spec, listener: listener, configuration: configuration))
        try configuration.user.writeFile(directory + "/pgbouncer_hba.conf", contents: hba(requireTLS: listener?.requireTLS ?? false))
        if let listener, let certificate = listener.certificateFile, let key = listener.keyFile {
            try configuration.user.writeFile(directory + "/server.crt", contents: String(contentsOfFile: certificate, encoding: .utf8))
            try configuration.user.writeFile(directory + "/server.key", contents: String(contentsOfFile: key, encoding: .utf8))
        }
        let socketPath = "\(directory)/.s.PGSQL.\(spec.port)"
        let relay = try listenUnix(at: socketPath)
        defer { close(relay) }
        // Each client and each server connection is a descriptor: as many as the hard limit allows.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let files = min(UInt64(limit.rlim_max), 20_000)
        let sockets = [relay] + (listener.map { [$0.descriptor] } ?? [])
        // PgBouncer 1.18 ignores SIGQUIT, postgres's death signal; SIGTERM ends it. The shell names the
        // process that gets the sockets (every program of the chain keeps its pid), which only it can know.
        let process = try await Launcher.shared.launch(
            configuration.user.command(
                [
                    "/bin/sh", "-c", "export LISTEN_PID=$$ LISTEN_FDS=\(sockets.count); exec \"$@\"", "sh",
                    "/usr/bin/prlimit", "--nofile=\(files)", configuration.pgbouncerProgram, directory + "/pgbouncer.ini",
                ], deathSignal: "SIGTERM"),
            logPath: directory + "/pgbouncer.log", sockets: sockets)
        let pooler = ConnectionPooler(process: process, socketPath: socketPath, hasListener: listener != nil)
        let deadline = ContinuousClock.now + timeout
        while true {
            let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? ""
            if log.contains("process up") {
                // PgBouncer has read its key; the copy need not outlive that.
                try? FileManager.default.removeItem(atPath: directory + "/server.key")
                return pooler
            }
            if process.hasExited { throw ComputeError("PgBouncer did not start: \(Commands.tail(log))") }
            if ContinuousClock.now > deadline || Task.isCancelled {
                await pooler.stop()
                throw ComputeError("PgBouncer did not start within \(timeout): \(Commands.tail(log))")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// A listening Unix socket at `path` (its directory is the pooler's, closed to everyone but Kiln's
    /// user). Throws `ComputeError`.
    private static func listenUnix(at path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw ComputeError("The pooler's socket path is too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path.utf8)
            bytes[path.utf8.count] = 0
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw ComputeError("Cannot make the pooler's socket: \(String(cString: strerror(errno)))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(socket, 4096) == 0 else {
            let error = String(cString: strerror(errno))
            close(socket)
            throw ComputeError("Cannot listen on \(path): \(error)")
        }
        return socket
    }

    /// How clients reach this pooler.
    var access: PoolerAccess {
        guard hasListener else { return PoolerAccess(socketPath: socketPath) }
        let process = process
        return PoolerAccess(socketPath: socketPath, listenerReleased: { await process.exitOrCancellation() })
    }

    /// Whether PgBouncer still runs.
    var isRunning: Bool { !process.hasExited }

    /// Immediate shutdown, its clients cut off as when the compute stops: SIGTERM up to PgBouncer 1.22,
    /// SIGQUIT from 1.23 (which made SIGTERM wait for clients; 1.18 ignores SIGQUIT); SIGKILL after 5 s.
    func stop() async {
        await process.stop([SIGQUIT, SIGTERM], escalation: [(.seconds(5), SIGKILL)])
    }
}
