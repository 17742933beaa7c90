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
