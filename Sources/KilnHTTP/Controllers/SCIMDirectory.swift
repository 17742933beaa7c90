import Accounts
import Foundation
import Hummingbird
import KilnCore

/// SCIM 2.0 `Users` and `ServicePrincipals` of one account, as both the account API
/// (`/api/2.0/accounts/{account_id}/scim/v2/…`) and a workspace (`/api/2.0/preview/scim/v2/…`, its
/// account's principals) serve them: list (`SCIMListQuery`), get, create and delete. Callers check who may
/// change them.
struct SCIMDirectory: Sendable {
    let accounts: AccountStore
    let servicePrincipals: ServicePrincipals

    // MARK: Users

    func listUsers(_ request: Request, accountID: String) async throws -> Response {
        let query = try SCIMListQuery(request)
        return query.response(try await accounts.users(accountID: accountID).map(SCIMRecord.user))
    }

    func getUser(_ id: String, accountID: String, request: Request) async throws -> Response {
        try ok(SCIMRecord.user(try await user(id, accountID: accountID)), request)
    }

    /// Creates a user from `userName` (required) and `displayName` (the user name when left out).
    func createUser(_ request: Request, accountID: String) async throws -> Response {
        let parameters = try await APIParameters.read(request)
        let userName = try parameters.requiredString("userName")
        let user = try await accounts.createUser(
            accountID: accountID, userName: userName, displayName: try parameters.string("displayName") ?? userName)
        return JSONResponse.ok(SCIMRecord.user(user).json)
    }

    /// Deletes a user; nobody deletes themselves (an account keeps the admin who asks).
    func deleteUser(_ id: String, accountID: String, caller: User) async throws -> Response {
        let target = try await user(id, accountID: accountID)
        guard target.userID != caller.userID else { throw KilnError.invalidParameter("You cannot delete yourself.") }
        try await accounts.deleteUser(accountID: accountID, userID: target.userID)
        return JSONResponse.empty()
    }

    /// The account's user with this SCIM id; `RESOURCE_DOES_NOT_EXIST` (404) otherwise (a service principal is
    /// not a user).
    func user(_ id: String, accountID: String) async throws -> User {
        guard let number = Int64(id), let user = try await accounts.user(id: number), user.accountID == accountID,
            !(try await accounts.isServicePrincipal(userID: number))
        else { throw KilnError(.resourceDoesNotExist, "User \(id) does not exist.") }
        return user
    }

    // MARK: Service principals

    func listServicePrincipals(_ request: Request, accountID: String) async throws -> Response {
        let query = try SCIMListQuery(request)
        return query.response(try await servicePrincipals.list(accountID: accountID).map(SCIMRecord.servicePrincipal))
    }

    func getServicePrincipal(_ id: String, accountID: String, request: Request) async throws -> Response {
        try ok(SCIMRecord.servicePrincipal(try await servicePrincipal(id, accountID: accountID)), request)
    }

    /// Creates a service principal from `displayName` (required) and `applicationId` (a new UUID when left
    /// out); it has no secret until one is made for it. A taken application id is SCIM's 409 `uniqueness`.
    func createServicePrincipal(_ request: Request, accountID: String) async throws -> Response {
        let parameters = try await APIParameters.read(request)
        let displayName = try parameters.string("displayName") ?? ""
        guard !displayName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "displayName is required.")
        }
        let applicationID = try parameters.string("applicationId").flatMap { $0.isEmpty ? nil : $0 }
        do {
            let principal = try await servicePrincipals.create(accountID: accountID, displayName: displayName, applicationID: applicationID)
            return JSONResponse.ok(SCIMRecord.servicePrincipal(principal).json)
        } catch let error as KilnError where error.code == .resourceAlreadyExists {
            throw DatabricksError.scim(status: .conflict, scimType: "uniqueness", detail: error.message)
        }
    }

    func deleteServicePrincipal(_ id: String, accountID: String, caller: User) async throws -> Response {
        let target = try await servicePrincipal(id, accountID: accountID)
        guard target.user.userID != caller.userID else { throw KilnError.invalidParameter("You cannot delete yourself.") }
        try await accounts.deleteUser(accountID: accountID, userID: target.user.userID)
        return JSONResponse.empty()
    }

    /// The account's service principal with this SCIM id; `RESOURCE_DOES_NOT_EXIST` (404) otherwise.
    func servicePrincipal(_ id: String, accountID: String) async throws -> ServicePrincipal {
        guard let number = Int64(id), let principal = try await servicePrincipals.principal(accountID: accountID, id: number) else {
            throw KilnError(.resourceDoesNotExist, "Service principal \(id) does not exist.")
        }
        return principal
    }

    /// One resource, with the `attributes` / `excludedAttributes` the query asks for.
    private func ok(_ record: SCIMRecord, _ request: Request) throws -> Response {
        JSONResponse.ok(try SCIMListQuery(request).project(record.json))
    }
}
