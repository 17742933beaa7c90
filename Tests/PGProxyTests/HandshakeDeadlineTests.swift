import NIOCore
import NIOEmbedded
import Testing
@testable import PGProxy

/// What a passed handshake time closes: the client during its own part, the connection to postgres while
/// postgres starts the session, and nothing once the handshake has finished.
@Suite struct HandshakeDeadlineTests {
    static func connected(on loop: EmbeddedEventLoop) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5432)).wait()
        return channel
    }

    /// A client whose deadline of 1 s runs, and a backend on which postgres is starting its session.
    static func startingBackend() throws -> (EmbeddedEventLoop, client: EmbeddedChannel, backend: EmbeddedChannel, HandshakeDeadline) {
        let loop = EmbeddedEventLoop()
        let client = try connected(on: loop)
        let backend = try connected(on: loop)
        let deadline = HandshakeDeadline(client: client, timeout: .seconds(1))
        try deadline.backendStarts(backend)
        return (loop, client, backend, deadline)
    }

    @Test func duringTheClientsPartTheClientIsClosed() throws {
        let loop = EmbeddedEventLoop()
        let client = try Self.connected(on: loop)
        let deadline = HandshakeDeadline(client: client, timeout: .seconds(10))
        loop.advanceTime(by: .seconds(9))
        #expect(client.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!client.isActive)
        #expect(deadline.hasPassed)
    }

    @Test func whilePostgresStartsTheSessionItsConnectionIsClosedAndTheClientToldWhy() throws {
        let (loop, client, backend, deadline) = try Self.startingBackend()
        loop.advanceTime(by: .seconds(1))
        #expect(!backend.isActive)
        #expect(client.isActive)
        #expect(deadline.hasPassed)
        #expect(deadline.timedOut == ProxyRefusal("08006", "the endpoint did not start the session within 1 s"))
        #expect(throws: deadline.timedOut) { try deadline.backendStarts(try Self.connected(on: loop)) }
        // postgres's ReadyForQuery that comes after the time: too late.
        let finished = deadline.finish()
        #expect(!finished)
        let short = HandshakeDeadline(client: client, timeout: .milliseconds(500))
        #expect(short.timedOut.message == "the endpoint did not start the session within 500 ms")
        try client.close().wait()
    }

    @Test func onceTheHandshakeHasFinishedNothingIsClosed() throws {
        let (loop, client, backend, deadline) = try Self.startingBackend()
        let finished = deadline.finish()
        #expect(finished)
        loop.advanceTime(by: .seconds(5))
        #expect(client.isActive && backend.isActive)
        #expect(!deadline.hasPassed)
        try client.close().wait()
        try backend.close().wait()
    }
}
