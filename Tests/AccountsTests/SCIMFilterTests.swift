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

    @Test(arguments: ["", "userName", "userName bogus \"x\"", "userName eq", "userName eq \"open", "(userName eq \"x\"",
                      "userName eq \"x\" and", "not userName eq \"x\"", "userName eq x", "\"x\" eq userName",
                      "userName eq \"x\" )"])
    func unreadableFiltersAreRefused(text: String) {
        #expect(throws: SCIMFilter.Invalid.self) { try SCIMFilter.parse(text) }
    }
}

@Suite struct RunningWorkspaceUpdateTests {
    @Test func aRunningWorkspaceTakesWhatDatabricksAllows() throws {
        let current = JSONTreeFixture.object(["credentials_id": "c1", "private_access_settings_id": "p1", "storage_customer_managed_key_id": "k1"])
        let body = JSONTreeFixture.object(["credentials_id": "c2", "custom_tags": nil, "private_access_settings_id": "p2"])
        let changes = try AccountWorkspaces.runningChanges(["credentials_id", "private_access_settings_id", "custom_tags"],
                                                            body: body, current: current, workspaceID: 1)
        #expect(changes == ["credentials_id", "private_access_settings_id"])
        #expect(throws: (any Error).self) {
            try AccountWorkspaces.runningChanges(["storage_customer_managed_key_id"], body: JSONTreeFixture.object(["storage_customer_managed_key_id": "k2"]),
                                                 current: current, workspaceID: 1)
        }
        #expect(throws: (any Error).self) {
            try AccountWorkspaces.runningChanges(["network_id"], body: JSONTreeFixture.object(["network_id": "n1"]), current: current, workspaceID: 1)
        }
        #expect(throws: (any Error).self) {
            try AccountWorkspaces.runningChanges(["private_access_settings_id"], body: JSONTreeFixture.object([:]), current: current, workspaceID: 1)
        }
        #expect(throws: (any Error).self) {
            try AccountWorkspaces.runningChanges(["aws_region"], body: JSONTreeFixture.object(["aws_region": "us-west-2"]), current: current, workspaceID: 1)
        }
    }
}

/// JSON objects of strings for the tests (nil members are left out).
enum JSONTreeFixture {
    static func object(_ members: [String: String?]) -> JSONTree {
        .object(members.sorted { $0.key < $1.key }.compactMap { key, value in value.map { JSONTree.Member(key, .string($0)) } })
    }
}
