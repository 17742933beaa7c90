/// Who calls the Postgres API: the workspace and the Databricks identity, with what project permissions
/// see of it.
public struct LakebaseCaller: Sendable {
    public var workspaceID: Int64
    /// The user name (an e-mail) or a service principal's application id.
    public var identity: String
    /// `USER` or `SERVICE_PRINCIPAL`.
    public var identityType: String
    /// The caller's principal id (nil for Kiln itself), which a project it creates is granted to.
    public var principalID: Int64?
    /// The caller's id, its groups' ids (however nested) and the workspace's `users` group (-1): the
    /// principals whose project grants it holds.
    public var principalIDs: Set<Int64>
    /// A workspace admin, who may do everything to every project.
    public var isAdmin: Bool

    public init(
        workspaceID: Int64, identity: String, identityType: String, principalID: Int64? = nil, principalIDs: Set<Int64> = [],
        isAdmin: Bool = true
    ) {
        self.workspaceID = workspaceID
        self.identity = identity
        self.identityType = identityType
        self.principalID = principalID
        self.principalIDs = principalIDs.union([-1]).union(principalID.map { [$0] } ?? [])
        self.isAdmin = isAdmin
    }
}
