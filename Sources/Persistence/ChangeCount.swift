import SQLKit
import Synchronization

/// What Kiln keeps in memory (`RowCache`), each named by the tables it is read from.
public enum ChangeTopic: String, Sendable, CaseIterable {
    /// What authenticates a request: workspaces, users and service principals, tokens, groups and their
    /// members, workspace assignments.
    case identity
    /// Workspace object permissions.
    case objectGrants = "object_grants"
    /// Workspace objects (what a get-status answers), on SQLite only (migration 10): there Kiln is the only
    /// server on the file. On PostgreSQL one count bumped by every object write would queue the writers of
    /// every replica on its row, and a replica would miss another's import for up to `recheckInterval`, which
    /// a client sent to another replica by the next call would see; there a get-status reads its row.
    case objects

    /// The topics of migration 7, as it made them (a topic added later comes with a migration of its own).
    static let firstCounted: [ChangeTopic] = [.identity, .objectGrants]

    /// The tables whose changes the topic counts.
    var tables: [String] {
        switch self {
        case .identity: ["workspaces", "users", "tokens", "account_groups", "group_members", "workspace_assignments"]
        case .objectGrants: ["workspace_object_acls"]
        case .objects: ["workspace_objects"]
        }
    }

    /// Tables whose deletes and changes to `column` the topic also counts: grants are kept by their
    /// object's path, so a deleted object (whose grants go with it, `ON DELETE CASCADE`) or a path that
    /// changed counts even where foreign keys are off.
    var keyTables: [(table: String, column: String)] {
        switch self {
        case .identity, .objects: []
        case .objectGrants: [("workspace_objects", "path")]
        }
    }
}

/// The count of changes to one topic's tables, kept by triggers in the transaction that makes the change
/// (migration 7; migration 10 for objects, on SQLite), so that no writer can change them unseen: not this
/// process, not another Kiln on the same PostgreSQL, not `kiln admin` on the same SQLite file, not a cascading
/// delete.
///
/// A cache stamps what it reads with `current(_:)` — an epoch of this process that moves whenever the
/// count read from the database differs from the last one read, up or down (a restored database) — and
/// uses it only while the epoch stays the same. Each write this process commits reads the counts in its
/// transaction, last, and they stand from that read once it has committed, so a caller sees its own changes at
/// once and the next request reads nothing more; otherwise the count is read again at most every
/// `recheckInterval`, which bounds how long a change made by another process goes unseen.
public final class ChangeCount: Sendable {
    /// How long a count read from the database stands for changes made by other processes: 250 ms.
    public static let recheckInterval = Duration.milliseconds(250)

    private struct State {
        /// The count last read, and which read it came from (reads are numbered as they start, and a
        /// write's count as it is applied).
        var count: Int64?
        var countRead = 0
        var nextRead = 1
        /// What caches stamp their values with.
        var epoch: Int64 = 0
        /// When the count was last read; nil: read it again before it is used.
        var checked: ContinuousClock.Instant?
        /// Moves with each committed write, so a read that began before one does not count as fresh.
        var writes = 0

        /// The epoch, while the count read last stands at `now`: read less than `recheckInterval` before it,
        /// and no write of this process committed since without reading it.
        func standingEpoch(at now: ContinuousClock.Instant) -> Int64? {
            guard let checked, checked.duration(to: now) < ChangeCount.recheckInterval else { return nil }
            return epoch
        }
    }

    public let topic: ChangeTopic
    private let state = Mutex(State())

    init(_ topic: ChangeTopic) {
        self.topic = topic
    }

    /// Whether the count has been read once, so the table that keeps it exists (a write reads the counts only
    /// then: a failed statement would end its transaction on PostgreSQL).
    var known: Bool {
        state.withLock { $0.count != nil }
    }

    /// The epoch, if it stands without reading the count (`current`'s first case); nil when `current` would
    /// read the count. Synchronous, so that a cache hit (`RowCache.value`) makes no asynchronous call.
    public func standingEpoch() -> Int64? {
        let now = ContinuousClock.now
        return state.withLock { $0.standingEpoch(at: now) }
    }

