import Foundation
import Testing
@testable import Lakebase

/// The proxy checks native passwords against postgres's stored SCRAM secrets.
@Suite struct ScramSecretTests {
    /// Made with Python's `hashlib.pbkdf2_hmac` as postgres makes them (RFC 5802 / 7677).
    let stored = "SCRAM-SHA-256$4096:a2lsbi1zYWx0LTE2Ynl0ZQ==$47mesbl2ZG/JiKSVWCvqddqt1ZF6gsteqxGXOU5lVps=:vnbm17etcq+Q6cVWdFYC1qknkrjDdyg4vZprOZbqYb4="

    @Test func theRightPasswordMatchesAndOthersDoNot() throws {
        let secret = try #require(ScramSecret(stored))
        #expect(secret.iterations == 4096)
        #expect(secret.matches("correct horse"))
        #expect(!secret.matches("correct horse "))
        #expect(!secret.matches(""))
    }

    @Test func pbkdf2MatchesTheRFC7914Vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1 (first 32 bytes).
        let derived = ScramSecret.pbkdf2(password: Data("passwd".utf8), salt: Data("salt".utf8), iterations: 1)
        #expect(
            derived.map { String(format: "%02x", $0) }.joined()
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
    }

    @Test(arguments: [
        "", "md5abcdef", "SCRAM-SHA-256$x:c2FsdA==$a:b", "SCRAM-SHA-256$0:c2FsdA==$YQ==:Yg==",
        "SCRAM-SHA-256$4096:c2FsdA==", "SCRAM-SHA-1$4096:c2FsdA==$YQ==:Yg==",
    ])
    func otherSecretsAreNotScram(_ text: String) {
        #expect(ScramSecret(text) == nil)
    }
}
