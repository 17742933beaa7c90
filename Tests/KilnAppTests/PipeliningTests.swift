import Foundation
import Hummingbird
import HummingbirdTesting
import KilnApp
import Logging
import NIOCore
import NIOPosix
import Persistence
import Synchronization
import Testing

/// Requests sent back to back on one connection, before any answer (HTTP/1.1 pipelining), against the real
/// application on a port: some are answered on the event loop (`EventLoopResponder`), some by Hummingbird's
/// channel, and the answers come back in the order of the requests, the same either way.
@Suite struct PipeliningTests {
    static func withLiveApp(_ test: @Sendable (_ port: Int, _ token: String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-app-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let announcements = ApplicationTests.Announcements()
        var configuration = KilnConfiguration(dataDirectory: directory.path, logLevel: .warning)
        configuration.postgresProxyPort = nil // the services run, the Postgres proxy among them: no shared port
        let (app, database) = try await buildApplication(
            configuration: configuration,
            announce: { line in announcements.lines.withLock { $0.append(line) } })
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let token = try #require(announcements.token)
            try await test(port, token)
        }
        await database.shutdown()
    }

    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// Sends `requests` in one write and reads `count` answers (each with a `Content-Length`); with
    /// `halfClose`, ends the connection's output right after the requests.
    static func exchange(_ requests: String, port: Int, count: Int, halfClose: Bool = false) async throws -> [Answer] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "localhost", port: port) {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: requests))
            if halfClose { outbound.finish() }
            var received: [UInt8] = []
            for try await chunk in inbound {
                received += chunk.readableBytesView
                let answers = answers(in: received)
                if answers.count >= count { return answers }
            }
            return answers(in: received)
        }
    }

    /// How many requests have been answered on an event loop (`/metrics`).
    static func answeredOnEventLoop(port: Int) async throws -> Int {
        try await counter("kiln_http_requests_on_event_loop_total", port: port)
    }

    /// How many requests have been answered off the loop with their body collected on it (`/metrics`).
    static func answeredCollected(port: Int) async throws -> Int {
        try await counter("kiln_http_requests_collected_total", port: port)
    }

    static func counter(_ name: String, port: Int) async throws -> Int {
        let metrics = try await exchange("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", port: port, count: 1)
        let line = try #require(metrics.first?.body.split(separator: "\n").first { $0.hasPrefix(name + " ") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    /// The complete answers at the start of `bytes`.
    static func answers(in bytes: [UInt8]) -> [Answer] {
        var answers: [Answer] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let lines = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            guard rest.count - (end.upperBound - rest.startIndex) >= length else { break }
            let body = rest[end.upperBound..<(end.upperBound + length)]
            answers.append(Answer(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)))
            rest = rest[(end.upperBound + length)...]
        }
        return answers
    }

    static func get(_ target: String, token: String, close: Bool = false) -> String {
        "GET \(target) HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test func answersKeepTheOrderOfTheRequestsWhicheverWayEachWent() async throws {
        try await Self.withLiveApp { port, token in
            _ = try await Self.exchange(
                "POST /api/2.0/workspace/mkdirs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Length: 21\r\n\r\n{\"path\":\"/pipelined\"}",
                port: port, count: 1)
            let before = try await Self.answeredOnEventLoop(port: port)
            let collectedBefore = try await Self.answeredCollected(port: port)
            // The first get-status is answered on the event loop; the import that came during its answer waits,
            // then is answered once its body is whole (on the loop when the loop answers nothing else, which
            // other suites' servers on NIO's shared loops can make it do), and the get-status behind it sees the
            // notebook. The chunked mkdirs goes to Hummingbird's channel, and so does the healthz behind it, which
            // comes while that answer is owed.
            let notebook = "# Databricks notebook source\n" + String(repeating: "x = 1\n", count: 10_000)
            let body =
                "{\"path\":\"/pipelined/nb\",\"format\":\"SOURCE\",\"language\":\"PYTHON\",\"content\":\"\(Data(notebook.utf8).base64EncodedString())\"}"
            let folder = "{\"path\":\"/pipelined/chunked\"}"
            let requests =
                Self.get("/api/2.0/workspace/get-status?path=/pipelined/nb", token: token)
                + "POST /api/2.0/workspace/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + Self.get("/api/2.0/workspace/get-status?path=/pipelined/nb", token: token)
                + "POST /api/2.0/workspace/mkdirs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n\(String(folder.utf8.count, radix: 16))\r\n\(folder)\r\n0\r\n\r\n"
                + Self.get("/healthz", token: token)
            let answers = try await Self.exchange(requests, port: port, count: 5)
            try #require(answers.count == 5)
            #expect(answers.map(\.status) == [404, 200, 200, 200, 200])
            #expect(answers[0].body.contains("RESOURCE_DOES_NOT_EXIST"))
            #expect(answers[1].body == "{}")
            #expect(answers[2].body.contains("\"object_type\":\"NOTEBOOK\""))
            #expect(answers[3].body == "{}")
            #expect(answers[4].body.contains("\"status\""))
            let onLoop = try await Self.answeredOnEventLoop(port: port) - before
            #expect(onLoop >= 2)
            #expect(try await Self.answeredCollected(port: port) - collectedBefore + onLoop == 3)
            for answer in answers {
                #expect(answer.headers["server"] == "kiln")
                #expect(answer.headers["date"]?.hasSuffix(" GMT") == true)
                #expect(answer.headers["content-type"] == "application/json")
            }
        }
    }

    /// An answer begun on the event loop that leaves it (an export made anew is made on Swift's global executor)
    /// keeps its place: the requests behind it, answered on the loop, wait for it, and every answer comes back
    /// whole and in order. Once with the connection most likely alone on its loop (its answers begun inside the
    /// read), once beside idle connections on every loop, two for each core (its answers begun after the read).
    @Test(.timeLimit(.minutes(1)), arguments: [0, 2 * System.coreCount])
    func anAnswerThatLeavesTheLoopKeepsItsPlace(idleConnections: Int) async throws {
        try await Self.withLiveApp { port, token in
            var idle: [any Channel] = []
            for _ in 0..<idleConnections {
                idle.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "localhost", port: port).get())
            }
            defer { for channel in idle { channel.close(promise: nil) } }
            let notebook = "# Databricks notebook source\n" + String(repeating: "y = 2\n", count: 5_000)
            let body =
                "{\"path\":\"/moved\",\"format\":\"SOURCE\",\"language\":\"PYTHON\",\"content\":\"\(Data(notebook.utf8).base64EncodedString())\"}"
            let imported = try await Self.exchange(
                "POST /api/2.0/workspace/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
                port: port, count: 1)
            try #require(imported.map(\.status) == [200])
            let before = try await Self.answeredOnEventLoop(port: port)
            let export = Self.get("/api/2.0/workspace/export?path=/moved&format=SOURCE", token: token)
            let requests = export + export + Self.get("/api/2.0/workspace/get-status?path=/moved", token: token) + Self.get("/healthz", token: token)
            let answers = try await Self.exchange(requests, port: port, count: 4)
            try #require(answers.count == 4)
            #expect(answers.map(\.status) == [200, 200, 200, 200])
            let exported = try #require(try JSONSerialization.jsonObject(with: Data(answers[0].body.utf8)) as? [String: Any])
            let encoded = try #require(exported["content"] as? String)
            let content = try #require(Data(base64Encoded: encoded))
            #expect(String(decoding: content, as: UTF8.self).contains(String(repeating: "y = 2\n", count: 4_999) + "y = 2"))
            #expect(answers[1].body == answers[0].body)
            #expect(answers[2].body.contains("\"path\":\"/moved\""))
            #expect(answers[3].body.contains("\"status\""))
            #expect(try await Self.answeredOnEventLoop(port: port) - before == 4)
        }
    }

    /// Many requests that waited behind an answer made off the loop (a list) are each answered, in order: the
    /// answers the responder starts for them as it reads them do not nest one in another on the loop's stack.
    @Test(.timeLimit(.minutes(1))) func manyRequestsThatWaitedAreAnsweredInOrder() async throws {
        try await Self.withLiveApp { port, token in
            let count = 2_000
            let requests = Self.get("/api/2.0/workspace/list?path=/", token: token) + String(repeating: Self.get("/healthz", token: token), count: count)
            let answers = try await Self.exchange(requests, port: port, count: count + 1)
            try #require(answers.count == count + 1)
            #expect(answers[0].body.contains("\"objects\"") || answers[0].body == "{}")
            #expect(answers.dropFirst().allSatisfy { $0.status == 200 && $0.body.contains("\"status\"") })
        }
    }

    /// The same get-status, answered on the event loop, and the same list, answered off the loop with its body
    /// collected there, each also answered (asking to close the connection) by Hummingbird's channel: the same
    /// status, body and headers.
    @Test func aRequestAnswersTheSameEitherWay() async throws {
        try await Self.withLiveApp { port, token in
            for route in ["get-status", "list"] {
                for path in ["/", "/nowhere"] {
                    let before = (try await Self.answeredOnEventLoop(port: port), try await Self.answeredCollected(port: port))
                    let target = "/api/2.0/workspace/\(route)?path=\(path)"
                    let here = try await Self.exchange(Self.get(target, token: token), port: port, count: 1)
                    let expected = route == "get-status" ? (before.0 + 1, before.1) : (before.0, before.1 + 1)
                    #expect(try await Self.answeredOnEventLoop(port: port) == expected.0)
                    #expect(try await Self.answeredCollected(port: port) == expected.1)
                    let there = try await Self.exchange(Self.get(target, token: token, close: true), port: port, count: 1)
                    #expect(try await Self.answeredOnEventLoop(port: port) == expected.0)
                    #expect(try await Self.answeredCollected(port: port) == expected.1)
                    try #require(here.count == 1 && there.count == 1)
                    #expect(here[0].status == there[0].status)
                    #expect(here[0].body == there[0].body)
                    #expect(Set(here[0].headers.keys) == Set(there[0].headers.keys).subtracting(["connection"]))
                }
            }
        }
    }

    /// A client that ends its output while the body of its second request is still owed, the first being
    /// answered on the event loop, gets the first answer and then the end of the connection: the request cut
    /// short is dropped, where the connection used to wait for its body for ever.
    @Test func aRequestCutShortAfterAnAnswerEndsTheConnection() async throws {
        try await Self.withLiveApp { port, token in
            let first = Self.get("/api/2.0/workspace/get-status?path=/", token: token)
            let cutShort =
                "GET /api/2.0/workspace/get-status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Length: 100\r\n\r\n{"
            let answers = try await withThrowingTaskGroup(of: [Answer]?.self) { group in
                group.addTask { try await Self.exchange(first + cutShort, port: port, count: 2, halfClose: true) }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            let ended = try #require(answers, "the connection was still open 10 s after the client ended its output")
            #expect(ended.first?.status == 200)
        }
    }

    /// A client that sends an import and goes away before its answer: the import is still made, and the server still stops, which waits for every answer being made.
    @Test(.timeLimit(.minutes(1))) func anImportWhoseClientWentAwayIsStillMade() async throws {
        try await Self.withLiveApp { port, token in
            let notebook = Data("# Databricks notebook source\nx = 1\n".utf8).base64EncodedString()
            let body = "{\"path\":\"/gone\",\"format\":\"SOURCE\",\"language\":\"PYTHON\",\"content\":\"\(notebook)\"}"
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "localhost", port: port).get()
            try await channel.writeAndFlush(
                ByteBuffer(
                    string: "POST /api/2.0/workspace/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            ).get()
            try await channel.close()
            var status = 0
            for _ in 0..<50 where status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                let answers = try await Self.exchange(Self.get("/api/2.0/workspace/get-status?path=/gone", token: token), port: port, count: 1)
                status = answers.first?.status ?? 0
            }
            #expect(status == 200)
        }
    }

    /// A short import is answered on its connection's event loop when that loop answers nothing else, and a
    /// large one off the loop. Other suites' servers answer on NIO's same loops, so a short import is sent up to
    /// ten times, and one of them must go on the loop.
    @Test func aShortImportIsAnsweredOnAnIdleLoopAndALargeOneOffIt() async throws {
        try await Self.withLiveApp { port, token in
            func importing(_ lines: Int, to path: String) -> String {
                let notebook = Data(("# Databricks notebook source\n" + String(repeating: "x = 1\n", count: lines)).utf8)
                let body = "{\"path\":\"\(path)\",\"format\":\"SOURCE\",\"language\":\"PYTHON\",\"content\":\"\(notebook.base64EncodedString())\"}"
                return "POST /api/2.0/workspace/import HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            var answeredOnLoop = false
            for attempt in 0..<10 where !answeredOnLoop {
                let before = try await Self.answeredOnEventLoop(port: port)
                let answers = try await Self.exchange(importing(10, to: "/short\(attempt)"), port: port, count: 1)
                #expect(answers.map(\.status) == [200])
                answeredOnLoop = try await Self.answeredOnEventLoop(port: port) == before + 1
            }
            #expect(answeredOnLoop, "no short import was answered on the event loop")
            let before = (try await Self.answeredOnEventLoop(port: port), try await Self.answeredCollected(port: port))
            // 30,000 lines: 180 KB of notebook, 240 KB of JSON, over the 128 KiB of a short write.
            let answers = try await Self.exchange(importing(30_000, to: "/large"), port: port, count: 1)
            #expect(answers.map(\.status) == [200])
            #expect(try await Self.answeredOnEventLoop(port: port) == before.0)
            #expect(try await Self.answeredCollected(port: port) == before.1 + 1)
        }
    }

    /// A client that sends its request and then ends its output (a half-close) still gets the answer.
    @Test func aHalfClosedConnectionIsAnswered() async throws {
        try await Self.withLiveApp { port, token in
            let before = try await Self.answeredOnEventLoop(port: port)
            let answers = try await Self.exchange(
                Self.get("/api/2.0/workspace/get-status?path=/", token: token), port: port, count: 1, halfClose: true)
            #expect(answers.map(\.status) == [200])
            #expect(try await Self.answeredOnEventLoop(port: port) == before + 1)
        }
    }
}
