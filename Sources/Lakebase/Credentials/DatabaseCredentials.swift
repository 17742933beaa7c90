import Crypto
import Foundation
import KilnCore

/// What a database credential grants: a login as `subject` on one endpoint of one workspace, until it expires.
public struct DatabaseCredentialClaims: Sendable, Equatable, Codable {
    public var workspaceID: Int64
    /// The endpoint's uid.
    public var endpoint: String
    /// The Databricks identity (user name or application id) the token stands for.
    public var subject: String
    /// Unix seconds.
    public var expires: Int64

    enum CodingKeys: String, CodingKey {
        case workspaceID = "ws"
        case endpoint = "ep"
        case subject = "sub"
        case expires = "exp"
    }
}

/// Database credentials: `kiln_pg.<base64url claims>.<base64url HMAC-SHA256>`, used as a Postgres password.
public struct DatabaseCredentials: Sendable {
    let keyData: Data
    var key: SymmetricKey { SymmetricKey(data: keyData) }

    static let prefix = "kiln_pg."
    static let ttlRange = 300.0...3600.0

    func issue(_ claims: DatabaseCredentialClaims) -> String {
        let payload = Base64URL.encode(try! JSONEncoder().encode(claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)
        return Self.prefix + payload + "." + Base64URL.encode(Data(mac))
    }

    /// The claims of a genuine token, expired or not (expiry is checked at login, by the caller).
    public func verify(_ token: String) -> DatabaseCredentialClaims? {
        guard token.hasPrefix(Self.prefix) else { return nil }
        let parts = token.dropFirst(Self.prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(parts[0].utf8), using: key),
            let payload = Base64URL.decode(String(parts[0]))
        else { return nil }
        return try? JSONDecoder().decode(DatabaseCredentialClaims.self, from: payload)
    }
}
