import Foundation
import Testing
@testable import Accounts

/// Slow salted password hashes and the generated first-admin password.
@Suite struct PasswordHasherTests {
    /// One hash shared by the tests below: each derivation is 210,000 rounds.
    static let stored = PasswordHasher.hash("correct horse")

    @Test func aHashNamesItsAlgorithmRoundsSaltAndDigest() throws {
        let parts = Self.stored.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        #expect(parts.count == 4)
        #expect(parts[0] == "pbkdf2-sha256")
        #expect(parts[1] == "210000")
        #expect(try #require(Data(base64Encoded: parts[2])).count == 16)
        #expect(try #require(Data(base64Encoded: parts[3])).count == 32)
        #expect(!Self.stored.contains("correct horse"))
    }

    @Test func onlyTheRightPasswordVerifies() {
        #expect(PasswordHasher.verify("correct horse", against: Self.stored))
        #expect(!PasswordHasher.verify("correct horse ", against: Self.stored))
        #expect(!PasswordHasher.verify("", against: Self.stored))
    }

    @Test func theSamePasswordHashesDifferentlyEachTime() {
        let again = PasswordHasher.hash("correct horse")
        #expect(again != Self.stored)
        #expect(PasswordHasher.verify("correct horse", against: again))
    }

    /// The stored hash with part `index` replaced.
    static func altered(_ index: Int, _ change: (String) -> String) -> String {
        var parts = stored.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        parts[index] = change(parts[index])
        return parts.joined(separator: "$")
    }

    /// The digest with its byte at `offset` changed.
    static func digestWithByteFlipped(at offset: Int) -> (String) -> String {
        { digest in
            var bytes = Data(base64Encoded: digest)!
            bytes[offset] ^= 0x01
            return bytes.base64EncodedString()
        }
    }

    @Test func aDigestThatDiffersAnywhereOrIsShortIsRefused() {
        // The comparison looks at every byte, and at the length first.
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(3, Self.digestWithByteFlipped(at: 0))))
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(3, Self.digestWithByteFlipped(at: 31))))
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(3) { Data(Data(base64Encoded: $0)!.prefix(16)).base64EncodedString() }))
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(3) { _ in "" }))
    }

    @Test func theStoredRoundsAndSaltAreTheOnesUsed() {
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(1) { _ in "210001" }))
        #expect(!PasswordHasher.verify("correct horse", against: Self.altered(2) { _ in Data(repeating: 0, count: 16).base64EncodedString() }))
    }

    @Test(arguments: [
        "", "plain", "pbkdf2-sha256$210000$abc", "md5$210000$AAAA$AAAA", "pbkdf2-sha256$many$AAAA$AAAA",
        "pbkdf2-sha256$1$not base64!$AAAA", "pbkdf2-sha256$1$AAAA$not base64!", "pbkdf2-sha256$1$AAAA$AAAA$AAAA",
    ])
    func unreadableStoredHashesNeverVerify(stored: String) {
        #expect(!PasswordHasher.verify("", against: stored))
        #expect(!PasswordHasher.verify("plain", against: stored))
    }

    @Test func generatedPasswordsAreLongUnambiguousAndRandom() {
        let passwords = (0..<50).map { _ in PasswordHasher.generatePassword() }
        let alphabet = Set("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        for password in passwords {
            #expect(password.count == 24)
            #expect(password.allSatisfy(alphabet.contains))
            #expect(!password.contains { "0O1lI".contains($0) })
        }
        #expect(Set(passwords).count == passwords.count)
    }
}
