import Synchronization

/// Remembers recent successful password checks so that a password costs one PBKDF2 derivation per
/// ten minutes, not one per request (Basic auth) or per connection (the Postgres proxy). An entry is a
/// SHA-256 of the stored hash and the password, so changing the password (a new stored hash)
/// invalidates it; failed attempts are never remembered and stay slow.
public final class VerifiedPasswords: Sendable {
    public static let shared = VerifiedPasswords()

    private let entries = Mutex<[String: ContinuousClock.Instant]>([:])
    private let lifetime: Duration = .seconds(600)
    private let capacity = 4096

    public func contains(storedHash: String, password: String) -> Bool {
        let key = Self.key(storedHash, password)
        return entries.withLock { entries in
            guard let added = entries[key] else { return false }
            if ContinuousClock.now - added > lifetime {
                entries[key] = nil
                return false
            }
            return true
        }
    }

    public func insert(storedHash: String, password: String) {
        let key = Self.key(storedHash, password)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = ContinuousClock.now
        }
    }

    private static func key(_ storedHash: String, _ password: String) -> String {
        sha256Hex(storedHash + "\u{0}" + password)
    }
}
