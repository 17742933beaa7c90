import PostgresNIO

/// One open `kiln_system` connection to the `postgres` database of each compute, for Kiln's small
/// frequent queries (the proxy's password checks), so that they do not start a postgres backend each
/// time. A connection whose postgres stopped is replaced on the next use. A query, or a new connection's
/// startup, that takes longer than `timeLimit` fails (`ComputeError`) and its connection is closed, so that a
/// compute that stops answering (a hung backend, a stopped postmaster) fails a client's login instead of
/// holding it for ever.
actor AdminConnections {
    private let configuration: ComputeConfiguration
    private let timeLimit: Duration
    private var connections: [Int: PostgresConnection] = [:]

    /// `timeLimit`: the longest a query, or a connection's startup, may take; 10 s by default (Kiln's queries
    /// here take milliseconds).
    init(configuration: ComputeConfiguration, timeLimit: Duration = .seconds(10)) {
        self.configuration = configuration
        self.timeLimit = timeLimit
    }

    /// The stored SCRAM secret of `role` (`pg_authid.rolpassword`, "" when it has none) if it may log in
    /// now, or nil. `role` is what a proxy client sent as its user name: it is bound, never spliced into
    /// the SQL.
    func loginSecret(port: Int, role: String) async throws -> String? {
        try await strings(
            port: port,
            """
            SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = \(role) AND rolcanlogin
            AND (rolvaliduntil IS NULL OR rolvaliduntil > now())
            """
        ).first
    }

    /// Whether a client backend other than Kiln's own is in a query or a transaction, or changed state in
    /// the last `seconds` seconds (as Neon's compute_ctl judges activity from `pg_stat_activity`).
    func hasClientActivity(port: Int, seconds: Int) async throws -> Bool {
        try await strings(
            port: port,
            """
            SELECT count(*)::text FROM pg_catalog.pg_stat_activity
            WHERE backend_type = 'client backend' AND usename IS DISTINCT FROM 'kiln_system'
            AND (state IS DISTINCT FROM 'idle' OR state_change > pg_catalog.now() - pg_catalog.make_interval(secs => \(seconds)))
            """
        ).first != "0"
    }

    /// Runs a query on the compute serving `port`; returns the first column of every row as text. Throws
    /// `ComputeError` when the query fails, or takes longer than `timeLimit` (then on the kept connection,
    /// without trying a new one: the compute is not answering).
    func strings(port: Int, _ query: PostgresQuery) async throws -> [String] {
        if let open = connections[port], !open.isClosed {
            do {
                return try await limited(open, port: port, query)
            } catch let error as ComputeError {
                throw error
            } catch {
                // The kept connection failed (its postgres restarted, say): the query goes on a new one.
            }
        }
        let connection = try await replace(port: port)
        do {
            return try await limited(connection, port: port, query)
        } catch let error as PSQLError {
            throw ComputeError(error.serverInfo?[.message] ?? String(reflecting: error))
        }
    }

    /// Runs `query` on `connection`, closing the connection when the query takes longer than `timeLimit`:
    /// that fails the query (PostgresNIO does not stop a query when its task is cancelled).
    private func limited(_ connection: PostgresConnection, port: Int, _ query: PostgresQuery) async throws -> [String] {
        let limit = timeLimit
        return try await withThrowingTaskGroup(of: [String]?.self) { group in
            group.addTask { try await AdminSession.strings(connection, query) }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            if let values = try await group.next() ?? nil { return values }
            try? await connection.close()
            throw ComputeError("The compute on port \(port) did not answer Kiln's query within \(limit).")
        }
    }

    /// Closes the connection to the compute on `port` (it is stopping).
    func close(port: Int) async {
        try? await connections.removeValue(forKey: port)?.close()
    }

    /// Closes every connection (Kiln is stopping).
    func closeAll() async {
        let all = connections.values
        connections.removeAll()
        for connection in all { try? await connection.close() }
    }

    private func replace(port: Int) async throws -> PostgresConnection {
        let stale = connections.removeValue(forKey: port)
        try? await stale?.close()
        let connection = try await AdminSession.connect(configuration: configuration, port: port, database: "postgres", timeLimit: timeLimit)
        // Another caller may have connected while this one waited: keep one.
        if let other = connections[port], !other.isClosed {
            try? await connection.close()
            return other
        }
        connections[port] = connection
        return connection
    }
}
