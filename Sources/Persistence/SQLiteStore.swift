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
    ///
    /// `connections` connections (at least one) serve reads; one more serves writes, and one the checkpoints.
    /// Writes have a connection of their own because SQLite drops a connection's map, and its cache, whenever
    /// it begins a transaction after another connection's commit (`pagerBeginReadTransaction`): the writer
    /// never does after its own, so a run of imports keeps its map (measured at 16 clients: about one munmap,
    /// with its TLB shootdown, an import when writes took any pooled connection; none since).
    public static func open(path: String, connections: Int = 4, logger: Logger) async throws -> SQLiteStore {
        var opened: [SQLiteSession] = []
        do {
            // The first connection (the writer) sets WAL mode; the last is the checkpointer's.
            for index in 0...max(1, connections) + 1 {
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
        let writer = opened.removeFirst()
        return SQLiteStore(pool: SQLiteConnectionPool(connections: opened), writer: writer, checkpointer: checkpointer)
    }

    /// The most of the database file each connection maps into memory, in bytes.
    static let mmapSize = 256 << 20

    private let checkpointer: WALCheckpointer
    /// The connection writes run on, one at a time (`writerLock`).
    private let writer: SQLiteSession

    private init(pool: SQLiteConnectionPool, writer: SQLiteSession, checkpointer: WALCheckpointer) {
        self.pool = pool
        self.writer = writer
        self.checkpointer = checkpointer
    }

    public func read<T: Sendable>(yieldingFirst: Bool, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await pool.withConnection(yieldingFirst: yieldingFirst) { session in
            try await body(SQLiteSessionDatabase(session: session))
        }
    }

    public func write<T: Sendable>(
        lockKey: Int64?,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let session = writer
        return try await writerLock.withLock {
            let result = try await changeCounts.committing(body) { body in
                // BEGIN IMMEDIATE runs on the task's thread unless another process (`kiln admin`, another
                // Kiln) holds the write lock; then it waits for it, up to the busy timeout, on NIO's thread
                // pool. COMMIT appends to the log (the first after the log starts over also syncs its new
                // header); the checkpoints, which sync the database file, run on the pool (`WALCheckpointer`).
                let boundary: @Sendable (String) async throws -> Void = { statement in
                    if try !session.runUnlessBusy(statement) {
                        try await NIOThreadPool.singleton.runIfActive { try session.run(statement, []) { _ in } }
                    }
                }
                return try await SQLiteSessionDatabase(session: session).transaction(
                    begin: "BEGIN IMMEDIATE", boundary: boundary, body)
            }
            // The log is long: checkpointed while no write of this process can begin, it is all copied (unless a
            // reader still needs part of it), and the next write starts it over (`WALCheckpointer`). After the
            // counts are told of the commit (`committing`), so that what is kept in memory does not answer from
            // before it while the checkpoint syncs the file.
            if checkpointer.restartIsDue() {
                try? await NIOThreadPool.singleton.runIfActive { [checkpointer] in checkpointer.checkpoint() }
            }
            return result
        }
    }

    public func shutdown() async {
        writer.close()
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
    /// On Swift's global executor it yields first, so that the task goes behind the work that was ready before
    /// it there. Measured with 16 clients listing a folder of 1,000 notebooks: without the yield the requests
    /// ran through unevenly, p99 100–170 ms and a standard deviation of 26–40 ms, against 21–25 ms and 4 ms
    /// with it, as with the actor this pool replaced (its hops made the same yields), for the same req/s.
    ///
    /// On an event loop it does not yield: the loop's reads take a row or two, and a yield there costs a pass
    /// through the loop's queue of tasks. A read that passes `yieldingFirst: false` does not either: on Swift's
    /// global executor a yield costs a change of thread (Dispatch wakes another worker for the task put back on
    /// its queue, while this one goes to sleep).
    func withConnection<T: Sendable>(
        yieldingFirst: Bool = true, _ body: @Sendable (SQLiteSession) async throws -> T
    ) async throws -> T {
        if yieldingFirst, MultiThreadedEventLoopGroup.currentEventLoop == nil { await Task.yield() }
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
