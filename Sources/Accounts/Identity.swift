/// Who made a request, and in which workspace.
public struct Identity: Sendable, Equatable {
    public var user: User
    public var workspace: Workspace
    /// The token the request authenticated with, when it used one.
    public var tokenID: String?
    /// What the caller's workspace assignment (its own or a group's) lets it do there.
    public var permission: WorkspacePermission
    /// The ids of the groups the caller is in, however nested.
    public var groupIDs: Set<Int64>

    public init(user: User, workspace: Workspace, tokenID: String?, permission: WorkspacePermission, groupIDs: Set<Int64> = []) {
        self.user = user
        self.workspace = workspace
        self.tokenID = tokenID
        self.permission = permission
        self.groupIDs = groupIDs
    }

    /// A workspace admin: assigned `ADMIN` to the workspace, directly or through a group.
    public var isWorkspaceAdmin: Bool { permission == .admin }
}
