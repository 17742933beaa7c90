public import PGWire

/// The server side of a proxied connection while postgres starts the session: the proxy passes the
/// session's parameters on, swaps postgres's cancel key for its own, and hands over at `ReadyForQuery`.
public struct BackendStartupStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Pass the message to the client.
        case forward(BackendMessage)
        /// Remember postgres's key and give the client `proxyKey` instead.
        case swapKey(backend: CancelKey, proxyKey: CancelKey)
        /// The session is ready: forward this last message and start copying bytes.
        case ready(BackendMessage)
        /// Postgres refused the session: forward its error and close.
        case refused(BackendMessage)
        /// Postgres asked for something the proxy cannot give (a password): a fault of Kiln's setup.
        case fault(String)
    }

    private var authenticated = false

    public init() {}

    public mutating func received(_ message: BackendMessage, newKey: () -> CancelKey) -> Action {
        switch message {
        case .authentication(.ok):
            authenticated = true
            return .forward(message)
        case .authentication(let request):
            return .fault("postgres asked the proxy to authenticate (\(request)); its local connections must be trusted")
        case .backendKeyData(let key):
            return .swapKey(backend: key, proxyKey: newKey())
        case .readyForQuery:
            return authenticated ? .ready(message) : .fault("postgres was ready before authenticating")
        case .errorResponse:
            return .refused(message)
        default:
            return .forward(message)
        }
    }
}
