public import Accounts
public import Hummingbird
import KilnCore

/// The authentication of the Account API (the `api/2.0/accounts/:account_id` group, `KilnRouter`): the
/// caller must be an admin of the account in the path, by Basic auth, a token of theirs, or an OAuth token
/// the account's token endpoint issued to an admin service principal. A request without an
/// `Authorization` header passes without a caller; `AccountContext` then refuses it.
public struct AccountAuthentication: RouterMiddleware {
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
        let accountID = try context.parameters.require("account_id")
        let credentials = try Credentials(header: header)
        var context = context
        if let token = credentials.accessToken {
            context.accountUser = try await servicePrincipal(token, accountID: accountID)
        } else {
            context.accountUser = try await authenticator.authenticateAccountAdmin(
                accountID: accountID, bearer: credentials.bearer, userName: credentials.userName, password: credentials.password)
        }
        return try await next(request, context)
    }

    /// An OAuth access token of an admin service principal of this account, issued for the account (a
    /// workspace's token is refused, as Databricks refuses it).
    private func servicePrincipal(_ token: String, accountID: String) async throws -> User {
        let (principal, audience) = try await servicePrincipals.principal(ofAccessToken: token)
        guard principal.accountID == accountID else {
            throw KilnError(.resourceDoesNotExist, "The account does not exist or the user does not belong to this account.")
        }
        guard audience == .account(accountID) else {
            throw KilnError(.unauthenticated, "This access token was issued by a workspace and is not valid for the Account API.")
        }
        guard principal.isAdmin, principal.active else { throw KilnError(.permissionDenied, "Only account admins can use the Account API.") }
        return principal
    }
}
