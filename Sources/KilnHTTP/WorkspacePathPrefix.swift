public import Hummingbird
import HTTPTypes

/// Serves a workspace under `/w/<deployment_name>/…` (the SDK keeps a path prefix in its host): strips the
/// prefix and names the deployment in `X-Kiln-Deployment` for `TenantResponder`.
public struct WorkspacePathPrefix<Responder: HTTPResponder>: HTTPResponder where Responder.Context == KilnRequestContext {
    let responder: Responder

    public init(_ responder: Responder) {
        self.responder = responder
    }

    public func respond(to request: Request, context: KilnRequestContext) async throws -> Response {
        let prefix = DeploymentPrefix.split(request.head.path ?? "/")
        // Most requests have no prefix, and no `X-Kiln-Deployment` of a client's to drop: passed on as they are
        // (a new request would parse its target again).
        guard prefix != nil || request.headers[.kilnDeployment] != nil else {
            return try await responder.respond(to: request, context: context)
        }
        var head = request.head
        head.headerFields[.kilnDeployment] = nil
        if let (name, remainder) = prefix {
            head.path = remainder.utf8.first == UInt8(ascii: "/") ? String(remainder) : "/" + remainder
            head.headerFields[.kilnDeployment] = String(name)
        }
        return try await responder.respond(to: Request(head: head, body: request.body), context: context)
    }
}

/// The `/w/<deployment_name>` prefix of a request target, read once for `WorkspacePathPrefix` and for
/// `EventLoopResponderStateMachine`'s routes.
enum DeploymentPrefix {
    /// The deployment name and what follows it, of a target `/w/<name>…`; nil without the prefix or with an
    /// empty name. The name ends at `/` or `?`.
    static func split(_ target: some StringProtocol) -> (name: Substring, remainder: Substring)? {
        let target = Substring(target)
        guard target.utf8.starts(with: "/w/".utf8) else { return nil }
        let rest = target[target.utf8.index(target.startIndex, offsetBy: 3)...]
        let end = rest.utf8.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        guard end != rest.startIndex else { return nil }
        return (rest[..<end], rest[end...])
    }
}
