import NIOCore
import PGWire
import Testing
@testable import PGProxy

/// Every transition of the client handshake: encryption requests, cancel requests, routing by listener,
/// TLS server name and `options`, the password packet, and the SQLSTATE of each refusal.
@Suite struct HandshakeStateMachineTests {
    static func machine(listener: String? = nil, tls: Bool = false, requireTLS: Bool = false) -> HandshakeStateMachine {
        HandshakeStateMachine(listenerRoute: listener.map { ProxyRoute(endpoint: $0) }, tlsAvailable: tls, requireTLS: requireTLS)
    }

    static func password(_ bytes: [UInt8]) -> FrontendMessage { .password(ByteBuffer(bytes: bytes)) }
    static func password(_ text: String) -> FrontendMessage { password(Array(text.utf8) + [0]) }

    static func startup(_ pairs: [(String, String)]) -> FrontendMessage { .startup(StartupParameters(pairs)) }

    /// The SQLSTATE of a `fail`, or nil for any other action.
    static func failureCode(_ action: HandshakeStateMachine.Action) -> String? {
        guard case .fail(let fields) = action else { return nil }
        #expect(fields["S"] == "FATAL" && fields["V"] == "FATAL" && fields.message?.isEmpty == false)
        return fields.code
    }

    static func isDone(_ machine: HandshakeStateMachine) -> Bool {
        if case .done = machine.state { return true }
        return false
    }

    @Test func sslIsDeclinedWhenNoCertificateIsConfigured() {
        var machine = Self.machine(listener: "ep")
        #expect(machine.received(.sslRequest) == .answerEncryption(acceptTLS: false))
        #expect(!machine.tls)
        #expect(machine.received(Self.startup([("user", "u")])) == .askForPassword)
        guard case .authenticate(let login, _) = machine.received(Self.password("pw")) else {
            Issue.record()
            return
        }
        #expect(login == ProxyLogin(endpoint: "ep", user: "u", database: "u", password: "pw", tls: false))
    }

    @Test func gssEncryptionIsAlwaysDeclinedAndMayBeFollowedBySSL() {
        var machine = Self.machine(listener: "ep", tls: true, requireTLS: true)
        #expect(machine.received(.gssEncryptionRequest) == .answerEncryption(acceptTLS: false))
        #expect(!machine.tls)
        #expect(machine.received(.sslRequest) == .answerEncryption(acceptTLS: true))
        #expect(machine.tls)
        #expect(machine.received(Self.startup([("user", "u")])) == .askForPassword)
    }

    @Test func aSecondSSLRequestInsideTLSIsRefused() {
        var machine = Self.machine(tls: true)
        #expect(machine.received(.sslRequest) == .answerEncryption(acceptTLS: true))
        #expect(Self.failureCode(machine.received(.sslRequest)) == "08P01")
        #expect(Self.isDone(machine))
    }

    @Test func requiredTLSRefusesPlainStartupsEvenWhenTLSWasDeclined() {
        var declined = Self.machine(listener: "ep", tls: false, requireTLS: true)
        #expect(declined.received(.sslRequest) == .answerEncryption(acceptTLS: false))
        #expect(Self.failureCode(declined.received(Self.startup([("user", "u")]))) == "28000")
        #expect(Self.isDone(declined))
    }

    @Test func aCancelRequestEndsTheHandshake() {
        var machine = Self.machine(tls: true)
        #expect(machine.received(.sslRequest) == .answerEncryption(acceptTLS: true))
        let key = CancelKey(processID: 77, secret: -3)
        #expect(machine.received(.cancel(key)) == .cancel(key))
        #expect(Self.isDone(machine))
        #expect(Self.failureCode(machine.received(Self.startup([("user", "u")]))) == "08P01")
    }

    @Test func aCancelRequestAfterTheStartupIsAViolation() {
        var machine = Self.machine(listener: "ep")
        #expect(machine.received(Self.startup([("user", "u")])) == .askForPassword)
        #expect(Self.failureCode(machine.received(.cancel(CancelKey(processID: 1, secret: 1)))) == "08P01")
    }

    @Test(arguments: [nil, "ep"] as [String?])
    func aMissingOrEmptyUserIsRefused(listener: String?) {
        for pairs in [[("database", "d")], [("user", ""), ("database", "d")]] {
            var machine = Self.machine(listener: listener)
            #expect(Self.failureCode(machine.received(Self.startup(pairs))) == "28000")
        }
    }

    @Test(arguments: [
        ("ep-a.kiln.localhost", "ep-a"), ("ep-b.example.com", "ep-b"), ("ep-c.10.0.0.1.nip.io", "ep-c"),
    ])
    func serverNamesRouteByTheirFirstLabel(serverName: String, endpoint: String) {
        var machine = Self.machine(tls: true)
        machine.serverName = serverName
        #expect(machine.route(StartupParameters([("user", "u"), ("options", "endpoint=ep-opt")]))?.endpoint == endpoint)
    }

    @Test(arguments: ["localhost", "127.0.0.1", "10.0.0.12", "ep-nodot"])
    func namesThatAreNotADomainFallBackToOptions(serverName: String) {
        var machine = Self.machine(tls: true)
        machine.serverName = serverName
        #expect(machine.route(StartupParameters([("user", "u"), ("options", "-c endpoint=ep-opt")])) == ProxyRoute(endpoint: "ep-opt"))
        #expect(machine.route(StartupParameters([("user", "u")])) == nil)
    }

