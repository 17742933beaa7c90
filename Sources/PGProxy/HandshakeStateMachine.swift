public import PGWire
import NIOCore

/// The client side of a proxied connection up to the moment it is handed to postgres: encryption
/// requests, the startup message, routing and the password. No I/O: it says what to do next.
public struct HandshakeStateMachine: Sendable {
    public enum State: Sendable {
        case awaitingStartup
        case awaitingPassword(StartupParameters, endpoint: String)
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

    /// The endpoint the listener serves (a per-endpoint port), if any.
    let listenerEndpoint: String?
    let tlsAvailable: Bool
    let requireTLS: Bool
    public private(set) var state = State.awaitingStartup
    /// Whether TLS is on (set once the proxy answered `S`).
    public private(set) var tls = false
    /// The TLS server name the client sent (SNI), once known.
    public var serverName: String?

    public init(listenerEndpoint: String?, tlsAvailable: Bool, requireTLS: Bool) {
        self.listenerEndpoint = listenerEndpoint
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
            guard let endpoint = route(parameters) else {
                return fail(
                    "08004",
                    "Endpoint ID is not specified. Connect with a TLS client that sends the server name "
                        + "(host ep-<id>.<domain>), or to the endpoint's own port, or pass options=endpoint=<endpoint id>.")
            }
            state = .awaitingPassword(parameters, endpoint: endpoint)
            return .askForPassword
        case (.awaitingPassword(let parameters, let endpoint), .password(var body)):
            guard let password = body.readNullTerminatedString(), body.readableBytes == 0 else {
                return fail("08P01", "invalid password packet")
            }
            state = .authenticating
            let login = ProxyLogin(
                endpoint: endpoint, user: parameters.user ?? "", database: parameters.database ?? "",
                password: password, tls: tls)
            return .authenticate(login, parameters.removingOptions([Self.endpointOption]))
        case (_, .terminate):
            state = .done
            return .close
        default:
            return fail("08P01", "unexpected message during the handshake")
        }
    }

    /// Which endpoint: the listener's, else the first label of the server name, else `options`.
    func route(_ parameters: StartupParameters) -> String? {
        if let listenerEndpoint { return listenerEndpoint }
        if let serverName, let label = serverName.split(separator: ".").first, !label.isEmpty,
            serverName.contains("."), !serverName.allSatisfy({ $0.isNumber || $0 == "." })
        {
            return String(label)
        }
        return parameters.options.first { $0.0 == Self.endpointOption }?.1
    }

    private mutating func fail(_ code: String, _ message: String) -> Action {
        state = .done
        return .fail(.fatal(code, message))
    }
}
