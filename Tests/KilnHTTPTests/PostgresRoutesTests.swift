import Accounts
import HTTPTypes
import KilnCore
import Testing

/// The Lakebase Postgres API over HTTP (`PostgresController`): one URL shape for many resources, long
/// running operations, paging, and the edge's answers for paths it does not serve.
@Suite struct PostgresRoutesTests {
    func createProject(_ server: TestServer, _ id: String, json: String = "{}") async throws -> Reply {
        try await server.call(.post, "/api/2.0/postgres/projects?project_id=\(id)", json: json)
    }

    @Test func aCreatedProjectIsAFinishedOperationThenAResource() async throws {
        try await TestServer.run { server in
            let operation = try await createProject(server, "p", json: #"{"spec": {"display_name": "My project"}}"#)
            #expect(operation.status == .ok, "\(operation.text)")
            #expect(operation["error"] == nil)
            let operationName = try #require(operation["name"]?.stringValue)
            #expect(operationName.hasPrefix("projects/p/operations/"))
            // Done at once on an idle machine; the GET waits for it on a loaded one.
            let polled = try await server.call(.get, "/api/2.0/postgres/\(operationName)")
            #expect(polled["done"]?.boolValue == true)

            let project = try await server.call(.get, "/api/2.0/postgres/projects/p")
            #expect(project.status == .ok)
            #expect(project["name"]?.stringValue == "projects/p")
            #expect(project["status"]?["display_name"]?.stringValue == "My project")
            #expect(project["status"]?["owner"]?.stringValue == TestServer.adminUserName)

            let branch = try await server.call(.get, "/api/2.0/postgres/projects/p/branches/production")
            #expect(branch["status"]?["current_state"]?.stringValue == "READY")
            #expect(branch["status"]?["default"]?.boolValue == true)
        }
    }

    @Test func projectsAreListedInPages() async throws {
        try await TestServer.run { server in
            for id in ["p1", "p2", "p3"] { #expect(try await createProject(server, id).status == .ok) }
            var names: [String] = []
            var uri = "/api/2.0/postgres/projects?page_size=2"
            var pages = 0
            while pages < 5 {
                let page = try await server.call(.get, uri)
                #expect(page.status == .ok)
                names += page["projects"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                pages += 1
                guard let token = page["next_page_token"]?.stringValue else { break }
                uri = "/api/2.0/postgres/projects?page_size=2&page_token=\(token)"
            }
            #expect(pages == 2)
            #expect(names.sorted() == ["projects/p1", "projects/p2", "projects/p3"])

            let bad = try await server.call(.get, "/api/2.0/postgres/projects?page_token=garbage")
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "INVALID_PARAMETER_VALUE")
            let negative = try await server.call(.get, "/api/2.0/postgres/projects?page_size=-1")
            #expect(negative.errorCode == "INVALID_PARAMETER_VALUE")
            let notANumber = try await server.call(.get, "/api/2.0/postgres/projects?page_size=two")
            #expect(notANumber.errorCode == "INVALID_PARAMETER_VALUE")
        }
    }

    @Test func anUpdateChangesMaskedFieldsAndRefusesAnUnknownPath() async throws {
        try await TestServer.run { server in
            #expect(try await createProject(server, "p").status == .ok)
            let refused = try await server.call(
                .patch, "/api/2.0/postgres/projects/p?update_mask=spec.nonsense", json: #"{"spec": {"display_name": "x"}}"#)
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "INVALID_PARAMETER_VALUE")
            #expect(refused.message == "Unknown field path in update_mask: 'spec.nonsense'")

            let updated = try await server.call(
                .patch, "/api/2.0/postgres/projects/p?update_mask=spec.display_name", json: #"{"spec": {"display_name": "Renamed"}}"#)
            #expect(updated.status == .ok, "\(updated.text)")
            let project = try await server.call(.get, "/api/2.0/postgres/projects/p")
            #expect(project["status"]?["display_name"]?.stringValue == "Renamed")
        }
    }

    @Test func aSecondProjectWithTheSameIDIsAlreadyExists() async throws {
        try await TestServer.run { server in
            #expect(try await createProject(server, "p").status == .ok)
            let again = try await createProject(server, "p")
            #expect(again.status == .conflict)
            #expect(again.errorCode == "ALREADY_EXISTS")
        }
    }

    @Test(arguments: ["", "Bad_Id", "9lives", "ends-"])
    func aProjectIDMustBeGivenAndValid(id: String) async throws {
        try await TestServer.run { server in
            let reply = try await createProject(server, id)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "INVALID_PARAMETER_VALUE")
            let list = try await server.call(.get, "/api/2.0/postgres/projects")
            #expect(list["projects"]?.arrayValue == [])
        }
    }

    @Test func aMissingProjectIsNotFound() async throws {
        try await TestServer.run { server in
            for (method, uri) in [
                (HTTPRequest.Method.get, "/api/2.0/postgres/projects/nope"),
                (.delete, "/api/2.0/postgres/projects/nope"),
                (.get, "/api/2.0/postgres/projects/nope/branches"),
            ] {
                let reply = try await server.call(method, uri)
                #expect(reply.status == .notFound, "\(method) \(uri)")
                #expect(reply.errorCode == "NOT_FOUND", "\(method) \(uri)")
            }
        }
    }

    @Test func anUnknownOperationIsNotFoundAtOnce() async throws {
        try await TestServer.run { server in
            #expect(try await createProject(server, "p").status == .ok)
            let start = ContinuousClock.now
            let reply = try await server.call(.get, "/api/2.0/postgres/projects/p/operations/no-such-operation")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "NOT_FOUND")
            // Not waiting for an operation that will never finish; the bound leaves room for a loaded machine
            // (5.1 s seen with every suite running at once).
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }

    @Test func projectsBelongToTheirWorkspace() async throws {
        try await TestServer.run { server in
            #expect(try await createProject(server, "p").status == .ok)
            let other = try await server.createWorkspace(deploymentName: "other")
            await server.provisionWorkspaces()
            let token = try await server.adminToken(in: other)
            let elsewhere = try await server.call(.get, "/w/other/api/2.0/postgres/projects/p", auth: .bearer(token))
            #expect(elsewhere.status == .notFound)
            #expect(elsewhere.errorCode == "NOT_FOUND")
        }
    }

    static let unknownRoutes: [(HTTPRequest.Method, String)] = [
        (.get, "/api/2.0/postgres/widgets"),
        (.get, "/api/2.0/postgres/projects/p/tables"),
        (.post, "/api/2.0/postgres/projects/p"),
        (.patch, "/api/2.0/postgres/projects"),
        (.delete, "/api/2.0/postgres/projects/p/branches"),
        (.get, "/api/2.0/postgres/projects//branches"),
        (.post, "/api/2.0/postgres/projects/p/branches/b/password"),
    ]

    @Test(arguments: unknownRoutes)
    func aPathThePostgresAPIDoesNotHaveIsEndpointNotFound(method: HTTPRequest.Method, uri: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(method, uri, json: method == .get || method == .delete ? nil : "{}")
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "ENDPOINT_NOT_FOUND")
        }
    }

    @Test(arguments: [
        "/api/2.0/postgres/catalogs", "/api/2.0/postgres/synced_tables/t",
        "/api/2.0/postgres/projects/p/branches/production/databases/d/cdf-configs", "/api/2.0/postgres/projects/p/data-api",
    ])
    func aPathKilnDoesNotImplementYetIsNotImplemented(uri: String) async throws {
        try await TestServer.run { server in
            let reply = try await server.call(.get, uri)
            #expect(reply.status == .notImplemented)
            #expect(reply.errorCode == "NOT_IMPLEMENTED")
        }
    }
}
