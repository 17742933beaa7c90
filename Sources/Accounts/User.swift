/// A user of an account.
public struct User: Sendable, Equatable {
    public var userID: Int64
    public var accountID: String
    /// The login name, usually an e-mail address.
    public var userName: String
    public var displayName: String
    public var isAdmin: Bool
    public var createdAt: Int64
}
