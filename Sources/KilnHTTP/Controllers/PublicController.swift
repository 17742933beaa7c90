import Accounts
public import Hummingbird

/// Routes that need no credentials: health and the SDK's host-metadata probe.
public struct PublicController: Sendable {
    public init() {}

    public func addRoutes(to router: Router<KilnRequestContext>) {
        router.get("healthz", use: health)
        router.get(".well-known/databricks-config", use: hostMetadata)
    }

    @Sendable func health(_ request: Request, context: KilnRequestContext) async throws -> Response {
        JSONResponse.ok(["status": "ok"])
    }

    /// Answers at once (never 429/503, which would make SDK constructors retry for minutes).
    @Sendable func hostMetadata(_ request: Request, context: KilnRequestContext) async throws -> Response {
        guard let workspace = context.workspace else { return JSONResponse.empty() }
        return JSONResponse.ok([
            "workspace_id": String(workspace.workspaceID),
            "oidc_endpoint": OIDCController.baseURL(request) + "/oidc",
        ])
    }
}
