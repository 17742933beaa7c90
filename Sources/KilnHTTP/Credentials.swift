import Accounts
import Foundation
import KilnCore

/// The parsed `Authorization` header.
struct Credentials {
    var bearer: String?
    var userName: String?
    var password: String?

    init(header: String) throws(KilnError) {
        let parts = header.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1).map(Substring.init)
        guard parts.count == 2 else { throw KilnError(.unauthenticated, "Malformed Authorization header.") }
        let value = String(OptionalWhitespace.trimmed(parts[1]))
        switch parts[0].lowercased() {
        case "bearer":
            guard !value.isEmpty else { throw KilnError(.unauthenticated, "Invalid access token.") }
            bearer = value
        case "basic":
            guard let decoded = Data(base64Encoded: value).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else { throw KilnError(.unauthenticated, "Malformed Basic credentials.") }
            userName = String(decoded[..<colon])
            password = String(decoded[decoded.index(after: colon)...])
        default:
            throw KilnError(.unauthenticated, "Unsupported authorization scheme '\(parts[0])'; use Bearer or Basic.")
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
