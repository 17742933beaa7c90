public import Logging
import PostgresKit
public import PostgresNIO
public import SQLKit
public import ServiceLifecycle

/// PostgreSQL through postgres-nio's pooled client. The client is a `Service`: it must run in the
/// application's service group for connections to be made.
public final class PostgresStore: Database {
    public let engine = DatabaseEngine.postgres
    /// The connection pool; run it as a service.
    public let client: PostgresClient

    /// A store for the server named by `url` (`postgres://user:password@host:port/database`; a `host`
    /// query item that is a path selects a Unix socket directory; `sslmode=disable|prefer|require`).
    public init(url: String, logger: Logger) throws {
        self.client = PostgresClient(configuration: try PostgresURL.parse(url), backgroundLogger: logger)
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: .trace))
        }
    }

    public func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await client.withConnection { connection in
            let sql = connection.sql(queryLogLevel: .trace)
            try await sql.raw("BEGIN").run()
            do {
                if let lockKey {
                    try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: lockKey))").run()
                }
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func shutdown() async {}
}
