public import Accounts
import Foundation
public import Hummingbird
import KilnCore
public import Lakebase
public import WorkspaceFiles

/// The Permissions API for workspace objects (`/api/2.0/permissions/{directories|notebooks|files}/{id}`, the
/// SDK's `w.workspace.get_permissions` / `set_permissions` / `update_permissions` / `get_permission_levels`
/// and `w.permissions`): GET the access control list (own grants and those inherited from the folders
/// above, plus `admins`, who manage everything), PUT to replace the object's own grants, PATCH to add or
/// change some, and `…/permissionLevels`; and the same for Lakebase projects
/// (`permissions/database-projects/{project_id}`, CAN_USE and CAN_MANAGE). Grantees are the workspace's
/// users, service principals and groups, and its `users` group.
public struct PermissionsController: Sendable {
    let service: WorkspaceService
    let lakebase: LakebaseService
    let directory: SCIMDirectory

    public init(service: WorkspaceService, lakebase: LakebaseService, accounts: AccountStore, servicePrincipals: ServicePrincipals) {
        self.service = service
        self.lakebase = lakebase
        self.directory = SCIMDirectory(accounts: accounts, servicePrincipals: servicePrincipals)
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("permissions/:object_type/:object_id", use: get)
        group.put("permissions/:object_type/:object_id") { request, context in try await set(request, context, replacing: true) }
        group.patch("permissions/:object_type/:object_id") { request, context in try await set(request, context, replacing: false) }
        group.get("permissions/:object_type/:object_id/permissionLevels", use: levels)
    }

    /// The workspace object types the API names, by their path segment.
    enum ObjectKind: String {
        case directories, notebooks, files

        var objectType: ObjectType {
            switch self {
            case .directories: .directory
            case .notebooks: .notebook
            case .files: .file
            }
        }

        /// `directory`, `notebook`, `file`: the answer's `object_type`.
        var singular: String { objectType.rawValue.lowercased() }
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        if try context.parameters.require("object_type") == Self.projects {
            let id = try context.parameters.require("object_id")
            let grants = try await lakebase.projectPermissions(projectID: id, caller: PostgresController.caller(context))
            return try await projectAnswer(id, grants, context)
        }
        let (kind, id) = try Self.target(context)
        let (object, grants) = try await service.permissions(workspaceID: context.workspace.workspaceID, objectID: id, caller: context.caller)
        return try await answer(kind, object, grants, context)
    }

    func set(_ request: Request, _ context: AuthenticatedContext, replacing: Bool) async throws -> Response {
        let body = try await RequestBodyReader.jsonObject(request)
        let snapshot = try await directory.snapshot(.workspace(context.workspace))
        if try context.parameters.require("object_type") == Self.projects {
            let id = try context.parameters.require("object_id")
            var grants: [(principalID: Int64, level: ProjectPermissionLevel)] = []
            for entry in body["access_control_list"]?.arrayValue ?? [] {
                guard let text = entry["permission_level"]?.stringValue, let level = ProjectPermissionLevel(rawValue: text) else {
                    throw KilnError.invalidParameter(
                        "Permission level \(entry["permission_level"]?.stringValue ?? "(none)") is not valid for a database project; use CAN_USE or CAN_MANAGE."
                    )
                }
                grants.append((try Self.principal(entry, in: snapshot), level))
            }
            let all = try await lakebase.setProjectPermissions(
                projectID: id, grants: grants, replacing: replacing, caller: PostgresController.caller(context))
            return try await projectAnswer(id, all, context, snapshot: snapshot)
        }
        let (kind, id) = try Self.target(context)
        var grants: [(principalID: Int64, level: PermissionLevel)] = []
        for entry in body["access_control_list"]?.arrayValue ?? [] {
            let level = try Self.level(entry["permission_level"]?.stringValue, kind)
            grants.append((try Self.principal(entry, in: snapshot), level))
        }
        let current = try await service.permissions(workspaceID: context.workspace.workspaceID, objectID: id, caller: context.caller).0
        try Self.check(current, is: kind, id: id)
        let (object, all) = try await service.setPermissions(
            workspaceID: context.workspace.workspaceID, objectID: id, grants: grants, replacing: replacing, caller: context.caller)
        return try await answer(kind, object, all, context, snapshot: snapshot)
    }

