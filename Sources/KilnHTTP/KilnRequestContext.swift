public import Accounts
public import Hummingbird

/// The context of every request: the workspace it addresses and, once authenticated, who sent it.
public struct KilnRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The workspace the request addresses (set by `TenantMiddleware`).
    public var workspace: Workspace?
    /// The caller (set by `AuthenticationMiddleware` when credentials were sent and are valid).
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Kiln reads bodies itself with per-endpoint limits (`RequestBodyReader`).
    public var maxUploadSize: Int { RequestBodyReader.defaultLimit }
}

/// The context of routes that need a caller: it cannot be made without an identity, so an
/// unauthenticated request never reaches their handlers.
public struct AuthenticatedContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller.
    public let identity: Identity

    public init(context: KilnRequestContext) throws {
        guard let identity = context.identity else {
            throw DatabricksError(
                status: .unauthorized, code: "UNAUTHENTICATED",
                message: "No credentials were sent. Authenticate with 'Authorization: Bearer <personal access token>'.")
        }
        self.coreContext = context.coreContext
        self.identity = identity
    }

    public var maxUploadSize: Int { RequestBodyReader.defaultLimit }

    /// The caller's workspace.
    public var workspace: Workspace { identity.workspace }
}
