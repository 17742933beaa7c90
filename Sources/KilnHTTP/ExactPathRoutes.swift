public import HTTPTypes
public import Hummingbird

/// Kiln's routes: registered with Hummingbird's router as they always were and, when their path is all
/// constants (`/api/2.0/workspace/get-status`, not `/api/2.0/accounts/:account_id/…`), kept in a table by
/// method and exact path as well, each composed as the router composes it: the router's middleware around
/// the route's own (its group's middleware and context, then its handler). `ExactPathResponder` answers those
/// without the router's walk of its trie.
///
/// Why: Hummingbird's trie reads a request's path `Character` by `Character`, about 20,000 machine
/// instructions of a get-status's 225,000 (bench/instructions); a table lookup costs a hash of the path.
///
/// Controllers add routes to this table, or to groups of it, as to a router (`RouterMethods`); middleware
/// added to it goes to the router, and applies to the routes added after it, as there.
public final class ExactPathRoutes<Context: RequestContext>: RouterMethods {
    /// The router every route is registered with.
    let router: Router<Context>
    /// The routes whose path is all constants, by method and path (`/a/b`, as `request.uri.path` gives it).
    private(set) var routes: [Route: Entry] = [:]

    /// A method and an exact path.
    struct Route: Hashable {
        let method: HTTPRequest.Method
        let path: String
    }

    /// A route's responder, with its path as Hummingbird names it for the context's `endpointPath`.
    struct Entry {
        let endpointPath: String
        let responder: any HTTPResponder<Context>
    }

    /// Routes for a router made with its default options (case-sensitive paths, no HEAD made from GET), which
    /// the table matches as the trie does.
    public init(context: Context.Type = Context.self) {
        self.router = Router(context: context)
    }

    @discardableResult public func on<Responder: HTTPResponder>(
        _ path: RouterPath, method: HTTPRequest.Method, responder: Responder
    ) -> Self where Responder.Context == Context {
        router.on(path, method: method, responder: responder)
        if let exact = Self.exactPath(of: path) {
            // What `Router.on` registers: the router's middleware so far around the route's responder.
            routes[Route(method: method, path: exact)] = Entry(
                endpointPath: path.description, responder: router.middlewares.constructResponder(finalResponder: responder))
        }
        return self
    }

    @discardableResult public func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    /// `/a/b` for a path of constants `a/b`; nil when a component is a parameter, a wildcard or empty.
    static func exactPath(of path: RouterPath) -> String? {
        var exact = ""
        for component in path.components {
            let text = component.description
            guard !text.isEmpty, component == RouterPath.Element.path(Substring(text)) else { return nil }
            exact += "/" + text
        }
        return exact.isEmpty ? nil : exact
    }
}

/// Answers a request whose method and path are one of `ExactPathRoutes`' with that route's responder, else
/// passes it on to the router. The answer is the router's: its trie tries a constant component before any
/// parameter or wildcard (`RouterPath.Element.priority`), so a path that is all constants finds that route
/// there too; and like `RouterResponder`, it names the route in the context's `endpointPath` and renders an
/// `HTTPResponseError` that gets past the route's middleware.
public struct ExactPathResponder<Context: RequestContext>: HTTPResponder {
    private let routes: [ExactPathRoutes<Context>.Route: ExactPathRoutes<Context>.Entry]
    private let router: RouterResponder<Context>

    public init(_ routes: ExactPathRoutes<Context>) {
        self.routes = routes.routes
        self.router = routes.router.buildResponder()
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard let route = routes[.init(method: request.method, path: request.uri.path)] else {
            return try await router.respond(to: request, context: context)
        }
        do {
            context.coreContext.endpointPath.value = route.endpointPath
            return try await route.responder.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }
}
