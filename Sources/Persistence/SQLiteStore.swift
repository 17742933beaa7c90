public import Logging
import KilnCore
import NIOCore
import NIOPosix
public import SQLKit
import SQLiteKit
import SQLiteNIO

/// SQLite in one file, in WAL mode: a small pool of connections for reads, and one writer at a time.
public final class SQLiteStore: Database {
    public let changeCounts = ChangeCounts()
    public let engine = DatabaseEngine.sqlite
    private let pool: SQLiteConnectionPool
    private let writerLock = AsyncLock()

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String, connections: Int = 4, logger: Logger) async throws -> SQLiteStore {
        var opened: [SQLiteConnection] = []
        for _ in 0..<max(1, connections) {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            let sql = connection.sql(queryLogLevel: .trace)
            try await sql.raw("PRAGMA busy_timeout = 10000").run()
            try await sql.raw("PRAGMA foreign_keys = ON").run()
            try await sql.raw("PRAGMA synchronous = NORMAL").run()
            if opened.isEmpty {
                try await sql.raw("PRAGMA journal_mode = WAL").run()
            }
            opened.append(connection)
        }
        return SQLiteStore(pool: SQLiteConnectionPool(connections: opened))
    }

    private init(pool: SQLiteConnectionPool) {
        self.pool = pool
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await pool.withConnection { connection in
            try await body(connection.sql(queryLogLevel: .trace))
        }
    }

    public func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        defer { changeCounts.writeCommitted() }
        return try await writerLock.withLock {
            try await pool.withConnection { connection in
                try await connection.sql(queryLogLevel: .trace).transaction(begin: "BEGIN IMMEDIATE", body)
            }
        }
    }

    public func shutdown() async {
        await pool.closeAll()
    }
}

/// Hands out each connection to one task at a time.
actor SQLiteConnectionPool {
    private var idle: [SQLiteConnection]
    private var all: [SQLiteConnection]
    private var waiters: [CheckedContinuation<SQLiteConnection, Never>] = []

    init(connections: [SQLiteConnection]) {
        self.idle = connections
        self.all = connections
    }

    nonisolated func withConnection<T: Sendable>(
        _ body: @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let connection = await acquire()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    private func acquire() async -> SQLiteConnection {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func release(_ connection: SQLiteConnection) {
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }

    func closeAll() async {
        for connection in all { try? await connection.close() }
        idle = []
        all = []
    }
}
