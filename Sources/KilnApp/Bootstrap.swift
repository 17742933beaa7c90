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
            try Self.updateHosts(inProfile: profilePath, to: configuration.publicURL)
            return "Kiln data is in \(configuration.dataDirectory); the admin's token is in the [kiln] profile of \(profilePath)."
        }
        let password = try await services.accounts.assignRandomPassword(userID: admin.userID)
        let (secret, _) = try await services.tokens.create(
            workspaceID: workspace.workspaceID, userID: admin.userID, comment: "kiln admin (first start)",
            lifetimeSeconds: nil)
        try await services.workspaceFiles.ensureHome(workspaceID: workspace.workspaceID, userName: admin.userName, userID: admin.userID)
        try await services.workspaceFiles.ensureShared(workspaceID: workspace.workspaceID)
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
        guard
            FileManager.default.createFile(
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

    /// Points the profiles' `host` lines at `url`, so that a restart with another address, port or scheme
    /// (`--tls`) leaves profiles that work. A missing profile is left missing.
    static func updateHosts(inProfile path: String, to url: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("host = ") ? "host = \(url)" : String(line)
        }
        let updated = lines.joined(separator: "\n")
        guard updated != text else { return }
        guard FileManager.default.createFile(atPath: path, contents: Data(updated.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("Cannot write \(path).")
        }
    }
}
