import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Testing

@testable import KilnHTTP

/// Which requests `EventLoopResponder` answers itself, and that answers keep their requests' order.
@Suite struct EventLoopResponderStateMachineTests {
    typealias Machine = EventLoopResponderStateMachine

    static let getStatus = "/api/2.0/workspace/get-status?path=%2Fa"

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

    @Test func aHotReadWithItsWholeBodyIsAnsweredHereWithThatBody() throws {
        var machine = Machine()
        #expect(Self.isNone(machine.read(Self.head(.get, Self.getStatus, [.contentLength: "13"]))))
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "{\"path\":")))))
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "\"/a\"}")))))
        guard case .respond(let head, let body, let place) = machine.read(.end(nil)) else {
            Issue.record("the request was not answered here")
            return
        }
        #expect(head.path == Self.getStatus)
        #expect(place == .eventLoop)
        #expect(String(buffer: body) == "{\"path\":\"/a\"}")
    }

    @Test(arguments: [
        "/healthz", "/.well-known/databricks-config", "/api/2.0/workspace/get-status?path=/a",
        "/api/2.0/workspace/export?path=/a&format=SOURCE", "/w/ws1/api/2.0/workspace/get-status?path=/a",
    ])
    func hotReadsAreAnsweredHere(target: String) {
        let bearer: HTTPFields = [.authorization: "Bearer dapi123"]
        #expect(Machine.place(for: HTTPRequest(method: .get, scheme: nil, authority: "h", path: target, headerFields: bearer))?.place == .eventLoop)
    }

    struct Head: Sendable, CustomTestStringConvertible {
        let method: HTTPRequest.Method
        let path: String
        let fields: HTTPFields
        var testDescription: String { "\(method) \(path) \(fields)" }
    }

    @Test(arguments: [
        Head(method: .head, path: "/healthz", fields: [:]),
        Head(method: .get, path: "/w/ws1", fields: [:]),
        Head(method: .get, path: "/w//api/2.0/workspace/get-status?path=/", fields: [:]),
        Head(method: .get, path: "/healthz/x", fields: [:]),
        Head(method: .get, path: "/healthz", fields: [.authorization: "Basic YTpi"]),
        Head(method: .get, path: "/healthz", fields: [.expect: "100-continue"]),
        Head(method: .get, path: "/healthz", fields: [.transferEncoding: "chunked"]),
        Head(method: .get, path: "/healthz", fields: [.connection: "close"]),
        Head(method: .get, path: "/healthz", fields: [.connection: "Keep-Alive, Close"]),
        Head(method: .get, path: "/healthz", fields: [.contentLength: "\((64 << 10) + 1)"]),
        Head(method: .get, path: "/healthz", fields: [.contentLength: "ten"]),
        Head(method: .head, path: "/api/2.0/workspace/list?path=/", fields: [:]),
        Head(method: .put, path: "/api/2.0/workspace/import", fields: [.contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace-files/import-file/a", fields: [.contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .contentLength: "\((256 << 10) + 1)"]),
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .transferEncoding: "chunked"]),
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .expect: "100-continue", .contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/mkdirs", fields: [.authorization: "Bearer d", .connection: "close", .contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/get-status", fields: [.authorization: "Bearer d", .contentLength: "2"]),
        Head(method: .get, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d"]),
        Head(method: .get, path: "/api/2.0/workspace/list?path=/", fields: [:]),
        Head(method: .post, path: "/api/2.0/token/create", fields: [.authorization: "Bearer d", .contentLength: "2"]),
    ])
    func othersGoOnToHummingbird(head: Head) {
        var machine = Machine()
        #expect(Self.isForward(machine.read(Self.head(head.method, head.path, head.fields))))
        #expect(Self.isForward(machine.read(.end(nil))))
    }

    /// The Workspace API's other requests with credentials are answered by the handler too, off the loop, once
    /// their body is whole; so are its hot reads that authenticate with a password or have a larger body.
    @Test(arguments: [
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .contentLength: "\(256 << 10)"]),
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Basic YTpi", .contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/mkdirs", fields: [.authorization: "Bearer d", .contentLength: "\((128 << 10) + 1)"]),
        Head(method: .post, path: "/api/2.0/workspace/delete", fields: [.authorization: "Bearer d", .contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/delete", fields: [.authorization: "Basic YTpi", .contentLength: "2"]),
        Head(method: .get, path: "/api/2.0/workspace/list?path=/", fields: [.authorization: "Bearer d"]),
        Head(method: .get, path: "/w/ws1/api/2.0/workspace/list?path=/", fields: [.authorization: "Bearer d"]),
        Head(method: .get, path: "/api/2.0/workspace/get-status?path=/", fields: [.authorization: "Basic YTpi"]),
        Head(method: .get, path: "/api/2.0/workspace/export?path=/", fields: [.authorization: "Bearer d", .contentLength: "\((64 << 10) + 1)"]),
    ])
    func workspaceRequestsAreAnsweredOffTheLoop(head: Head) throws {
        var machine = Machine()
        #expect(Self.isNone(machine.read(Self.head(head.method, head.path, head.fields))))
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "{}")))))
        guard case .respond(let answered, let body, let place) = machine.read(.end(nil)) else {
            Issue.record("the request was not answered here")
            return
        }
        #expect(answered.path == head.path)
        #expect(String(buffer: body) == "{}")
        #expect(place == .globalExecutor)
    }

    /// An import or a mkdirs with a token and at most 128 KiB of body is a short write: answered on the loop
    /// when the loop answers nothing else (the responder tells which).
    @Test(arguments: [
        Head(method: .post, path: "/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .contentLength: "\(128 << 10)"]),
        Head(method: .post, path: "/w/ws1/api/2.0/workspace/import", fields: [.authorization: "Bearer d", .contentLength: "2"]),
        Head(method: .post, path: "/api/2.0/workspace/mkdirs", fields: [.authorization: "Bearer d", .contentLength: "2"]),
    ])
    func shortWritesAreAnsweredOnAnIdleLoop(head: Head) throws {
        let place = Machine.place(for: HTTPRequest(method: head.method, scheme: nil, authority: "h", path: head.path, headerFields: head.fields))
        #expect(place?.place == .eventLoopWhenIdle)
    }

    /// The body is gathered by a `BodyCollector` within the length it declares: a head alone holds nothing,
    /// a first part is kept without a copy, and a second makes room for the whole body (an import of 100,000
    /// bytes is not copied as it grows past a GET's limit of 64 KiB).
    @Test func theBodyIsGatheredWithinItsDeclaredLength() {
        var machine = Machine()
        let head = Self.head(.post, "/api/2.0/workspace/import", [.authorization: "Bearer d", .contentLength: "100000"])
        #expect(Self.isNone(machine.read(head)))
        guard case .reading(_, let empty, .eventLoopWhenIdle) = machine.state else {
            Issue.record("the body is not being read here")
            return
        }
        #expect(empty.body.capacity == 0)
        #expect(empty.declaredLength == 100_000)
        let first = ByteBuffer(string: "{")
        #expect(Self.isNone(machine.read(.body(first))))
        guard case .reading(_, let begun, _) = machine.state else {
            Issue.record("the body is not being read here")
            return
        }
        #expect(begun.body.withVeryUnsafeBytes { kept in first.withVeryUnsafeBytes { $0.baseAddress == kept.baseAddress } })
        #expect(Self.isNone(machine.read(.body(ByteBuffer(string: "}")))))
        guard case .reading(_, let body, _) = machine.state else {
            Issue.record("the body is not being read here")
            return
        }
        #expect(body.body.capacity >= 100_000)
        #expect(String(buffer: body.body) == "{}")
        var other = Machine()
        #expect(Self.isForward(other.read(Self.head(.get, Self.getStatus, [.contentLength: "-1"]))))
    }

    @Test func aBodyOfTheLimitIsAnsweredHere() {
        var machine = Machine()
        #expect(Self.isNone(machine.read(Self.head(.get, Self.getStatus, [.contentLength: "\(64 << 10)"]))))
    }

    @Test func whileAnAnswerFromHummingbirdIsOwedTheNextRequestsGoThereToo() {
        var machine = Machine()
        #expect(Self.isForward(machine.read(Self.head(.post, "/api/2.0/workspace/import", [.transferEncoding: "chunked"]))))
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
        _ = machine.read(Self.head(.get, "/healthz"))
        guard case .respond = machine.read(.end(nil)) else {
            Issue.record("the first request was not answered here")
            return
        }
        // Reads go on until a part waits.
        #expect(machine.shouldRead() == true)
        #expect(machine.passesInputClosed == false)
        #expect(Self.isNone(machine.read(Self.head(.get, Self.getStatus))))
        #expect(machine.shouldRead() == false)
        #expect(Self.isNone(machine.read(.end(nil))))
        #expect(Self.isNone(machine.read(Self.head(.post, "/api/2.0/workspace/import", [.transferEncoding: "chunked"]))))
        #expect(machine.nextQueued() == nil)
        #expect(machine.errorCaught() == false)
        #expect(machine.takeHeldRead() == false)

        machine.responded()
        #expect(machine.passesInputClosed == false)
        let queuedSecond = machine.nextQueued()
        let second = try #require(queuedSecond)
        #expect(Self.isNone(machine.read(second)))
        let queuedEnd = machine.nextQueued()
        let end = try #require(queuedEnd)
        guard case .respond(let head, _, _) = machine.read(end) else {
            Issue.record("the second request was not answered here")
            return
        }
        #expect(head.path == Self.getStatus)
        // The third waits for the second's answer.
        #expect(machine.nextQueued() == nil)
        machine.responded()
        let queuedThird = machine.nextQueued()
        let third = try #require(queuedThird)
        #expect(Self.isForward(machine.read(third)))
        #expect(machine.nextQueued() == nil)
        #expect(machine.passesInputClosed == true)
        #expect(machine.takeHeldRead() == true)
        #expect(machine.takeHeldRead() == false)
        #expect(machine.shouldRead() == true)
    }

    /// A request whose body had only begun when the answer before it ended needs the read that was held.
    @Test func aReadHeldDuringAnAnswerIsMadeForABodyStillComing() throws {
        var machine = Machine()
        _ = machine.read(Self.head())
        _ = machine.read(.end(nil))
        _ = machine.read(Self.head(.get, Self.getStatus, [.contentLength: "100"]))
        #expect(machine.shouldRead() == false)
        _ = machine.read(.body(ByteBuffer(string: "{")))
        machine.responded()
        while let part = machine.nextQueued() { #expect(Self.isNone(machine.read(part))) }
        guard case .reading = machine.state else {
            Issue.record("the second request's body is not being read")
            return
        }
        #expect(machine.takeHeldRead() == true)
        #expect(machine.passesInputClosed == false)
    }

    /// The end of the input while a body is being read drops that request (it can never be whole); during
    /// an answer the end waits for it.
    @Test func theEndOfTheInputDropsARequestWhoseBodyHadBegun() {
        var machine = Machine()
        _ = machine.read(Self.head(.get, Self.getStatus, [.contentLength: "100"]))
        _ = machine.read(.body(ByteBuffer(string: "{")))
        #expect(machine.inputClosed() == true)
        guard case .idle = machine.state else {
            Issue.record("the request cut short is still being read")
            return
        }
        _ = machine.read(Self.head())
        guard case .respond = machine.read(.end(nil)) else {
            Issue.record("the next request was not answered here")
            return
        }
        #expect(machine.inputClosed() == false)
        machine.responded()
        #expect(machine.inputClosed() == true)
    }

    @Test func anErrorWhileABodyIsReadEndsThatRequest() {
        var machine = Machine()
        _ = machine.read(Self.head(.get, Self.getStatus, [.contentLength: "10"]))
        #expect(machine.errorCaught() == true)
        #expect(Self.isNone(machine.read(Self.head())))
    }
}
