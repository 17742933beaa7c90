public import NIOSSL

/// How the proxy listens and what it accepts.
public struct ProxyConfiguration: Sendable {
    /// The address every listener binds.
    public var host: String
    /// The shared port, which routes by TLS server name or `options=endpoint=…`; nil: none.
    public var sharedPort: Int?
    /// The server certificate and key; nil: no TLS (`SSLRequest` answered `N`).
    public var tls: TLSConfiguration?
    /// Makes the TLS configuration of an endpoint's own address (a certificate naming that IP address);
    /// nil: such listeners use `tls`.
    public var addressTLS: (@Sendable (String) throws -> TLSConfiguration)?
    /// Refuse clients that do not use TLS.
    public var requireTLS: Bool
    /// The whole handshake must finish within this: the client's part (startup, TLS, password, the
    /// endpoint's wake), after which a client still in it is disconnected, and postgres's startup of the
    /// session, after which the client gets an `ErrorResponse` (08006).
    public var handshakeTimeout: Duration
    /// The largest handshake message accepted.
    public var maximumMessageLength: Int

    public init(
        host: String, sharedPort: Int?, tls: TLSConfiguration?, addressTLS: (@Sendable (String) throws -> TLSConfiguration)? = nil,
        requireTLS: Bool = false, handshakeTimeout: Duration = .seconds(10), maximumMessageLength: Int = 10_000
    ) {
        self.addressTLS = addressTLS
        self.host = host
        self.sharedPort = sharedPort
        self.tls = tls
        self.requireTLS = requireTLS
        self.handshakeTimeout = handshakeTimeout
        self.maximumMessageLength = maximumMessageLength
    }
}
