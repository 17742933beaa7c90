import Accounts
import KilnCore
import KilnHTTP
import Persistence
import Logging
import Compute
import Lakebase
import Prometheus
import WorkspaceFiles

/// The domain services over one database.
struct KilnDomain: Sendable {
    let accounts: AccountStore
    let tokens: TokenStore
    let workspaceFiles: WorkspaceService
    let accountResources: AccountResourceStore
    let accountWorkspaces: AccountWorkspaces
    let storage: WorkspaceStorage
    let provisioner: WorkspaceProvisioner
    let servicePrincipals: ServicePrincipals
    let supervisor: ComputeSupervisor
    let lakebase: LakebaseService
    /// What `/metrics` shows; the Postgres proxy records into it.
    let metrics = PrometheusCollectorRegistry()

    /// `afterStart` is called once the start's work is done (LakebaseService's `onResumed`).
    init(
        database: any Database, storageRoot: String, compute: ComputeConfiguration, suspendTimeoutOverride: Duration? = nil,
        access: PostgresAccess = PostgresAccess(), logger: Logger, clock: any WallClock = SystemClock(),
        afterStart: @escaping @Sendable () -> Void = {}
    ) {
        accounts = AccountStore(database: database, clock: clock)
        tokens = TokenStore(database: database, clock: clock)
        workspaceFiles = WorkspaceService(database: database, clock: clock)
        accountResources = AccountResourceStore(database: database, clock: clock)
        servicePrincipals = ServicePrincipals(database: database, clock: clock)
        storage = WorkspaceStorage(root: storageRoot)
        let (accounts, files) = (accounts, workspaceFiles)
        let provisioner = WorkspaceProvisioner(database: database, storage: storage, logger: logger) { workspace in
            // A new workspace starts with /Shared (open to all its users) and a home folder for each account
            // admin, as Databricks' do; other users get theirs when they first use it.
            try await files.ensureShared(workspaceID: workspace.workspaceID)
            for admin in try await accounts.admins(accountID: workspace.accountID) {
                try await files.ensureHome(workspaceID: workspace.workspaceID, userName: admin.userName, userID: admin.userID)
            }
        }
        self.provisioner = provisioner
        let driver = LocalComputeDriver(configuration: compute, logger: logger)
        supervisor = driver.supervisor
        // Branches live in the workspace's storage area; the default workspace has none and uses
        // <storage-root>/workspaces/<id>.
        let (storage, resources) = (storage, accountResources)
        let lakebase = LakebaseService(
            database: database, computes: DataDirectoryOwner(driver: driver),
            storageArea: { workspaceID in
                try await AccountWorkspaces.storageArea(workspaceID: workspaceID, database: database, resources: resources, storage: storage)
                    ?? "\(storageRoot)/workspaces/\(workspaceID)"
            }, suspendTimeoutOverride: suspendTimeoutOverride, access: access,
            identities: { workspaceID in try await Self.identities(workspaceID: workspaceID, accounts: accounts) },
            groupMembers: { workspaceID, group in try await Self.members(of: group, workspaceID: workspaceID, accounts: accounts) },
            clock: clock, logger: logger, onResumed: afterStart)
        self.lakebase = lakebase
        // Deleting a workspace deletes its Lakebase rows (ON DELETE CASCADE); their computes stop here.
        accountWorkspaces = AccountWorkspaces(
            database: database, storage: storage, clock: clock, onProvisioningNeeded: { provisioner.wake() },
            onDeleted: { _ in await lakebase.stopComputesWithoutEndpoints() })
    }

    /// The Databricks identities `databricks_create_role` accepts in a workspace: the users (by user name),
    /// service principals (by application id) and groups (by display name) assigned to it, directly or
    /// through a group, and its `admins` group.
    static func identities(workspaceID: Int64, accounts: AccountStore) async throws -> [String: String] {
        guard let directory = try await WorkspaceDirectory(workspaceID: workspaceID, accounts: accounts) else { return [:] }
        var identities = ["admins": "GROUP"]
        for group in directory.groups where directory.access[group.groupID] != nil { identities[group.displayName] = "GROUP" }
        for principal in directory.principals where directory.access[principal.id] != nil {
            identities[principal.name] = principal.isServicePrincipal ? "SERVICE_PRINCIPAL" : "USER"
        }
        return identities
    }

    /// The login names of a workspace group's members, nested groups' included; `admins` has the workspace's
    /// admins.
    static func members(of group: String, workspaceID: Int64, accounts: AccountStore) async throws -> Set<String> {
        guard let directory = try await WorkspaceDirectory(workspaceID: workspaceID, accounts: accounts) else { return [] }
        let names = Dictionary(directory.principals.map { ($0.id, $0.name) }) { first, _ in first }
        if group == "admins" {
            return Set(directory.access.filter { $0.value == .admin }.compactMap { names[$0.key] })
        }
        guard let root = directory.groups.first(where: { $0.displayName == group && directory.access[$0.groupID] != nil }) else { return [] }
        let members = WorkspaceAssignments.effective(direct: [root.groupID: .user], groups: directory.groups)
        return Set(members.keys.compactMap { names[$0] })
    }

    /// A workspace's account principals and groups, and who may use the workspace.
    private struct WorkspaceDirectory {
        var principals: [(id: Int64, name: String, isServicePrincipal: Bool)]
        var groups: [Group]
        var access: [Int64: WorkspacePermission]

        init?(workspaceID: Int64, accounts: AccountStore) async throws {
            guard let workspace = try await accounts.workspace(id: workspaceID) else { return nil }
            principals = try await accounts.principals(accountID: workspace.accountID)
            groups = try await accounts.groups.list(accountID: workspace.accountID)
            access = WorkspaceAssignments.effective(direct: try await accounts.assignments.list(workspaceID: workspaceID), groups: groups)
        }
    }

    var http: KilnServices {
        KilnServices(
            accounts: accounts, tokens: tokens, workspaceFiles: workspaceFiles,
            accountResources: accountResources, accountWorkspaces: accountWorkspaces,
            servicePrincipals: servicePrincipals, lakebase: lakebase, metrics: metrics)
    }
}
