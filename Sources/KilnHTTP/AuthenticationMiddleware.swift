public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// Authenticates the credentials a request carries: Bearer tokens and Basic auth. On Account API routes
/// (`/api/2.0/accounts/<id>/…`) the caller must be an admin of that account; elsewhere the credentials
/// must be good for the workspace the request addresses. A request without an `Authorization` header
/// passes through without a caller (public routes serve it; the authenticated contexts refuse it).
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = KilnRequestContext

    private let authenticator: Authenticator

    public init(authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        let credentials = try Credentials(header: header)
        var context = context
        if let accountID = Self.accountID(inPath: request.uri.path) {
            context.accountUser = try await authenticator.authenticateAccountAdmin(
                accountID: accountID, bearer: credentials.bearer, userName: credentials.userName, password: credentials.password)
            return try await next(request, context)
        }
        guard let workspace = context.workspace else {
            throw KilnError(.unauthenticated, "This host serves no workspace.")
        }
        if let bearer = credentials.bearer {
            context.identity = try await authenticator.authenticate(bearer: bearer, in: workspace)
        } else if let userName = credentials.userName, let password = credentials.password {
            context.identity = try await authenticator.authenticate(userName: userName, password: password, in: workspace)
        }
        return try await next(request, context)
    }

    /// The account id of an Account API path.
    static func accountID(inPath path: String) -> String? {
        let prefix = "/api/2.0/accounts/"
        guard path.hasPrefix(prefix) else { return nil }
        let id = path.dropFirst(prefix.count).prefix { $0 != "/" }
        return id.isEmpty ? nil : String(id)
    }
}

/// The parsed `Authorization` header.
struct Credentials {
    var bearer: String?
    var userName: String?
    var password: String?

    init(header: String) throws(KilnError) {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw KilnError(.unauthenticated, "Malformed Authorization header.") }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
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
