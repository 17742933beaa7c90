import Foundation
import PersistenceTestSupport
import SQLKit
import Testing
@testable import Persistence

@Suite struct DatabaseSecretsTests {
    private func storedRows(_ database: any Database) async throws -> [String: String] {
        try await database.read { db in
            try await db.raw("SELECT name, secret FROM kiln_secrets").all().reduce(into: [:]) { rows, row in
                rows[try row.decode(column: "name", as: String.self)] = try row.decode(column: "secret", as: String.self)
            }
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aSecretIsThirtyTwoRandomBytesMadeOnce(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let first = try await database.secret(named: "token-signing")
            #expect(first.count == 32)
            #expect(first != Data(repeating: 0, count: 32))
            #expect(try await database.secret(named: "token-signing") == first)
            #expect(try await storedRows(database) == ["token-signing": first.base64EncodedString()])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func eachNameHasItsOwnSecret(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let a = try await database.secret(named: "a")
            let b = try await database.secret(named: "b")
            #expect(a != b)
            #expect(try await database.secret(named: "a") == a)
            #expect(try await storedRows(database).keys.sorted() == ["a", "b"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func concurrentFirstUsesAgreeOnOneSecret(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let secrets = try await withThrowingTaskGroup(of: Data.self) { group in
                for _ in 0..<8 { group.addTask { try await database.secret(named: "shared") } }
                return try await group.reduce(into: Set<Data>()) { $0.insert($1) }
            }
            #expect(secrets.count == 1)
            #expect(try await storedRows(database).count == 1)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func aSecretAnotherReplicaStoredIsUsed(engine: DatabaseEngine) async throws {
        try await TestDatabases.with(engine) { database in
            let existing = Data((0..<32).map { UInt8($0) })
            try await database.write { db in
                try await db.insert(into: "kiln_secrets").columns("name", "secret")
                    .values(SQLBind("installed"), SQLBind(existing.base64EncodedString())).run()
            }
            #expect(try await database.secret(named: "installed") == existing)
        }
    }

    @Test func theBootstrapLockKeyDiffersFromTheMigrationLock() {
        // Both are transaction-scoped advisory locks on the same PostgreSQL database; sharing a key would
        // make bootstrap wait for migrations it runs inside of.
        #expect(Migrator.bootstrapLockKey != Migrator.migrationLockKey)
    }
}
