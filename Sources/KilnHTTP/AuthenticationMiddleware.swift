public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// Authenticates the credentials a request carries: Bearer tokens and Basic auth. On Account API routes
/// (`/api/2.0/accounts/<id>/…`) the caller must be an admin of that account; elsewhere the credentials
/// must be good for the workspace the request addresses. A request without an `Authorization` header
/// passes through without a caller (public routes serve it; the authenticated contexts refuse it).
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = KilnRequestContext

    private let authenticator: Authenticator
    private let servicePrincipals: ServicePrincipals

    public init(authenticator: Authenticator, servicePrincipals: ServicePrincipals) {
        self.authenticator = authenticator
        self.servicePrincipals = servicePrincipals
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The token endpoints read client credentials themselves.
        guard let header = request.headers[.authorization], !request.uri.path.hasPrefix("/oidc/") else {
            return try await next(request, context)
        }
        let credentials = try Credentials(header: header)
        var context = context
        if let bearer = credentials.bearer, bearer.hasPrefix("kiln_m2m.") {
            try await authenticateServicePrincipal(bearer, request: request, context: &context)
            return try await next(request, context)
        }
        if let accountID = Self.accountID(inPath: request.uri.path) {
            context.accountUser = try await authenticator.authenticateAccountAdmin(
                accountID: accountID, bearer: credentials.bearer, userName: credentials.userName, password: credentials.password)
            return try await next(request, context)
        }
        guard let workspace = context.workspace else {
            throw KilnError(.unauthenticated, "This host serves no workspace.")
        }
        if let bearer = credentials.bearer {
            context.identity = try await authenticator.authenticate(bearer: bearer, in: workspace)
        } else if let userName = credentials.userName, let password = credentials.password {
            context.identity = try await authenticator.authenticate(userName: userName, password: password, in: workspace)
        }
        return try await next(request, context)
    }

    /// An OAuth access token: one from the account's token endpoint is good for the Account API and every
    /// workspace of the account (the unified host's M2M flow sends `X-Databricks-Workspace-Id` with it);
    /// one from a workspace's own endpoint is good for that workspace only.
    private func authenticateServicePrincipal(_ token: String, request: Request, context: inout Context) async throws {
        guard let (principal, audience) = try await servicePrincipals.verify(token) else {
            throw KilnError(.unauthenticated, "Invalid or expired access token.")
        }
        if let accountID = Self.accountID(inPath: request.uri.path) {
            guard principal.accountID == accountID else {
                throw KilnError(.resourceDoesNotExist, "The account does not exist or the user does not belong to this account.")
            }
            guard audience == .account(accountID) else {
                throw KilnError(.unauthenticated, "This access token was issued by a workspace and is not valid for the Account API.")
            }
            guard principal.isAdmin else { throw KilnError(.permissionDenied, "Only account admins can use the Account API.") }
            context.accountUser = principal
            return
        }
        guard let workspace = context.workspace, principal.accountID == workspace.accountID else {
            throw KilnError(.unauthenticated, "This access token is not valid for this workspace.")
        }
        switch audience {
        case .account(let accountID) where accountID == workspace.accountID: break
        case .workspace(let workspaceID) where workspaceID == workspace.workspaceID: break
        default: throw KilnError(.unauthenticated, "This access token was issued for another workspace.")
        }
        context.identity = Identity(user: principal, workspace: workspace, tokenID: nil)
    }

    /// The account id of an Account API path.
    static func accountID(inPath path: String) -> String? {
        let prefix = "/api/2.0/accounts/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = path.dropFirst(prefix.count).prefix { $0 != "/" }
        return id.isEmpty ? nil : String(id)
    }
}

/// The parsed `Authorization` header.
struct Credentials {
    var bearer: String?
    var userName: String?
    var password: String?

    init(header: String) throws(KilnError) {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw KilnError(.unauthenticated, "Malformed Authorization header.") }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "bearer":
            guard !value.isEmpty else { throw KilnError(.unauthenticated, "Invalid access token.") }
            bearer = value
        case "basic":
            guard let decoded = Data(base64Encoded: value).flatMap({ String(data: $0, encoding: .utf8) }),
                  let colon = decoded.firstIndex(of: ":")
            else { throw KilnError(.unauthenticated, "Malformed Basic credentials.") }
            userName = String(decoded[..<colon])
            password = String(decoded[decoded.index(after: colon)...])
        default:
            throw KilnError(.unauthenticated, "Unsupported authorization scheme '\(parts[0])'; use Bearer or Basic.")
        }
    }
}
