public import Accounts
public import Hummingbird
import KilnCore

/// The authentication of workspace routes (the `api/2.0` group, `KilnRouter`): the credentials — a
/// personal access token, Basic auth, or an OAuth token of a service principal — must be good for the
/// workspace the request addresses (`TenantResponder`), and that workspace must be serving. A request
/// without an `Authorization` header passes without a caller, and learns nothing of the workspace's
/// state: `AuthenticatedContext` refuses it.
public struct WorkspaceAuthentication: RouterMiddleware {
    public typealias Context = KilnRequestContext

    private let authenticator: Authenticator
    private let servicePrincipals: ServicePrincipals

    public init(authenticator: Authenticator, servicePrincipals: ServicePrincipals) {
        self.authenticator = authenticator
        self.servicePrincipals = servicePrincipals
    }

    @concurrent public func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers.value(.authorization) else { return try await next(request, context) }
        guard let workspace = context.workspace else { throw KilnError(.unauthenticated, "This host serves no workspace.") }
        let credentials = try Credentials(header: header)
        var context = context
        if let token = credentials.accessToken {
            context.identity = try await servicePrincipal(token, in: workspace)
        } else if let bearer = credentials.bearer {
            context.identity = try await authenticator.authenticate(bearer: bearer, in: workspace)
        } else if let userName = credentials.userName, let password = credentials.password {
            context.identity = try await authenticator.authenticate(userName: userName, password: password, in: workspace)
        }
        if context.identity != nil, !workspace.isServing {
            throw KilnError(.invalidState, "Workspace \(workspace.deploymentName) is \(workspace.status), not RUNNING: \(workspace.statusMessage)")
        }
        return try await next(request, context)
    }

    /// An OAuth access token: one from the account's token endpoint is good for every workspace of the
    /// account (the unified host's M2M flow sends `X-Databricks-Workspace-Id` with it); one from a
    /// workspace's own endpoint is good for that workspace only.
    private func servicePrincipal(_ token: String, in workspace: Workspace) async throws -> Identity {
        let (principal, audience) = try await servicePrincipals.principal(ofAccessToken: token)
        guard principal.accountID == workspace.accountID else {
            throw KilnError(.unauthenticated, "This access token is not valid for this workspace.")
        }
        switch audience {
        case .account(let accountID) where accountID == workspace.accountID: break
        case .workspace(let workspaceID) where workspaceID == workspace.workspaceID: break
        default: throw KilnError(.unauthenticated, "This access token was issued for another workspace.")
        }
        return try await authenticator.identity(of: principal, in: workspace, tokenID: nil)
    }
}
