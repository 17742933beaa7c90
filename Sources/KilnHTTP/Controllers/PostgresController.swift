import Foundation
import Accounts
public import Hummingbird
import KilnCore
public import Lakebase

/// The Lakebase Postgres API (`/api/2.0/postgres/…`). One URL shape serves many resources, so every
/// method dispatches on the segments of the path (lakebase-contract.md §4).
public struct PostgresController: Sendable {
    let service: LakebaseService

    public init(service: LakebaseService) {
        self.service = service
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("postgres/**", use: get)
        group.post("postgres/**", use: post)
        group.patch("postgres/**", use: patch)
        group.delete("postgres/**", use: delete)
    }

    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = QueryParameters(request)
        switch try Self.route(request) {
        case .collection(let parent, let kind):
            let body = try await service.list(
                kind, parent: parent, pageSize: try query.int("page_size").map(Int.init), pageToken: query["page_token"],
                showDeleted: try query.bool("show_deleted") ?? false, caller: Self.caller(context))
            return Self.json(body)
        case .resource(let name):
            return Self.json(try await service.get(name, caller: Self.caller(context)))
        case .operation(let name):
            return Self.json(try await service.operation(name, caller: Self.caller(context)))
        case .snapshotSchedule(let branch):
            return Self.json(try await service.snapshotSchedule(of: branch, caller: Self.caller(context)))
        default:
            throw Self.unknownRoute(request)
        }
    }

    @Sendable func post(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = QueryParameters(request)
        let body = try await RequestBodyReader.jsonObject(request)
        let caller = Self.caller(context)
        switch try Self.route(request) {
        case .collection(let parent, let kind):
            return Self.json(
                try await service.create(
                    kind, parent: parent, id: query[kind.rawValue + "_id"],
                    replaceExisting: try query.bool("replace_existing") ?? false, body: body, caller: caller))
        case .action(let name, "undelete"):
            return Self.json(try await service.undelete(name, caller: caller))
        case .action(let name, "password"):
            return Self.json(try await service.revealPassword(name, caller: caller))
        case .credentials:
            return Self.json(try await service.generateCredential(body: body, caller: caller))
        default:
            throw Self.unknownRoute(request)
        }
    }

    @Sendable func patch(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = QueryParameters(request)
        let route = try Self.route(request)
        if case .snapshotSchedule(let branch) = route {
            return Self.json(
                try await service.updateSnapshotSchedule(
                    of: branch, body: try await RequestBodyReader.jsonObject(request), mask: query["update_mask"], caller: Self.caller(context)))
        }
        guard case .resource(let name) = route else { throw Self.unknownRoute(request) }
        return Self.json(
            try await service.update(
                name, body: try await RequestBodyReader.jsonObject(request), mask: query["update_mask"], caller: Self.caller(context)))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = QueryParameters(request)
        guard case .resource(let name) = try Self.route(request) else { throw Self.unknownRoute(request) }
        return Self.json(
            try await service.delete(
                name, purge: try query.bool("purge") ?? false, reassignOwnedTo: query["reassign_owned_to"],
                caller: Self.caller(context)))
    }

    // MARK: - Helpers

    static func route(_ request: Request) throws -> PostgresRoute {
        let path = request.uri.path
        guard let range = path.range(of: "/api/2.0/postgres/") else { throw unknownRoute(request) }
        let rest = path[range.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
            .map { String($0).removingPercentEncoding ?? String($0) }
        guard let route = PostgresRoute(segments: rest) else { throw unknownRoute(request) }
        if case .unimplemented(let what) = route {
            throw KilnError(.notImplemented, "The Lakebase '\(what)' API is not implemented by Kiln yet.")
        }
        return route
    }

    static func unknownRoute(_ request: Request) -> KilnError {
        KilnError(.endpointNotFound, "No API found for '\(request.method) \(request.uri.path)'")
    }

    static func caller(_ context: AuthenticatedContext) -> LakebaseCaller {
        let name = context.identity.user.userName
        return LakebaseCaller(
            workspaceID: context.workspace.workspaceID, identity: name,
            identityType: name.contains("@") ? "USER" : "SERVICE_PRINCIPAL", principalID: context.identity.user.userID,
            principalIDs: context.identity.groupIDs, isAdmin: context.identity.isWorkspaceAdmin)
    }

    static func json(_ tree: JSONTree) -> Response { JSONResponse.ok(tree) }
}
