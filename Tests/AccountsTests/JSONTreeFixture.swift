import KilnCore
import Testing
@testable import Accounts

/// JSON objects of strings for the tests (nil members are left out).
enum JSONTreeFixture {
    static func object(_ members: [String: String?]) -> JSONTree {
        .object(members.sorted { $0.key < $1.key }.compactMap { key, value in value.map { JSONTree.Member(key, .string($0)) } })
    }
}
