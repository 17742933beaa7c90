import Accounts
import Foundation
import HTTPTypes
import Hummingbird
import KilnCore

/// SCIM 2.0 `Users`, `ServicePrincipals` and `Groups` of one account, as both the account API
/// (`/api/2.0/accounts/{account_id}/scim/v2/…`) and a workspace (`/api/2.0/preview/scim/v2/…`) serve them: list
/// (`SCIMListQuery`), get, create, PUT, PATCH (`SCIMEdit`) and delete. A workspace shows only the principals
/// assigned to it, directly or through a group; what it creates is assigned to it, and what it deletes is
/// unassigned from it but stays in the account (Databricks' identity federation). Callers check who may
/// change them.
struct SCIMDirectory: Sendable {
    let accounts: AccountStore
    let servicePrincipals: ServicePrincipals

    /// The SCIM collections served, by the path segment that names them.
    enum Collection: String, CaseIterable, Sendable {
        case users = "Users"
        case servicePrincipals = "ServicePrincipals"
        case groups = "Groups"

        /// The field that names such a principal in an access control list or a workspace assignment.
        var nameField: String {
            switch self {
            case .users: "user_name"
            case .servicePrincipals: "service_principal_name"
            case .groups: "group_name"
            }
        }

        var noun: String {
            switch self {
            case .users: "User"
            case .servicePrincipals: "Service principal"
            case .groups: "Group"
            }
        }
    }

    /// Where a request is served: an account's API, or one of its workspaces.
    enum Scope: Sendable {
        case account(String)
        case workspace(Workspace)

        var accountID: String {
            switch self {
            case .account(let id): id
            case .workspace(let workspace): workspace.accountID
            }
        }
    }

    /// What SCIM shows of an account, read once per request.
    struct Snapshot: Sendable {
        var workspace: Workspace?
        var users: [User]
        var servicePrincipals: [ServicePrincipal]
        var groups: [Group]
        /// For each principal in a group, the groups it is directly in.
        var memberships: [Int64: [(id: Int64, name: String)]]
        /// In a workspace, who may use it and as what; nil on the account, where everyone is shown.
        var access: [Int64: WorkspacePermission]?

        func isVisible(_ id: Int64) -> Bool { access == nil || access?[id] != nil }

        /// The groups a principal is directly in that the scope shows.
        func visibleMemberships(of id: Int64) -> [(id: Int64, name: String)] { (memberships[id] ?? []).filter { isVisible($0.id) } }

        /// A group and every group that contains it, however nested.
        func enclosingGroups(of id: Int64) -> Set<Int64> {
            var found: Set<Int64> = [id]
            var pending = [id]
            while let next = pending.popLast() {
                for parent in memberships[next] ?? [] where found.insert(parent.id).inserted { pending.append(parent.id) }
            }
            return found
        }

        /// What a principal id names in the account: its collection, the name the Permissions and workspace
        /// assignment APIs give it (a user name, a service principal's application id, a group's display
        /// name) and its display name; nil for an id the account lacks.
        func principal(_ id: Int64) -> (collection: Collection, name: String, display: String)? {
            if let principal = servicePrincipals.first(where: { $0.user.userID == id }) {
                return (.servicePrincipals, principal.applicationID, principal.user.displayName)
            }
            if let user = users.first(where: { $0.userID == id }) { return (.users, user.userName, user.displayName) }
            if let group = groups.first(where: { $0.groupID == id }) { return (.groups, group.displayName, group.displayName) }
            return nil
        }

        /// A member as a group lists it: `{display, value, $ref}`.
        func reference(to id: Int64) -> (id: String, display: String, json: JSONTree)? {
            guard let (collection, _, display) = principal(id) else { return nil }
            return (
                String(id), display,
                .object([
                    .init("display", .string(display)), .init("value", .string(String(id))),
                    .init("$ref", .string("\(collection.rawValue)/\(id)")),
                ])
            )
        }
    }

    func snapshot(_ scope: Scope) async throws -> Snapshot {
        let accountID = scope.accountID
        let groups = try await accounts.groups.list(accountID: accountID)
        var snapshot = Snapshot(
            users: try await accounts.users(accountID: accountID), servicePrincipals: try await servicePrincipals.list(accountID: accountID),
            groups: groups, memberships: try await accounts.groups.directMemberships(accountID: accountID))
        if case .workspace(let workspace) = scope {
            snapshot.workspace = workspace
            snapshot.access = WorkspaceAssignments.effective(
                direct: try await accounts.assignments.list(workspaceID: workspace.workspaceID), groups: groups)
        }
        return snapshot
    }

    func list(_ collection: Collection, _ request: Request, scope: Scope) async throws -> Response {
        let query = try SCIMListQuery(request)
        let directory = try await snapshot(scope)
        return query.response(records(collection, in: directory))
    }

    /// One resource, with the `attributes` / `excludedAttributes` the query asks for.
    func get(_ collection: Collection, _ id: String, scope: Scope, request: Request) async throws -> Response {
        let query = try SCIMListQuery(request)
        let directory = try await snapshot(scope)
        return JSONResponse.ok(query.project(try record(collection, id, in: directory).json))
    }

