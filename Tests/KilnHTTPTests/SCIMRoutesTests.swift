import Accounts
import HTTPTypes
import KilnCore
import KilnHTTP
import Testing

/// SCIM identity routes (`/api/2.0/preview/scim/v2/…`): `Me`, and the users of the workspace's account.
@Suite struct SCIMRoutesTests {
    func userNames(_ reply: Reply) -> [String] {
        reply["Resources"]?.arrayValue?.compactMap { $0["userName"]?.stringValue } ?? []
    }

    @Test func meIsTheCallerAndNamesTheWorkspaceInTheOrgIDHeader() async throws {
        try await TestServer.run { server in
            let me = try await server.call(.get, "/api/2.0/preview/scim/v2/Me")
            #expect(me.status == .ok)
            #expect(me["id"]?.stringValue == String(server.admin.userID))
            #expect(me["userName"]?.stringValue == TestServer.adminUserName)
            #expect(me["active"]?.boolValue == true)
            #expect(me["emails"]?.arrayValue?.first?["value"]?.stringValue == TestServer.adminUserName)
            #expect(me["groups"]?.arrayValue?.first?["display"]?.stringValue == "admins")
            #expect(me.headers[HTTPField.Name("X-Databricks-Org-Id")!] == String(server.workspace.workspaceID))
        }
    }

    @Test func usersAreListedFilteredAndPaged() async throws {
        try await TestServer.run { server in
            for name in ["ada@example.com", "bob@example.com"] { _ = try await server.createUser(name) }
            let all = try await server.call(.get, "/api/2.0/preview/scim/v2/Users")
            #expect(all.status == .ok)
            #expect(Set(userNames(all)) == [TestServer.adminUserName, "ada@example.com", "bob@example.com"])
            #expect(all["totalResults"]?.int64Value == 3)

            let filtered = try await server.call(.get, "/api/2.0/preview/scim/v2/Users?filter=userName+eq+%22bob%40example.com%22")
            #expect(userNames(filtered) == ["bob@example.com"])
            #expect(filtered["totalResults"]?.int64Value == 1)

            let page = try await server.call(.get, "/api/2.0/preview/scim/v2/Users?startIndex=2&count=1")
            #expect(userNames(page).count == 1)
            #expect(page["startIndex"]?.int64Value == 2)
            #expect(page["itemsPerPage"]?.int64Value == 1)
            #expect(page["totalResults"]?.int64Value == 3)
        }
    }

    @Test func aFilterKilnCannotReadIsASCIMInvalidFilterError() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Users?filter=userName+resembles")
            #expect(reply.status == .badRequest)
            #expect(reply["scimType"]?.stringValue == "invalidFilter")
            #expect(reply["status"]?.stringValue == "400")
            #expect(reply["detail"] != nil)
            #expect(reply["error_code"] == nil)
        }
    }

    @Test func anAdminCreatesReadsAndDeletesAUser() async throws {
        try await TestServer.run { server in
            let created = try await server.call(.post, "/api/2.0/preview/scim/v2/Users", json: #"{"userName": "eve@example.com"}"#)
            #expect(created.status == .created)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["displayName"]?.stringValue == "eve@example.com")
            #expect(created["groups"]?.arrayValue == [])

            let read = try await server.call(.get, "/api/2.0/preview/scim/v2/Users/\(id)")
            #expect(read["userName"]?.stringValue == "eve@example.com")

            // RFC 7644 §3.3: a taken userName is 409 with scimType `uniqueness`.
            let again = try await server.call(.post, "/api/2.0/preview/scim/v2/Users", json: #"{"userName": "eve@example.com"}"#)
            #expect(again.status == .conflict)
            #expect(again["scimType"]?.stringValue == "uniqueness")

            #expect(try await server.call(.delete, "/api/2.0/preview/scim/v2/Users/\(id)").status == .ok)
            let gone = try await server.call(.get, "/api/2.0/preview/scim/v2/Users/\(id)")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func aUserWhoIsNotAnAdminCannotManageUsers() async throws {
        try await TestServer.run { server in
            let (_, token) = try await server.createUser("ada@example.com")
            let create = try await server.call(
                .post, "/api/2.0/preview/scim/v2/Users", json: #"{"userName": "eve@example.com"}"#, auth: .bearer(token))
            #expect(create.status == .forbidden)
            #expect(create.errorCode == "PERMISSION_DENIED")
            let delete = try await server.call(.delete, "/api/2.0/preview/scim/v2/Users/\(server.admin.userID)", auth: .bearer(token))
            #expect(delete.errorCode == "PERMISSION_DENIED")
            // Reading is allowed.
            let list = try await server.call(.get, "/api/2.0/preview/scim/v2/Users", auth: .bearer(token))
            #expect(list.status == .ok)
        }
    }

    @Test func anAdminCannotDeleteThemselves() async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.delete, "/api/2.0/preview/scim/v2/Users/\(server.admin.userID)")
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await server.call(.get, "/api/2.0/preview/scim/v2/Me").status == .ok)
        }
    }

    @Test(arguments: ["abc", "999999", "-1"])
    func anUnknownUserIDIsResourceDoesNotExist(id: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Users/\(id)")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func aServicePrincipalIsNotAUser() async throws {
        try await TestServer.run { server in
            let (clientID, _) = try await server.services.servicePrincipals.create(
                accountID: server.accountID, displayName: "robot", isAdmin: false)
            let principal = try #require(try await server.services.accounts.user(accountID: server.accountID, userName: clientID))
            let reply = try await server.call(.get, "/api/2.0/preview/scim/v2/Users/\(principal.userID)")
            #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST")
            let list = try await server.call(.get, "/api/2.0/preview/scim/v2/Users")
            #expect(userNames(list) == [TestServer.adminUserName])
        }
    }
}
