public import Accounts
public import Hummingbird
import KilnCore

/// The context of every request: the workspace it addresses and, once authenticated, who sent it.
public struct KilnRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The workspace the request addresses (set by `TenantResponder`).
    public var workspace: Workspace?
    /// The caller (set by `WorkspaceAuthentication` when credentials were sent and are valid).
    public var identity: Identity?
    /// The account admin calling the Account API (set by `AccountAuthentication`).
    public var accountUser: User?

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
                KilnError(
                    .unauthenticated, "No credentials were sent. Authenticate with 'Authorization: Bearer <personal access token>'."))
        }
        self.coreContext = context.coreContext
        self.identity = identity
    }

    public var maxUploadSize: Int { RequestBodyReader.defaultLimit }

    /// The caller's workspace.
    public var workspace: Workspace { identity.workspace }
}

/// The context of Account API routes: only an authenticated admin of the account in the path gets here.
public struct AccountContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The account admin calling.
    public let user: User

    public init(context: KilnRequestContext) throws {
        guard let user = context.accountUser else {
            throw DatabricksError(
                KilnError(
                    .unauthenticated, "No credentials were sent. The Account API takes Basic auth of an account admin, or a token."))
        }
        self.coreContext = context.coreContext
        self.user = user
    }

    public var maxUploadSize: Int { RequestBodyReader.defaultLimit }
}