    /// The epoch now: as it stands while the count was read less than `recheckInterval` ago and no write
    /// has committed since without reading it, else after reading the count again. Nil when it cannot be
    /// read (a database older than migration 7): then nothing may be cached.
    public func current(_ database: any Database) async -> Int64? {
        let now = ContinuousClock.now
        let (fresh, read, writes) = state.withLock { state -> (Int64?, Int, Int) in
            if let epoch = state.standingEpoch(at: now) { return (epoch, 0, 0) }
            state.nextRead += 1
            return (nil, state.nextRead, state.writes)
        }
        if let fresh { return fresh }
        let topic = topic.rawValue
        guard
            let count = try? await database.read(
                yieldingFirst: false,
                { db in
                    try await db.raw("SELECT version FROM cache_versions WHERE topic = \(bind: topic)").first()?.int64("version")
                })
        else { return nil }
        return state.withLock { state in
            // A read that began before another one already applied says nothing newer.
            if read > state.countRead {
                if count != state.count { state.epoch += 1 }
                (state.count, state.countRead) = (count, read)
            }
            // Fresh only if no write of this process committed while it was read.
            if state.writes == writes { state.checked = now }
            return state.epoch
        }
    }

    /// A write of this process committed, having read `count` in its transaction after its changes, at `readAt`;
    /// nil when it did not (it failed, or the count was not known): then the count is read again before its
    /// next use.
    ///
    /// A count read in the transaction is the latest this process has as the write commits: it is applied after
    /// every read that began before now (those may have read before the commit), and stands from `readAt`, as a
    /// count read by `current` stands from before its read: another process's change committed after that read
    /// is seen within `recheckInterval` of it, as any change of another process is.
    func writeCommitted(count: Int64?, readAt: ContinuousClock.Instant) {
        state.withLock { state in
            state.writes += 1
            guard let count else {
                state.checked = nil
                return
            }
            state.nextRead += 1
            if count != state.count { state.epoch += 1 }
            (state.count, state.countRead, state.checked) = (count, state.nextRead, readAt)
        }
    }
}

/// One `ChangeCount` for each topic, per store; the stores tell them of each write's commit.
public struct ChangeCounts: Sendable {
    public let identity = ChangeCount(.identity)
    public let objectGrants = ChangeCount(.objectGrants)
    public let objects = ChangeCount(.objects)

    public init() {}

    public subscript(_ topic: ChangeTopic) -> ChangeCount {
        switch topic {
        case .identity: identity
        case .objectGrants: objectGrants
        case .objects: objects
        }
    }

    /// The counts a write read in its transaction, and the time before it read them.
    struct Counts: Sendable {
        var values: [ChangeTopic: Int64]
        var readAt: ContinuousClock.Instant
    }

    /// Whether a topic's count has been read once: the table that keeps them all exists (migration 7), so a
    /// write may read them in its transaction.
    private var known: Bool {
        ChangeTopic.allCases.contains { self[$0].known }
    }

