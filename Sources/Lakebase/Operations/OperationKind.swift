import KilnCore

/// The work behind a long-running operation.
enum OperationKind: String, Sendable {
    case createProject, updateProject, deleteProject, undeleteProject
    case createBranch, updateBranch, deleteBranch, undeleteBranch
    case createEndpoint, updateEndpoint, deleteEndpoint
    case createRole, updateRole, deleteRole
    case createDatabase, updateDatabase, deleteDatabase
    case createSnapshot, deleteSnapshot, updateSnapshotSchedule

    /// Deletes answer `google.protobuf.Empty`; the rest answer the resource.
    var answersEmpty: Bool { rawValue.hasPrefix("delete") || rawValue.hasPrefix("undelete") }

    /// The resource type in its metadata's and response's `@type` (`SnapshotScheduleOperationMetadata`,
    /// `SnapshotSchedule`) when it is not the type of the resource it is on.
    var metadataType: String? { self == .updateSnapshotSchedule ? "SnapshotSchedule" : nil }
}
