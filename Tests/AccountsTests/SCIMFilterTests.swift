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
    let current = JSONTreeFixture.object(["credentials_id": "c1", "private_access_settings_id": "p1", "storage_customer_managed_key_id": "k1"])

    func code(_ field: String, _ value: String?) -> ErrorCode? {
        do {
            _ = try AccountWorkspaces.runningChanges([field], body: JSONTreeFixture.object([field: value]), current: current, workspaceID: 1)
            return nil
        } catch {
            return (error as? KilnError)?.code
        }
    }

    @Test func aRunningWorkspaceTakesWhatDatabricksAllows() throws {
        let body = JSONTreeFixture.object(["credentials_id": "c2", "custom_tags": nil, "private_access_settings_id": "p2"])
        let changes = try AccountWorkspaces.runningChanges(["credentials_id", "private_access_settings_id", "custom_tags"],
                                                            body: body, current: current, workspaceID: 1)
        #expect(changes == ["credentials_id", "private_access_settings_id"])
        #expect(code("storage_customer_managed_key_id", "k2") == .invalidParameterValue)
        #expect(code("network_id", "n1") == .invalidParameterValue)
        #expect(code("private_access_settings_id", nil) == .invalidParameterValue)
        #expect(code("managed_services_customer_managed_key_id", "m1") == nil)
        #expect(code("aws_region", "us-west-2") == .invalidState)
        #expect(code("workspace_name", "x") == .invalidState)
    }
}

/// JSON objects of strings for the tests (nil members are left out).
enum JSONTreeFixture {
    static func object(_ members: [String: String?]) -> JSONTree {
        .object(members.sorted { $0.key < $1.key }.compactMap { key, value in value.map { JSONTree.Member(key, .string($0)) } })
    }
}
