import Accounts
public import Hummingbird

/// Routes that need no credentials: health and the SDK's host-metadata probe.
public struct PublicController: Sendable {
    /// `http` or `https`, for the URLs in the host metadata.
    let scheme: String

    /// Public routes whose URLs use `scheme` (`http`, or `https` when Kiln serves TLS).
    public init(scheme: String = "http") {
        self.scheme = scheme
    }

    public func addRoutes(to router: some RouterMethods<KilnRequestContext>) {
        router.get("healthz", use: health)
        router.get(".well-known/databricks-config", use: hostMetadata)
    }

    private static let healthy = Array(#"{"status":"ok"}"#.utf8)

    @Sendable func health(_ request: Request, context: KilnRequestContext) async throws -> Response {
        JSONResponse.make(status: .ok, bytes: Self.healthy)
    }

    /// Answers at once (never 429/503, which would make SDK constructors retry for minutes). The SDK
    /// (`config.py:Config._resolve_host_metadata`) fills `account_id`, `workspace_id` and its OAuth
    /// discovery URL from it. The bare host is the unified host, whose OIDC endpoint is the account's
    /// (`{account_id}` is the SDK's placeholder), so its M2M tokens serve every workspace of the account;
    /// a workspace's own host names the workspace's endpoint, whose tokens open that workspace only.
    @Sendable func hostMetadata(_ request: Request, context: KilnRequestContext) async throws -> Response {
        guard let workspace = context.workspace else { return JSONResponse.empty() }
        let base = OIDCController.baseURL(request, scheme: scheme)
        let unified = workspace.isDefault && !request.headers.contains(.kilnDeployment)
        return JSONResponse.ok([
            "account_id": workspace.accountID,
            "workspace_id": String(workspace.workspaceID),
            "oidc_endpoint": unified ? base + "/oidc/accounts/{account_id}" : base + "/oidc",
        ])
    }
}
