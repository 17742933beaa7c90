/// A Databricks account: the owner of users and workspaces.
public struct Account: Sendable, Equatable {
    public var accountID: String
    public var name: String
    public var createdAt: Int64
}
