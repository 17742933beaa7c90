public import Accounts
public import Hummingbird
import KilnCore

/// OAuth secrets of an account's service principals (the SDK's `a.service_principal_secrets`,
/// `/api/2.0/accounts/{account_id}/servicePrincipals/{id}/credentials/secrets`): create (the secret shown
/// once; `lifetime` as `"<seconds>s"`, 730 days by default), list and delete. A new secret logs in at once
/// at the OAuth token endpoints (M2M). The Account API's callers are the account's admins.
public struct ServicePrincipalSecretsController: Sendable {
    let servicePrincipals: ServicePrincipals
    let accounts: AccountStore

    public init(servicePrincipals: ServicePrincipals, accounts: AccountStore) {
        self.servicePrincipals = servicePrincipals
        self.accounts = accounts
    }

    /// The Account API's routes (`…/accounts/{account_id}/servicePrincipals/…`), for account admins.
    public func addRoutes(to group: RouterGroup<AccountContext>) {
        addRoutes(to: group, at: "servicePrincipals/:service_principal_id/credentials/secrets") { try await principal($0) }
    }

    /// A workspace's proxy of the same API (`/api/2.0/accounts/servicePrincipals/{id}/credentials/secrets`,
    /// the SDK's `w.service_principal_secrets_proxy`): its admins manage the secrets of the service
    /// principals assigned to it, except an account admin's, whose secret would open the Account API.
    public func addWorkspaceRoutes(to group: RouterGroup<AuthenticatedContext>) {
        addRoutes(to: group, at: "accounts/servicePrincipals/:service_principal_id/credentials/secrets") { try await principal($0) }
    }

    /// Create, list and delete at `secrets`, for the service principal `principal` finds for the caller.
    private func addRoutes<Context: RequestContext>(
        to group: RouterGroup<Context>, at secrets: String, principal: @escaping @Sendable (Context) async throws -> ServicePrincipal
    ) {
        group.post(RouterPath(secrets)) { request, context in try await create(for: try await principal(context), request) }
        group.get(RouterPath(secrets)) { _, context in try await list(for: try await principal(context)) }
        group.delete(RouterPath(secrets + "/:secret_id")) { _, context in
            try await delete(try context.parameters.require("secret_id"), for: try await principal(context))
        }
    }

    func create(for principal: ServicePrincipal, _ request: Request) async throws -> Response {
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
    func list(for principal: ServicePrincipal) async throws -> Response {
        let secrets = try await servicePrincipals.secrets(of: principal)
        return JSONResponse.ok(JSONTree.object([.init("secrets", .array(secrets.map(Self.json)))]))
    }

    func delete(_ secretID: String, for principal: ServicePrincipal) async throws -> Response {
        try await servicePrincipals.deleteSecret(id: secretID, of: principal)
        return JSONResponse.empty()
    }

    private func principal(_ context: AccountContext) async throws -> ServicePrincipal {
        try await principal(try context.parameters.require("service_principal_id"), accountID: try context.parameters.require("account_id"))
    }

    private func principal(_ context: AuthenticatedContext) async throws -> ServicePrincipal {
        try SCIMController.requireAdmin(context)
        let workspace = context.workspace
        let principal = try await principal(try context.parameters.require("service_principal_id"), accountID: workspace.accountID)
        guard try await accounts.assignments.permission(of: principal.user.userID, in: workspace.workspaceID) != nil else {
            throw KilnError(.resourceDoesNotExist, "Service principal \(principal.user.userID) does not exist.")
        }
        guard !principal.user.isAdmin else {
            throw KilnError(.permissionDenied, "The secrets of an account admin are managed on the Account API.")
        }
        return principal
    }

    private func principal(_ id: String, accountID: String) async throws -> ServicePrincipal {
        guard let number = Int64(id), let principal = try await servicePrincipals.principal(accountID: accountID, id: number) else {
            throw KilnError(.resourceDoesNotExist, "Service principal \(id) does not exist.")
        }
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
