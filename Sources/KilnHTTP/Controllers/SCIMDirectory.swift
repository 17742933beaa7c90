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

    /// The SCIM collections served, by the path segment that names them.
    enum Collection: String, CaseIterable, Sendable {
        case users = "Users"
        case servicePrincipals = "ServicePrincipals"
    }

    func list(_ collection: Collection, _ request: Request, accountID: String) async throws -> Response {
        let query = try SCIMListQuery(request)
        switch collection {
        case .users: return query.response(try await accounts.users(accountID: accountID).map(SCIMRecord.user))
        case .servicePrincipals: return query.response(try await servicePrincipals.list(accountID: accountID).map(SCIMRecord.servicePrincipal))
        }
    }

    /// One resource, with the `attributes` / `excludedAttributes` the query asks for.
    func get(_ collection: Collection, _ id: String, accountID: String, request: Request) async throws -> Response {
        let record: SCIMRecord
        switch collection {
        case .users: record = SCIMRecord.user(try await user(id, accountID: accountID))
        case .servicePrincipals: record = SCIMRecord.servicePrincipal(try await servicePrincipal(id, accountID: accountID))
        }
        return JSONResponse.ok(try SCIMListQuery(request).project(record.json))
    }

    func create(_ collection: Collection, _ request: Request, accountID: String) async throws -> Response {
        let parameters = try await APIParameters.read(request)
        switch collection {
        case .users: return JSONResponse.ok(SCIMRecord.user(try await createUser(parameters, accountID: accountID)).json)
        case .servicePrincipals:
            return JSONResponse.ok(SCIMRecord.servicePrincipal(try await createServicePrincipal(parameters, accountID: accountID)).json)
        }
    }

    /// Deletes a user or service principal; nobody deletes themselves (an account keeps the admin who asks).
    func delete(_ collection: Collection, _ id: String, accountID: String, caller: User) async throws -> Response {
        let target: User
        switch collection {
        case .users: target = try await user(id, accountID: accountID)
        case .servicePrincipals: target = try await servicePrincipal(id, accountID: accountID).user
        }
        guard target.userID != caller.userID else { throw KilnError.invalidParameter("You cannot delete yourself.") }
        try await accounts.deleteUser(accountID: accountID, userID: target.userID)
        return JSONResponse.empty()
    }

    /// A user from `userName` (required) and `displayName` (the user name when left out).
    /// A taken user name is SCIM's 409 `uniqueness`.
    private func createUser(_ parameters: APIParameters, accountID: String) async throws -> User {
        let userName = try parameters.requiredString("userName")
        do {
            return try await accounts.createUser(
                accountID: accountID, userName: userName, displayName: try parameters.string("displayName") ?? userName)
        } catch let error as KilnError where error.code == .resourceAlreadyExists {
            throw DatabricksError.scim(status: .conflict, scimType: "uniqueness", detail: error.message)
        }
    }

    /// A service principal from `displayName` (required) and `applicationId` (a new UUID when left out); it
    /// has no secret until one is made for it. A taken application id is SCIM's 409 `uniqueness`.
    private func createServicePrincipal(_ parameters: APIParameters, accountID: String) async throws -> ServicePrincipal {
        let displayName = try parameters.string("displayName") ?? ""
        guard !displayName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "displayName is required.")
        }
        let applicationID = try parameters.string("applicationId").flatMap { $0.isEmpty ? nil : $0 }
        do {
            return try await servicePrincipals.create(accountID: accountID, displayName: displayName, applicationID: applicationID)
        } catch let error as KilnError where error.code == .resourceAlreadyExists {
            throw DatabricksError.scim(status: .conflict, scimType: "uniqueness", detail: error.message)
        }
    }

    /// The account's user with this SCIM id; `RESOURCE_DOES_NOT_EXIST` (404) otherwise (a service principal is
    /// not a user).
    func user(_ id: String, accountID: String) async throws -> User {
        guard let number = Int64(id), let user = try await accounts.user(id: number), user.accountID == accountID,
            !(try await accounts.isServicePrincipal(userID: number))
        else { throw KilnError(.resourceDoesNotExist, "User \(id) does not exist.") }
        return user
    }

    /// The account's service principal with this SCIM id; `RESOURCE_DOES_NOT_EXIST` (404) otherwise.
    func servicePrincipal(_ id: String, accountID: String) async throws -> ServicePrincipal {
        guard let number = Int64(id), let principal = try await servicePrincipals.principal(accountID: accountID, id: number) else {
            throw KilnError(.resourceDoesNotExist, "Service principal \(id) does not exist.")
        }
        return principal
    }
}
