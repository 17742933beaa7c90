public import NIOSSL

/// How the proxy listens and what it accepts.
public struct ProxyConfiguration: Sendable {
    /// The address every listener binds.
    public var host: String
    /// The shared port, which routes by TLS server name or `options=endpoint=…`; nil: none.
    public var sharedPort: Int?
    /// The server certificate and key; nil: no TLS (`SSLRequest` answered `N`).
    public var tls: TLSConfiguration?
    /// Refuse clients that do not use TLS.
    public var requireTLS: Bool
    /// The whole handshake (startup, TLS, password) must finish within this.
    public var handshakeTimeout: Duration
    /// The largest handshake message accepted.
    public var maximumMessageLength: Int

    public init(
        host: String, sharedPort: Int?, tls: TLSConfiguration?, requireTLS: Bool = false,
        handshakeTimeout: Duration = .seconds(10), maximumMessageLength: Int = 10_000
    ) {
        self.host = host
        self.sharedPort = sharedPort
        self.tls = tls
        self.requireTLS = requireTLS
        self.handshakeTimeout = handshakeTimeout
        self.maximumMessageLength = maximumMessageLength
    }
}
