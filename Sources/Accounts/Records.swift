/// A Databricks account: the owner of users and workspaces.
public struct Account: Sendable, Equatable {
    public var accountID: String
    public var name: String
    public var createdAt: Int64
}

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

/// A workspace: a tenant with its own objects, tokens and (later) databases.
public struct Workspace: Sendable, Equatable {
    public var workspaceID: Int64
    public var accountID: String
    public var name: String
    public var deploymentName: String
    /// The default workspace is the one served on the bare host.
    public var isDefault: Bool
    public var status: String
    public var createdAt: Int64
    /// Why the workspace is in its status (`workspace_status_message`).
    public var statusMessage: String = ""

    /// Only a RUNNING workspace serves its APIs.
    public var isRunning: Bool { status == "RUNNING" }

    /// The status message of a RUNNING workspace that is PROVISIONING an update; it serves meanwhile.
    public static let updatingMessage = "Workspace is being updated."

    /// Whether the workspace serves its APIs: RUNNING, or provisioning an update of a running one.
    public var isServing: Bool { isRunning || (status == "PROVISIONING" && statusMessage == Self.updatingMessage) }
}

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

/// What the Token API reports about a personal access token (never the secret itself).
public struct TokenInfo: Sendable, Equatable {
    public var tokenID: String
    public var comment: String
    /// Epoch milliseconds.
    public var creationTime: Int64
    /// Epoch milliseconds, or -1 for a token that never expires.
    public var expiryTime: Int64
}
