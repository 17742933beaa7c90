import Foundation
import Logging
import NIOPosix
import PostgresNIO

/// Kiln's own SQL on a compute: `kiln_system` over the Unix socket.
public enum AdminSession {
    /// Runs `statements` in order on `database`, each on its own (no transaction: `CREATE DATABASE`
    /// cannot run in one).
    public static func run(configuration: ComputeConfiguration, port: Int, database: String, _ statements: [String]) async throws {
        try await withConnection(configuration: configuration, port: port, database: database) { connection in
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }

    /// Ends every session on `database` (the name is bound).
    public static func terminateSessions(configuration: ComputeConfiguration, port: Int, database: String) async throws {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            _ = try await strings(connection, "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = \(database)")
        }
    }

    /// Drops the physical replication slot `slot` if there is one (the name is bound).
    public static func dropReplicationSlot(configuration: ComputeConfiguration, port: Int, slot: String) async throws {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            _ = try await strings(connection, "SELECT pg_drop_replication_slot(slot_name)::text FROM pg_replication_slots WHERE slot_name = \(slot)")
        }
    }

    /// The databases clients can connect to (not the templates).
    public static func databases(configuration: ComputeConfiguration, port: Int) async throws -> [String] {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            try await strings(connection, "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate")
        }
    }

    /// Runs a query (tests' own SQL) and returns the first column of every row as text.
    static func strings(configuration: ComputeConfiguration, port: Int, database: String, _ sql: String) async throws -> [String] {
        try await withConnection(configuration: configuration, port: port, database: database) { connection in
            try await strings(connection, PostgresQuery(unsafeSQL: sql))
        }
    }

    /// Every role that may log in now, with its SCRAM secret (`pg_authid.rolpassword`, "" for none).
    public static func loginVerifiers(configuration: ComputeConfiguration, port: Int) async throws -> [String: String] {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            try await connection.query("SET statement_timeout TO 5000", logger: logger) // never hold a suspend long
            var verifiers: [String: String] = [:]
            let rows = try await connection.query(
                """
                SELECT rolname::text, coalesce(rolpassword, '') FROM pg_authid
                WHERE rolcanlogin AND (rolvaliduntil IS NULL OR rolvaliduntil > now())
                """, logger: logger)
            for try await (name, secret) in rows.decode((String, String).self) { verifiers[name] = secret }
            return verifiers
        }
    }

    /// Whether a role named `role` exists on the compute (the name is bound, not spliced into the SQL).
    public static func roleExists(configuration: ComputeConfiguration, port: Int, role: String) async throws -> Bool {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            try await !strings(connection, "SELECT rolname::text FROM pg_roles WHERE rolname = \(role)").isEmpty
        }
    }

    /// Commits a transaction that writes WAL (a transactional logical message: so its commit record, which
    /// carries the time now, is flushed at once, as a commit that only took an id is not) and returns the
    /// WAL position flushed after it.
    static func markPoint(configuration: ComputeConfiguration, port: Int) async throws -> LSN {
        try await withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            _ = try await strings(connection, "SELECT pg_catalog.pg_logical_emit_message(true, 'kiln', 'branch point')::text")
            guard let text = try await strings(connection, "SELECT pg_catalog.pg_current_wal_flush_lsn()::text").first, let lsn = LSN(text) else {
                throw ComputeError("pg_current_wal_lsn returned nothing.")
            }
            return lsn
        }
    }

    static let logger = Logger(label: "kiln.compute.admin")

    /// Opens a `kiln_system` connection to `database` on the compute serving `port`, through its Unix
    /// socket. `timeLimit` bounds the whole of it, the startup and authentication included (PostgresNIO's
    /// `connectTimeout` runs until the connection is ready), so a compute that accepts the socket but never
    /// answers (a stopped postmaster) fails it. Throws `ComputeError`.
    static func connect(
        configuration: ComputeConfiguration, port: Int, database: String, timeLimit: Duration = .seconds(10)
    ) async throws -> PostgresConnection {
        let socket = "\(configuration.socketDirectory)/.s.PGSQL.\(port)"
        var settings = PostgresConnection.Configuration(unixSocketPath: socket, username: "kiln_system", password: nil, database: database)
        settings.options.connectTimeout = TimeAmount(timeLimit)
        do {
            return try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: settings, id: 1, logger: logger)
        } catch {
            throw ComputeError("Cannot reach the compute: \(String(reflecting: error))")
        }
    }

    static func strings(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await row in try await connection.query(query, logger: logger) {
            values.append(try row.decode(String.self))
        }
        return values
    }

    static func withConnection<T: Sendable>(
        configuration: ComputeConfiguration, port: Int, database: String,
        _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(configuration: configuration, port: port, database: database)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch let error as PSQLError {
            try? await connection.close()
            throw ComputeError(error.serverInfo?[.message] ?? String(reflecting: error))
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Quoting for SQL that cannot take bind parameters (DDL); queries bind their values instead.
public enum SQLText {
    /// `"name"`, with inner quotes doubled.
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `'text'`, with inner quotes doubled (standard_conforming_strings is on).
    public static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
