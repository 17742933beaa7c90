import Logging
import NIOCore
import NIOPosix
import PGWire
import Synchronization

/// The proxy gives each client a cancel key of its own and remembers which server session it stands
/// for, so that a `CancelRequest` (which arrives on a new connection, without a login) reaches the
/// right postgres and no client can cancel another endpoint's queries.
final class CancelRegistry: Sendable {
    private struct Target {
        var socketPath: String
        var key: CancelKey
    }

    private let targets = Mutex<[CancelKey: Target]>([:])

    /// A new proxy key for a server session.
    func register(socketPath: String, backendKey: CancelKey) -> CancelKey {
        targets.withLock { targets in
            var key = CancelKey.random()
            while targets[key] != nil { key = .random() }
            targets[key] = Target(socketPath: socketPath, key: backendKey)
            return key
        }
    }

    func remove(_ key: CancelKey) {
        _ = targets.withLock { $0.removeValue(forKey: key) }
    }

    /// Sends the server's own `CancelRequest` for the session `key` stands for; unknown keys are ignored
    /// (as postgres does).
    func cancel(_ key: CancelKey, on eventLoop: any EventLoop, logger: Logger) async {
        guard let target = targets.withLock({ $0[key] }) else { return }
        do {
            let channel = try await ClientBootstrap(group: eventLoop).connect(unixDomainSocketPath: target.socketPath).get()
            var buffer = channel.allocator.buffer(capacity: 16)
            target.key.encodeCancelRequest(into: &buffer)
            try await channel.writeAndFlush(buffer)
            try await channel.close()
        } catch {
            logger.warning("A cancel request did not reach postgres", metadata: ["error": "\(error)"])
        }
    }
}