    @Sendable func levels(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let levels: [(String, String)]
        if try context.parameters.require("object_type") == Self.projects {
            _ = try await lakebase.projectPermissions(projectID: try context.parameters.require("object_id"), caller: PostgresController.caller(context))
            levels = ProjectPermissionLevel.allCases.map { ($0.rawValue, $0.summary) }
        } else {
            let (kind, id) = try Self.target(context)
            let object = try await service.permissions(workspaceID: context.workspace.workspaceID, objectID: id, caller: context.caller).0
            try Self.check(object, is: kind, id: id)
            levels = PermissionLevel.allCases.map { ($0.rawValue, $0.summary) }
        }
        return JSONResponse.ok(
            JSONTree.object([
                .init(
                    "permission_levels",
                    .array(levels.map { .object([.init("permission_level", .string($0.0)), .init("description", .string($0.1))]) }))
            ]))
    }

    /// The object type segment of Lakebase projects.
    static let projects = "database-projects"

    /// A project's access control list, as `answer` gives an object's (its grants are never inherited).
    private func projectAnswer(
        _ id: String, _ grants: [(principalID: Int64, level: ProjectPermissionLevel)], _ context: AuthenticatedContext,
        snapshot: SCIMDirectory.Snapshot? = nil
    ) async throws -> Response {
        let directory: SCIMDirectory.Snapshot
        if let snapshot { directory = snapshot } else { directory = try await self.directory.snapshot(.workspace(context.workspace)) }
        var entries = [Self.adminsEntry(from: "/\(Self.projects)/")]
        for grant in grants {
            guard let name = Self.name(of: grant.principalID, in: directory) else { continue }
            let permission = JSONTree.object([.init("permission_level", .string(grant.level.rawValue)), .init("inherited", .bool(false))])
            entries.append(.object(name + [.init("all_permissions", .array([permission]))]))
        }
        return JSONResponse.ok(
            JSONTree.object([
                .init("object_id", .string("/\(Self.projects)/\(id)")), .init("object_type", .string("database-project")),
                .init("access_control_list", .array(entries)),
            ]))
    }

    /// `admins`, who manage everything, as an inherited CAN_MANAGE.
    static func adminsEntry(from source: String) -> JSONTree {
        .object([
            .init("group_name", .string("admins")),
            .init(
                "all_permissions",
                .array([
                    .object([
                        .init("permission_level", .string("CAN_MANAGE")), .init("inherited", .bool(true)),
                        .init("inherited_from_object", .array([.string(source)])),
                    ])
                ])),
        ])
    }

    /// `{object_id: "/notebooks/7", object_type: "notebook", access_control_list: [{user_name | group_name |
    /// service_principal_name, display_name, all_permissions: [{permission_level, inherited,
    /// inherited_from_object}]}]}`.
    private func answer(
        _ kind: ObjectKind, _ object: ObjectInfo, _ grants: [ObjectGrant], _ context: AuthenticatedContext,
        snapshot: SCIMDirectory.Snapshot? = nil
    ) async throws -> Response {
        try Self.check(object, is: kind, id: object.objectID)
        let directory: SCIMDirectory.Snapshot
        if let snapshot { directory = snapshot } else { directory = try await self.directory.snapshot(.workspace(context.workspace)) }
        var order: [Int64] = []
        var permissions: [Int64: [JSONTree]] = [:]
        for grant in grants {
            if permissions[grant.principalID] == nil { order.append(grant.principalID) }
            var fields: [JSONTree.Member] = [
                .init("permission_level", .string(grant.level.rawValue)), .init("inherited", .bool(grant.inheritedFrom != nil)),
            ]
            if let source = grant.inheritedFrom {
                fields.append(.init("inherited_from_object", .array([.string(Self.objectID(source))])))
            }
            permissions[grant.principalID, default: []].append(.object(fields))
        }
        var entries = [Self.adminsEntry(from: "/directories/0")]
        for id in order {
            guard let name = Self.name(of: id, in: directory) else { continue }
            entries.append(.object(name + [.init("all_permissions", .array(permissions[id] ?? []))]))
        }
        return JSONResponse.ok(
            JSONTree.object([
                .init("object_id", .string(Self.objectID(object))), .init("object_type", .string(kind.singular)),
                .init("access_control_list", .array(entries)),
            ]))
    }

