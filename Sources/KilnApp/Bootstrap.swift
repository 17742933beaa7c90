import Accounts
import Foundation
import Logging
import WorkspaceFiles

/// First-start setup: the default account, admin, workspace and admin token, and the
/// `<data-dir>/databrickscfg` profile that holds the token.
struct Bootstrap {
    let configuration: KilnConfiguration
    let services: KilnDomain

    /// What the operator is told on start.
    func run() async throws -> String {
        let profilePath = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("databrickscfg").path
        guard let (account, admin, workspace) = try await services.accounts.bootstrap(adminUserName: configuration.adminUserName)
        else {
            return "Kiln data is in \(configuration.dataDirectory); the admin's token is in the [kiln] profile of \(profilePath)."
        }
        let password = try await services.accounts.assignRandomPassword(userID: admin.userID)
        let (secret, _) = try await services.tokens.create(
            workspaceID: workspace.workspaceID, userID: admin.userID, comment: "kiln admin (first start)",
            lifetimeSeconds: nil)
        for folder in ["/Users/\(admin.userName)", "/Shared"] {
            try await services.workspaceFiles.mkdirs(workspaceID: workspace.workspaceID, path: WorkspacePath(folder))
        }
        let profile = """
            [kiln]
            host = \(configuration.publicURL)
            token = \(secret)

            [kiln-account]
            host = \(configuration.publicURL)
            account_id = \(account.accountID)
            username = \(admin.userName)
            password = \(password)

            """
        guard FileManager.default.createFile(
            atPath: profilePath, contents: Data(profile.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ConfigurationError("Cannot write \(profilePath).")
        }
        return """
            Kiln is set up. The admin's token and password are shown once; they are also in the [kiln] and \
            [kiln-account] profiles of \(profilePath).
            export DATABRICKS_HOST=\(configuration.publicURL) DATABRICKS_TOKEN=\(secret)
            Account API: account_id \(account.accountID), user \(admin.userName), password \(password)
            """
    }
}
