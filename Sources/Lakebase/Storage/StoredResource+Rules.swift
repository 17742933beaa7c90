import KilnCore

/// Lakebase's rules about resources, each written once for every path that asks: a user's request, the
/// sweep of what is due, the reconciler and the proxy.
extension StoredResource {
    /// Why this branch cannot be deleted, or nil when it can (lakebase-contract.md §B.3): a root branch and
    /// the project's default branch go only with their project, a protected branch stays, and so does a
    /// branch with live children (`liveChild`, one of them).
    func deletionRefusal(project: StoredResource, liveChild: ResourceName?) -> KilnError? {
        if branchSpec.sourceBranch == nil || project.projectSpec.defaultBranch == name {
            return LakebaseService.managedByParent("Cannot delete root branch '\(name)'. Root branches cannot be deleted independently.")
        }
        if branchSpec.isProtected { return KilnError(.badRequest, "cannot delete protected branch") }
        if let liveChild {
            return KilnError(.badRequest, "Cannot delete branch '\(name)': it has child branches (\(liveChild)); delete them first.")
        }
        return nil
    }

    /// Whether the resource is there and not deleted (soft deletion keeps the row until its purge time).
    static func isLive(_ resource: StoredResource?) -> Bool {
        resource.map { $0.deletedAt == nil } ?? false
    }

    /// Whether this endpoint's compute should run: its branch and project are live and it is not disabled.
    func wantsCompute(branch: StoredResource?, project: StoredResource?) -> Bool {
        Self.isLive(branch) && Self.isLive(project) && !endpointSpec.disabled
    }

    /// Whether clients can connect to this endpoint through the proxy: it is ready with its port, and its
    /// branch and project are live. A disabled endpoint is connectable: the proxy tells its clients so.
    func isConnectable(branch: StoredResource?, project: StoredResource?) -> Bool {
        isReady && port != nil && Self.isLive(branch) && Self.isLive(project)
    }
}
