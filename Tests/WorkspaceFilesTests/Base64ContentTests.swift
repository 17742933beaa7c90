import Foundation
import KilnCore
import NIOCore
import Testing

@testable import WorkspaceFiles

/// `Base64Content` reads and writes what Foundation's base64 does (the coder it replaced), edge cases included.
struct Base64ContentTests {
    static let edgeCases = [
        "", "QQ==", "QUI=", "QUJD", "QQ=", "QQ", "Q", "Q===", "QR==", "QUJ=", "QQ==QQ==", " QUJD", "QUJD ",
        "QUJD\n", "QU JD", "QUJD\r\nREVG", "-_-_", "+/+/", "QUJD\u{0}", "é===", "QUJDRA==",
    ]

    @Test(arguments: edgeCases)
    func decodesAsFoundationDoes(text: String) {
        let decoded = try? Base64Content.decode(text)
        #expect(decoded.map { Data($0) } == Data(base64Encoded: text))
    }

    /// Padding where RFC 4648 §4 has none: Foundation on Linux reads "QUJD=" as "ABC" and "====" as one byte.
    @Test(arguments: ["QUJD=", "===="])
    func refusesPaddingThatFoundationLetsThrough(text: String) {
        #expect(Data(base64Encoded: text) != nil)
        #expect(throws: KilnError.self) { try Base64Content.decode(text) }
    }

    @Test
    func refusesWhatIsNotBase64WithADatabricksError() {
        #expect(throws: KilnError.invalidParameter("The content is not valid base64.")) { try Base64Content.decode("QQ=") }
    }

    @Test
    func encodesAndDecodesEveryLengthAsFoundationDoes() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var buffer = ByteBuffer(string: "x")
            Base64Content.encode(bytes, into: &buffer)
            #expect(String(buffer: buffer) == "x" + bytes.base64EncodedString())
            #expect(try Base64Content.decode(bytes.base64EncodedString()) == [UInt8](bytes))
        }
    }
}
