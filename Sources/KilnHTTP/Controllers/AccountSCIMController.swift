public import Accounts
import HTTPTypes
public import Hummingbird

/// SCIM 2.0 principals of an account (`/api/2.0/accounts/{account_id}/scim/v2/…`, the SDK's `a.users`,
/// `a.service_principals` and `a.groups`): list, get, create, PUT, PATCH and delete (`SCIMDirectory`). The
/// Account API's callers are the account's admins (`AccountAuthentication`).
public struct AccountSCIMController: Sendable {
    let directory: SCIMDirectory

    public init(accounts: AccountStore, servicePrincipals: ServicePrincipals) {
        self.directory = SCIMDirectory(accounts: accounts, servicePrincipals: servicePrincipals)
    }

    public func addRoutes(to group: RouterGroup<AccountContext>) {
        for collection in SCIMDirectory.Collection.allCases {
            let path = "scim/v2/\(collection.rawValue)"
            group.get(RouterPath(path)) { request, context in
                try await directory.list(collection, request, scope: .account(try context.parameters.require("account_id")))
            }
            group.get(RouterPath(path + "/:id")) { request, context in
                try await directory.get(
                    collection, try context.parameters.require("id"), scope: .account(try context.parameters.require("account_id")),
                    request: request)
            }
            group.post(RouterPath(path)) { request, context in
                try await directory.create(collection, request, scope: .account(try context.parameters.require("account_id")))
            }
            for (method, replacing) in [(HTTPRequest.Method.put, true), (.patch, false)] {
                group.on(RouterPath(path + "/:id"), method: method) { request, context in
                    try await directory.update(
                        collection, try context.parameters.require("id"), scope: .account(try context.parameters.require("account_id")),
                        request: request, caller: context.user, replacing: replacing)
                }
            }
            group.delete(RouterPath(path + "/:id")) { _, context in
                try await directory.delete(
                    collection, try context.parameters.require("id"), scope: .account(try context.parameters.require("account_id")),
                    caller: context.user)
            }
        }
    }
}
