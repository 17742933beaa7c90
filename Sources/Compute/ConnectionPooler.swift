#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// A PgBouncer in front of one compute: Lakebase's pooler (Databricks, "Connection pooling": transaction
/// mode, one pool per database and user sized about 90 % of `max_connections`, up to 10,000 client
/// connections). It listens on a Unix socket of its own (`<socket dir>/pooler-<port>/.s.PGSQL.<port>`)
/// only Kiln's proxy reaches, which has checked each login already: PgBouncer trusts it, looking the
/// role up with `auth_query` as `kiln_system`, and reaches postgres over the compute's Unix socket.
final class ConnectionPooler: Sendable {
    let process: ChildProcess
    /// The Unix socket clients connect to.
    let socketPath: String

    private init(process: ChildProcess, socketPath: String) {
        self.process = process
        self.socketPath = socketPath
    }

    /// The client connections PgBouncer accepts (Lakebase's figure).
    static let maxClientConnections = 10_000

    /// The directory of the pooler of the compute on `port`: its socket, configuration and log.
    static func directory(port: Int, configuration: ComputeConfiguration) -> String {
        "\(configuration.socketDirectory)/pooler-\(port)"
    }

    /// `pgbouncer.ini` for the compute `spec` describes.
    static func settings(for spec: ServerSpec, configuration: ComputeConfiguration) -> String {
        let maxConnections = spec.settings["max_connections"].flatMap(Int.init) ?? 100
        return """
            ; Written by Kiln for compute \(spec.id); rewritten at every start.
            [databases]
            * = host=\(configuration.socketDirectory) port=\(spec.port)

            [pgbouncer]
            listen_addr =
            listen_port = \(spec.port)
            unix_socket_dir = \(directory(port: spec.port, configuration: configuration))
            unix_socket_mode = 0700
            auth_type = trust
            auth_user = kiln_system
            auth_query = SELECT rolname::text, NULL::text FROM pg_catalog.pg_roles WHERE rolname = $1 AND rolcanlogin
            pool_mode = transaction
            default_pool_size = \(max(1, maxConnections * 9 / 10))
            max_client_conn = \(maxClientConnections)
            listen_backlog = 4096
            ignore_startup_parameters = extra_float_digits
            server_login_retry = 1
            log_connections = 0
            log_disconnections = 0

            """
    }

    /// Starts PgBouncer for the compute `spec` describes and returns once its socket accepts connections.
    /// Throws `ComputeError` when PgBouncer is not installed or does not start within `timeout`.
    static func start(for spec: ServerSpec, configuration: ComputeConfiguration, timeout: Duration = .seconds(10)) async throws -> ConnectionPooler {
        guard configuration.hasPooler else {
            throw ComputeError("The connection pooler needs PgBouncer (\(configuration.pgbouncerProgram)): install Debian's pgbouncer package.")
        }
        let directory = directory(port: spec.port, configuration: configuration)
        try? FileManager.default.removeItem(atPath: directory)
        try configuration.user.makeDirectory(configuration.socketDirectory, mode: 0o700)
        try configuration.user.makeDirectory(directory, mode: 0o700)
        try configuration.user.writeFile(directory + "/pgbouncer.ini", contents: settings(for: spec, configuration: configuration))
        // Each client and each server connection is a descriptor: as many as the hard limit allows.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let files = min(UInt64(limit.rlim_max), 20_000)
        // Kiln's threads block SIGTERM and SIGINT (Swift Service Lifecycle takes them) and children inherit
        // the mask; postgres resets it, PgBouncer does not, so `env --default-signal` does. PgBouncer 1.18
        // ignores SIGQUIT, postgres's death signal; SIGTERM ends it.
        let process = try await Launcher.shared.launch(
            configuration.user.command(
                [
                    "/usr/bin/env", "--default-signal", "/usr/bin/prlimit", "--nofile=\(files)", configuration.pgbouncerProgram,
                    directory + "/pgbouncer.ini",
                ], deathSignal: "SIGTERM"),
            logPath: directory + "/pgbouncer.log")
        let pooler = ConnectionPooler(process: process, socketPath: "\(directory)/.s.PGSQL.\(spec.port)")
        let deadline = ContinuousClock.now + timeout
        while !FileManager.default.fileExists(atPath: pooler.socketPath) {
            let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? ""
            if process.hasExited { throw ComputeError("PgBouncer did not start: \(Commands.tail(log))") }
            if ContinuousClock.now > deadline || Task.isCancelled {
                await pooler.stop()
                throw ComputeError("PgBouncer did not start within \(timeout): \(Commands.tail(log))")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return pooler
    }

    /// Whether PgBouncer still runs.
    var isRunning: Bool { !process.hasExited }

    /// Immediate shutdown, its clients cut off as when the compute stops: SIGTERM up to PgBouncer 1.22,
    /// SIGQUIT from 1.23 (which made SIGTERM wait for clients; 1.18 ignores SIGQUIT); SIGKILL after 5 s.
    func stop() async {
        await process.stop([SIGQUIT, SIGTERM], escalation: [(.seconds(5), SIGKILL)])
    }
}
