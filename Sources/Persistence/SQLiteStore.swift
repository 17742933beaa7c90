public import Logging
import KilnCore
import NIOPosix
public import SQLKit

/// SQLite in one file, in WAL mode: a small pool of connections for reads, and one writer at a time.
/// Statements run on the calling task's thread (`SQLiteSession`), except a write's BEGIN while another process
/// holds the write lock, and the log's checkpoints (`WALCheckpointer`), which wait for the other process or
/// for the disk on NIO's thread pool.
public final class SQLiteStore: Database {
    public let changeCounts = ChangeCounts()
    public let engine = DatabaseEngine.sqlite
    private let pool: SQLiteConnectionPool
    private let writerLock = AsyncLock()

    /// Opens (creating if needed) the database file at `path`. Throws `SQLiteFailure`.
    ///
    /// Every connection reads the file through a memory map of up to `mmapSize` bytes: a notebook's
    /// overflow pages are then copied from the map, where SQLite otherwise reads each 4 KiB page with a
    /// `pread` of its own (it reads overflow pages past its page cache).
    public static func open(path: String, connections: Int = 4, logger: Logger) async throws -> SQLiteStore {
        var opened: [SQLiteSession] = []
        do {
            // The first connection sets WAL mode; the last is the checkpointer's.
            for index in 0...max(1, connections) {
                let session = try SQLiteSession.open(path: path, logger: logger)
                opened.append(session)
                let pragmas = [
                    "busy_timeout = \(SQLiteSession.busyTimeout)", "foreign_keys = ON", "synchronous = NORMAL", "mmap_size = \(mmapSize)",
                ]
                for pragma in pragmas + (index == 0 ? ["journal_mode = WAL"] : []) {
                    try session.run("PRAGMA \(pragma)", []) { _ in }
                }
            }
        } catch {
            for session in opened { session.close() }
            throw error
        }
        let checkpointer = WALCheckpointer(session: opened.removeLast())
        for session in opened { checkpointer.watch(session) }
        return SQLiteStore(pool: SQLiteConnectionPool(connections: opened), checkpointer: checkpointer)
    }

    /// The most of the database file each connection maps into memory, in bytes.
    static let mmapSize = 256 << 20

    private let checkpointer: WALCheckpointer

    private init(pool: SQLiteConnectionPool, checkpointer: WALCheckpointer) {
        self.pool = pool
        self.checkpointer = checkpointer
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
                // BEGIN IMMEDIATE runs on the task's thread unless another process (`kiln admin`, another
                // Kiln) holds the write lock; then it waits for it, up to the busy timeout, on NIO's thread
                // pool. COMMIT appends to the log (the first after each checkpoint also syncs the log's new
                // header); the checkpoints, which sync the database file, run on the pool (`WALCheckpointer`).
                let boundary: @Sendable (String) async throws -> Void = { statement in
                    if try !session.runUnlessBusy(statement) {
                        try await NIOThreadPool.singleton.runIfActive { try session.run(statement, []) { _ in } }
                    }
                }
                return try await SQLiteSessionDatabase(session: session)
                    .transaction(begin: "BEGIN IMMEDIATE", boundary: boundary, body)
            }
        }
    }

    public func shutdown() async {
        await pool.closeAll()
        checkpointer.close()
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
