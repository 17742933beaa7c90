import Persistence
import Synchronization

/// Rows that authenticate a request — workspaces, tokens, users, workspace access — kept in memory while
/// the database's `IdentityVersion` they were read at stands; a change to any of their tables, made
/// anywhere, empties the cache (see `IdentityVersion` for how soon). What is not found is not kept, so
/// unknown tokens cannot fill it; at `limit` entries it starts again.
final class IdentityCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entries {
        var version: Int64 = -1
        var values: [Key: Value] = [:]
    }

    private let database: any Database
    private let limit: Int
    private let entries = Mutex(Entries())

    init(database: any Database, limit: Int = 100_000) {
        self.database = database
        self.limit = limit
    }

    /// The value for `key`: from memory when it was read at the current version, else from `load`.
    func value(_ key: Key, load: () async throws -> Value?) async throws -> Value? {
        guard let version = await database.identityVersion.current(database) else { return try await load() }
        if let hit = entries.withLock({ $0.version == version ? $0.values[key] : nil }) { return hit }
        guard let loaded = try await load() else { return nil }
        entries.withLock { entries in
            // Read at an older version than the one kept: a change may have come since; not kept.
            guard entries.version <= version else { return }
            if entries.version < version || entries.values.count >= limit { entries = Entries(version: version) }
            entries.values[key] = loaded
        }
        return loaded
    }
}