    /// Runs a store's write and tells the counts of its outcome: `transaction` runs the body it is given in the
    /// write's transaction, which is `body` followed, once a count is known, by a read of every topic's count
    /// (one statement), so that the counts stand from that read once the write has committed. A write that
    /// throws, or read none, has each count read again before its next use. Rethrows what `transaction` throws.
    func committing<T: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> T,
        through transaction: @Sendable (@Sendable (any SQLDatabase) async throws -> (T, Counts?)) async throws -> (T, Counts?)
    ) async throws -> T {
        let readsCounts = known
        do {
            // `transaction` calls what it is given before it returns; Swift cannot see that through two closures.
            let (result, counts) = try await withoutActuallyEscaping(body) { body in
                try await transaction { db in
                    let result = try await body(db)
                    // A count that cannot be read leaves them all to be read again (on PostgreSQL the failed
                    // statement has ended the transaction, and the COMMIT fails).
                    return (result, readsCounts ? try? await Self.read(db) : nil)
                }
            }
            writeCommitted(counts)
            return result
        } catch {
            writeCommitted(nil)
            throw error
        }
    }

    /// Every topic's count, read in a write's transaction (`db`), and when: the time before the read.
    private static func read(_ db: any SQLDatabase) async throws -> Counts {
        let readAt = ContinuousClock.now
        var counts: [ChangeTopic: Int64] = [:]
        for row in try await db.raw("SELECT topic, version FROM cache_versions").all() {
            if let topic = ChangeTopic(rawValue: try row.string("topic")) { counts[topic] = try row.int64("version") }
        }
        return Counts(values: counts, readAt: readAt)
    }

    /// A write committed, with the counts it read in its transaction (nil: none).
    private func writeCommitted(_ counts: Counts?) {
        let readAt = counts?.readAt ?? .now
        for topic in ChangeTopic.allCases { self[topic].writeCommitted(count: counts?.values[topic], readAt: readAt) }
    }

    /// Migration 7's statements: the `cache_versions` table, a row for each of its topics, and the triggers that
    /// count the changes. On PostgreSQL the triggers run before each statement, so a transaction takes the
    /// count's row lock before any row of the tables it counts, and two transactions cannot each hold a
    /// row the other waits for. SQLite has one writer at a time and triggers for each row only (they also
    /// fire for the rows a foreign key's `ON DELETE CASCADE` deletes).
    static func migration(_ engine: DatabaseEngine) -> [String] {
        ["CREATE TABLE cache_versions (topic TEXT PRIMARY KEY, version BIGINT NOT NULL)"]
            + counting(ChangeTopic.firstCounted, engine)
    }

    /// Migration 10's statements: the count of `ChangeTopic.objects`, on SQLite only (see the topic).
    static func objectsMigration(_ engine: DatabaseEngine) -> [String] {
        engine == .sqlite ? counting([.objects], engine) : []
    }

    /// The row of each of `topics` in `cache_versions`, and the triggers that count its changes. A trigger is
    /// named after its table, and after its topic too for a topic counted after migration 7 (a table may be
    /// counted by two topics: `workspace_objects` by `objectGrants` for its keys, by `objects` for every change).
    private static func counting(_ topics: [ChangeTopic], _ engine: DatabaseEngine) -> [String] {
        var statements: [String] = []
        for topic in topics {
            let prefix = { (table: String) in
                ChangeTopic.firstCounted.contains(topic) ? "\(table)_count" : "\(table)_\(topic.rawValue)_count"
            }
            let count = "UPDATE cache_versions SET version = version + 1 WHERE topic = '\(topic.rawValue)'"
            statements.append("INSERT INTO cache_versions (topic, version) VALUES ('\(topic.rawValue)', 0)")
            switch engine {
            case .postgres:
                let function = "kiln_count_\(topic.rawValue)_change"
                statements.append("CREATE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \(count); RETURN NULL; END $$")
                for table in topic.tables {
                    statements.append(
                        """
                        CREATE TRIGGER \(prefix(table))_change BEFORE INSERT OR UPDATE OR DELETE ON \(table)
                        FOR EACH STATEMENT EXECUTE PROCEDURE \(function)()
                        """)
                }
                for (table, column) in topic.keyTables {
                    statements.append(
                        """
                        CREATE TRIGGER \(prefix(table))_key_change BEFORE UPDATE OF \(column) OR DELETE ON \(table)
                        FOR EACH STATEMENT EXECUTE PROCEDURE \(function)()
                        """)
                }
            case .sqlite:
                for table in topic.tables {
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        statements.append("CREATE TRIGGER \(prefix(table))_\(event.lowercased()) AFTER \(event) ON \(table) BEGIN \(count); END")
                    }
                }
                for (table, column) in topic.keyTables {
                    for (name, event) in [("delete", "DELETE"), ("key_update", "UPDATE OF \(column)")] {
                        statements.append("CREATE TRIGGER \(prefix(table))_\(name) AFTER \(event) ON \(table) BEGIN \(count); END")
                    }
                }
            }
        }
        return statements
    }
}
