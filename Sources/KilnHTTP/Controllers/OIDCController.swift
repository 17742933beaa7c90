public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// OAuth M2M for service principals (sdk-contract.md §2.3): the discovery document and the token endpoint,
/// per workspace (`/oidc/…`, also under `/w/<name>`) and per account (`/oidc/accounts/<id>/…`).
public struct OIDCController: Sendable {
    let servicePrincipals: ServicePrincipals
    /// `http` or `https`, for the URLs in the discovery documents.
    let scheme: String

    /// Token endpoints for `servicePrincipals`, whose discovery documents name URLs with `scheme`.
    public init(servicePrincipals: ServicePrincipals, scheme: String = "http") {
        self.servicePrincipals = servicePrincipals
        self.scheme = scheme
    }

    public func addRoutes(to router: some RouterMethods<KilnRequestContext>) {
        router.get("oidc/.well-known/oauth-authorization-server") { request, context in
            Self.discovery(base: Self.baseURL(request, scheme: self.scheme) + "/oidc")
        }
        router.get("oidc/accounts/:account_id/.well-known/oauth-authorization-server") { request, context in
            Self.discovery(base: Self.baseURL(request, scheme: self.scheme) + "/oidc/accounts/" + (try context.parameters.require("account_id")))
        }
        router.post("oidc/v1/token") { request, context in
            guard let workspace = context.workspace else { throw KilnError(.resourceDoesNotExist, "No workspace is served here.") }
            return try await self.token(request, audience: .workspace(workspace.workspaceID), accountID: workspace.accountID)
        }
        router.post("oidc/accounts/:account_id/v1/token") { request, context in
            let accountID = try context.parameters.require("account_id")
            return try await self.token(request, audience: .account(accountID), accountID: accountID)
        }
    }

    /// `<scheme>://<host>` plus the `/w/<name>` prefix when the request came through one.
    static func baseURL(_ request: Request, scheme: String) -> String {
        let host = request.head.authority ?? "127.0.0.1"
        let prefix = request.headers.value(.kilnDeployment).map { "/w/\($0)" } ?? ""
        return "\(scheme)://\(host)\(prefix)"
    }

    static func discovery(base: String) -> Response {
        JSONResponse.ok([
            "issuer": base,
            "authorization_endpoint": base + "/v1/authorize",
            "token_endpoint": base + "/v1/token",
        ])
    }

    /// `grant_type=client_credentials`, with the client id and secret in Basic auth or in the form.
    func token(_ request: Request, audience: ServicePrincipals.Audience, accountID: String) async throws -> Response {
        guard let body = try await RequestBodyReader.collect(request, limit: 64 << 10) else {
            return Self.failure("invalid_request", "The request is too large.")
        }
        let form = QueryParameters(String(buffer: body))
        guard form["grant_type"] == "client_credentials" else {
            return Self.failure("unsupported_grant_type", "Only grant_type=client_credentials is supported.")
        }
        var clientID: String?
        var secret: String?
        if let header = request.headers.value(.authorization), let credentials = try? Credentials(header: header) {
            clientID = credentials.userName
            secret = credentials.password
        }
        if let id = form["client_id"] { clientID = id }
        if let value = form["client_secret"] { secret = value }
        guard let clientID, let secret,
            let principal = try await servicePrincipals.authenticate(clientID: clientID, secret: secret),
            principal.accountID == accountID, principal.active
        else {
            return Self.failure("invalid_client", "Client authentication failed")
        }
        let token = try await servicePrincipals.issueToken(for: principal, audience: audience)
        return JSONResponse.ok(
            TokenResponse(
                accessToken: token, tokenType: "Bearer", expiresIn: Int(ServicePrincipals.tokenLifetimeSeconds), scope: "all-apis"))
    }

    /// An OAuth error: JSON, with a Content-Type (the SDK fails without one).
    static func failure(_ code: String, _ description: String) -> Response {
        var response = JSONResponse.ok(["error": code, "error_description": description])
        response.status = .unauthorized
        return response
    }
}

struct TokenResponse: Encodable {
    var accessToken: String
    var tokenType: String
    var expiresIn: Int
    var scope: String

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case scope
    }
}
