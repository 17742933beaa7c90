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

    /// The size of the file at `path`, in bytes.
    private func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }

    /// One write that replaces the only row of `blobs` with 300 KB: about 75 frames of the log.
    private func replaceTheBlob(in store: SQLiteStore) async throws {
        try await store.write(lockKey: nil) { db in
            try await db.raw("DELETE FROM blobs").run()
            try await db.raw("INSERT INTO blobs VALUES (\(bind: Data(repeating: 7, count: 300_000)))").run()
        }
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
                // The writer's connection too.
                let writer = try await store.write { db in
                    [try await pragma("foreign_keys", db), try await pragma("busy_timeout", db), try await pragma("synchronous", db)]
                }
                #expect(writer == ["1", "10000", "1"])
            }
        }
    }

    /// A write whose BEGIN finds another process's write under way waits for it (on the thread pool, up to
    /// the busy timeout) instead of failing with SQLITE_BUSY.
    @Test func aWriteWaitsForAnotherProcesssWrite() async throws {
        try await withFile { path in
            let (first, second) = (try await SQLiteStore.open(path: path, logger: logger), try await SQLiteStore.open(path: path, logger: logger))
            try await first.closing {
                try await second.closing {
                    try await first.write(lockKey: nil) { try await $0.raw("CREATE TABLE t (x INTEGER)").run() }
                    let holding = Locked(false)
                    let releasing = Locked<ContinuousClock.Instant?>(nil)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await first.write(lockKey: nil) { db in
                                try await db.raw("INSERT INTO t VALUES (1)").run()
                                holding.update { $0 = true }
                                try await Task.sleep(for: .milliseconds(300))
                                releasing.update { $0 = .now }
                            }
                        }
                        while !holding.value { try await Task.sleep(for: .milliseconds(5)) }
                        try await second.write(lockKey: nil) { try await $0.raw("INSERT INTO t VALUES (2)").run() }
                        // It did not fail with SQLITE_BUSY, and ended after the first write's body: its BEGIN waited
                        // for the first write's COMMIT. (Not checked by a time, which a loaded machine stretches: this
                        // task may start its write late in the first write's 300 ms.)
                        let ended = ContinuousClock.now
                        #expect(releasing.value.map { ended > $0 } == true)
                        try await group.waitForAll()
                    }
                    let rows = try await second.read { try await $0.raw("SELECT x FROM t ORDER BY x").all() }
                    #expect(try rows.map { try $0.decode(column: "x", as: Int.self) } == [1, 2])
                }
            }
        }
    }

    /// Commits leave checkpointing to `WALCheckpointer`: the log is checkpointed as writes go on (every 1,000
    /// frames) and used again from the start by 4,000 frames at the latest, instead of growing with every write.
    @Test func theLogIsCheckpointedAsWritesGoOn() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.closing {
                try await store.write(lockKey: nil) { try await $0.raw("CREATE TABLE blobs (b BLOB)").run() }
                // 80 writes of 300 KB: about 6,000 pages of 4 KiB pass through the log.
                for _ in 0..<80 {
                    try await replaceTheBlob(in: store)
                    try await Task.sleep(for: .milliseconds(5))
                }
                // Checkpoints copied the pages into the database file while the store was open; the log, whose file
                // keeps its longest length, started over at 4,000 frames at the latest.
                #expect(try fileSize(path) > 300_000)
                #expect(try fileSize(path + "-wal") > 0)
                #expect(try fileSize(path + "-wal") < 18_000_000)
            }
        }
    }

    /// Writes that follow one another without a pause (a client importing notebooks one after another) seldom
    /// leave the log all checkpointed as the next begins, which is when SQLite starts it over; the writer makes
    /// it start over once it is 4,000 frames long (`WALCheckpointer.restartLength`, 4,000 × 4,120 bytes).
    @Test func theLogStartsOverWhenWritesComeBackToBack() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.closing {
                try await store.write(lockKey: nil) { try await $0.raw("CREATE TABLE blobs (b BLOB)").run() }
                // 300 writes of 300 KB: about 22,000 frames, 93 MB of log if it never started over.
                var longest = 0
                for _ in 0..<300 {
                    try await replaceTheBlob(in: store)
                    longest = max(longest, try fileSize(path + "-wal"))
                }
                #expect(longest > 1_000_000)
                #expect(longest < 18_000_000, "the log grew to \(longest) bytes")
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

    @Test func oneReadConnectionAndTheWriterServeConcurrentReadsAndWrites() async throws {
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

    /// With one connection, readers that find it taken wait, and are served in the order they came once it
    /// is given back; a body that throws gives it back too.
    @Test(.timeLimit(.minutes(1))) func readersWaitingForTheOneConnectionAreServedInOrder() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 0, logger: logger)
            try await store.closing {
                let served = Locked([Int]())
                let (taken, takenSignal) = AsyncStream<Void>.makeStream()
                let (giveBack, giveBackSignal) = AsyncStream<Void>.makeStream()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await store.read { _ in
                            takenSignal.yield()
                            for await _ in giveBack { break }
                        }
                    }
                    for await _ in taken { break }
                    for id in 0..<4 {
                        group.addTask { try await store.read { _ in served.update { $0.append(id) } } }
                        // Let this reader reach the queue before the next one starts.
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(served.value.isEmpty, "nobody may read while the connection is taken")
                    giveBackSignal.yield()
                    try await group.waitForAll()
                }
                #expect(served.value == [0, 1, 2, 3])
                for _ in 0..<3 {
                    await #expect(throws: KilnError.self) {
                        try await store.read { _ in throw KilnError.invalidParameter("a failing read") }
                    }
                }
                #expect(try await store.read { _ in "given back" } == "given back")
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

    // Statements run on the calling thread (SQLiteSession): what SQLiteNIO's connection did for Kiln, they do.

    @Test func everyKindOfValueGoesInAndComesOutAsThroughSQLiteNIO() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, logger: logger)
            try await store.closing {
                try await store.write { db in
                    try await db.raw("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)").run()
                    try await db.insert(into: "t").columns("i", "r", "s", "b", "n")
                        .values(
                            SQLBind(Int64.max), SQLBind(2.5), SQLBind("é ✓ \u{1F525}"), SQLBind(Data([0, 1, 255])),
                            SQLBind(String?.none)
                        ).run()
                }
                let row = try #require(try await store.read { db in try await db.raw("SELECT * FROM t").first() })
                #expect(row.allColumns == ["i", "r", "s", "b", "n"])
                #expect(try row.decode(column: "i", as: Int64.self) == Int64.max)
                #expect(try row.int64("i") == Int64.max)
                #expect(try row.decode(column: "r", as: Double.self) == 2.5)
                #expect(try row.string("s") == "é ✓ \u{1F525}")
                #expect(try row.decode(column: "s", as: String.self) == "é ✓ \u{1F525}")
                #expect(try row.decode(column: "b", as: Data.self) == Data([0, 1, 255]))
                #expect(try row.optionalString("n") == nil)
                #expect(try row.decodeNil(column: "n"))
                #expect(try row.optionalString("s") == "é ✓ \u{1F525}")
                #expect(!row.contains(column: "missing"))
                #expect(throws: (any Error).self) { try row.int64("missing") }
                // A type the fast path does not read falls back to the decoder, which converts or refuses.
                #expect(throws: (any Error).self) { try row.int64("s") }
            }
        }
    }

    @Test func aFailedStatementRunsAgainAndSaysWhy() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
            try await store.closing {
                try await store.write { db in try await db.raw("CREATE TABLE t (id INTEGER PRIMARY KEY)").run() }
                for _ in 0..<2 {
                    let error = await #expect(throws: SQLiteFailure.self) {
                        try await store.write { db in
                            try await db.raw("INSERT INTO t (id) VALUES (\(bind: 1))").run()
                            try await db.raw("INSERT INTO t (id) VALUES (\(bind: 1))").run()
                        }
                    }
                    #expect(error?.message.contains("UNIQUE constraint failed") == true)
                    #expect(error?.code == 1555) // SQLITE_CONSTRAINT_PRIMARYKEY
                }
                await #expect(throws: SQLiteFailure.self) { try await store.read { db in try await db.raw("SELEKT 1").run() } }
                // Both writes rolled back, and the connection is usable.
                let count = try await store.read { db in try await db.raw("SELECT count(*) AS n FROM t").first()?.int64("n") }
                #expect(count == 0)
            }
        }
    }

    @Test func aKeptStatementReadsWhatAnotherProcessCommittedSince() async throws {
        try await withFile { path in
            // One connection, so the same kept statement reads each time, after another store (as another
            // process) wrote: what it returns is what is committed now, not what it read first.
            let store = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
            let other = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
            try await store.closing {
                try await other.closing {
                    try await store.write { db in try await db.raw("CREATE TABLE t (n INTEGER)").run() }
                    for n in 1...3 {
                        try await other.write { db in try await db.raw("INSERT INTO t (n) VALUES (\(bind: n))").run() }
                        let count = try await store.read { db in try await db.raw("SELECT count(*) AS c FROM t").first()?.int64("c") }
                        #expect(count == Int64(n))
                    }
                }
            }
        }
    }

    @Test func aLargeValueIsUnboundAfterItsStatementRanAndTheStatementRunsAgain() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
            try await store.closing {
                try await store.write { db in try await db.raw("CREATE TABLE t (n INTEGER, b BLOB)").run() }
                let values = [Data(repeating: 7, count: 100_000), Data([1, 2]), Data(repeating: 8, count: 5_000)]
                for (n, value) in values.enumerated() {
                    try await store.write { db in
                        try await db.raw("INSERT INTO t (n, b) VALUES (\(bind: n), \(bind: value))").run()
                    }
                }
                let stored = try await store.read { db in
                    try await db.raw("SELECT b FROM t ORDER BY n").all().map { try $0.decode(column: "b", as: Data.self) }
                }
                #expect(stored == values)
            }
        }
    }

    @Test func moreDistinctStatementsThanAreKeptStillRun() async throws {
        try await withFile { path in
            let store = try await SQLiteStore.open(path: path, connections: 1, logger: logger)
            try await store.closing {
                for round in 0..<2 {
                    for n in 0..<300 {
                        let value = try await store.read { db in try await db.raw("SELECT \(unsafeRaw: String(n)) AS v").first()?.int64("v") }
                        #expect(value == Int64(n), "round \(round)")
                    }
                }
            }
        }
    }
}
