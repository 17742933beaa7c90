import Foundation
import KilnCore
@testable import Lakebase
import Testing

/// Database credentials: `generate_database_credential` issues a signed token for one endpoint, and the
/// proxy's `checkCredential` accepts it for its identity until it expires.
@Suite struct CredentialTests {
    static let primary = "projects/p/branches/production/endpoints/primary"

    func generate(_ lake: LakebaseHarness, _ body: String) async throws -> JSONTree {
        try await lake.service.generateCredential(body: LakebaseHarness.json(body), caller: lake.caller)
    }

    @Test func aCredentialNamesTheCallerTheEndpointAndItsExpiry() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            // A ttl counts from the moment of the request: each is bounded by the clock read just before and after it.
            let now = lake.clock.nowMillis() / 1000
            let credential = try await generate(lake, #"{"endpoint": "\#(Self.primary)"}"#)
            let afterFirst = lake.clock.nowMillis() / 1000
            let token = try #require(credential["token"]?.stringValue)
            #expect(token.hasPrefix("kiln_pg."))
            let claims = try #require(try await lake.service.credentialVerifier().verify(token))
            #expect(claims.workspaceID == 1 && claims.subject == "ada@example.com")
            #expect(claims.endpoint == (try await lake.uid(Self.primary)))
            #expect((now + 3599...afterFirst + 3601).contains(claims.expires))
            #expect(credential["expire_time"] == .string(ProtoTime.timestamp(millis: claims.expires * 1000)))

            let beforeShort = lake.clock.nowMillis() / 1000
            let short = try await generate(lake, #"{"endpoint": "\#(Self.primary)", "ttl": "600s"}"#)
            let afterShort = lake.clock.nowMillis() / 1000
            let shortClaims = try #require(try await lake.service.credentialVerifier().verify(short["token"]?.stringValue ?? ""))
            #expect((beforeShort + 599...afterShort + 601).contains(shortClaims.expires))

            let at = ProtoTime.timestamp(millis: (now + 1800) * 1000)
            let fixed = try await generate(lake, #"{"endpoint": "\#(Self.primary)", "expire_time": "\#(at)"}"#)
            let fixedClaims = try #require(try await lake.service.credentialVerifier().verify(fixed["token"]?.stringValue ?? ""))
            #expect((now + 1799...now + 1800).contains(fixedClaims.expires))
        }
    }

    @Test func requestsOutsideTheRulesAreRefused() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            let soon = ProtoTime.timestamp(millis: lake.clock.nowMillis() + 120_000)
            let refused: [(String, ErrorCode)] = [
                (#"{}"#, .invalidParameterValue),
                (#"{"endpoint": "projects/p/branches/production"}"#, .invalidParameterValue),
                (#"{"endpoint": "projects/p/branches/production/endpoints/nowhere"}"#, .notFound),
                (#"{"endpoint": "\#(Self.primary)", "ttl": "299s"}"#, .invalidParameterValue),
                (#"{"endpoint": "\#(Self.primary)", "ttl": "3601s"}"#, .invalidParameterValue),
                (#"{"endpoint": "\#(Self.primary)", "expire_time": "\#(soon)"}"#, .invalidParameterValue),
                (#"{"endpoint": "\#(Self.primary)", "ttl": "600s", "expire_time": "\#(soon)"}"#, .invalidParameterValue),
                (#"{"endpoint": "\#(Self.primary)", "claims": "all"}"#, .invalidParameterValue),
            ]
            for (body, code) in refused {
                await lake.expectError(code) { try await generate(lake, body) }
            }
        }
    }

    @Test func theProxyAcceptsACredentialForItsEndpointAndIdentityUntilItExpires() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let token = try #require(try await generate(lake, #"{"endpoint": "\#(Self.primary)", "ttl": "300s"}"#)["token"]?.stringValue)
            let endpoint = try #require(try await lake.connectable(try await lake.uid(Self.primary)))
            let other = try #require(try await lake.connectable(try await lake.uid("projects/p/branches/dev/endpoints/primary")))

            #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "ada@example.com") == .valid)
            #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "bob@example.com") == .issuedTo("ada@example.com"))
            #expect(try await lake.service.checkCredential(token, endpoint: other, user: "ada@example.com") == .invalid)
            #expect(try await lake.service.checkCredential(token + "x", endpoint: endpoint, user: "ada@example.com") == .invalid)
            let claims = DatabaseCredentialClaims(
                workspaceID: 1, endpoint: endpoint.uid, subject: "ada@example.com", expires: lake.clock.nowMillis() / 1000 + 300)
            let forged = DatabaseCredentials(keyData: Data(repeating: 1, count: 32)).issue(claims)
            #expect(try await lake.service.checkCredential(forged, endpoint: endpoint, user: "ada@example.com") == .invalid)

            lake.clock.advance(by: .seconds(301))
            #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "ada@example.com") == .expired)
        }
    }

    @Test func aMemberOfAGroupLogsInAsTheGroupsRoleWithTheirOwnCredential() async throws {
        let identities: @Sendable (Int64) async throws -> [String: String] = { _ in
            ["ada@example.com": "USER", "bob@example.com": "USER", "admins": "GROUP", "readers": "GROUP"]
        }
        let members: @Sendable (Int64, String) async throws -> Set<String> = { _, group in group == "admins" ? ["ada@example.com"] : [] }
        try await LakebaseHarness.withStorage { root in
            try await LakebaseHarness.run(root: root, identities: identities, groupMembers: members) { lake in
                try await lake.createProject()
                let token = try #require(try await generate(lake, #"{"endpoint": "\#(Self.primary)"}"#)["token"]?.stringValue)
                let endpoint = try #require(try await lake.connectable(try await lake.uid(Self.primary)))
                #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "admins") == .valid)
                // Not a member, and not a group: the credential is ada's alone.
                #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "readers") == .issuedTo("ada@example.com"))
                #expect(try await lake.service.checkCredential(token, endpoint: endpoint, user: "bob@example.com") == .issuedTo("ada@example.com"))
            }
        }
    }
}
