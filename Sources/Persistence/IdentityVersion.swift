import SQLKit
import Synchronization

/// The count of changes to the tables Kiln keeps in memory to authenticate a request — `workspaces`,
/// `users`, `tokens`, `account_groups`, `group_members` and `workspace_assignments` — kept by triggers in
/// the transaction that makes the change (migration 8), so that no writer can change them unseen: not
/// this process, not another Kiln on the same PostgreSQL, not `kiln admin` on the same SQLite file.
///
/// A cache stamps what it reads with `current(_:)` and uses it only while that stays the same. The
/// count is read from the database again after every write this process commits, so a caller sees its
/// own changes at once, and otherwise at most every `recheckInterval`, which bounds how long a change
/// made by another process goes unseen (250 ms).
public final class IdentityVersion: Sendable {
    /// How long a count read from the database stands for changes made by other processes.
    public static let recheckInterval = Duration.milliseconds(250)

    private struct State {
        /// The highest count read so far (-1: none yet).
        var known: Int64 = -1
        /// When it was last read; nil: read it again before it is used.
        var checked: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init() {}

    /// The count of changes now: the last one read when it is fresh, else read again. Nil when it cannot
    /// be read (a database older than migration 8): then nothing may be cached.
    public func current(_ database: any Database) async -> Int64? {
        let now = ContinuousClock.now
        let fresh = state.withLock { state -> Int64? in
            guard let checked = state.checked, checked.duration(to: now) < Self.recheckInterval else { return nil }
            return state.known
        }
        if let fresh { return fresh }
        guard let read = try? await database.read({ db in try await Self.read(db) }) else { return nil }
        return state.withLock { state in
            // Counts only grow: a slower reader's older count does not replace a newer one.
            state.known = max(state.known, read)
            state.checked = now
            return state.known
        }
    }

    /// Called by the stores when a write transaction has committed: whatever it changed, the count is
    /// read again before the next use.
    func writeCommitted() {
        state.withLock { $0.checked = nil }
    }

    static func read(_ db: any SQLDatabase) async throws -> Int64 {
        try await db.select().column("version").from("cache_versions").where("topic", .equal, "identity")
            .first()?.decode(column: "version", as: Int64.self) ?? 0
    }

    /// Migration 8's statements: the `cache_versions` table and the triggers that count the changes.
    /// On PostgreSQL the trigger runs before each statement, so a transaction takes the count's row lock
    /// before any row of the tables it counts: two transactions cannot each hold a row the other waits
    /// for. SQLite has one writer at a time and triggers for each row only.
    static func migration(_ engine: DatabaseEngine) -> [String] {
        let tables = ["workspaces", "users", "tokens", "account_groups", "group_members", "workspace_assignments"]
        let count = "UPDATE cache_versions SET version = version + 1 WHERE topic = 'identity'"
        var statements = [
            "CREATE TABLE cache_versions (topic TEXT PRIMARY KEY, version BIGINT NOT NULL)",
            "INSERT INTO cache_versions (topic, version) VALUES ('identity', 0)",
        ]
        switch engine {
        case .postgres:
            statements.append(
                "CREATE FUNCTION kiln_count_identity_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(count); RETURN NULL; END $$")
            for table in tables {
                statements.append(
                    """
                    CREATE TRIGGER \(table)_count_identity_change BEFORE INSERT OR UPDATE OR DELETE ON \(table)
                    FOR EACH STATEMENT EXECUTE PROCEDURE kiln_count_identity_change()
                    """)
            }
        case .sqlite:
            for table in tables {
                for event in ["INSERT", "UPDATE", "DELETE"] {
                    statements.append(
                        "CREATE TRIGGER \(table)_count_identity_\(event.lowercased()) AFTER \(event) ON \(table) BEGIN \(count); END")
                }
            }
        }
        return statements
    }
}
