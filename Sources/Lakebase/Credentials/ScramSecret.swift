import Crypto
import Foundation
import KilnCore

/// A role's stored SCRAM-SHA-256 secret (`pg_authid.rolpassword`):
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. Checking a password against it is
/// what postgres does for a SCRAM login, without the exchange.
struct ScramSecret: Sendable {
    var iterations: Int
    var salt: Data
    var storedKey: Data

    init?(_ text: String) {
        let parts = text.split(separator: "$")
        guard parts.count == 3, parts[0] == "SCRAM-SHA-256" else { return nil }
        let head = parts[1].split(separator: ":")
        let keys = parts[2].split(separator: ":")
        guard head.count == 2, keys.count == 2, let iterations = Int(head[0]), iterations > 0, iterations <= 1_000_000,
            let salt = Data(base64Encoded: String(head[1])), let storedKey = Data(base64Encoded: String(keys[0]))
        else { return nil }
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
    }

    /// Whether `password` is the one this secret was made from (compared in constant time).
    func matches(_ password: String) -> Bool {
        let salted = Self.pbkdf2(password: Data(password.utf8), salt: salt, iterations: iterations)
        let clientKey = Data(HMAC<SHA256>.authenticationCode(for: Data("Client Key".utf8), using: SymmetricKey(data: salted)))
        let candidate = Data(SHA256.hash(data: clientKey))
        return ConstantTime.equal(candidate, storedKey)
    }

    /// PBKDF2-HMAC-SHA256 with one block of output (32 bytes), SCRAM's `Hi()`. The keyed HMAC state is
    /// made once and copied for each of the thousands of rounds.
    static func pbkdf2(password: Data, salt: Data, iterations: Int) -> Data {
        let keyed = HMAC<SHA256>(key: SymmetricKey(data: password))
        var round = keyed
        round.update(data: salt + [0, 0, 0, 1])
        var block = Array(round.finalize())
        var result = block
        for _ in 1..<iterations {
            round = keyed
            round.update(data: block)
            block = Array(round.finalize())
            for index in result.indices { result[index] ^= block[index] }
        }
        return Data(result)
    }
}
