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
        let query = APIParameters.parseQuery(request.uri.query ?? "")
        switch try Self.route(request) {
        case .collection(let parent, let kind):
            let body = try await service.list(
                kind, parent: parent, pageSize: try Self.int(query, "page_size"), pageToken: query["page_token"]?.stringValue,
                showDeleted: try Self.bool(query, "show_deleted"), caller: Self.caller(context))
            return Self.json(body)
        case .resource(let name):
            return Self.json(try await service.get(name, caller: Self.caller(context)))
        case .operation(let name):
            return Self.json(try await service.operation(name, caller: Self.caller(context)))
        default:
            throw Self.unknownRoute(request)
        }
    }

    @Sendable func post(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = APIParameters.parseQuery(request.uri.query ?? "")
        let body = try await Self.body(request)
        let caller = Self.caller(context)
        switch try Self.route(request) {
        case .collection(let parent, let kind):
            return Self.json(try await service.create(
                kind, parent: parent, id: query[kind.rawValue + "_id"]?.stringValue,
                replaceExisting: try Self.bool(query, "replace_existing"), body: body, caller: caller))
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
        let query = APIParameters.parseQuery(request.uri.query ?? "")
        guard case .resource(let name) = try Self.route(request) else { throw Self.unknownRoute(request) }
        return Self.json(try await service.update(
            name, body: try await Self.body(request), mask: query["update_mask"]?.stringValue, caller: Self.caller(context)))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let query = APIParameters.parseQuery(request.uri.query ?? "")
        guard case .resource(let name) = try Self.route(request) else { throw Self.unknownRoute(request) }
        return Self.json(try await service.delete(
            name, purge: try Self.bool(query, "purge"), reassignOwnedTo: query["reassign_owned_to"]?.stringValue,
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
        return LakebaseCaller(workspaceID: context.workspace.workspaceID, identity: name,
                              identityType: name.contains("@") ? "USER" : "SERVICE_PRINCIPAL")
    }

    static func body(_ request: Request) async throws -> JSONTree {
        guard let buffer = try await RequestBodyReader.collect(request, limit: 1 << 20) else {
            throw KilnError(.requestEntityTooLarge, "The request body is larger than 1 MiB.")
        }
        guard buffer.readableBytes > 0 else { return .object([]) }
        do {
            let tree = try JSONTree.parse(Array(buffer.readableBytesView))
            guard case .object = tree else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
            return tree
        } catch let error as KilnError {
            throw error
        } catch {
            throw KilnError(.malformedRequest, "Invalid JSON given in the body of the request: \(error)")
        }
    }

    static func bool(_ query: [String: JSONValue], _ key: String) throws -> Bool {
        switch query[key]?.stringValue {
        case nil, "", "false": return false
        case "true": return true
        case let other?: throw KilnError.invalidParameter("Query parameter '\(key)' must be true or false, not '\(other)'.")
        }
    }

    static func int(_ query: [String: JSONValue], _ key: String) throws -> Int? {
        guard let text = query[key]?.stringValue, !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw KilnError.invalidParameter("Query parameter '\(key)' must be an integer, not '\(text)'.") }
        return value
    }

    static func json(_ tree: JSONTree) -> Response {
        JSONResponse.make(status: .ok, bytes: tree.compactJSON())
    }
}
