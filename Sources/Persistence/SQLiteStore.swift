public import Logging
import KilnCore
import NIOPosix
public import SQLKit

/// SQLite in one file, in WAL mode: a small pool of connections for reads, and one writer at a time.
/// Statements run on the calling task's thread (`SQLiteSession`), except a write's BEGIN and COMMIT, which
/// may wait for another process or for the disk.
public final class SQLiteStore: Database {
    public let changeCounts = ChangeCounts()
    public let engine = DatabaseEngine.sqlite
    private let pool: SQLiteConnectionPool
    private let writerLock = AsyncLock()

    /// Opens (creating if needed) the database file at `path`. Throws `SQLiteFailure`.
    public static func open(path: String, connections: Int = 4, logger: Logger) async throws -> SQLiteStore {
        var opened: [SQLiteSession] = []
        do {
            for _ in 0..<max(1, connections) {
                let session = try SQLiteSession.open(path: path, logger: logger)
                opened.append(session)
                let pragmas = ["busy_timeout = 10000", "foreign_keys = ON", "synchronous = NORMAL"]
                for pragma in pragmas + (opened.count == 1 ? ["journal_mode = WAL"] : []) {
                    try session.run("PRAGMA \(pragma)", []) { _ in }
                }
            }
        } catch {
            for session in opened { session.close() }
            throw error
        }
        return SQLiteStore(pool: SQLiteConnectionPool(connections: opened))
    }

    private init(pool: SQLiteConnectionPool) {
        self.pool = pool
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await pool.withConnection { session in
            try await body(SQLiteSessionDatabase(session: session))
        }
    }

    public func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        defer { changeCounts.writeCommitted() }
        return try await writerLock.withLock {
            try await pool.withConnection { session in
                // A write's BEGIN IMMEDIATE, COMMIT and ROLLBACK run on NIO's thread pool, not on the task's
                // thread: BEGIN IMMEDIATE waits (up to the busy timeout) while another process writes (`kiln
                // admin`), and a COMMIT that passes SQLite's checkpoint size (1,000 pages) syncs the log and the
                // file to disk.
                let boundary: @Sendable (String) async throws -> Void = { statement in
                    try await NIOThreadPool.singleton.runIfActive { try session.run(statement, []) { _ in } }
                }
                return try await SQLiteSessionDatabase(session: session)
                    .transaction(begin: "BEGIN IMMEDIATE", boundary: boundary, body)
            }
        }
    }

    public func shutdown() async {
        await pool.closeAll()
    }
}

/// Hands out each connection to one task at a time.
actor SQLiteConnectionPool {
    private var idle: [SQLiteSession]
    private var all: [SQLiteSession]
    private var waiters: [CheckedContinuation<SQLiteSession, Never>] = []

    init(connections: [SQLiteSession]) {
        self.idle = connections
        self.all = connections
    }

    nonisolated func withConnection<T: Sendable>(
        _ body: @Sendable (SQLiteSession) async throws -> T
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

    private func acquire() async -> SQLiteSession {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func release(_ connection: SQLiteSession) {
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }

    func closeAll() async {
        for connection in all { connection.close() }
        idle = []
        all = []
    }
}
