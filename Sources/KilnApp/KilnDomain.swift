import Accounts
import KilnCore
import KilnHTTP
import Persistence
import WorkspaceFiles

/// The domain services over one database.
struct KilnDomain: Sendable {
    let accounts: AccountStore
    let tokens: TokenStore
    let workspaceFiles: WorkspaceService

    init(database: any Database, clock: any WallClock = SystemClock()) {
        accounts = AccountStore(database: database, clock: clock)
        tokens = TokenStore(database: database, clock: clock)
        workspaceFiles = WorkspaceService(database: database, clock: clock)
    }

    var http: KilnServices {
        KilnServices(accounts: accounts, tokens: tokens, workspaceFiles: workspaceFiles)
    }
}
