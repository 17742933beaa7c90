import Foundation
public import KilnCore
public import Persistence
import SQLKit

/// Personal access tokens: created once in plain text, stored only as a SHA-256 hash.
///
/// A fast hash is right here: tokens are 128 random bits, so there is nothing to brute-force.
public struct TokenStore: Sendable {
    private let database: any Database
    private let clock: any WallClock
    /// Live tokens by the hash of their secret, in memory (`RowCache`); shared by copies of the store.
    private let cache: RowCache<String, Resolved>

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
        self.cache = RowCache(database: database, topic: .identity)
    }

    /// A token's owner, workspace, id and expiry (milliseconds since 1970; negative: never).
    private struct Resolved: Sendable {
        var userID: Int64
        var workspaceID: Int64
        var tokenID: String
        var expiresAt: Int64
    }

    /// The longest lifetime a token may ask for: ten years.
    public static let maximumLifetimeSeconds: Int64 = 10 * 365 * 24 * 3600

    /// Creates a token for `userID` in `workspaceID`, made by `createdBy` (an admin making it on a service
    /// principal's behalf) or by its owner. A lifetime of `nil` or ≤ 0 means it never expires.
    /// Returns the secret (shown once) and the token's info.
    public func create(
        workspaceID: Int64, userID: Int64, comment: String, lifetimeSeconds: Int64?, createdBy: Int64? = nil
    ) async throws -> (secret: String, info: TokenInfo) {
        if let lifetimeSeconds, lifetimeSeconds > Self.maximumLifetimeSeconds {
            throw KilnError.invalidParameter(
                "lifetime_seconds must be at most \(Self.maximumLifetimeSeconds) (ten years).")
        }
        let now = clock.nowMillis()
        let secret = "dapi" + IdentifierGenerator.hex(32)
        let expiry = lifetimeSeconds.map { $0 > 0 ? now + $0 * 1000 : -1 } ?? -1
        let tokenID = IdentifierGenerator.hex(64)
        try await database.write { db in
            try await db.insert(into: "tokens")
                .columns("token_id", "workspace_id", "user_id", "token_hash", "comment", "created_at", "expires_at", "created_by")
                .values(
                    SQLBind(tokenID), SQLBind(workspaceID), SQLBind(userID), SQLBind(Self.hash(secret)),
                    SQLBind(comment), SQLBind(now), SQLBind(expiry), SQLBind(createdBy)
                ).run()
        }
        let info = try await managed(workspaceID: workspaceID, tokenID: tokenID).first
        return (secret, info ?? TokenInfo(tokenID: tokenID, comment: comment, creationTime: now, expiryTime: expiry))
    }

    /// The workspace's tokens, oldest first, with their owners and creators (the Token Management API's view),
    /// or the one with `tokenID`.
    public func managed(workspaceID: Int64, tokenID: String? = nil) async throws -> [TokenInfo] {
        try await database.read { db in
            var query = db.select()
                .columns(
                    SQLColumn("token_id", table: "tokens"), SQLColumn("comment", table: "tokens"), SQLColumn("created_at", table: "tokens"),
                    SQLColumn("expires_at", table: "tokens"), SQLColumn("user_id", table: "tokens"),
                    SQLColumn("workspace_id", table: "tokens"), SQLColumn("created_by", table: "tokens"),
                    SQLAlias(SQLColumn("user_name", table: "creators"), as: SQLIdentifier("creator_name"))
                )
                .from("tokens")
                .join(
                    SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("creators")), method: SQLJoinMethod.left,
                    on: SQLBinaryExpression(
                        SQLColumn("user_id", table: "creators"), .equal,
                        SQLFunction("COALESCE", args: SQLColumn("created_by", table: "tokens"), SQLColumn("user_id", table: "tokens")))
                )
                .where(SQLColumn("workspace_id", table: "tokens"), .equal, SQLBind(workspaceID))
            if let tokenID { query = query.where(SQLColumn("token_id", table: "tokens"), .equal, SQLBind(tokenID)) }
            return try await query.orderBy(SQLColumn("created_at", table: "tokens")).all().map { row in
                var info = try TokenInfo(row: row)
                info.ownerID = try row.decode(column: "user_id", as: Int64.self)
                info.createdByID = try row.decode(column: "created_by", as: Int64?.self) ?? info.ownerID
                // A token outlives the admin who made it on a principal's behalf; it stays listed, to be revoked.
                info.createdByUserName = try row.decode(column: "creator_name", as: String?.self) ?? ""
                info.workspaceID = try row.decode(column: "workspace_id", as: Int64.self)
                return info
            }
        }
    }

    /// The tokens `userID` holds in `workspaceID`, oldest first.
    public func list(workspaceID: Int64, userID: Int64) async throws -> [TokenInfo] {
        try await managed(workspaceID: workspaceID).filter { $0.ownerID == userID }
    }

    /// Revokes a token of `userID` in `workspaceID`, or any of the workspace's when `userID` is nil (a
    /// workspace admin's Token Management API). Throws `RESOURCE_DOES_NOT_EXIST` when there is none.
    public func delete(tokenID: String, workspaceID: Int64, userID: Int64?) async throws {
        let deleted = try await database.write { db in
            var query = db.delete(from: "tokens").where("token_id", .equal, tokenID).where("workspace_id", .equal, workspaceID)
            if let userID { query = query.where("user_id", .equal, userID) }
            return try await query.returning("token_id").all().count
        }
        if deleted == 0 {
            throw KilnError(.resourceDoesNotExist, "Token with ID \(tokenID) does not exist.")
        }
    }

    /// The owner and workspace of `secret` if it is a live token.
    public func resolve(secret: String) async throws -> (userID: Int64, workspaceID: Int64, tokenID: String)? {
        guard let token = try await live(secret) else { return nil }
        return (token.userID, token.workspaceID, token.tokenID)
    }

    /// The owner of `secret` if it is a live token of `workspaceID`: returns the user id and token id.
    public func resolve(secret: String, workspaceID: Int64) async throws -> (userID: Int64, tokenID: String)? {
        guard let token = try await live(secret), token.workspaceID == workspaceID else { return nil }
        return (token.userID, token.tokenID)
    }

    /// The token whose secret this is, unless it has expired.
    private func live(_ secret: String) async throws -> Resolved? {
        let hash = Self.hash(secret)
        let token = try await cache.value(hash) {
            try await database.read { db in
                try await db.select().columns("token_id", "user_id", "workspace_id", "expires_at").from("tokens")
                    .where("token_hash", .equal, hash).first()
                    .map { row in
                        Resolved(
                            userID: try row.decode(column: "user_id", as: Int64.self),
                            workspaceID: try row.decode(column: "workspace_id", as: Int64.self),
                            tokenID: try row.decode(column: "token_id", as: String.self),
                            expiresAt: try row.decode(column: "expires_at", as: Int64.self))
                    }
            }
        }
        guard let token, token.expiresAt < 0 || token.expiresAt > clock.nowMillis() else { return nil }
        return token
    }

    static func hash(_ secret: String) -> String {
        sha256Hex(secret)
    }
}

extension TokenInfo {
    init(row: any SQLRow) throws {
        self.init(
            tokenID: try row.decode(column: "token_id", as: String.self),
            comment: try row.decode(column: "comment", as: String.self),
            creationTime: try row.decode(column: "created_at", as: Int64.self),
            expiryTime: try row.decode(column: "expires_at", as: Int64.self)
        )
    }
}
