import Logging
import NIOPosix
import Synchronization
import VaporCSQLite

/// Checkpoints an SQLite database's write-ahead log on NIO's thread pool, one checkpoint at a time, once a
/// commit leaves the log at `threshold` pages or more.
///
/// SQLite's own auto-checkpoint (the same 1,000 pages) runs inside the COMMIT that passes the threshold,
/// and a checkpoint syncs the log and the database file to disk; so every write's COMMIT would have to leave
/// the task's thread in case it was that one. With this `wal_hook` installed instead (it replaces the
/// auto-checkpoint, which SQLite implements as a wal hook), a COMMIT appends to the log (`synchronous =
/// NORMAL`) and runs where the task runs; only the first COMMIT after each checkpoint also syncs the log's
/// new header. The checkpoint is PASSIVE, on a connection of its own: it waits for no reader or writer.
final class WALCheckpointer: Sendable {
    /// The log's size, in pages, from which a commit starts a checkpoint (SQLite's default for its own).
    static let threshold: Int32 = 1000

    private let session: SQLiteSession
    private let running = Atomic<Bool>(false)

    init(session: SQLiteSession) {
        self.session = session
    }

    /// Makes every commit on `session` report the log's size to this checkpointer (which the session keeps).
    func watch(_ session: SQLiteSession) { session.reportCommits(to: self) }

    /// A commit left the log at `pages` pages: starts a checkpoint unless one is running or the log is small.
    func committed(pages: Int32) {
        guard pages >= Self.threshold, running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return
        }
        NIOThreadPool.singleton.submit { [self] state in
            defer { running.store(false, ordering: .releasing) }
            // A pool that is shutting down hands the work back at once: SQLite checkpoints as the last
            // connection closes.
            guard case .active = state else { return }
            do {
                try session.run("PRAGMA wal_checkpoint(PASSIVE)", []) { _ in }
            } catch {
                session.logger.warning("Checkpointing the SQLite log failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Closes the checkpointer's connection once a running checkpoint ends; one still queued then fails,
    /// with a warning in the log.
    func close() { session.close() }
}
