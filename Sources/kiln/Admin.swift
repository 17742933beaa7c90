import Accounts
import ArgumentParser
import Foundation
import KilnApp

/// `kiln admin …`: what the Account API has no call for.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage account users and settings directly in Kiln's data.",
        subcommands: [CreateUser.self, ResetPassword.self, SetDeploymentPrefix.self, CreateServicePrincipal.self]
    )
}

/// The account the admin commands act on (Kiln has one, created on first start).
func primaryAccount(_ accounts: AccountStore) async throws -> Account {
    guard let account = try await accounts.primaryAccount() else {
        throw ValidationError("Kiln has no account yet; run `kiln serve` once first.")
    }
    return account
}

struct CreateUser: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an account user with a password, assigned to the default workspace; prints the password.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The user name, usually an e-mail address.") var userName: String
    @Flag(help: "Make the user an account admin.") var admin = false

    func run() async throws {
        let password = try await withAccountStore(configuration: store.configuration()) { accounts in
            let account = try await primaryAccount(accounts)
            let user = try await accounts.createUser(accountID: account.accountID, userName: userName, displayName: userName, isAdmin: admin)
            try await accounts.assignToDefaultWorkspace(user)
            return try await accounts.assignRandomPassword(userID: user.userID)
        }
        print("Created \(userName) in the account; password: \(password)")
    }
}

struct ResetPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Give an account user a new random password; prints it.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The user name.") var userName: String

    func run() async throws {
        let password = try await withAccountStore(configuration: store.configuration()) { accounts in
            let account = try await primaryAccount(accounts)
            guard let user = try await accounts.user(accountID: account.accountID, userName: userName) else {
                throw ValidationError("No user \(userName) in the account.")
            }
            return try await accounts.assignRandomPassword(userID: user.userID)
        }
        print("New password of \(userName): \(password)")
    }
}

struct SetDeploymentPrefix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Set the account's deployment-name prefix (<prefix>-<name>).")
    @OptionGroup var store: StoreOptions
    @Argument(help: "The prefix: lower-case letters, digits and hyphens.") var prefix: String

    func run() async throws {
        try await withAccountStore(configuration: store.configuration()) { accounts in
            let account = try await primaryAccount(accounts)
            try await accounts.setDeploymentNamePrefix(accountID: account.accountID, prefix: prefix)
        }
        print("Deployment names of new workspaces are now \(prefix)-<name>.")
    }
}

struct CreateServicePrincipal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a service principal for OAuth M2M, assigned to the default workspace; prints its client id and secret.")
    @OptionGroup var store: StoreOptions
    @Argument(help: "A display name.") var name: String
    @Flag(help: "Make it an account admin (needed for the Account API).") var admin = false

    func run() async throws {
        let configuration = try store.configuration()
        let account = try await withAccountStore(configuration: configuration) { try await primaryAccount($0) }
        let (clientID, secret) = try await createServicePrincipal(
            configuration: configuration, accountID: account.accountID, name: name, isAdmin: admin)
        print("client_id: \(clientID)")
        print("client_secret: \(secret)")
    }
}
