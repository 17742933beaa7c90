public import Accounts
public import Hummingbird
public import WorkspaceFiles
public import Lakebase
public import Prometheus

/// What the router needs from the rest of Kiln.
public struct KilnServices: Sendable {
    public var accounts: AccountStore
    public var tokens: TokenStore
    public var workspaceFiles: WorkspaceService
    public var accountResources: AccountResourceStore
    public var accountWorkspaces: AccountWorkspaces
    public var servicePrincipals: ServicePrincipals
    public var lakebase: LakebaseService
    public var metrics: PrometheusCollectorRegistry
    /// `https` when the API is served over TLS: the scheme of the URLs Kiln hands out (OIDC discovery).
    public var scheme = "http"

    public init(
        accounts: AccountStore, tokens: TokenStore, workspaceFiles: WorkspaceService,
        accountResources: AccountResourceStore, accountWorkspaces: AccountWorkspaces,
        servicePrincipals: ServicePrincipals, lakebase: LakebaseService, metrics: PrometheusCollectorRegistry
    ) {
        self.metrics = metrics
        self.lakebase = lakebase
        self.servicePrincipals = servicePrincipals
        self.accounts = accounts
        self.tokens = tokens
        self.workspaceFiles = workspaceFiles
        self.accountResources = accountResources
        self.accountWorkspaces = accountWorkspaces
    }
}

/// The responder of Kiln's HTTP API: the router, its routes of constant paths found by a table first
/// (`ExactPathResponder`), with each request's workspace found before it (`TenantResponder`), under a
/// `/w/<deployment>` prefix or not (`WorkspacePathPrefix`).
public func buildResponder(services: KilnServices) -> some HTTPResponder<KilnRequestContext> {
    WorkspacePathPrefix(TenantResponder(ExactPathResponder(buildRoutes(services: services)), accounts: services.accounts))
}

/// Builds the routes (Hummingbird's router, and the table of its constant paths: `ExactPathRoutes`):
/// middleware first (they wrap only routes added after them), then the routes. Every request has its
/// errors rendered (its workspace was found before the router, by `TenantResponder`); each group of routes
/// carries its own authentication — none for the public and OIDC routes, the workspace's for `api/2.0`, an
/// account admin's for `api/2.0/accounts/:account_id` — and a context its handlers cannot get without it.
func buildRoutes(services: KilnServices) -> ExactPathRoutes<KilnRequestContext> {
    let router = ExactPathRoutes(context: KilnRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    let authenticator = Authenticator(accounts: services.accounts, tokens: services.tokens, assignments: services.accounts.assignments)

    PublicController(scheme: services.scheme).addRoutes(to: router)
    MetricsController(registry: services.metrics).addRoutes(to: router)
    OIDCController(servicePrincipals: services.servicePrincipals, scheme: services.scheme).addRoutes(to: router)
    let api = router.group("api/2.0")
        .add(middleware: WorkspaceAuthentication(authenticator: authenticator, servicePrincipals: services.servicePrincipals))
        .group(context: AuthenticatedContext.self)
    let secrets = ServicePrincipalSecretsController(servicePrincipals: services.servicePrincipals, accounts: services.accounts)
    secrets.addWorkspaceRoutes(to: api)
    TokenController(tokens: services.tokens).addRoutes(to: api)
    TokenManagementController(tokens: services.tokens, servicePrincipals: services.servicePrincipals, accounts: services.accounts)
        .addRoutes(to: api)
    SCIMController(accounts: services.accounts, servicePrincipals: services.servicePrincipals).addRoutes(to: api)
    WorkspaceController(service: services.workspaceFiles).addRoutes(to: api)
    WorkspaceFilesController(service: services.workspaceFiles).addRoutes(to: api)
    PermissionsController(
        service: services.workspaceFiles, lakebase: services.lakebase, accounts: services.accounts, servicePrincipals: services.servicePrincipals
    )
    .addRoutes(to: api)
    PostgresController(service: services.lakebase).addRoutes(to: api)
    let accountAPI = router.group("api/2.0/accounts/:account_id")
        .add(middleware: AccountAuthentication(authenticator: authenticator, servicePrincipals: services.servicePrincipals))
        .group(context: AccountContext.self)
    AccountController(resources: services.accountResources, workspaces: services.accountWorkspaces).addRoutes(to: accountAPI)
    AccountSCIMController(accounts: services.accounts, servicePrincipals: services.servicePrincipals).addRoutes(to: accountAPI)
    WorkspaceAssignmentController(accounts: services.accounts, servicePrincipals: services.servicePrincipals, workspaces: services.accountWorkspaces)
        .addRoutes(to: accountAPI)
    secrets.addRoutes(to: accountAPI)
    return router
}
