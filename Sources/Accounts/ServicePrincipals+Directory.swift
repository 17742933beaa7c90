import KilnCore
import Persistence
import SQLKit

/// A service principal as SCIM shows it: an account user that logs in with a client id and secret, whose
/// `userName` is its application (client) id.
public struct ServicePrincipal: Sendable, Equatable {
    public var user: User
    public var applicationID: String { user.userName }
}

/// The service principals of an account, as SCIM's `ServicePrincipals` manages them (account and workspace
/// level alike: a workspace shows its account's).
extension ServicePrincipals {
    /// The account's service principals, in creation order.
    public func list(accountID: String) async throws -> [ServicePrincipal] {
        try await database.read { db in
            try await db.select().column("*").from("users").where("account_id", .equal, accountID)
                .where(SQLIdentifier("user_id"), .in, SQLGroupExpression(db.select().column("user_id").from("service_principals").query))
                .orderBy("created_at").orderBy("user_id").all().map { ServicePrincipal(user: try User(row: $0)) }
        }
    }

    /// The account's service principal with this user id; nil when there is none (or it is a user).
    public func principal(accountID: String, id: Int64) async throws -> ServicePrincipal? {
        guard let user = try await accounts.user(id: id), user.accountID == accountID,
            try await accounts.isServicePrincipal(userID: id)
        else { return nil }
        return ServicePrincipal(user: user)
    }

    /// Creates a service principal with no secret yet (SCIM's create: secrets come from `createSecret`), with
    /// `applicationID` when given (as on Azure) or a new UUID; it cannot log in until it has a secret
    /// (`service_principals.secret_hash`, no longer read, is left empty). Throws
    /// `KilnError(.resourceAlreadyExists)` when the application id is taken (in any account) or is a user name
    /// of the account.
    public func create(accountID: String, displayName: String, applicationID: String?, isAdmin: Bool = false) async throws -> ServicePrincipal {
        let clientID = applicationID ?? IdentifierGenerator.uuid()
        // Application ids are unique across accounts (as the table's constraint says), user names per account.
        let taken = try await database.read { db in
            try await db.select().column("user_id").from("service_principals").where("application_id", .equal, clientID).first() != nil
        }
        let isUserName = try await accounts.user(accountID: accountID, userName: clientID) != nil
        if taken || isUserName {
            throw KilnError(.resourceAlreadyExists, "Service principal with application ID \(clientID) already exists.")
        }
        let user = try await accounts.createUser(accountID: accountID, userName: clientID, displayName: displayName, isAdmin: isAdmin)
        do {
            try await database.write { db in
                try await db.insert(into: "service_principals").columns("user_id", "application_id", "secret_hash")
                    .values(SQLBind(user.userID), SQLBind(clientID), SQLBind("")).run()
            }
        } catch {
            try? await accounts.deleteUser(accountID: accountID, userID: user.userID)
            throw error
        }
        return ServicePrincipal(user: user)
    }
}
