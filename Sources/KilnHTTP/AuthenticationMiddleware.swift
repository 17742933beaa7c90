public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// Authenticates the credentials a request carries. A request without an `Authorization` header passes
/// through without an identity (public routes serve it; `AuthenticatedContext` refuses it); bad
/// credentials are refused here with 401.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = KilnRequestContext

    private let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        guard let workspace = context.workspace else {
            throw KilnError(.unauthenticated, "This host serves no workspace.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else {
            throw KilnError(.unauthenticated, "Malformed Authorization header.")
        }
        var context = context
        switch parts[0].lowercased() {
        case "bearer":
            context.identity = try await authenticator.authenticate(
                bearer: parts[1].trimmingCharacters(in: .whitespaces), in: workspace)
        case "basic":
            throw KilnError(.unauthenticated, "Basic authentication is not enabled on this workspace; use a personal access token.")
        default:
            throw KilnError(.unauthenticated, "Unsupported authorization scheme '\(parts[0])'; use Bearer.")
        }
        return try await next(request, context)
    }
}
