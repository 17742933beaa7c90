import Foundation
import SQLiteKit
import Testing
@testable import Persistence

/// Binds are turned into SQLite values as SQLiteKit's encoder turns them, the common types without it.
@Suite struct SQLiteBindTests {
    static let binds: [any Encodable & Sendable] = [
        Int64(-7), Int64.max, "text", "", Data([0, 1, 255]), Data(), 42, String?.none, String?.some("x"), Int64?.none,
        true, 1.5, [1, 2],
    ]
    /// The binds matched without the encoder: integers, text (an optional's too) and blobs.
    static let direct: Set<Int> = [0, 1, 2, 3, 4, 5, 6, 8]

    @Test(arguments: binds.indices)
    func aBindIsTheValueSQLiteKitsEncoderGives(index: Int) throws {
        let bind = Self.binds[index]
        let expected = try SQLiteDataEncoder().encode(bind)
        if let direct = SQLiteSessionDatabase.directData(bind) { #expect(direct == expected) }
        #expect((SQLiteSessionDatabase.directData(bind) != nil) == Self.direct.contains(index), "the common types are matched directly")
    }
}
