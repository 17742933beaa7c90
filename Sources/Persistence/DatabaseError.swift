/// Failures of the metadata store itself (not of a request).
public enum DatabaseError: Error, Sendable, CustomStringConvertible {
    /// The database URL could not be understood.
    case invalidURL(String)
    /// A migration failed; the store is left at the previous version.
    case migrationFailed(version: Int, underlying: String)
    /// The store has a schema version newer than this Kiln knows.
    case schemaTooNew(found: Int, known: Int)

    public var description: String {
        switch self {
        case .invalidURL(let reason): "Invalid database URL: \(reason)"
        case .migrationFailed(let version, let underlying): "Migration \(version) failed: \(underlying)"
        case .schemaTooNew(let found, let known):
            "The database has schema version \(found), but this Kiln knows only up to \(known). Upgrade Kiln."
        }
    }
}
