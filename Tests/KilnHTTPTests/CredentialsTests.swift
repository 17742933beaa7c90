import Foundation
import KilnCore
import Testing
@testable import KilnHTTP

@Suite struct CredentialsTests {
    @Test func aBearerTokenInAnyCaseOfTheScheme() throws {
        for header in ["Bearer dapi123", "bearer dapi123", "BEARER   dapi123 ", "  Bearer dapi123"] {
            let credentials = try Credentials(header: header)
            #expect(credentials.bearer == "dapi123", "\(header)")
            #expect(credentials.userName == nil)
        }
    }

    @Test func basicCredentials() throws {
        let credentials = try Credentials(header: "bAsIc " + "admin:p:w".utf8.base64)
        #expect(credentials.userName == "admin")
        #expect(credentials.password == "p:w")
        #expect(credentials.bearer == nil)
    }

    /// A scheme without a value, an empty token, another scheme, a scheme run into its value, Basic
    /// credentials that are not base64: 401 each.
    @Test(arguments: ["", "   ", "Bearer", "Bearer ", "Bearer    ", "Token abc", "Bearerx abc", "Basic !!!", "Digest a=b"])
    func malformedHeadersAreRefused(_ header: String) {
        #expect(throws: KilnError.self) { try Credentials(header: header) }
    }

    @Test func asciiCaseIsIgnoredForLettersOnly() {
        #expect(Substring("BaSiC ").equalsIgnoringASCIICase("basic "))
        #expect(!Substring("basic\0").equalsIgnoringASCIICase("basic "))
        #expect(!Substring("basi").equalsIgnoringASCIICase("basic"))
        // `@` is `` ` `` with its 0x20 bit clear, and `[` is `{`'s: not letters, so not the same.
        #expect(!Substring("@").equalsIgnoringASCIICase("`"))
        #expect(!Substring("[").equalsIgnoringASCIICase("{"))
    }
}

extension String.UTF8View {
    fileprivate var base64: String { Data(self).base64EncodedString() }
}
