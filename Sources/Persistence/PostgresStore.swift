public import Logging
import PostgresKit
public import PostgresNIO
public import SQLKit

/// PostgreSQL through postgres-nio's pooled client. The client is a `Service`: it must run in the
/// application's service group for connections to be made.
public final class PostgresStore: Database {
    public let engine = DatabaseEngine.postgres
    public let changeCounts = ChangeCounts()
    /// The connection pool; run it as a service.
    public let client: PostgresClient

    /// A store for the server named by `url` (`postgres://user:password@host:port/database`; a `host`
    /// query item that is a path selects a Unix socket directory; `sslmode=disable|prefer|require`).
    public init(url: String, logger: Logger) throws {
        self.client = PostgresClient(configuration: try PostgresURL.parse(url), backgroundLogger: logger)
    }

    public func read<T: Sendable>(yieldingFirst: Bool, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: .trace))
        }
    }

    public func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await changeCounts.committing(body) { body in
            try await client.withConnection { connection in
                try await connection.sql(queryLogLevel: .trace).transaction(begin: "BEGIN ISOLATION LEVEL READ COMMITTED") { db in
                    if let lockKey {
                        try await db.raw("SELECT pg_advisory_xact_lock(\(bind: lockKey))").run()
                    }
                    return try await body(db)
                }
            }
        }
    }

    public func shutdown() async {}

    /// Runs `body` with the connection pool running, for one-off tasks outside a service group.
    public func withRunningClient<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
