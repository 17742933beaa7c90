import KilnCore
import Testing

@Suite struct SHA256HexTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func matchesTheStandardTestVectors(text: String, digest: String) {
        #expect(sha256Hex(text) == digest)
    }

    @Test func hashesTheUTF8Bytes() {
        // "é" is C3 A9 in UTF-8; the composed and decomposed spellings are different bytes.
        #expect(sha256Hex("\u{E9}") == "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c")
        #expect(sha256Hex("\u{E9}") != sha256Hex("e\u{301}"))
    }

    @Test func isAlwaysSixtyFourLowerCaseHexDigits() {
        for text in ["a", "b", "token", "dapi0123", "\u{0}", String(repeating: "x", count: 10_000)] {
            let digest = sha256Hex(text)
            #expect(digest.count == 64)
            #expect(digest.allSatisfy { "0123456789abcdef".contains($0) })
        }
    }
}
