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

    init(
        database: any Database, storageRoot: String, compute: ComputeConfiguration, suspendTimeoutOverride: Duration? = nil,
        access: PostgresAccess = PostgresAccess(), logger: Logger, clock: any WallClock = SystemClock()
    ) {
        accounts = AccountStore(database: database, clock: clock)
        tokens = TokenStore(database: database, clock: clock)
        workspaceFiles = WorkspaceService(database: database, clock: clock)
        accountResources = AccountResourceStore(database: database, clock: clock)
        servicePrincipals = ServicePrincipals(database: database, clock: clock)
        storage = WorkspaceStorage(root: storageRoot)
        let (accounts, files) = (accounts, workspaceFiles)
        let provisioner = WorkspaceProvisioner(database: database, storage: storage, logger: logger) { workspace in
            // A new workspace starts with /Shared and a home folder for each account admin, as Databricks' do.
            try await files.mkdirs(workspaceID: workspace.workspaceID, path: WorkspacePath("/Shared"))
            for admin in try await accounts.admins(accountID: workspace.accountID) {
                try await files.mkdirs(workspaceID: workspace.workspaceID, path: WorkspacePath("/Users/\(admin.userName)"))
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
            clock: clock, logger: logger)
        self.lakebase = lakebase
        // Deleting a workspace deletes its Lakebase rows (ON DELETE CASCADE); their computes stop here.
        accountWorkspaces = AccountWorkspaces(
            database: database, storage: storage, clock: clock, onProvisioningNeeded: { provisioner.wake() },
            onDeleted: { _ in await lakebase.stopComputesWithoutEndpoints() })
    }

    /// The Databricks identities `databricks_create_role` accepts in a workspace: its account's users
    /// (by user name), service principals (by application id) and the `admins` group, the one group
    /// Kiln has.
    static func identities(workspaceID: Int64, accounts: AccountStore) async throws -> [String: String] {
        guard let workspace = try await accounts.workspace(id: workspaceID) else { return [:] }
        var identities = ["admins": "GROUP"]
        for principal in try await accounts.principals(accountID: workspace.accountID) {
            identities[principal.name] = principal.isServicePrincipal ? "SERVICE_PRINCIPAL" : "USER"
        }
        return identities
    }

    /// The members of a group of a workspace: for `admins`, its account's admins.
    static func members(of group: String, workspaceID: Int64, accounts: AccountStore) async throws -> Set<String> {
        guard group == "admins", let workspace = try await accounts.workspace(id: workspaceID) else { return [] }
        return Set(try await accounts.admins(accountID: workspace.accountID).map(\.userName))
    }

    var http: KilnServices {
        KilnServices(
            accounts: accounts, tokens: tokens, workspaceFiles: workspaceFiles,
            accountResources: accountResources, accountWorkspaces: accountWorkspaces,
            servicePrincipals: servicePrincipals, lakebase: lakebase, metrics: metrics)
    }
}
