import NIOCore
import PGWire
import Testing
@testable import PGProxy

/// Every message postgres may send while it starts a proxied session, before and after it trusts
/// the proxy's connection.
@Suite struct BackendStartupStateMachineTests {
    /// A key source that counts how often the machine asks for a proxy key.
    final class Keys {
        var made = 0
        func next() -> CancelKey {
            made += 1
            return CancelKey(processID: Int32(made), secret: 100)
        }
    }

    static func isFault(_ action: BackendStartupStateMachine.Action) -> Bool {
        if case .fault(let reason) = action { return !reason.isEmpty }
        return false
    }

    @Test(arguments: [
        BackendMessage.Authentication.cleartextPassword, .md5Password(salt: 1), .sasl(mechanisms: ["SCRAM-SHA-256"]),
        .saslContinue(ByteBuffer(string: "r=x")), .saslFinal(ByteBuffer(string: "v=y")), .other(code: 7),
    ])
    func anyRequestForAPasswordIsAFaultOfTheSetup(request: BackendMessage.Authentication) {
        var machine = BackendStartupStateMachine()
        #expect(Self.isFault(machine.received(.authentication(request), newKey: { .random() })))
    }

    @Test func aFullStartupForwardsEverythingButTheKey() {
        var machine = BackendStartupStateMachine()
        let keys = Keys()
        let notice = BackendMessage.noticeResponse(ErrorFields([(UInt8(ascii: "S"), "NOTICE"), (UInt8(ascii: "M"), "hi")]))
        let unknown = BackendMessage.other(type: UInt8(ascii: "v"), body: ByteBuffer(bytes: [0, 0, 0, 0]))
        var actions: [BackendStartupStateMachine.Action] = []
        for message: BackendMessage in [
            .authentication(.ok), .parameterStatus(name: "server_version", value: "17.2"), notice, unknown,
            .backendKeyData(CancelKey(processID: 4242, secret: 7)), .parameterStatus(name: "TimeZone", value: "UTC"),
            .readyForQuery(transactionStatus: UInt8(ascii: "I")),
        ] {
            actions.append(machine.received(message, newKey: keys.next))
        }
        #expect(
            actions == [
                .forward(.authentication(.ok)), .forward(.parameterStatus(name: "server_version", value: "17.2")), .forward(notice),
                .forward(unknown), .swapKey(backend: CancelKey(processID: 4242, secret: 7), proxyKey: CancelKey(processID: 1, secret: 100)),
                .forward(.parameterStatus(name: "TimeZone", value: "UTC")), .ready(.readyForQuery(transactionStatus: UInt8(ascii: "I"))),
            ])
        #expect(keys.made == 1) // a proxy key only for the server's key
    }

    @Test func aKeyBeforeAuthenticationIsStillSwapped() {
        var machine = BackendStartupStateMachine()
        let keys = Keys()
        #expect(
            machine.received(.backendKeyData(CancelKey(processID: 9, secret: 9)), newKey: keys.next)
                == .swapKey(backend: CancelKey(processID: 9, secret: 9), proxyKey: CancelKey(processID: 1, secret: 100)))
    }

    @Test func errorsRefuseTheSessionBeforeAndAfterAuthentication() {
        let error = BackendMessage.errorResponse(.fatal("53300", "too many connections for role \"u\""))
        var fresh = BackendStartupStateMachine()
        #expect(fresh.received(error, newKey: { .random() }) == .refused(error))
        var authenticated = BackendStartupStateMachine()
        _ = authenticated.received(.authentication(.ok), newKey: { .random() })
        #expect(authenticated.received(error, newKey: { .random() }) == .refused(error))
    }

    @Test(arguments: [UInt8(ascii: "I"), UInt8(ascii: "T"), UInt8(ascii: "E")])
    func readinessNeedsAuthenticationFirst(status: UInt8) {
        var early = BackendStartupStateMachine()
        #expect(Self.isFault(early.received(.readyForQuery(transactionStatus: status), newKey: { .random() })))
        var ready = BackendStartupStateMachine()
        _ = ready.received(.authentication(.ok), newKey: { .random() })
        #expect(
            ready.received(.readyForQuery(transactionStatus: status), newKey: { .random() })
                == .ready(.readyForQuery(transactionStatus: status)))
    }

    @Test func aPasswordRequestAfterOkIsStillAFault() {
        var machine = BackendStartupStateMachine()
        _ = machine.received(.authentication(.ok), newKey: { .random() })
        #expect(Self.isFault(machine.received(.authentication(.cleartextPassword), newKey: { .random() })))
    }
}