    /// Creates a resource (201, SCIM's answer to a create); in a workspace it is also assigned to it as a user.
    func create(_ collection: Collection, _ request: Request, scope: Scope) async throws -> Response {
        let body = try await RequestBodyReader.jsonObject(request)
        let id: Int64
        switch collection {
        case .users: id = try await createUser(body, accountID: scope.accountID).userID
        case .servicePrincipals: id = try await createServicePrincipal(body, accountID: scope.accountID).user.userID
        case .groups:
            var edit = SCIMEdit(displayName: "", entitlements: [], roles: [], members: [])
            try edit.replace(with: body, requiresDisplayName: true)
            let members = try Self.principalIDs(edit.members ?? [])
            id = try await scimErrors {
                try await accounts.groups.create(
                    accountID: scope.accountID, displayName: edit.displayName, externalID: edit.externalID,
                    entitlements: try Self.entitlements(edit.entitlements), roles: edit.roles, members: members
                ).groupID
            }
        }
        if case .workspace(let workspace) = scope {
            try await accounts.assignments.set(workspaceID: workspace.workspaceID, principalID: id, permission: .user)
        }
        let directory = try await snapshot(scope)
        return JSONResponse.json(status: .created, try record(collection, String(id), in: directory).json)
    }

    /// PUT (`replacing`) or PATCH: applies the body to the resource and answers it as stored. `caller` changes
    /// `active` only as an account admin, and `account_admin` is a role of the account API alone.
    func update(
        _ collection: Collection, _ id: String, scope: Scope, request: Request, caller: User, replacing: Bool
    ) async throws -> Response {
        let body = try await RequestBodyReader.jsonObject(request)
        var directory = try await snapshot(scope)
        _ = try record(collection, id, in: directory) // 404 for what the scope does not show
        let number = Int64(id)!
        if collection == .groups, var group = directory.groups.first(where: { $0.groupID == number }) {
            // A workspace changes only a group no other workspace relies on: its members would get there too.
            if let workspace = directory.workspace {
                let elsewhere = try await accounts.assignments.workspaces(assigning: directory.enclosingGroups(of: number))
                guard elsewhere.subtracting([workspace.workspaceID]).isEmpty else {
                    throw KilnError(
                        .permissionDenied, "Group \(group.displayName) is used beyond this workspace; change it on the account's SCIM API.")
                }
            }
            var edit = SCIMEdit(
                displayName: group.displayName, externalID: group.externalID, entitlements: group.entitlements, roles: group.roles,
                members: group.members.map(String.init))
            if replacing { try edit.replace(with: body, requiresDisplayName: true) } else { try edit.patch(body) }
            group.displayName = edit.displayName
            group.externalID = edit.externalID
            group.entitlements = try Self.entitlements(edit.entitlements)
            group.roles = edit.roles
            group.members = try Self.principalIDs(edit.members ?? [])
            try await scimErrors { try await accounts.groups.save(group) }
        } else if var user = (directory.users + directory.servicePrincipals.map(\.user)).first(where: { $0.userID == number }) {
            let isAccount = directory.workspace == nil
            var edit = SCIMEdit(
                displayName: user.displayName, active: user.active, externalID: user.externalID, entitlements: user.entitlements,
                roles: (user.isAdmin && isAccount ? ["account_admin"] : []) + user.roles)
            if replacing {
                let fixed = collection == .users ? ("userName", user.userName) : ("applicationId", user.userName)
                if let sent = body[fixed.0]?.stringValue, sent != fixed.1 {
                    throw DatabricksError.scim(status: .badRequest, scimType: "mutability", detail: "\(fixed.0) cannot be changed.")
                }
                try edit.replace(with: body, requiresDisplayName: false)
            } else {
                try edit.patch(body)
            }
            if edit.active != user.active, !caller.isAdmin {
                throw KilnError(.permissionDenied, "Only account admins can activate or deactivate principals.")
            }
            if edit.roles.contains("account_admin") != (user.isAdmin && isAccount), !isAccount {
                throw DatabricksError.scim(
                    status: .badRequest, scimType: "invalidValue", detail: "account_admin is a role of the account's SCIM API only.")
            }
            user.displayName = edit.displayName
            user.active = edit.active ?? user.active
            user.externalID = edit.externalID
            user.entitlements = try Self.entitlements(edit.entitlements)
            if isAccount { user.isAdmin = edit.roles.contains("account_admin") }
            user.roles = edit.roles.filter { $0 != "account_admin" }
            try await scimErrors { try await accounts.save(user) }
        }
        directory = try await snapshot(scope)
        return JSONResponse.ok(try record(collection, id, in: directory).json)
    }

