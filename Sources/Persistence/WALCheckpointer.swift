import Logging
import NIOPosix
import Synchronization
import VaporCSQLite

/// Checkpoints an SQLite database's write-ahead log, on NIO's thread pool, once commits have added
/// `threshold` frames (pages) to it since the last checkpoint; and has the log start over once it is
/// `restartLength` frames long.
///
/// SQLite's own auto-checkpoint (the same 1,000 pages) runs inside the COMMIT that passes the threshold,
/// and a checkpoint syncs the log and the database file to disk; so every write's COMMIT would have to leave
/// the task's thread in case it was that one. With this `wal_hook` installed instead (it replaces the
/// auto-checkpoint, which SQLite implements as a wal hook), a COMMIT appends to the log (`synchronous =
/// NORMAL`) and runs where the task runs; only the first COMMIT after the log starts over also syncs the
/// log's new header. The checkpoints are PASSIVE (they wait for no reader or writer), on a connection of their
/// own.
///
/// The log starts over only when a write begins with all of it checkpointed, which writes that come while a
/// checkpoint runs (one every 250 µs: a client importing notebooks) seldom let happen. So once the log is
/// `restartLength` frames long, the writer checkpoints it before the next write may begin (`SQLiteStore`,
/// `restartIsDue()`), and that write starts it over. The threshold counts frames since the last checkpoint,
/// not the log's length: counted by length, a log past 1,000 frames was checkpointed after nearly every commit,
/// with two `fsync`s each (0.23 checkpoints an import of a 64 KiB notebook at one connection, `perf stat`).
final class WALCheckpointer: Sendable {
    /// Frames added to the log since the last checkpoint from which a commit starts one (SQLite's default
    /// for its own).
    static let threshold: Int32 = 1000
    /// The log's length, in frames, from which it is made to start over: 4,000 frames of 4 KiB pages are
    /// about 16 MiB.
    static let restartLength: Int32 = 4 * threshold

    private struct State {
        /// Whether a checkpoint is running or queued on the thread pool.
        var running = false
        /// The log's length, in frames, at the last commit.
        var length: Int32 = 0
        /// How many frames of the log the last checkpoint left checkpointed.
        var checkpointed: Int32 = 0
        /// Whether a commit left the log `restartLength` frames long or more.
        var restartDue = false
    }

    private let session: SQLiteSession
    private let state = Mutex(State())

    init(session: SQLiteSession) {
        self.session = session
    }

    /// Makes every commit on `session` report the log's length to this checkpointer (which the session keeps).
    func watch(_ session: SQLiteSession) { session.reportCommits(to: self) }

    /// A commit left the log `frames` frames long: when it is `restartLength` long, the restart falls due;
    /// otherwise a checkpoint starts unless one is running or fewer than `threshold` frames came since the
    /// last one.
    func committed(pages frames: Int32) {
        let starts = state.withLock { state in
            // A log shorter than at the last commit has started over: none of its frames is checkpointed.
            if frames < state.length { state.checkpointed = 0 }
            state.length = frames
            guard frames < Self.restartLength else {
                state.restartDue = true
                return false
            }
            guard !state.running else { return false }
            // Shorter than what the last checkpoint covered, it started over as that checkpoint ended.
            let added = frames < state.checkpointed ? frames : frames - state.checkpointed
            guard added >= Self.threshold else { return false }
            state.running = true
            return true
        }
        guard starts else { return }
        NIOThreadPool.singleton.submit { [self] poolState in
            defer { state.withLock { $0.running = false } }
            // A pool that is shutting down hands the work back at once: SQLite checkpoints as the last
            // connection closes.
            guard case .active = poolState else { return }
            checkpoint()
        }
    }

    /// Whether the log has grown to `restartLength` frames since this was last asked; the writer then
    /// checkpoints it (`checkpoint()`) before it lets the next write begin.
    func restartIsDue() -> Bool {
        state.withLock { state in
            defer { state.restartDue = false }
            return state.restartDue
        }
    }

    /// Checkpoints the log on the calling thread, after any checkpoint that is running: copies the pages of
    /// every frame no reader still needs into the database file and syncs both. A failure is logged, not thrown:
    /// the writes it follows have committed.
    func checkpoint() {
        do {
            // One row: whether it was kept from finishing (busy), the log's frames, and those checkpointed.
            try session.run("PRAGMA wal_checkpoint(PASSIVE)", []) { row in
                guard let checkpointed = try? row.decode(column: "checkpointed", as: Int64.self) else { return }
                state.withLock { $0.checkpointed = Int32(clamping: max(0, checkpointed)) }
            }
        } catch {
            session.logger.warning("Checkpointing the SQLite log failed", metadata: ["error": "\(error)"])
        }
    }

    /// Closes the checkpointer's connection once a running checkpoint ends; one still queued then fails,
    /// with a warning in the log.
    func close() { session.close() }
}
