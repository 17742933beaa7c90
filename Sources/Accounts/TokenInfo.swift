/// What the Token API reports about a personal access token (never the secret itself).
public struct TokenInfo: Sendable, Equatable {
    public var tokenID: String
    public var comment: String
    /// Epoch milliseconds.
    public var creationTime: Int64
    /// Epoch milliseconds, or -1 for a token that never expires.
    public var expiryTime: Int64
    /// The user or service principal the token logs in as.
    public var ownerID: Int64 = 0
    /// Who made it: its owner, or the workspace admin who made it on a service principal's behalf.
    public var createdByID: Int64 = 0
    /// The creator's user name (a service principal's application id).
    public var createdByUserName: String = ""
    public var workspaceID: Int64 = 0
}
