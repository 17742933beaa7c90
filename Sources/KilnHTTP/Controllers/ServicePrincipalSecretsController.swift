public import Accounts
public import Hummingbird
import KilnCore

/// OAuth secrets of an account's service principals (the SDK's `a.service_principal_secrets`,
/// `/api/2.0/accounts/{account_id}/servicePrincipals/{id}/credentials/secrets`): create (the secret shown
/// once; `lifetime` as `"<seconds>s"`, 730 days by default), list and delete. A new secret logs in at once
/// at the OAuth token endpoints (M2M). The Account API's callers are the account's admins.
public struct ServicePrincipalSecretsController: Sendable {
    let servicePrincipals: ServicePrincipals

    public init(servicePrincipals: ServicePrincipals) {
        self.servicePrincipals = servicePrincipals
    }

    public func addRoutes(to group: RouterGroup<AccountContext>) {
        let secrets = "servicePrincipals/:service_principal_id/credentials/secrets"
        group.post(RouterPath(secrets), use: create)
        group.get(RouterPath(secrets), use: list)
        group.delete(RouterPath(secrets + "/:secret_id"), use: delete)
    }

    @Sendable func create(_ request: Request, context: AccountContext) async throws -> Response {
        let principal = try await principal(context)
        let parameters = try await APIParameters.read(request)
        var lifetime: Int64?
        if let text = try parameters.string("lifetime") {
            guard let seconds = ProtoTime.seconds(duration: text), seconds == seconds.rounded() else {
                throw KilnError.invalidParameter("lifetime must be a number of seconds such as \"3600s\", not '\(text)'.")
            }
            lifetime = Int64(seconds)
        }
        let (info, secret) = try await servicePrincipals.createSecret(for: principal, lifetimeSeconds: lifetime)
        var json = Self.json(info)
        json.set("secret", .string(secret))
        return JSONResponse.ok(json)
    }

    /// All of the principal's secrets in one page (`secrets`, no `next_page_token`).
    @Sendable func list(_ request: Request, context: AccountContext) async throws -> Response {
        let principal = try await principal(context)
        let secrets = try await servicePrincipals.secrets(of: principal)
        return JSONResponse.ok(JSONTree.object([.init("secrets", .array(secrets.map(Self.json)))]))
    }

    @Sendable func delete(_ request: Request, context: AccountContext) async throws -> Response {
        let principal = try await principal(context)
        try await servicePrincipals.deleteSecret(id: try context.parameters.require("secret_id"), of: principal)
        return JSONResponse.empty()
    }

    private func principal(_ context: AccountContext) async throws -> ServicePrincipal {
        let id = try context.parameters.require("service_principal_id")
        guard let number = Int64(id),
            let principal = try await servicePrincipals.principal(accountID: try context.parameters.require("account_id"), id: number)
        else { throw KilnError(.resourceDoesNotExist, "Service principal \(id) does not exist.") }
        return principal
    }

    /// `SecretInfo`: `id`, `create_time`, `update_time`, `expire_time` (RFC 3339, UTC) and `status`
    /// (`ACTIVE`, or `EXPIRED` once past its expiry).
    static func json(_ secret: ServicePrincipalSecret) -> JSONTree {
        .object([
            .init("id", .string(secret.id)), .init("create_time", .string(ProtoTime.timestamp(millis: secret.createdAt))),
            .init("update_time", .string(ProtoTime.timestamp(millis: secret.createdAt))),
            .init("expire_time", .string(ProtoTime.timestamp(millis: secret.expiresAt))),
            .init("status", .string(secret.isExpired ? "EXPIRED" : "ACTIVE")),
        ])
    }
}
