public import KilnCore

/// Turns the credentials of a request into an identity in a workspace.
public struct Authenticator: Sendable {
    private let accounts: AccountStore
    private let tokens: TokenStore

    public init(accounts: AccountStore, tokens: TokenStore) {
        self.accounts = accounts
        self.tokens = tokens
    }

    /// The identity behind a bearer token in `workspace`, or an `UNAUTHENTICATED` error.
    public func authenticate(bearer secret: String, in workspace: Workspace) async throws -> Identity {
        guard let (userID, tokenID) = try await tokens.resolve(secret: secret, workspaceID: workspace.workspaceID),
              let user = try await accounts.user(id: userID)
        else {
            throw KilnError(.unauthenticated, "Invalid access token.")
        }
        return Identity(user: user, workspace: workspace, tokenID: tokenID)
    }
}
