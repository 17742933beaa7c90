public import Accounts
public import Hummingbird
public import WorkspaceFiles

/// What the router needs from the rest of Kiln.
public struct KilnServices: Sendable {
    public var accounts: AccountStore
    public var tokens: TokenStore
    public var workspaceFiles: WorkspaceService

    public init(accounts: AccountStore, tokens: TokenStore, workspaceFiles: WorkspaceService) {
        self.accounts = accounts
        self.tokens = tokens
        self.workspaceFiles = workspaceFiles
    }
}

/// Builds the router: middleware first (they wrap only routes added after them), then the routes.
public func buildRouter(services: KilnServices) -> Router<KilnRequestContext> {
    let router = Router(context: KilnRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: TenantMiddleware(accounts: services.accounts))
    router.add(middleware: AuthenticationMiddleware(
        authenticator: Authenticator(accounts: services.accounts, tokens: services.tokens)))

    PublicController().addRoutes(to: router)
    let api = router.group("api/2.0", context: AuthenticatedContext.self)
    TokenController(tokens: services.tokens).addRoutes(to: api)
    SCIMController().addRoutes(to: api)
    WorkspaceController(service: services.workspaceFiles).addRoutes(to: api)
    return router
}
