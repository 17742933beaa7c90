public import PGWire
import NIOCore

/// The client side of a proxied connection up to the moment it is handed to postgres: encryption
/// requests, the startup message, routing and the password. No I/O: it says what to do next.
public struct HandshakeStateMachine: Sendable {
    public enum State: Sendable {
        case awaitingStartup
        case awaitingPassword(StartupParameters, route: ProxyRoute)
        case authenticating
        case done
    }

    public enum Action: Sendable, Equatable {
        /// Answer an `SSLRequest`: `S` and start TLS, or `N`.
        case answerEncryption(acceptTLS: Bool)
        /// Forward a `CancelRequest`, then close.
        case cancel(CancelKey)
        /// Send `AuthenticationCleartextPassword`.
        case askForPassword
        /// Check the login and connect to the endpoint.
        case authenticate(ProxyLogin, StartupParameters)
        /// Send this error and close.
        case fail(ErrorFields)
        /// Close without a word (the client said goodbye).
        case close
    }

    /// Where the listener's connections go (a per-endpoint port or address), if it serves one endpoint.
    let listenerRoute: ProxyRoute?
    let tlsAvailable: Bool
    let requireTLS: Bool
    public private(set) var state = State.awaitingStartup
    /// Whether TLS is on (set once the proxy answered `S`).
    public private(set) var tls = false
    /// The TLS server name the client sent (SNI), once known.
    public var serverName: String?

    public init(listenerRoute: ProxyRoute?, tlsAvailable: Bool, requireTLS: Bool) {
        self.listenerRoute = listenerRoute
        self.tlsAvailable = tlsAvailable
        self.requireTLS = requireTLS
    }

    /// Kiln's routing word in `options`.
    public static let endpointOption = "endpoint"

    public mutating func received(_ message: FrontendMessage) -> Action {
        switch (state, message) {
        case (.awaitingStartup, .sslRequest):
            guard !tls else { return fail("08P01", "the client asked for TLS twice") }
            tls = tlsAvailable
            return .answerEncryption(acceptTLS: tlsAvailable)
        case (.awaitingStartup, .gssEncryptionRequest):
            return .answerEncryption(acceptTLS: false)
        case (.awaitingStartup, .cancel(let key)):
            state = .done
            return .cancel(key)
        case (.awaitingStartup, .startup(let parameters)):
            if requireTLS && !tls {
                return fail("28000", "connection requires TLS (sslmode=require)")
            }
            guard let user = parameters.user, !user.isEmpty else {
                return fail("28000", "no PostgreSQL user name specified in startup packet")
            }
            guard let route = route(parameters) else {
                return fail(
                    "08004",
                    "Endpoint ID is not specified. Connect with a TLS client that sends the server name "
                        + "(host ep-<id>.<domain>), or to the endpoint's own port, or pass options=endpoint=<endpoint id>.")
            }
            state = .awaitingPassword(parameters, route: route)
            return .askForPassword
        case (.awaitingPassword(let parameters, let route), .password(var body)):
            guard let password = body.readNullTerminatedString(), body.readableBytes == 0 else {
                return fail("08P01", "invalid password packet")
            }
            state = .authenticating
            let login = ProxyLogin(
                endpoint: route.endpoint, user: parameters.user ?? "", database: parameters.database ?? "",
                password: password, tls: tls, pooled: route.pooled, readOnly: route.readOnly)
            return .authenticate(login, parameters.removingOptions([Self.endpointOption]))
        case (_, .terminate):
            state = .done
            return .close
        default:
            return fail("08P01", "unexpected message during the handshake")
        }
    }

    /// Which endpoint: the listener's, else the first label of the server name (`<id>-pooler` for its
    /// pooler), else `options`.
    func route(_ parameters: StartupParameters) -> ProxyRoute? {
        if let listenerRoute { return listenerRoute }
        if let serverName, let label = serverName.split(separator: ".").first, !label.isEmpty,
            serverName.contains("."), !serverName.allSatisfy({ $0.isNumber || $0 == "." })
        {
            if label.hasSuffix(ProxyRoute.poolerSuffix), label.count > ProxyRoute.poolerSuffix.count {
                return ProxyRoute(endpoint: String(label.dropLast(ProxyRoute.poolerSuffix.count)), pooled: true)
            }
            return ProxyRoute(endpoint: String(label))
        }
        return parameters.options.first { $0.0 == Self.endpointOption }.map { ProxyRoute(endpoint: $0.1) }
    }

    private mutating func fail(_ code: String, _ message: String) -> Action {
        state = .done
        return .fail(.fatal(code, message))
    }
}
