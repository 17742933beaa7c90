import Foundation
import KilnCore
import Logging
import Persistence
import SQLKit
import Testing

/// What only the SQLite engine promises: its file, its connection settings and its single writer.
@Suite struct SQLiteStoreTests {
    private let logger = Logger(label: "kiln-test")

    /// Runs `body` with the path of a database file in a new directory, removed afterwards.
    private func withFile<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory.appendingPathComponent("kiln.sqlite").path)
    }

    private func pragma(_ name: String, _ db: any SQLDatabase) async throws -> String {
        // A pragma answers one row of one column, not always named after the pragma (busy_timeout's is "timeout").
        guard let row = try await db.raw("PRAGMA \(unsafeRaw: name)").first(), let column = row.allColumns.first else { return "" }
        if let number = try? row.decode(column: column, as: Int.self) { return String(number) }
        return try row.decode(column: column, as: String.self)
    }

    @Test func openingCreatesTheFileInWALMode() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.closing {
                #expect(store.engine == .sqlite)
                #expect(FileManager.default.fileExists(atPath: path))
                let mode = try await store.read { try await pragma("journal_mode", $0) }
                #expect(mode == "wal")
            }
        }
    }

    @Test func everyConnectionEnforcesForeignKeysAndWaitsWhenBusy() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 3, logger: logger)
            try await store.closing {
                // Three reads held open at once must be on the three different connections.
                let arrived = Locked(0)
                let settings = try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<3 {
                        group.addTask {
                            try await store.read { db in
                                arrived.update { $0 += 1 }
                                while arrived.value < 3 { await Task.yield() }
                                return [
                                    try await pragma("foreign_keys", db), try await pragma("busy_timeout", db),
                                    try await pragma("synchronous", db),
                                ]
                            }
                        }
                    }
                    return try await group.reduce(into: [[String]]()) { $0.append($1) }
                }
                // synchronous = NORMAL is 1.
                #expect(settings == Array(repeating: ["1", "10000", "1"], count: 3))
            }
        }
    }

    @Test func writesRunOneAtATimeWhateverTheirLockKeys() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.closing {
                let inside = Locked((now: 0, maximum: 0))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for key in 0..<6 {
                        group.addTask {
                            try await store.write(lockKey: Int64(key)) { _ in
                                inside.update {
                                    $0.now += 1
                                    $0.maximum = max($0.maximum, $0.now)
                                }
                                try await Task.sleep(for: .milliseconds(2))
                                inside.update { $0.now -= 1 }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(inside.value.maximum == 1)
            }
        }
    }

    @Test func oneConnectionServesConcurrentReadsAndWrites() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 0, logger: logger)
            try await store.closing {
                try await store.write { db in try await db.raw("CREATE TABLE t (n INTEGER)").run() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<10 {
                        group.addTask {
                            if index.isMultiple(of: 2) {
                                try await store.write { db in try await db.raw("INSERT INTO t (n) VALUES (\(bind: index))").run() }
                            } else {
                                _ = try await store.read { db in try await db.raw("SELECT COUNT(*) AS c FROM t").all() }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let count = try await store.read { db in
                    try await db.raw("SELECT COUNT(*) AS c FROM t").first()?.decode(column: "c", as: Int.self)
                }
                #expect(count == 5)
            }
        }
    }

    @Test func committedDataSurvivesReopening() async throws {
        try await withFile { path in
            let first = try await SQLiteStore.open(path: path, logger: logger)
            try await first.closing {
                try await Migrator(database: first, logger: logger).migrate()
                try await first.write { db in
                    try await db.raw("INSERT INTO kiln_secrets (name, secret) VALUES ('kept', 'v')").run()
                }
            }
            let second = try await SQLiteStore.open(path: path, logger: logger)
            try await second.closing {
                try await Migrator(database: second, logger: logger).migrate()
                let secret = try await second.read { db in
                    try await db.raw("SELECT secret FROM kiln_secrets WHERE name = 'kept'").first()?.decode(column: "secret", as: String.self)
                }
                #expect(secret == "v")
            }
        }
    }

    @Test func closingShutsTheStoreDownWhenTheBodyThrows() async throws {
        struct Refused: Error {}
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.write { db in try await db.raw("CREATE TABLE t (n INTEGER)").run() }
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            await #expect(throws: Refused.self) {
                try await store.closing { throw Refused() }
            }
            // The last connection to close checkpoints the write-ahead log and removes it.
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func closingReturnsTheBodysResultAfterShuttingDown() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            let value = try await store.closing { "result" }
            #expect(value == "result")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }
}
