import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Testing

@testable import KilnHTTP

/// Which requests `EventLoopResponder` answers itself, and that answers keep their requests' order.
@Suite struct EventLoopResponderStateMachineTests {
    typealias Machine = EventLoopResponderStateMachine

    static func head(_ method: HTTPRequest.Method = .get, _ path: String = "/healthz", _ fields: HTTPFields = [:]) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: nil, authority: "localhost", path: path, headerFields: fields))
    }

    static func isForward(_ action: Machine.ReadAction) -> Bool {
        if case .forward = action { return true }
        return false
    }

    static func isNone(_ action: Machine.ReadAction) -> Bool {
        if case .none = action { return true }
        return false
    }

    @Test func aRequestWithItsWholeBodyIsAnsweredHereWithThatBody() throws {
        var machine = Machine()
        #expect(Self.isNone(machine.read(Self.head(.post, "/api/2.0/workspace/mkdirs", [.contentLength: "16"]))))
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "{\"path\":")))))
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "\"/a/b\"}")))))
        guard case .respond(let head, let body) = machine.read(.end(nil)) else {
            Issue.record("the request was not answered here")
            return
        }
        #expect(head.path == "/api/2.0/workspace/mkdirs")
        #expect(String(buffer: body) == "{\"path\":\"/a/b\"}")
    }

    struct Head: Sendable, CustomTestStringConvertible {
        let method: HTTPRequest.Method
        let fields: HTTPFields
        var testDescription: String { "\(method) \(fields)" }
    }

    @Test(arguments: [
        Head(method: .head, fields: [:]),
        Head(method: .post, fields: [.expect: "100-continue", .contentLength: "10"]),
        Head(method: .post, fields: [.transferEncoding: "chunked"]),
        Head(method: .get, fields: [.connection: "close"]),
        Head(method: .get, fields: [.connection: "Keep-Alive, Close"]),
        Head(method: .post, fields: [.contentLength: "\((1 << 20) + 1)"]),
        Head(method: .post, fields: [.contentLength: "ten"]),
    ])
    func othersGoOnToHummingbird(head: Head) {
        var machine = Machine()
        #expect(Self.isForward(machine.read(Self.head(head.method, "/x", head.fields))))
        #expect(Self.isForward(machine.read(.end(nil))))
    }

    @Test func aBodyOfTheLimitIsAnsweredHere() {
        var machine = Machine()
        #expect(Self.isNone(machine.read(Self.head(.post, "/x", [.contentLength: "\(1 << 20)"]))))
    }

    @Test func whileAnAnswerFromHummingbirdIsOwedTheNextRequestsGoThereToo() {
        var machine = Machine()
        #expect(Self.isForward(machine.read(Self.head(.post, "/big", [.transferEncoding: "chunked"]))))
        #expect(Self.isForward(machine.read(.body(ByteBuffer(string: "x")))))
        #expect(Self.isForward(machine.read(.end(nil))))
        // Pipelined behind it: passed on, so Hummingbird answers both in order.
        #expect(Self.isForward(machine.read(Self.head())))
        #expect(Self.isForward(machine.read(.end(nil))))
        machine.wrote(.head(HTTPResponse(status: .ok)))
        machine.wrote(.end(nil))
        #expect(Self.isForward(machine.read(Self.head())))
        #expect(Self.isForward(machine.read(.end(nil))))
        machine.wrote(.end(nil))
        machine.wrote(.end(nil))
        // Every answer owed has ended: the next request is answered here.
        #expect(Self.isNone(machine.read(Self.head())))
    }

    @Test func partsThatComeDuringAnAnswerWaitAndReadsStop() throws {
        var machine = Machine()
        _ = machine.read(Self.head(.get, "/first"))
        guard case .respond = machine.read(.end(nil)) else {
            Issue.record("the first request was not answered here")
            return
        }
        #expect(machine.shouldRead() == false)
        #expect(Self.isNone(machine.read(Self.head(.get, "/second"))))
        #expect(Self.isNone(machine.read(.end(nil))))
        #expect(Self.isNone(machine.read(Self.head(.post, "/third", [.transferEncoding: "chunked"]))))
        #expect(machine.nextQueued() == nil)
        #expect(machine.errorCaught() == false)
        #expect(machine.takeHeldRead() == false)

        machine.responded()
        let queuedSecond = machine.nextQueued()
        let second = try #require(queuedSecond)
        #expect(Self.isNone(machine.read(second)))
        let queuedEnd = machine.nextQueued()
        let end = try #require(queuedEnd)
        guard case .respond(let head, _) = machine.read(end) else {
            Issue.record("the second request was not answered here")
            return
        }
        #expect(head.path == "/second")
        // The third waits for the second's answer.
        #expect(machine.nextQueued() == nil)
        machine.responded()
        let queuedThird = machine.nextQueued()
        let third = try #require(queuedThird)
        #expect(Self.isForward(machine.read(third)))
        #expect(machine.nextQueued() == nil)
        #expect(machine.takeHeldRead() == true)
        #expect(machine.takeHeldRead() == false)
        #expect(machine.shouldRead() == true)
    }

    @Test func anErrorWhileABodyIsReadEndsThatRequest() {
        var machine = Machine()
        _ = machine.read(Self.head(.post, "/x", [.contentLength: "10"]))
        #expect(machine.errorCaught() == true)
        #expect(Self.isNone(machine.read(Self.head())))
    }
}
