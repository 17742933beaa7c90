import NIOCore
import Synchronization

/// The end of a proxied connection's handshake time (`ProxyConfiguration.handshakeTimeout`), which runs
/// from the client's connection until postgres is ready for its queries.
///
/// When it passes during the client's part (startup, TLS, password, the endpoint's wake), the client's
/// connection is closed: slow or silent clients do not hold one. When it passes while postgres is starting
/// the session (a compute whose postmaster takes connections but never answers, such as a stopped one), the
/// connection to postgres is closed instead, and the client gets an `ErrorResponse` (08006) rather than a
/// connection that hangs until its own timeout.
final class HandshakeDeadline: Sendable {
    private enum Phase {
        /// The client's part of the handshake.
        case client
        /// Postgres is starting the session on this connection.
        case backend(any Channel)
        /// The time passed.
        case passed
        /// The handshake finished in time.
        case finished
    }

    private struct State {
        var phase = Phase.client
        var timer: Scheduled<Void>?
    }

    private let state = Mutex(State())
    /// The handshake's time.
    let timeout: Duration

    /// Starts the time of `client`'s handshake, on its event loop.
    init(client: any Channel, timeout: Duration) {
        self.timeout = timeout
        let timer = client.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [self] in
            pass(client: client)
        }
        state.withLock { $0.timer = timer }
    }

    /// The time is up: closes the backend connection being started, or else `client` (outside the lock:
    /// a close runs the channel's handlers at once).
    private func pass(client: any Channel) {
        let closing: (any Channel)? = state.withLock { state in
            switch state.phase {
            case .client:
                state.phase = .passed
                return client
            case .backend(let backend):
                state.phase = .passed
                return backend
            case .passed, .finished:
                return nil
            }
        }
        closing?.close(promise: nil)
    }

    /// Postgres is starting the session on `backend`; throws the client's error when the time has passed.
    func backendStarts(_ backend: any Channel) throws(ProxyRefusal) {
        try state.withLock { state throws(ProxyRefusal) in
            guard case .client = state.phase else { throw timedOut }
            state.phase = .backend(backend)
        }
    }

    /// The handshake is over (in time, or ended otherwise): the deadline closes nothing from now on. False
    /// when the time had passed first (and closed the backend or the client).
    @discardableResult
    func finish() -> Bool {
        state.withLock { state in
            if case .passed = state.phase { return false }
            state.phase = .finished
            state.timer?.cancel()
            state.timer = nil
            return true
        }
    }

    /// Whether the time passed.
    var hasPassed: Bool {
        state.withLock { state in
            if case .passed = state.phase { return true }
            return false
        }
    }

    /// The client's error when postgres did not finish starting its session in time.
    var timedOut: ProxyRefusal {
        let milliseconds = timeout.nanoseconds / 1_000_000
        let time = milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
        return ProxyRefusal("08006", "the endpoint did not start the session within \(time)")
    }
}
