/// What the Token API reports about a personal access token (never the secret itself).
public struct TokenInfo: Sendable, Equatable {
    public var tokenID: String
    public var comment: String
    /// Epoch milliseconds.
    public var creationTime: Int64
    /// Epoch milliseconds, or -1 for a token that never expires.
    public var expiryTime: Int64
}
