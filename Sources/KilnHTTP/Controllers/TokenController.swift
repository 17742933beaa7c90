public import Accounts
public import Hummingbird

/// The Token API (`/api/2.0/token/…`): the caller's personal access tokens.
public struct TokenController: Sendable {
    let tokens: TokenStore

    public init(tokens: TokenStore) {
        self.tokens = tokens
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post("token/create", use: create)
        group.get("token/list", use: list)
        group.post("token/delete", use: delete)
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let parameters = try await APIParameters.read(request)
        let (secret, info) = try await tokens.create(
            workspaceID: context.workspace.workspaceID, userID: context.identity.user.userID,
            comment: try parameters.string("comment") ?? "",
            lifetimeSeconds: try parameters.int64("lifetime_seconds")
        )
        return JSONResponse.ok(CreateTokenResponse(tokenValue: secret, tokenInfo: TokenInfoBody(info)))
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let infos = try await tokens.list(workspaceID: context.workspace.workspaceID, userID: context.identity.user.userID)
        return JSONResponse.ok(ListTokensResponse(tokenInfos: infos.map(TokenInfoBody.init)))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let parameters = try await APIParameters.read(request)
        try await tokens.delete(
            tokenID: try parameters.requiredString("token_id"),
            workspaceID: context.workspace.workspaceID, userID: context.identity.user.userID
        )
        return JSONResponse.empty()
    }
}

struct TokenInfoBody: Encodable {
    var tokenID: String
    var creationTime: Int64
    var expiryTime: Int64
    var comment: String

    init(_ info: TokenInfo) {
        tokenID = info.tokenID
        creationTime = info.creationTime
        expiryTime = info.expiryTime
        comment = info.comment
    }

    enum CodingKeys: String, CodingKey {
        case tokenID = "token_id"
        case creationTime = "creation_time"
        case expiryTime = "expiry_time"
        case comment
    }
}

struct CreateTokenResponse: Encodable {
    var tokenValue: String
    var tokenInfo: TokenInfoBody

    enum CodingKeys: String, CodingKey {
        case tokenValue = "token_value"
        case tokenInfo = "token_info"
    }
}

struct ListTokensResponse: Encodable {
    var tokenInfos: [TokenInfoBody]

    enum CodingKeys: String, CodingKey {
        case tokenInfos = "token_infos"
    }
}
