public import Hummingbird
import HTTPTypes

/// Serves a workspace under `/w/<deployment_name>/…` (the SDK keeps a path prefix in its host): strips the
/// prefix and names the deployment in `X-Kiln-Deployment` for `TenantMiddleware`.
public struct WorkspacePathPrefix<Responder: HTTPResponder>: HTTPResponder where Responder.Context == KilnRequestContext {
    let responder: Responder

    public init(_ responder: Responder) {
        self.responder = responder
    }

    public func respond(to request: Request, context: KilnRequestContext) async throws -> Response {
        var head = request.head
        head.headerFields[.kilnDeployment] = nil
        let path = head.path ?? "/"
        if path.hasPrefix("/w/") {
            let rest = path.dropFirst(3)
            let name = rest.prefix { $0 != "/" && $0 != "?" }
            if !name.isEmpty {
                let remainder = rest.dropFirst(name.count)
                head.path = remainder.hasPrefix("/") ? String(remainder) : "/" + remainder
                head.headerFields[.kilnDeployment] = String(name)
            }
        }
        return try await responder.respond(to: Request(head: head, body: request.body), context: context)
    }
}
