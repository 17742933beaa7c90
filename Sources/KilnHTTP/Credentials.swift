import Accounts
import Foundation
import KilnCore

/// The parsed `Authorization` header.
struct Credentials {
    var bearer: String?
    var userName: String?
    var password: String?

    /// Reads `<scheme> <value>`: the scheme is the first run of bytes up to a space (spaces before it are
    /// skipped), matched in any case; the value is the rest, trimmed of optional whitespace.
    init(header: String) throws(KilnError) {
        let bytes = header.utf8
        let space = UInt8(ascii: " ")
        guard let schemeStart = bytes.firstIndex(where: { $0 != space }),
            let schemeEnd = bytes[schemeStart...].firstIndex(of: space), bytes.index(after: schemeEnd) != bytes.endIndex
        else { throw KilnError(.unauthenticated, "Malformed Authorization header.") }
        let scheme = header[schemeStart..<schemeEnd]
        let value = String(OptionalWhitespace.trimmed(header[bytes.index(after: schemeEnd)...]))
        if scheme.equalsIgnoringASCIICase("bearer") {
            guard !value.isEmpty else { throw KilnError(.unauthenticated, "Invalid access token.") }
            bearer = value
        } else if scheme.equalsIgnoringASCIICase("basic") {
            guard let decoded = Data(base64Encoded: value).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else { throw KilnError(.unauthenticated, "Malformed Basic credentials.") }
            userName = String(decoded[..<colon])
            password = String(decoded[decoded.index(after: colon)...])
        } else {
            throw KilnError(.unauthenticated, "Unsupported authorization scheme '\(scheme)'; use Bearer or Basic.")
        }
    }
}

extension Credentials {
    /// The bearer token when it is one of Kiln's OAuth access tokens (a service principal's M2M login).
    var accessToken: String? {
        bearer.flatMap { ServicePrincipals.isAccessToken($0) ? $0 : nil }
    }
}

extension ServicePrincipals {
    /// The principal and audience of an OAuth access token; 401 when it is invalid or expired.
    func principal(ofAccessToken token: String) async throws -> (User, Audience) {
        guard let verified = try await verify(token) else { throw KilnError(.unauthenticated, "Invalid or expired access token.") }
        return verified
    }
}
