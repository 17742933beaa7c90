import Accounts
import HTTPTypes
import KilnCore
import Testing

/// The Token API (`/api/2.0/token/…`): a caller's own personal access tokens.
@Suite struct TokenRoutesTests {
    func tokenIDs(_ server: TestServer, auth: TestServer.Auth = .adminToken) async throws -> [String] {
        let list = try await server.call(.get, "/api/2.0/token/list", auth: auth)
        return try #require(list["token_infos"]?.arrayValue).compactMap { $0["token_id"]?.stringValue }
    }

    @Test func aCreatedTokenAuthenticatesIsListedAndStopsWorkingOnceDeleted() async throws {
        try await TestServer.run { server in
            let created = try await server.call(.post, "/api/2.0/token/create", json: #"{"comment": "ci", "lifetime_seconds": 3600}"#)
            #expect(created.status == .ok)
            let secret = try #require(created["token_value"]?.stringValue)
            let info = try #require(created["token_info"])
            let id = try #require(info["token_id"]?.stringValue)
            #expect(info["comment"]?.stringValue == "ci")
            let creation = try #require(info["creation_time"]?.int64Value)
            #expect(info["expiry_time"]?.int64Value == creation + 3_600_000)

            #expect(try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(secret)).status == .ok)
            #expect(try await tokenIDs(server).contains(id))

            let deleted = try await server.call(.post, "/api/2.0/token/delete", json: #"{"token_id": "\#(id)"}"#)
            #expect(deleted.status == .ok)
            #expect(deleted.text == "{}")
            let refused = try await server.call(.get, "/api/2.0/preview/scim/v2/Me", auth: .bearer(secret))
            #expect(refused.status == .unauthorized)
            #expect(try await tokenIDs(server).contains(id) == false)
        }
    }

    @Test func aTokenWithoutALifetimeNeverExpires() async throws {
        try await TestServer.run { server in
            let created = try await server.call(.post, "/api/2.0/token/create", json: "{}")
            #expect(created["token_info"]?["expiry_time"]?.int64Value == -1)
            #expect(created["token_info"]?["comment"]?.stringValue == "")
        }
    }

    @Test func eachUserSeesOnlyTheirOwnTokens() async throws {
        try await TestServer.run { server in
            let (_, userToken) = try await server.createUser("ada@example.com")
            let adminIDs = try await tokenIDs(server)
            let userIDs = try await tokenIDs(server, auth: .bearer(userToken))
            #expect(adminIDs.count == 1)
            #expect(userIDs.count == 1)
            #expect(Set(adminIDs).isDisjoint(with: userIDs))

            // Nobody deletes another user's token: it does not exist for them.
            let reply = try await server.call(.post, "/api/2.0/token/delete", json: #"{"token_id": "\#(adminIDs[0])"}"#, auth: .bearer(userToken))
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "RESOURCE_DOES_NOT_EXIST")
            #expect(try await tokenIDs(server) == adminIDs)
        }
    }

    @Test(arguments: [
        (#"{}"#, "INVALID_PARAMETER_VALUE"),
        (#"{"token_id": 12}"#, "INVALID_PARAMETER_VALUE"),
        (#"{"token_id": "no-such-token"}"#, "RESOURCE_DOES_NOT_EXIST"),
    ])
    func deletingNeedsTheIDOfAnExistingToken(body: String, code: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, "/api/2.0/token/delete", json: body)
            #expect(reply.errorCode == code)
            #expect(reply.status == (code == "RESOURCE_DOES_NOT_EXIST" ? .notFound : .badRequest))
        }
    }

    @Test(arguments: [
        #"{"lifetime_seconds": "soon"}"#, #"{"lifetime_seconds": 1.5}"#, #"{"lifetime_seconds": 400000000}"#, #"{"comment": 5}"#,
    ])
    func aCreateWithBadParametersIsInvalidParameterValue(body: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.post, "/api/2.0/token/create", json: body)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(try await tokenIDs(server).count == 1)
        }
    }
}
