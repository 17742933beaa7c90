import Crypto
import Foundation
public import KilnCore
public import Persistence
import SQLKit
import Synchronization

/// Service principals (an account user that logs in with a client id and secret) and the OAuth M2M
/// access tokens they get from the token endpoint: `kiln_m2m.<payload>.<HMAC-SHA256>`, expiring, scoped to
/// an account or one workspace, signed with a key kept in the database.
public struct ServicePrincipals: Sendable {
    let database: any Database
    let clock: any WallClock
    let accounts: AccountStore
    private let keyCache = SigningKeyCache()

    /// How long an access token lives.
    public static let tokenLifetimeSeconds: Int64 = 3600

    public init(database: any Database, clock: any WallClock = SystemClock()) {
        self.database = database
        self.clock = clock
        self.accounts = AccountStore(database: database, clock: clock)
    }

    /// Creates a service principal in `accountID` with one secret (`kiln admin create-service-principal`:
    /// SCIM's create, then the secrets API's); returns its application (client) id and the secret.
    public func create(accountID: String, displayName: String, isAdmin: Bool) async throws -> (clientID: String, secret: String) {
        let principal = try await create(accountID: accountID, displayName: displayName, applicationID: nil, isAdmin: isAdmin)
        let (_, secret) = try await createSecret(for: principal)
        return (principal.applicationID, secret)
    }

    /// The service principal user whose client id this is and one of whose unexpired secrets this is.
    public func authenticate(clientID: String, secret: String) async throws -> User? {
        let now = clock.nowMillis()
        let rows = try await database.read { db in
            try await db.select()
                .columns(SQLColumn("user_id", table: "service_principal_secrets"), SQLColumn("secret_hash", table: "service_principal_secrets"))
                .from("service_principal_secrets")
                .join(
                    SQLIdentifier("service_principals"),
                    on: SQLColumn("user_id", table: "service_principals"), .equal, SQLColumn("user_id", table: "service_principal_secrets")
                )
                .where(SQLColumn("application_id", table: "service_principals"), .equal, SQLBind(clientID))
                .where(SQLColumn("expires_at", table: "service_principal_secrets"), .greaterThan, SQLBind(now)).all()
        }
        let hash = TokenStore.hash(secret)
        for row in rows where ConstantTime.equal(try row.decode(column: "secret_hash", as: String.self), hash) {
            return try await accounts.user(id: try row.decode(column: "user_id", as: Int64.self))
        }
        return nil
    }

    /// What an access token is good for.
    public enum Audience: Sendable, Equatable {
        case account(String)
        case workspace(Int64)

        var text: String {
            switch self {
            case .account(let id): "account:\(id)"
            case .workspace(let id): "workspace:\(id)"
            }
        }

        init?(text: String) {
            if text.hasPrefix("account:") {
                self = .account(String(text.dropFirst(8)))
            } else if text.hasPrefix("workspace:"), let id = Int64(text.dropFirst(10)) {
                self = .workspace(id)
            } else {
                return nil
            }
        }
    }

    /// The first part of every access token Kiln issues (`kiln_m2m.<payload>.<mac>`).
    static let tokenScheme = "kiln_m2m"

    /// Whether `token` is one of Kiln's OAuth access tokens (as opposed to a personal access token).
    public static func isAccessToken(_ token: String) -> Bool {
        token.hasPrefix(tokenScheme + ".")
    }

    /// A signed access token for `user`.
    public func issueToken(for user: User, audience: Audience) async throws -> String {
        let expiry = clock.nowMillis() / 1000 + Self.tokenLifetimeSeconds
        let payload = "\(user.userID)|\(audience.text)|\(expiry)"
        return "\(Self.tokenScheme).\(Base64URL.encode(Data(payload.utf8))).\(try await signature(payload))"
    }

    /// The user and audience of a valid, unexpired access token.
    public func verify(_ token: String) async throws -> (User, Audience)? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, parts[0] == Self.tokenScheme, let data = Base64URL.decode(String(parts[1])),
            let payload = String(data: data, encoding: .utf8), let mac = Base64URL.decode(String(parts[2])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: data, using: SymmetricKey(data: try await signingKey()))
        else { return nil }
        let fields = payload.split(separator: "|").map(String.init)
        guard fields.count == 3, let userID = Int64(fields[0]), let audience = Audience(text: fields[1]),
            let expiry = Int64(fields[2]), expiry > clock.nowMillis() / 1000,
            let user = try await accounts.user(id: userID)
        else { return nil }
        return (user, audience)
    }

    private func signature(_ payload: String) async throws -> String {
        let key = SymmetricKey(data: try await signingKey())
        return Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)))
    }

    /// The signing key, created on first use and then kept in memory.
    private func signingKey() async throws -> Data {
        if let key = keyCache.key.withLock({ $0 }) { return key }
        let key = try await database.secret(named: "m2m-signing-key")
        keyCache.key.withLock { $0 = key }
        return key
    }
}

/// The signing key once loaded; shared by the copies of one `ServicePrincipals`.
final class SigningKeyCache: Sendable {
    let key = Mutex<Data?>(nil)
}
