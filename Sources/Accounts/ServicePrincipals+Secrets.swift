import Foundation
import KilnCore
import Persistence
import SQLKit

/// An OAuth secret of a service principal, as Databricks' secrets API lists it (`SecretInfo`): the secret
/// itself is shown once, when it is made, and only its SHA-256 is kept.
public struct ServicePrincipalSecret: Sendable, Equatable {
    public var id: String
    /// Unix milliseconds.
    public var createdAt: Int64
    public var expiresAt: Int64
    /// Whether it was past its expiry when read (by the clock logins are checked with).
    public var isExpired: Bool
}

/// The OAuth secrets of service principals (Databricks' `service_principal_secrets`): several per principal,
/// each with a lifetime; any unexpired one logs in (`authenticate`).
extension ServicePrincipals {
    /// A secret's lifetime when none is asked for: 730 days (Databricks' default).
    public static let defaultSecretLifetimeSeconds: Int64 = 63_072_000

    /// Makes a secret for `principal` that lives `lifetimeSeconds` (the default when nil); returns it with the
    /// secret, which is not kept. Throws `KilnError(.invalidParameterValue)` for a lifetime that is not positive.
    public func createSecret(for principal: ServicePrincipal, lifetimeSeconds: Int64? = nil) async throws -> (ServicePrincipalSecret, secret: String) {
        let lifetime = lifetimeSeconds ?? Self.defaultSecretLifetimeSeconds
        guard lifetime > 0, lifetime <= 100 * 365 * 86_400 else {
            throw KilnError.invalidParameter("lifetime must be a positive number of seconds such as \"3600s\".")
        }
        let secret = "dose" + IdentifierGenerator.hex(40)
        let now = clock.nowMillis()
        let info = ServicePrincipalSecret(id: IdentifierGenerator.uuid(), createdAt: now, expiresAt: now + lifetime * 1000, isExpired: false)
        try await database.write { db in
            try await db.insert(into: "service_principal_secrets").columns("secret_id", "user_id", "secret_hash", "created_at", "expires_at")
                .values(SQLBind(info.id), SQLBind(principal.user.userID), SQLBind(TokenStore.hash(secret)), SQLBind(now), SQLBind(info.expiresAt))
                .run()
        }
        return (info, secret)
    }

    /// The secrets of `principal`, oldest first (expired ones too, until deleted).
    public func secrets(of principal: ServicePrincipal) async throws -> [ServicePrincipalSecret] {
        let now = clock.nowMillis()
        return try await database.read { db in
            try await db.select().columns("secret_id", "created_at", "expires_at").from("service_principal_secrets")
                .where("user_id", .equal, principal.user.userID).orderBy("created_at").orderBy("secret_id").all()
                .map { row in
                    let expiresAt = try row.decode(column: "expires_at", as: Int64.self)
                    return ServicePrincipalSecret(
                        id: try row.decode(column: "secret_id", as: String.self), createdAt: try row.decode(column: "created_at", as: Int64.self),
                        expiresAt: expiresAt, isExpired: expiresAt <= now)
                }
        }
    }

    /// Deletes a secret of `principal`: it logs in no more. Throws `KilnError(.resourceDoesNotExist)` when
    /// the principal has no such secret.
    public func deleteSecret(id: String, of principal: ServicePrincipal) async throws {
        let deleted = try await database.write { db in
            try await db.delete(from: "service_principal_secrets").where("secret_id", .equal, id)
                .where("user_id", .equal, principal.user.userID).returning("secret_id").all().count
        }
        if deleted == 0 { throw KilnError(.resourceDoesNotExist, "Secret \(id) does not exist for service principal \(principal.user.userID).") }
    }
}
