#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import NIOCore
import Testing

@testable import PGProxy

/// The proxy's listeners on an endpoint's pooled host: whom the socket belongs to, and a listener whose
/// accepting ends.
@Suite struct ProxyServerListenerTests {
    /// Refuses every login: these tests only look at who accepts.
    struct RefusingDirectory: ProxyDirectory {
        func open(_ login: ProxyLogin) async throws -> ProxyTarget { throw ProxyRefusal("08001", "not here") }
        func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async {}
    }

    struct ListenerFault: Error {}

    /// Runs a proxy (no TLS) with one endpoint whose pooled host is `address` at the shared port, until `body` returns.
    static func withProxy(pooledAddress address: String, _ body: (ProxyServer, Int) async throws -> Void) async throws {
        let sharedPort = Int.random(in: 30_000...40_000)
        let server = try ProxyServer(
            configuration: ProxyConfiguration(host: "127.0.0.1", sharedPort: sharedPort, tls: nil), directory: RefusingDirectory(),
            logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await server.setEndpointListeners([
                EndpointListener(
                    endpoint: "ep-test", port: 0, idleTimeout: nil, address: nil, pooledAddress: address,
                    readOnlyAddress: nil)
            ])
            try await body(server, sharedPort)
            group.cancelAll()
        }
    }

    /// A client's `SSLRequest` and the proxy's one-byte answer (`N`: no TLS here), or nil when nobody answers
    /// within `timeout` seconds (the connection waits in the listener's backlog). Blocking calls, off Swift's
    /// executor.
    static func sslAnswer(_ client: Int32, timeout: Int) async -> UInt8? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var wait = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
                var answer: UInt8 = 0
                let count = recv(client, &answer, 1, 0)
                continuation.resume(returning: count == 1 ? answer : nil)
            }
        }
    }

    /// How long a client waits for an answer that must come, in seconds. Alone, the answer comes at once; in the
    /// whole suite, where other suites' work shares NIO's event loops and Swift's threads, it once took over 5 s.
    static let answerTimeout = 30

    static func sendSSLRequest(_ client: Int32) {
        let request: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        #expect(send(client, request, request.count, 0) == 8)
    }

    @Test func aPooledHostHandedOverAcceptsNothingUntilItIsTakenBack() async throws {
        let address = "127.78.\(Int.random(in: 1...250)).2"
        try await Self.withProxy(pooledAddress: address) { server, port in
            let listener = try #require(server.endpointListener(host: address, port: port))
            let socket = try #require(listener.pooledHost)
            #expect(socket.handOver())
            #expect(!socket.handOver())
            // The listener stops accepting on its event loop, soon after.
            let deadline = ContinuousClock.now + .seconds(5)
            while try await listener.channel.getOption(ChannelOptions.autoRead).get(), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            let client = PooledHostSocketTests.connectClient(address, port)
            defer { close(client) }
            Self.sendSSLRequest(client)
            #expect(await Self.sslAnswer(client, timeout: 1) == nil)
            socket.takeBack()
            #expect(await Self.sslAnswer(client, timeout: Self.answerTimeout) == UInt8(ascii: "N"))
        }
    }

    /// An error on a listener's channel (`AcceptHandler` fires one when a client cannot be set up) no longer
    /// ends its accepting: NIO's async channel would finish its stream of clients on it.
    @Test func aPooledHostGoesOnAcceptingAfterAnErrorOnItsChannel() async throws {
        let address = "127.79.\(Int.random(in: 1...250)).2"
        try await Self.withProxy(pooledAddress: address) { server, port in
            let listener = try #require(server.endpointListener(host: address, port: port))
            listener.channel.pipeline.fireErrorCaught(ListenerFault())
            let client = PooledHostSocketTests.connectClient(address, port)
            defer { close(client) }
            Self.sendSSLRequest(client)
            #expect(await Self.sslAnswer(client, timeout: Self.answerTimeout) == UInt8(ascii: "N"))
            #expect(server.endpointListener(host: address, port: port)?.channel === listener.channel)
        }
    }
}
