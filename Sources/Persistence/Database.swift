public import SQLKit

/// Kiln's metadata store: one API over SQLite and PostgreSQL.
///
/// Reads run on any pooled connection. Writes run in a transaction; on SQLite they are serialised
/// (one writer at a time, `BEGIN IMMEDIATE`), on PostgreSQL a write may name a `lockKey`, and writes
/// with the same key are serialised with a transaction-scoped advisory lock.
public protocol Database: Sendable {
    /// Which engine this is; migrations use it to pick dialect-specific DDL.
    var engine: DatabaseEngine { get }

    /// The counts of changes to what this process keeps in memory (`RowCache`); `write` tells them of
    /// each commit.
    var changeCounts: ChangeCounts { get }

    /// Runs `body` on one connection, outside any explicit transaction. With `yieldingFirst` (the usual
    /// read), SQLite's pool first lets the work that was ready before it on Swift's global executor run (not on
    /// an event loop: `SQLiteConnectionPool`); a read of one row that a request cannot do without
    /// (`ChangeCount`'s) passes false, since there that yield costs a change of thread. PostgreSQL's pool does
    /// not yield.
    func read<T: Sendable>(yieldingFirst: Bool, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` in a transaction that commits when it returns and rolls back when it throws.
    func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T

    /// Closes every connection. The database is unusable afterwards.
    func shutdown() async
}

extension Database {
    /// Runs `body`, then shuts the database down, whether `body` returned or threw.
    public func closing<T: Sendable>(after body: @Sendable () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Runs `body` on one connection, outside any explicit transaction, after letting the work that was ready
    /// before it run where that is SQLite's rule (`read(yieldingFirst: true, _:)`).
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await read(yieldingFirst: true, body)
    }

    /// A write without a serialisation key.
    public func write<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await write(lockKey: nil, body)
    }
}

/// The two engines Kiln stores its metadata in.
public enum DatabaseEngine: String, Sendable {
    case sqlite
    case postgres
}
