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
        group.get("scim/v2/Users") { request, context in
            try await directory.listUsers(request, accountID: try context.parameters.require("account_id"))
        }
        group.get("scim/v2/Users/:id") { request, context in
            try await directory.getUser(
                try context.parameters.require("id"), accountID: try context.parameters.require("account_id"), request: request)
        }
        group.post("scim/v2/Users") { request, context in
            try await directory.createUser(request, accountID: try context.parameters.require("account_id"))
        }
        group.delete("scim/v2/Users/:id") { _, context in
            try await directory.deleteUser(
                try context.parameters.require("id"), accountID: try context.parameters.require("account_id"), caller: context.user)
        }
        group.get("scim/v2/ServicePrincipals") { request, context in
            try await directory.listServicePrincipals(request, accountID: try context.parameters.require("account_id"))
        }
        group.get("scim/v2/ServicePrincipals/:id") { request, context in
            try await directory.getServicePrincipal(
                try context.parameters.require("id"), accountID: try context.parameters.require("account_id"), request: request)
        }
        group.post("scim/v2/ServicePrincipals") { request, context in
            try await directory.createServicePrincipal(request, accountID: try context.parameters.require("account_id"))
        }
        group.delete("scim/v2/ServicePrincipals/:id") { _, context in
            try await directory.deleteServicePrincipal(
                try context.parameters.require("id"), accountID: try context.parameters.require("account_id"), caller: context.user)
        }
    }
}