    /// `/directories/7`, `/notebooks/7`, `/files/7`.
    static func objectID(_ object: ObjectInfo) -> String {
        let kind: ObjectKind =
            switch object.objectType {
            case .directory: .directories
            case .notebook: .notebooks
            case .file: .files
            }
        return "/\(kind.rawValue)/\(object.objectID)"
    }

    private static func target(_ context: AuthenticatedContext) throws -> (ObjectKind, Int64) {
        let type = try context.parameters.require("object_type")
        guard let kind = ObjectKind(rawValue: type) else {
            throw KilnError(.endpointNotFound, "No API found for permissions of '\(type)'.")
        }
        let id = try context.parameters.require("object_id")
        guard let number = Int64(id) else { throw KilnError(.resourceDoesNotExist, "\(kind.singular.capitalized) \(id) does not exist.") }
        return (kind, number)
    }

    /// A path's object type must be the one the URL names: a folder's id under `notebooks/` does not exist.
    private static func check(_ object: ObjectInfo, is kind: ObjectKind, id: Int64) throws {
        guard object.objectType == kind.objectType else {
            throw KilnError(.resourceDoesNotExist, "\(kind.singular.capitalized) \(id) does not exist.")
        }
    }

    private static func level(_ text: String?, _ kind: ObjectKind) throws -> PermissionLevel {
        guard let text, let level = PermissionLevel(rawValue: text) else {
            throw KilnError.invalidParameter(
                "Permission level \(text ?? "(none)") is not valid for a \(kind.singular); use one of "
                    + PermissionLevel.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
        return level
    }

    /// The principal an access control entry names: a `user_name`, `service_principal_name` (application id)
    /// or `group_name` of the workspace (`users`: all of them). `admins` manage everything already.
    private static func principal(_ entry: JSONTree, in directory: SCIMDirectory.Snapshot) throws -> Int64 {
        let visible = { (id: Int64) in directory.isVisible(id) ? id : nil }
        if let name = entry["user_name"]?.stringValue {
            if let id = directory.users.first(where: { $0.userName == name }).flatMap({ visible($0.userID) }) { return id }
            throw KilnError.invalidParameter("User \(name) is not a user of this workspace.")
        }
        if let name = entry["service_principal_name"]?.stringValue {
            if let id = directory.servicePrincipals.first(where: { $0.applicationID == name }).flatMap({ visible($0.user.userID) }) {
                return id
            }
            throw KilnError.invalidParameter("Service principal \(name) is not in this workspace.")
        }
        if let name = entry["group_name"]?.stringValue {
            if name == "users" { return WorkspaceCaller.allUsers }
            if name == "admins" { throw KilnError.invalidParameter("The admins group manages every object; its permissions cannot be changed.") }
            if let id = directory.groups.first(where: { $0.displayName == name }).flatMap({ visible($0.groupID) }) { return id }
            throw KilnError.invalidParameter("Group \(name) is not a group of this workspace.")
        }
        throw KilnError.invalidParameter("Each access control entry needs a user_name, group_name or service_principal_name.")
    }

    /// The name fields of an entry for a principal id; nil for one no longer in the account.
    private static func name(of id: Int64, in directory: SCIMDirectory.Snapshot) -> [JSONTree.Member]? {
        if id == WorkspaceCaller.allUsers { return [.init("group_name", .string("users"))] }
        return directory.principal(id).map { collection, name, display in
            [.init(collection.nameField, .string(name)), .init("display_name", .string(display))]
        }
    }
}
