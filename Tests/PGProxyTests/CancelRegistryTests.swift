import Foundation
import Logging
import NIOCore
import NIOPosix
import PGWire
import Synchronization
import Testing
@testable import PGProxy

/// Cancel keys: each client gets a proxy key, and a `CancelRequest` with it reaches the right postgres
/// with postgres's own key; unknown or forgotten keys reach nobody.
@Suite(.timeLimit(.minutes(1))) struct CancelRegistryTests {
    /// Log messages, to see the warning of a cancel that went nowhere.
    final class Messages: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct RecordingLogHandler: LogHandler {
        let messages: Messages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        func log(event: LogEvent) { messages.lines.withLock { $0.append("\(event.level): \(event.message)") } }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }

    /// A Unix-socket listener that returns the bytes of each connection it accepts, in order.
    static func withListener<T: Sendable>(
        _ body: @Sendable (String) async throws -> T, connections: Int
    ) async throws -> (T, [[UInt8]]) {
        let path = NSTemporaryDirectory() + "kiln-cancel-\(UUID().uuidString.prefix(8)).s"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        async let received = server.executeThenClose { accepted in
            var all: [[UInt8]] = []
            for try await child in accepted {
                all.append(
                    try await child.executeThenClose { inbound, _ in
                        var bytes: [UInt8] = []
                        for try await chunk in inbound { bytes += chunk.readableBytesView } // until the sender closes
                        return bytes
                    })
                if all.count == connections { break }
            }
            return all
        }
        let result = try await body(path)
        return (result, try await received)
    }

    @Test func proxyKeysAreFreshForEverySession() {
        let registry = CancelRegistry()
        let backend = CancelKey(processID: 5, secret: 5)
        let keys = (0..<200).map { _ in registry.register(socketPath: "/nowhere", backendKey: backend) }
        #expect(Set(keys).count == keys.count)
        #expect(keys.allSatisfy { $0.processID > 0 }) // postgres pids are positive; clients may check
    }

    @Test func aCancelReachesPostgresWithPostgresKey() async throws {
        let registry = CancelRegistry()
        let backend = CancelKey(processID: 31_337, secret: -99)
        let (_, connections) = try await Self.withListener(
            { path in
                let proxyKey = registry.register(socketPath: path, backendKey: backend)
                await registry.cancel(proxyKey, on: MultiThreadedEventLoopGroup.singleton.next(), logger: Logger(label: "kiln-test"))
            }, connections: 1)
        var expected = ByteBuffer()
        backend.encodeCancelRequest(into: &expected)
        #expect(connections == [Array(expected.readableBytesView)])
    }

    @Test func unknownAndRemovedKeysReachNobody() async throws {
        let registry = CancelRegistry()
        let (_, connections) = try await Self.withListener(
            { path in
                let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
                let removed = registry.register(socketPath: path, backendKey: CancelKey(processID: 1, secret: 1))
                let kept = registry.register(socketPath: path, backendKey: CancelKey(processID: 2, secret: 2))
                registry.remove(removed)
                await registry.cancel(removed, on: eventLoop, logger: Logger(label: "kiln-test"))
                await registry.cancel(CancelKey(processID: 3, secret: 3), on: eventLoop, logger: Logger(label: "kiln-test"))
                await registry.cancel(kept, on: eventLoop, logger: Logger(label: "kiln-test"))
            }, connections: 1)
        var expected = ByteBuffer()
        CancelKey(processID: 2, secret: 2).encodeCancelRequest(into: &expected)
        #expect(connections == [Array(expected.readableBytesView)]) // the first and only connection is the kept key's
    }

    @Test func aPostgresThatIsGoneIsLoggedNotThrown() async {
        let registry = CancelRegistry()
        let messages = Messages()
        let logger = Logger(label: "kiln-test") { _ in RecordingLogHandler(messages: messages) }
        let key = registry.register(
            socketPath: NSTemporaryDirectory() + "kiln-absent-\(UUID().uuidString.prefix(8)).s",
            backendKey: CancelKey(processID: 1, secret: 1))
        await registry.cancel(key, on: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        #expect(messages.lines.withLock { $0 } == ["warning: A cancel request did not reach postgres"])
    }
}
