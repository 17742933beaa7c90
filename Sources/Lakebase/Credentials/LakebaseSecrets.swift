import Crypto
import Foundation
import KilnCore
import Persistence

/// Kiln's Lakebase secret: seals role passwords at rest (AES-GCM) and signs database credentials
/// (HMAC-SHA256), each with its own key derived from one random secret kept in `kiln_secrets`.
struct LakebaseSecrets: Sendable {
    /// Key bytes (`SymmetricKey` is not `Sendable`; keys are made from these when used).
    let passwordKeyData: Data
    let credentialKeyData: Data

    var passwordKey: SymmetricKey { SymmetricKey(data: passwordKeyData) }
    var credentialKey: SymmetricKey { SymmetricKey(data: credentialKeyData) }

    static func load(database: any Database) async throws -> LakebaseSecrets {
        let secret = try await database.secret(named: "lakebase-key")
        let root = SymmetricKey(data: secret)
        func derive(_ purpose: String) -> Data {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: root, info: Data(purpose.utf8), outputByteCount: 32).withUnsafeBytes { Data($0) }
        }
        return LakebaseSecrets(passwordKeyData: derive("role-passwords"), credentialKeyData: derive("database-credentials"))
    }

    func seal(_ text: String) throws -> String {
        try AES.GCM.seal(Data(text.utf8), using: passwordKey).combined!.base64EncodedString()
    }

    func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw KilnError(.internalError, "A sealed password is damaged.") }
        return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: passwordKey), as: UTF8.self)
    }

    /// A new random password: 32 characters of letters and digits.
    static func newPassword() -> String {
        RandomSecret.string(32, from: RandomSecret.unambiguous)
    }
}
