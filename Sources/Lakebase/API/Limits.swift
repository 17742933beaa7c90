import KilnCore

/// The limits of Lakebase (lakebase-contract.md §B.5).
enum Limits {
    static let projectsPerWorkspace = 1000
    static let branchesPerProject = 500
    static let protectedBranchesPerProject = 1
    static let activeComputesPerProject = 20
    static let rolesPerBranch = 500
    static let databasesPerBranch = 500
    static let readReplicasPerBranch = 6
    /// Scheduled snapshots do not count (Lakebase docs, "Snapshots").
    static let manualSnapshotsPerProject = 10

    static func exceeded(_ what: String, _ limit: Int) -> KilnError {
        KilnError(.resourceLimitExceeded, "The limit of \(limit) \(what) has been reached.")
    }
}
