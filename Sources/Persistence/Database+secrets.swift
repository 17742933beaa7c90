public import Foundation
import KilnCore
import SQLKit

extension Migrator {
    /// Serialises bootstrap (the first account, installation secrets) across processes sharing one PostgreSQL database.
    public static let bootstrapLockKey: Int64 = 0x4B494C4F
}

extension Database {
    /// The installation secret called `name` in `kiln_secrets`: 32 random bytes made on first use.
    /// Made under the bootstrap lock, so replicas sharing one PostgreSQL agree on it.
    public func secret(named name: String) async throws -> Data {
        try await write(lockKey: Migrator.bootstrapLockKey) { db in
            if let existing = try await db.select().column("secret").from("kiln_secrets").where("name", .equal, name)
                .first()?.decode(column: "secret", as: String.self), let key = Data(base64Encoded: existing)
            {
                return key
            }
            let key = Data(RandomSecret.bytes(32))
            try await db.insert(into: "kiln_secrets").columns("name", "secret")
                .values(SQLBind(name), SQLBind(key.base64EncodedString())).run()
            return key
        }
    }
}
