import Foundation
import NIOCore
import SQLiteKit
import Testing
@testable import Persistence

/// Binds are turned into SQLite values as SQLiteKit's encoder turns them, the common types without it.
@Suite struct SQLiteBindTests {
    static let binds: [any Encodable & Sendable] = [
        Int64(-7), Int64.max, "text", "", Data([0, 1, 255]), Data(), 42, String?.none, String?.some("x"), Int64?.none,
        true, 1.5, [1, 2], ByteBuffer(bytes: [0, 1, 255]),
    ]
    /// The binds matched without the encoder: integers, text (an optional's too) and blobs.
    static let direct: Set<Int> = [0, 1, 2, 3, 4, 5, 6, 8, 13]

    @Test(arguments: binds.indices)
    func aBindIsTheValueSQLiteKitsEncoderGives(index: Int) throws {
        let bind = Self.binds[index]
        let expected = try SQLiteDataEncoder().encode(bind)
        if let direct = SQLiteSessionDatabase.directData(bind) { #expect(direct == expected) }
        #expect((SQLiteSessionDatabase.directData(bind) != nil) == Self.direct.contains(index), "the common types are matched directly")
    }

    /// A blob is bound where it is, not copied: what is stored is whole, the kept statement stores the next one
    /// (shorter, then empty) afresh, and once it has run it is unbound: a run that binds less stores NULL, not a
    /// pointer to a buffer that is gone.
    @Test func aBlobBoundInPlaceIsStoredWhole() throws {
        try SQLiteSession.withTemporaryDatabase { session in
            try session.run("CREATE TABLE t (id INTEGER, content BLOB)", []) { _ in }
            let blobs = [ByteBuffer(repeating: 7, count: 100_000), ByteBuffer(bytes: [1, 2, 3]), ByteBuffer()]
            for (id, blob) in blobs.enumerated() {
                try session.run("INSERT INTO t VALUES (?, ?)", [.integer(id), .blob(blob)]) { _ in }
            }
            try session.run("INSERT INTO t VALUES (?, ?)", [.integer(3)]) { _ in }
            var stored: [SQLiteData] = []
            try session.run("SELECT content FROM t ORDER BY id", []) { row in stored.append(row.values[0]) }
            #expect(stored == [.blob(blobs[0]), .blob(blobs[1]), .blob(ByteBuffer()), .null])
        }
    }
}
