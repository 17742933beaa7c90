import KilnCore
import Testing
@testable import Accounts

@Suite struct SCIMFilterTests {
    let user: [String: [SCIMFilter.Value]] = [
        "username": [.string("Ann@Example.com")], "displayname": [.string("Ann")], "active": [.bool(true)],
        "emails.value": [.string("ann@example.com"), .string("a@work.example")],
    ]

    @Test(arguments: [
        (#"userName eq "ann@example.com""#, true), (#"USERNAME EQ "ANN@EXAMPLE.COM""#, true),
        (#"userName ne "ann@example.com""#, false), (#"userName sw "ann" and active eq true"#, true),
        (#"userName ew ".org" or displayName co "nn""#, true), (#"not (active eq true)"#, false),
        (#"emails.value eq "a@work.example""#, true), (#"emails pr"#, false), (#"displayName pr"#, true),
        (#"(userName eq "x" or userName eq "y") and active eq true"#, false),
        (#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ann@example.com""#, true),
        (#"userName eq "ann\"s""#, false),
    ])
    func filtersMatchAsSCIMSays(text: String, matches: Bool) throws {
        #expect(try SCIMFilter.parse(text).matches(user) == matches)
    }

    @Test(arguments: [
        "", "userName", "userName bogus \"x\"", "userName eq", "userName eq \"open", "(userName eq \"x\"",
        "userName eq \"x\" and", "not userName eq \"x\"", "userName eq x", "\"x\" eq userName",
        "userName eq \"x\" )",
    ])
    func unreadableFiltersAreRefused(text: String) {
        #expect(throws: SCIMFilter.Invalid.self) { try SCIMFilter.parse(text) }
    }
}
