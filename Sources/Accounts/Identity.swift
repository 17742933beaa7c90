/// Who made a request, and in which workspace.
public struct Identity: Sendable, Equatable {
    public var user: User
    public var workspace: Workspace
    /// The token the request authenticated with, when it used one.
    public var tokenID: String?

    public init(user: User, workspace: Workspace, tokenID: String?) {
        self.user = user
        self.workspace = workspace
        self.tokenID = tokenID
    }
}
