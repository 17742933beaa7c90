/// Who calls the Postgres API: the workspace and the Databricks identity.
public struct LakebaseCaller: Sendable {
    public var workspaceID: Int64
    /// The user name (an e-mail) or a service principal's application id.
    public var identity: String
    /// `USER` or `SERVICE_PRINCIPAL`.
    public var identityType: String

    public init(workspaceID: Int64, identity: String, identityType: String) {
        self.workspaceID = workspaceID
        self.identity = identity
        self.identityType = identityType
    }
}