    /// Deletes a resource from the account, or, in a workspace, removes its assignment there. Nobody deletes
    /// themselves (an account keeps the admin who asks).
    func delete(_ collection: Collection, _ id: String, scope: Scope, caller: User) async throws -> Response {
        let directory = try await snapshot(scope)
        _ = try record(collection, id, in: directory)
        let number = Int64(id)!
        guard number != caller.userID else { throw KilnError.invalidParameter("You cannot delete yourself.") }
        switch (scope, collection) {
        case (.workspace(let workspace), _):
            try await accounts.assignments.set(workspaceID: workspace.workspaceID, principalID: number, permission: nil)
        case (.account(let accountID), .groups): try await accounts.groups.delete(accountID: accountID, id: number)
        case (.account(let accountID), _): try await accounts.deleteUser(accountID: accountID, userID: number)
        }
        return JSONResponse.empty()
    }

    /// The collection's records the scope shows, in creation order.
    func records(_ collection: Collection, in directory: Snapshot) -> [SCIMRecord] {
        switch collection {
        case .users: directory.users.filter { directory.isVisible($0.userID) }.map { SCIMRecord.user($0, in: directory) }
        case .servicePrincipals:
            directory.servicePrincipals.filter { directory.isVisible($0.user.userID) }.map { SCIMRecord.servicePrincipal($0, in: directory) }
        case .groups: directory.groups.filter { directory.isVisible($0.groupID) }.map { SCIMRecord.group($0, in: directory) }
        }
    }

    /// The record with this SCIM id; `RESOURCE_DOES_NOT_EXIST` (404) when the scope shows none in the
    /// collection (a service principal is not a user, nor a user a group).
    func record(_ collection: Collection, _ id: String, in directory: Snapshot) throws -> SCIMRecord {
        let number = Int64(id)
        let found: SCIMRecord? =
            switch collection {
            case .users: directory.users.first { $0.userID == number }.map { SCIMRecord.user($0, in: directory) }
            case .servicePrincipals:
                directory.servicePrincipals.first { $0.user.userID == number }.map { SCIMRecord.servicePrincipal($0, in: directory) }
            case .groups: directory.groups.first { $0.groupID == number }.map { SCIMRecord.group($0, in: directory) }
            }
        guard let found, let number, directory.isVisible(number) else {
            throw KilnError(.resourceDoesNotExist, "\(collection.noun) \(id) does not exist.")
        }
        return found
    }

    /// A user from `userName` (required) and `displayName` (the user name when left out).
    private func createUser(_ body: JSONTree, accountID: String) async throws -> User {
        guard let userName = body["userName"]?.stringValue, !userName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "userName is required.")
        }
        var edit = SCIMEdit(displayName: userName, active: true, entitlements: [], roles: [])
        try edit.replace(with: body, requiresDisplayName: false)
        var user = try await scimErrors {
            try await accounts.createUser(accountID: accountID, userName: userName, displayName: edit.displayName)
        }
        try await attributes(of: &user, from: edit)
        return user
    }

    /// A service principal from `displayName` (required) and `applicationId` (a new UUID when left out); it
    /// has no secret until one is made for it.
    private func createServicePrincipal(_ body: JSONTree, accountID: String) async throws -> ServicePrincipal {
        var edit = SCIMEdit(displayName: "", active: true, entitlements: [], roles: [])
        try edit.replace(with: body, requiresDisplayName: true)
        let applicationID = body["applicationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        var principal = try await scimErrors {
            try await servicePrincipals.create(accountID: accountID, displayName: edit.displayName, applicationID: applicationID)
        }
        try await attributes(of: &principal.user, from: edit)
        return principal
    }

    /// Stores what a create said beyond the names: `active`, `externalId`, `entitlements`, `roles`.
    private func attributes(of user: inout User, from edit: SCIMEdit) async throws {
        let entitlements = try Self.entitlements(edit.entitlements)
        guard edit.active == false || edit.externalID != nil || !entitlements.isEmpty || !edit.roles.isEmpty else { return }
        user.active = edit.active ?? true
        user.externalID = edit.externalID
        user.entitlements = entitlements
        user.roles = edit.roles.filter { $0 != "account_admin" }
        try await accounts.save(user)
    }

    /// Databricks' workspace entitlements; any other value is SCIM's 400 `invalidValue`.
    static let knownEntitlements: Set<String> = [
        "workspace-access", "workspace-consume", "databricks-sql-access", "allow-cluster-create", "allow-instance-pool-create",
    ]

    private static func entitlements(_ values: [String]) throws -> [String] {
        if let unknown = values.first(where: { !knownEntitlements.contains($0) }) {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "\(unknown) is not an entitlement.")
        }
        return values
    }

    /// Member ids as principal ids; one that is not a number is SCIM's 400 `invalidValue`.
    private static func principalIDs(_ values: [String]) throws -> [Int64] {
        try values.map { value in
            guard let id = Int64(value) else {
                throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "Member \(value) is not a principal id.")
            }
            return id
        }
    }

    /// Runs a store call, answering its refusals in SCIM's shape: a taken name is 409 `uniqueness`, a bad
    /// value 400 `invalidValue`.
    private func scimErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KilnError where error.code == .resourceAlreadyExists {
            throw DatabricksError.scim(status: .conflict, scimType: "uniqueness", detail: error.message)
        } catch let error as KilnError where error.code == .invalidParameterValue {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: error.message)
        }
    }
}
