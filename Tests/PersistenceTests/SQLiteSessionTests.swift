import Foundation
import Logging
import SQLiteKit
import Testing
@testable import Persistence

/// What a kept statement of `SQLiteSession` keeps between runs.
@Suite struct SQLiteSessionTests {
    /// A statement's column names are read once and kept with it, until SQLite prepares it again after a
    /// change of the schema: a `SELECT *` run after `ALTER TABLE … ADD COLUMN` names the new column too, with
    /// its value.
    @Test func aKeptStatementsColumnsFollowTheSchema() throws {
        try SQLiteSession.withTemporaryDatabase { session in
            try session.run("CREATE TABLE t (id INTEGER, name TEXT)", []) { _ in }
            try session.run("INSERT INTO t VALUES (1, 'a')", []) { _ in }
            func rows() throws -> [(columns: [String], values: [SQLiteData])] {
                var rows: [(columns: [String], values: [SQLiteData])] = []
                try session.run("SELECT * FROM t", []) { row in rows.append((row.columns, row.values)) }
                return rows
            }
            for _ in 0..<2 {
                let first = try rows()
                #expect(first.map(\.columns) == [["id", "name"]])
                #expect(first.map(\.values) == [[.integer(1), .text("a")]])
            }
            try session.run("ALTER TABLE t ADD COLUMN size INTEGER DEFAULT 7", []) { _ in }
            let after = try rows()
            #expect(after.map(\.columns) == [["id", "name", "size"]])
            #expect(after.map(\.values) == [[.integer(1), .text("a"), .integer(7)]])
        }
    }
}

extension SQLiteSession {
    /// Runs `body` with a session on a new database file in the temporary directory, closed and deleted after.
    static func withTemporaryDatabase<T>(_ body: (SQLiteSession) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-session-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = try SQLiteSession.open(path: path, logger: Logger(label: "kiln-test"))
        defer { session.close() }
        return try body(session)
    }
}
