import Accounts
import Synchronization
import WorkspaceFiles

/// Makes each caller's `/Users/<name>` the first time it uses the Workspace API in this process
/// (`WorkspaceService.ensureHome`), so a principal assigned to a workspace, directly or through a group,
/// finds its home folder there as in Databricks; later calls cost a set lookup.
final class HomeFolders: Sendable {
    /// A user of a workspace, by ids (not a string of them, which each request would make and hash).
    private struct Home: Hashable {
        let workspaceID: Int64
        let userID: Int64
    }

    private let made = Mutex<Set<Home>>([])

    func ensure(_ service: WorkspaceService, for identity: Identity) async throws {
        let key = Home(workspaceID: identity.workspace.workspaceID, userID: identity.user.userID)
        guard !made.withLock({ $0.contains(key) }) else { return }
        try await service.ensureHome(workspaceID: identity.workspace.workspaceID, userName: identity.user.userName, userID: identity.user.userID)
        _ = made.withLock { $0.insert(key) }
    }
}

extension AuthenticatedContext {
    /// The caller as workspace object permissions see it.
    var caller: WorkspaceCaller {
        WorkspaceCaller(id: identity.user.userID, principalIDs: identity.groupIDs, isAdmin: identity.isWorkspaceAdmin)
    }
}
