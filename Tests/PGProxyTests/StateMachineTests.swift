import NIOCore
import PGWire
import Testing
@testable import PGProxy

/// The handshake and backend-startup state machines, without I/O.
@Suite struct StateMachineTests {
    func password(_ text: String) -> FrontendMessage {
        var body = ByteBuffer()
        body.writeNullTerminatedString(text)
        return .password(body)
    }

    @Test func tlsThenStartupThenPasswordAuthenticates() {
        var machine = HandshakeStateMachine(listenerRoute: nil, tlsAvailable: true, requireTLS: true)
        #expect(machine.received(.gssEncryptionRequest) == .answerEncryption(acceptTLS: false))
        #expect(machine.received(.sslRequest) == .answerEncryption(acceptTLS: true))
        machine.serverName = "ep-cool-1.kiln.localhost"
        #expect(machine.received(.startup(StartupParameters([("user", "me"), ("database", "db")]))) == .askForPassword)
        let login = ProxyLogin(endpoint: "ep-cool-1", user: "me", database: "db", password: "token", tls: true)
        #expect(machine.received(password("token")) == .authenticate(login, StartupParameters([("user", "me"), ("database", "db")])))
    }

    @Test func routesByListenerThenServerNameThenOptions() {
        let options = StartupParameters([("user", "u"), ("options", "endpoint=ep-opt")])
        #expect(
            HandshakeStateMachine(listenerRoute: ProxyRoute(endpoint: "ep-port"), tlsAvailable: false, requireTLS: false).route(options)
                == ProxyRoute(endpoint: "ep-port"))
        var named = HandshakeStateMachine(listenerRoute: nil, tlsAvailable: true, requireTLS: false)
        named.serverName = "ep-sni.example.com"
        #expect(named.route(options) == ProxyRoute(endpoint: "ep-sni"))
        named.serverName = "ep-sni-pooler.example.com"
        #expect(named.route(options) == ProxyRoute(endpoint: "ep-sni", pooled: true))
        named.serverName = "-pooler.example.com"
        #expect(named.route(options) == ProxyRoute(endpoint: "-pooler"))
        named.serverName = "127.0.0.1" // an address is not a name
        #expect(named.route(options) == ProxyRoute(endpoint: "ep-opt"))
        #expect(HandshakeStateMachine(listenerRoute: nil, tlsAvailable: false, requireTLS: false).route(StartupParameters([("user", "u")])) == nil)
    }

    @Test func refusals() {
        var plain = HandshakeStateMachine(listenerRoute: nil, tlsAvailable: true, requireTLS: true)
        guard case .fail(let noTLS) = plain.received(.startup(StartupParameters([("user", "u")]))) else {
            Issue.record()
            return
        }
        #expect(noTLS.code == "28000")
        var unrouted = HandshakeStateMachine(listenerRoute: nil, tlsAvailable: false, requireTLS: false)
        guard case .fail(let noEndpoint) = unrouted.received(.startup(StartupParameters([("user", "u")]))) else {
            Issue.record()
            return
        }
        #expect(noEndpoint.code == "08004")
        var nobody = HandshakeStateMachine(listenerRoute: ProxyRoute(endpoint: "ep"), tlsAvailable: false, requireTLS: false)
        guard case .fail(let noUser) = nobody.received(.startup(StartupParameters([]))) else {
            Issue.record()
            return
        }
        #expect(noUser.code == "28000")
        var early = HandshakeStateMachine(listenerRoute: ProxyRoute(endpoint: "ep"), tlsAvailable: false, requireTLS: false)
        guard case .fail(let unexpected) = early.received(password("x")) else {
            Issue.record()
            return
        }
        #expect(unexpected.code == "08P01")
        var cancel = HandshakeStateMachine(listenerRoute: nil, tlsAvailable: false, requireTLS: false)
        #expect(cancel.received(.cancel(CancelKey(processID: 1, secret: 2))) == .cancel(CancelKey(processID: 1, secret: 2)))
    }

    @Test func backendStartupSwapsTheKeyAndHandsOverAtReady() {
        var machine = BackendStartupStateMachine()
        let proxyKey = CancelKey(processID: 9, secret: 9)
        #expect(machine.received(.authentication(.ok), newKey: { proxyKey }) == .forward(.authentication(.ok)))
        #expect(machine.received(.parameterStatus(name: "a", value: "b"), newKey: { proxyKey }) == .forward(.parameterStatus(name: "a", value: "b")))
        #expect(
            machine.received(.backendKeyData(CancelKey(processID: 1, secret: 2)), newKey: { proxyKey })
                == .swapKey(backend: CancelKey(processID: 1, secret: 2), proxyKey: proxyKey))
        #expect(machine.received(.readyForQuery(transactionStatus: 73), newKey: { proxyKey }) == .ready(.readyForQuery(transactionStatus: 73)))
    }

    @Test func backendRefusalsAndFaults() {
        var machine = BackendStartupStateMachine()
        let error = BackendMessage.errorResponse(.fatal("3D000", "database \"x\" does not exist"))
        #expect(machine.received(error, newKey: { .random() }) == .refused(error))
        var asking = BackendStartupStateMachine()
        guard case .fault = asking.received(.authentication(.cleartextPassword), newKey: { .random() }) else {
            Issue.record()
            return
        }
        var early = BackendStartupStateMachine()
        guard case .fault = early.received(.readyForQuery(transactionStatus: 73), newKey: { .random() }) else {
            Issue.record()
            return
        }
    }
}
