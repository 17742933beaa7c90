import KilnCore

/// Turns the credentials of a request into a caller: in a workspace (personal access token of that
/// workspace, or Basic auth of a user of its account) or on the account API (Basic auth or a token of an
/// account admin).
public struct Authenticator: Sendable {
    private let accounts: AccountStore
    private let tokens: TokenStore
    private let assignments: WorkspaceAssignments

    public init(accounts: AccountStore, tokens: TokenStore, assignments: WorkspaceAssignments) {
        self.accounts = accounts
        self.tokens = tokens
        self.assignments = assignments
    }

    /// The identity behind a bearer token in `workspace`, or an `UNAUTHENTICATED` error.
    public func authenticate(bearer secret: String, in workspace: Workspace) async throws -> Identity {
        guard let (userID, tokenID) = try await tokens.resolve(secret: secret, workspaceID: workspace.workspaceID),
            let user = try await accounts.user(id: userID)
        else {
            throw KilnError(.unauthenticated, "Invalid access token.")
        }
        return try await identity(of: user, in: workspace, tokenID: tokenID)
    }

    /// The identity of an account user logging in to `workspace` with Basic auth.
    public func authenticate(userName: String, password: String, in workspace: Workspace) async throws -> Identity {
        guard let user = try await accounts.verifyPassword(accountID: workspace.accountID, userName: userName, password: password) else {
            throw KilnError(.unauthenticated, "Invalid user name or password.")
        }
        return try await identity(of: user, in: workspace, tokenID: nil)
    }

    /// The identity of an authenticated principal of `workspace`'s account there. Throws `UNAUTHENTICATED`
    /// for an inactive principal and `PERMISSION_DENIED` for one not assigned to the workspace, directly or
    /// through a group (Databricks answers "User not authorized" alike).
    public func identity(of user: User, in workspace: Workspace, tokenID: String?) async throws -> Identity {
        guard user.active else { throw KilnError(.unauthenticated, "User \(user.userName) is not active.") }
        let access = try await assignments.access(of: user.userID, in: workspace.workspaceID)
        guard user.accountID == workspace.accountID, let permission = access.permission else {
            throw KilnError(.permissionDenied, "User \(user.userName) is not assigned to workspace \(workspace.workspaceID).")
        }
        return Identity(user: user, workspace: workspace, tokenID: tokenID, permission: permission, groupIDs: access.groups)
    }

    /// The account admin calling the Account API of `accountID`, with Basic auth or a token.
    public func authenticateAccountAdmin(accountID: String, bearer: String?, userName: String?, password: String?) async throws -> User {
        var user: User?
        if let bearer {
            if let (userID, _, _) = try await tokens.resolve(secret: bearer) { user = try await accounts.user(id: userID) }
            guard user != nil else { throw KilnError(.unauthenticated, "Invalid access token.") }
        } else if let userName, let password {
            // A user of another account gets the same answer as an account that does not exist.
            user = try await accounts.verifyPassword(accountID: accountID, userName: userName, password: password)
            if user == nil { user = try await accounts.verifyPassword(accountID: nil, userName: userName, password: password) }
            guard user != nil else { throw KilnError(.unauthenticated, "Invalid user name or password.") }
        }
        guard let user, user.accountID == accountID else {
            throw KilnError(.resourceDoesNotExist, "The account does not exist or the user does not belong to this account.")
        }
        guard user.isAdmin, user.active else {
            throw KilnError(.permissionDenied, "Only account admins can use the Account API.")
        }
        return user
    }
}
