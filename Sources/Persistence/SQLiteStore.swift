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
            try await pool.withConnection(yieldingFirst: false) { session in
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
        pool.closeAll()
        checkpointer.close()
    }
}

/// Hands out each connection to one task at a time (`FairPool`: a task that finds none free waits for the
/// first one given back).
///
/// Not an actor: an actor's two hops a read (onto the actor and back to the task's executor) put every read
/// of a request answered on an event loop back through that loop's queue of tasks, and from the other loop's
/// thread when both used the pool (NIO then wakes the loop with a write to its eventfd).
final class SQLiteConnectionPool: Sendable {
    private let connections: FairPool<SQLiteSession>
    private let all: [SQLiteSession]

    init(connections: [SQLiteSession]) {
        self.connections = FairPool(connections)
        self.all = connections
    }

    /// Runs `body` with a connection of its own, given back when `body` returns or throws.
    ///
    /// It yields first, so that the task goes behind the work that was ready before it on its executor.
    /// Measured with 16 clients listing a folder of 1,000 notebooks (answered on Swift's global executor):
    /// without the yield the requests ran through unevenly, p99 100–170 ms and a standard deviation of
    /// 26–40 ms, against 21–25 ms and 4 ms with it, as with the actor this pool replaced (its hops made the
    /// same yields), for the same req/s. On an event loop (get-status) the yield costs nothing measurable.
    ///
    /// A write does not yield (`yieldingFirst: false`): it takes the writer lock first, which serves its
    /// waiters first in, first out; and on Swift's global executor a yield costs a change of thread (Dispatch
    /// wakes another worker for the task put back on its queue, while this one goes to sleep).
    func withConnection<T: Sendable>(
        yieldingFirst: Bool = true, _ body: @Sendable (SQLiteSession) async throws -> T
    ) async throws -> T {
        if yieldingFirst { await Task.yield() }
        let connection = await connections.take()
        defer { connections.giveBack(connection) }
        return try await body(connection)
    }

    /// Closes every connection, lent out or not; none is handed out afresh.
    func closeAll() {
        connections.removeFree()
        for connection in all { connection.close() }
    }
}
