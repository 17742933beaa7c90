import _CryptoExtras
import Crypto
import Foundation
import KilnCore

/// Slow, salted password hashes: PBKDF2-HMAC-SHA256 with 210,000 rounds (OWASP's floor), stored as
/// `pbkdf2-sha256$<rounds>$<salt base64>$<hash base64>`.
enum PasswordHasher {
    static let rounds = 210_000

    static func hash(_ password: String) -> String {
        let salt = Data(RandomSecret.bytes(16))
        return "pbkdf2-sha256$\(rounds)$\(salt.base64EncodedString())$\(derive(password, salt: salt, rounds: rounds).base64EncodedString())"
    }

    static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]),
            let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3]))
        else { return false }
        let actual = derive(password, salt: salt, rounds: rounds)
        return ConstantTime.equal(actual, expected)
    }

    private static func derive(_ password: String, salt: Data, rounds: Int) -> Data {
        // Deriving with valid parameters cannot fail.
        let key = try? KDF.Insecure.PBKDF2.deriveKey(
            from: Data(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds)
        return key.map { $0.withUnsafeBytes { Data($0) } } ?? Data()
    }

    /// A random password for the first admin: 24 characters from an unambiguous alphabet.
    static func generatePassword() -> String {
        RandomSecret.string(24, from: RandomSecret.unambiguous)
    }
}