    @Test func theListenerWinsOverServerNameAndOptions() {
        var machine = Self.machine(listener: "ep-port", tls: true)
        machine.serverName = "ep-sni.example.com"
        #expect(machine.route(StartupParameters([("user", "u"), ("options", "endpoint=ep-opt")])) == ProxyRoute(endpoint: "ep-port"))
    }

    @Test func theRoutingWordIsNotForwardedButOtherOptionsAre() {
        var machine = Self.machine()
        let sent = Self.startup([
            ("user", "u"), ("database", "db"), ("options", "-c endpoint=ep-x -c search_path=s"),
            ("application_name", "psql"),
        ])
        #expect(machine.received(sent) == .askForPassword)
        guard case .authenticate(let login, let forwarded) = machine.received(Self.password("tok")) else {
            Issue.record()
            return
        }
        #expect(login == ProxyLogin(endpoint: "ep-x", user: "u", database: "db", password: "tok", tls: false))
        #expect(
            forwarded
                == StartupParameters([
                    ("user", "u"), ("database", "db"), ("application_name", "psql"),
                    ("options", "-c search_path=s"),
                ]))
        if case .authenticating = machine.state {} else { Issue.record("expected authenticating, not \(machine.state)") }
    }

    @Test func anUnroutableStartupNamesTheWaysToRoute() {
        var machine = Self.machine()
        guard case .fail(let fields) = machine.received(Self.startup([("user", "u")])) else {
            Issue.record()
            return
        }
        #expect(fields.code == "08004")
        #expect(fields.message?.contains("options=endpoint=") == true)
    }

    @Test(arguments: [
        [] as [UInt8], // no terminator
        Array("pw".utf8), // no terminator
        Array("pw".utf8) + [0, 0], // bytes after the terminator
        Array("pw".utf8) + [0] + Array("x".utf8),
    ])
    func malformedPasswordPacketsAreRefused(body: [UInt8]) {
        var machine = Self.machine(listener: "ep")
        #expect(machine.received(Self.startup([("user", "u")])) == .askForPassword)
        #expect(Self.failureCode(machine.received(Self.password(body))) == "08P01")
        #expect(Self.isDone(machine))
    }

    @Test func anEmptyPasswordIsPassedOnForTheDirectoryToJudge() {
        var machine = Self.machine(listener: "ep")
        _ = machine.received(Self.startup([("user", "u")]))
        guard case .authenticate(let login, _) = machine.received(Self.password("")) else {
            Issue.record()
            return
        }
        #expect(login.password.isEmpty)
    }

    @Test(arguments: [
        FrontendMessage.sslRequest, .gssEncryptionRequest, .startup(StartupParameters([("user", "u")])),
        .cancel(CancelKey(processID: 1, secret: 2)), .other(type: UInt8(ascii: "Q")),
    ])
    func onlyAPasswordMayFollowTheStartup(message: FrontendMessage) {
        var machine = Self.machine(listener: "ep", tls: true)
        #expect(machine.received(Self.startup([("user", "u")])) == .askForPassword)
        #expect(Self.failureCode(machine.received(message)) == "08P01")
    }

    @Test func anythingAfterAuthenticatingIsAViolation() {
        var machine = Self.machine(listener: "ep")
        _ = machine.received(Self.startup([("user", "u")]))
        _ = machine.received(Self.password("pw"))
        #expect(Self.failureCode(machine.received(Self.password("again"))) == "08P01")
    }

    @Test func terminateClosesQuietlyInEveryState() {
        var fresh = Self.machine(listener: "ep")
        #expect(fresh.received(.terminate) == .close)
        #expect(Self.isDone(fresh))
        var waiting = Self.machine(listener: "ep")
        _ = waiting.received(Self.startup([("user", "u")]))
        #expect(waiting.received(.terminate) == .close)
        var finished = Self.machine(listener: "ep")
        _ = finished.received(Self.password("early"))
        #expect(finished.received(.terminate) == .close)
    }

    @Test func aTypedMessageBeforeTheStartupIsRefused() {
        var machine = Self.machine()
        #expect(Self.failureCode(machine.received(.other(type: UInt8(ascii: "Q")))) == "08P01")
    }

    /// What the session writes for a `fail`: an `ErrorResponse` a client decodes to the same SQLSTATE.
    @Test func refusalsTravelAsErrorResponses() throws {
        var machine = Self.machine(requireTLS: true)
        guard case .fail(let fields) = machine.received(Self.startup([("user", "u")])) else {
            Issue.record()
            return
        }
        var buffer = ByteBuffer()
        BackendMessage.errorResponse(fields).encode(into: &buffer)
        #expect(buffer.getInteger(at: 0, as: UInt8.self) == UInt8(ascii: "E"))
        let (type, body) = try #require(try MessageFraming.next(&buffer, maximumLength: 10_000))
        guard case .errorResponse(let decoded) = try BackendMessage.decode(type: type, body: body) else {
            Issue.record()
            return
        }
        #expect(decoded.code == "28000" && decoded == fields)
    }
}
