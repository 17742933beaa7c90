public import Accounts
public import Hummingbird

/// SCIM 2.0 principals of an account (`/api/2.0/accounts/{account_id}/scim/v2/…`, the SDK's `a.users` and
/// `a.service_principals`): list, get, create and delete users and service principals. The Account API's
/// callers are the account's admins (`AccountAuthentication`).
public struct AccountSCIMController: Sendable {
    let directory: SCIMDirectory

    public init(accounts: AccountStore, servicePrincipals: ServicePrincipals) {
        self.directory = SCIMDirectory(accounts: accounts, servicePrincipals: servicePrincipals)
    }

    public func addRoutes(to group: RouterGroup<AccountContext>) {
        for collection in SCIMDirectory.Collection.allCases {
            let path = "scim/v2/\(collection.rawValue)"
            group.get(RouterPath(path)) { request, context in
                try await directory.list(collection, request, accountID: try context.parameters.require("account_id"))
            }
            group.get(RouterPath(path + "/:id")) { request, context in
                try await directory.get(
                    collection, try context.parameters.require("id"), accountID: try context.parameters.require("account_id"), request: request)
            }
            group.post(RouterPath(path)) { request, context in
                try await directory.create(collection, request, accountID: try context.parameters.require("account_id"))
            }
            group.delete(RouterPath(path + "/:id")) { _, context in
                try await directory.delete(
                    collection, try context.parameters.require("id"), accountID: try context.parameters.require("account_id"),
                    caller: context.user)
            }
        }
    }
}
