import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import KilnHTTP

@Suite struct ExactPathRoutesTests {
    @Test(
        arguments: [
            ("healthz", "/healthz"), ("/api/2.0/workspace/get-status", "/api/2.0/workspace/get-status"), ("a/:id", nil),
            ("a/{id}", nil), ("a/*", nil), ("a/**", nil), ("a/b*", nil), ("a/*.jpg", nil), ("a/{id}.json", nil),
            ("a/file{id}", nil), ("", nil), ("/", nil),
        ] as [(String, String?)])
    func onlyPathsOfConstantsHaveAnExactPath(_ path: String, _ exact: String?) {
        #expect(ExactPathRoutes<BasicRequestContext>.exactPath(of: RouterPath(path)) == exact)
    }

    /// Appends `name: 1` to every answer, so that an answer shows which middleware it went through, in what order.
    struct Stamp: RouterMiddleware {
        let name: HTTPField.Name

        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            var response = try await next(request, context)
            response.headers.append(HTTPField(name: name, value: "1"))
            return response
        }
    }

    static let outer = HTTPField.Name("X-Outer")!
    static let inner = HTTPField.Name("X-Inner")!

    /// The same routes, for a plain router and for the table.
    static func register(_ routes: some RouterMethods<BasicRequestContext>) {
        routes.add(middleware: Stamp(name: outer))
        routes.get("healthz") { _, _ in "healthy" }
        let api = routes.group("api").add(middleware: Stamp(name: inner))
        api.get(":id") { _, context in "parameter \(context.parameters.get("id") ?? "")" }
        api.get("b") { _, _ in "constant" }
        api.post("b") { _, _ in "posted" }
        api.get("fail") { _, _ -> String in throw HTTPError(.conflict, message: "no") }
        api.get("b/**") { _, _ in "wildcard" }
    }

    static let requests: [(HTTPRequest.Method, String)] = [
        (.get, "/healthz"), (.get, "/api/b"), (.post, "/api/b"), (.delete, "/api/b"), (.get, "/api/x"),
        (.get, "/api/fail"), (.get, "/api/b/c/d"), (.get, "/api/b/"), (.get, "/API/b"), (.get, "/nowhere"), (.head, "/api/b"),
    ]

    /// What each of `requests` is answered with: status, body and the stamps, in order.
    static func answers(_ responder: some HTTPResponder<BasicRequestContext>) async throws -> [String] {
        try await Application(responder: responder).test(.router) { client in
            var answers: [String] = []
            for (method, uri) in requests {
                let response = try await client.execute(uri: uri, method: method)
                let stamps = response.headers.filter { $0.name == outer || $0.name == inner }.map(\.name.rawName)
                answers.append("\(method) \(uri): \(response.status.code) \(String(buffer: response.body)) \(stamps)")
            }
            return answers
        }
    }

    /// Every request is answered as the router alone answers it: a constant path by its route, through the
    /// router's middleware and then its group's; a parameter, a wildcard or another method (HEAD too) by the
    /// router. (The answers cannot tell which way a request went; which routes the table holds is checked
    /// here, and `bench/instructions` shows it used: a get-status costs 20,000 instructions fewer.)
    @Test func theTableAnswersAsTheRouterDoes() async throws {
        let router = Router(context: BasicRequestContext.self)
        Self.register(router)
        let routes = ExactPathRoutes(context: BasicRequestContext.self)
        Self.register(routes)
        #expect(
            Set(routes.routes.keys.map { "\($0.method) \($0.path)" })
                == ["GET /healthz", "GET /api/b", "POST /api/b", "GET /api/fail"])

        let table = try await Self.answers(ExactPathResponder(routes))
        #expect(table == (try await Self.answers(router.buildResponder())))
        #expect(table[1] == "GET /api/b: 200 constant [\"X-Inner\", \"X-Outer\"]")
        #expect(table[4] == "GET /api/x: 200 parameter x [\"X-Inner\", \"X-Outer\"]")
    }
}
