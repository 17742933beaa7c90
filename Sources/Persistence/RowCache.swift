public import Synchronization

/// Values read from the database, kept in memory while the `ChangeCount` epoch of their topic that they
/// were read at stands: any change to the topic's tables, made anywhere, empties the cache (see `ChangeCount`
/// for how soon). What is not found is not kept, so unknown keys (a stranger's tokens) cannot fill it; at
/// `limit` entries it starts again.
///
/// `value(_:load:)` is `@inlinable`, so that each module that keeps a cache compiles it for its own key and
/// value: unspecialised, a hit looked up generic metadata and hashed through witness tables (4,000 machine
/// instructions of a get-status's 300,000, counted with callgrind).
public final class RowCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline struct Entries {
        @usableFromInline var version: Int64
        @usableFromInline var values: [Key: Value] = [:]

        @usableFromInline init(version: Int64 = -1) {
            self.version = version
        }
    }

    @usableFromInline let database: any Database
    @usableFromInline let count: ChangeCount
    @usableFromInline let limit: Int
    @usableFromInline let entries = Mutex(Entries())

    /// A cache of rows of `topic`'s tables in `database`, holding at most `limit` values.
    public init(database: any Database, topic: ChangeTopic, limit: Int = 100_000) {
        self.database = database
        self.count = database.changeCounts[topic]
        self.limit = limit
    }

    /// The value for `key`: from memory when it was read at the current epoch, else from `load`, and then
    /// kept. `load` must read committed rows (`Database.read`, not a write's transaction, which may roll
    /// back), and neither it nor the caller may hold a connection while this waits for one: call it outside
    /// `Database.read` and `write`.
    @inlinable public func value(_ key: Key, load: () async throws -> Value?) async throws -> Value? {
        // A hit while the epoch stands: no asynchronous call (each allocates a frame in the task).
        if let standing = count.standingEpoch(), let hit = kept(key, at: standing) { return hit }
        guard let version = await count.current(database) else { return try await load() }
        if let hit = kept(key, at: version) { return hit }
        guard let loaded = try await load() else { return nil }
        entries.withLock { entries in
            // Read at an older epoch than the one kept: a change may have come since; not kept.
            guard entries.version <= version else { return }
            if entries.version < version || entries.values.count >= limit { entries = Entries(version: version) }
            entries.values[key] = loaded
        }
        return loaded
    }

    /// The value kept for `key`, if it was read at epoch `version`.
    @inlinable func kept(_ key: Key, at version: Int64) -> Value? {
        entries.withLock { $0.version == version ? $0.values[key] : nil }
    }
}
