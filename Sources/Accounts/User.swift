/// A user of an account (a service principal is one too, `ServicePrincipal`).
public struct User: Sendable, Equatable {
    public var userID: Int64
    public var accountID: String
    /// The login name, usually an e-mail address.
    public var userName: String
    public var displayName: String
    /// An account admin (SCIM's `account_admin` role).
    public var isAdmin: Bool
    public var createdAt: Int64
    /// SCIM's `active`: an inactive principal cannot authenticate anywhere.
    public var active = true
    /// SCIM's `externalId`, as an identity provider sets it.
    public var externalID: String? = nil
    /// SCIM `entitlements` values (`workspace-access`, `allow-cluster-create`, …).
    public var entitlements: [String] = []
    /// SCIM `roles` values other than `account_admin` (which `isAdmin` says).
    public var roles: [String] = []
}
